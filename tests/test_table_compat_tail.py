"""The table, row, facet and CSV compatibility tail of issue 9: behaviours code written
for 1.0a7 relies on, each checked against a real SQLite file through `datasette.client`.
"""

import csv
import io
import re
import sqlite3
import urllib.parse

import pytest

from datasette.facets import ArrayFacet, ColumnFacet, DateFacet
from datasette.utils.asgi import Request

SQL = """
create table owners (id integer primary key, name text);
create table bare (id integer primary key, n integer, m integer);
create table pets (
    id integer primary key,
    name text,
    owner_id integer references owners(id),
    bare_id integer references bare(id),
    born text,
    photo blob,
    _odd text
);
create table notes (body text, kind text);
create table priced (
    id integer primary key,
    price real,
    doubled real generated always as (price * 2) virtual,
    tripled real generated always as (price * 3) stored
);
create table docs (id integer primary key, title text, body text);
create virtual table docs_fts using fts5 (title, body, content="docs", content_rowid="id");
create table codes (code text primary key, label text);
insert into owners values (1, 'Ann'), (2, 'Bo');
insert into bare values (7, 70, 700);
insert into pets values
    (1, 'Rex', 1, 7, '2020-01-01', x'0001', 'a'),
    (2, 'Tom', 2, 7, '2020-01-02', null, 'b'),
    (3, 'Kit', 1, null, '2020-01-02', null, 'a');
insert into notes values ('one', 'x'), ('two', 'y'), ('three', 'x');
insert into priced (id, price) values (1, 1.5), (2, 4);
insert into docs values (1, 'Hello', 'world');
insert into codes values ('CA', 'California');
"""

METADATA = {
    "databases": {
        "data": {
            "tables": {
                "pets": {"columns": {"name": "The pet's name", "born": "Birth date"}},
            }
        }
    }
}


@pytest.fixture
def data_path(tmp_path):
    path = tmp_path / "data.db"
    conn = sqlite3.connect(str(path))
    conn.executescript(SQL)
    conn.executemany(
        "insert into notes values (?, ?)", [(f"n{i}", f"k{i}") for i in range(12)]
    )
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def ds(make_ds, data_path):
    return make_ds([str(data_path)], metadata=METADATA, settings={"max_csv_mb": 1})


async def html(ds, path, status=200):
    response = await ds.client.get(path)
    assert response.status_code == status, response.text[:500]
    return response.text


def hidden_inputs(form_html):
    return re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', form_html)


def filter_form(page):
    return re.search(r'<form class="filters".*?</form>', page, re.S).group(0)


# -- table page HTML ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_filter_form_hidden_inputs_leave_out_what_the_form_sets(ds):
    page = await html(ds, "/data/pets?_facet=name&_odd__exact=a&_size=5&name=Rex&_sort=name")
    # `_odd__exact` is a filter (on a column whose name starts with `_`): a filter row.
    assert hidden_inputs(filter_form(page)) == [("_facet", "name"), ("_size", "5")]
    assert 'name="_filter_column_2"' in filter_form(page)


@pytest.mark.asyncio
async def test_filter_op_without_a_column_redirects_without_the_filter_fields(ds):
    response = await ds.client.get(
        "/data/pets?_filter_op=gt&_filter_value=3&_facet=name&_filter_op_2=lt"
    )
    assert response.status_code == 302
    assert response.headers["location"] == "/data/pets?_facet=name"
    response = await ds.client.get("/data/pets?_filter_value=3")
    assert response.status_code == 302
    assert response.headers["location"] == "/data/pets"


@pytest.mark.asyncio
async def test_export_links_ask_for_labels_on_tables_with_foreign_keys(ds):
    page = await html(ds, "/data/pets?name=Rex")
    export = re.search(r'<p class="export-links">.*?</p>', page, re.S).group(0)
    assert '<a href="/data/pets.json?name=Rex&amp;_labels=on">json</a>' in export
    advanced = re.search(r'<div id="export".*?</div>', page, re.S).group(0)
    assert "/data/pets.json?name=Rex&amp;_labels=on&amp;_shape=array" in advanced
    page = await html(ds, "/data/notes")
    assert '<a href="/data/notes.json">json</a>' in page


@pytest.mark.asyncio
async def test_rowid_table_header_starts_with_a_rowid_sort_link(ds):
    page = await html(ds, "/data/notes")
    headers = re.findall(r"<th [^>]*>(.*?)</th>", page, re.S)
    assert headers[0].strip() == "Link"
    assert headers[1] == '<a href="/data/notes?_sort_desc=rowid" rel="nofollow">rowid&nbsp;▼</a>'


@pytest.mark.asyncio
async def test_integer_foreign_key_without_label_column_shows_link_and_value(ds):
    page = await html(ds, "/data/pets")
    assert (
        '<td class="col-bare_id type-int"><a href="/data/bare/7">7</a>&nbsp;<em>7</em></td>'
        in page
    )
    assert '<a href="/data/owners/1">Ann</a>&nbsp;<em>1</em>' in page


@pytest.mark.asyncio
async def test_facet_headings_show_type_and_total(ds):
    page = await html(ds, "/data/pets?_facet=name&_facet_date=born")
    assert re.search(
        r'<strong>born \(date\)\s*<span class="facet-info-total">2</span>\s*</strong>', page
    )
    assert re.search(r'<strong>name\s*<span class="facet-info-total">3</span>', page)


@pytest.mark.asyncio
async def test_facet_truncated_at_max_returned_rows_links_to_facet_size_max(make_ds, data_path):
    ds = make_ds([str(data_path)], settings={"max_returned_rows": 10})
    # 14 distinct kinds, max_returned_rows 10: the facet stops at 10 and says so.
    page = await html(ds, "/data/notes?_facet=kind&_facet_size=10")
    truncated = re.search(r'<li class="facet-truncated">(.*?)</li>', page, re.S).group(1)
    assert "_facet_size=max" in truncated and "<a " in truncated
    page = await html(ds, "/data/notes?_facet=kind&_facet_size=max")
    truncated = re.search(r'<li class="facet-truncated">(.*?)</li>', page, re.S).group(1)
    assert "<a " not in truncated


@pytest.mark.asyncio
async def test_count_heading_names_the_filters(ds):
    page = await html(ds, "/data/pets?name=Nobody")
    assert "<h3>0 rows where name = &#34;Nobody&#34;</h3>" in page


@pytest.mark.asyncio
async def test_column_descriptions_are_dt_dd_pairs(ds):
    page = await html(ds, "/data/pets")
    assert "<dt>name</dt><dd>The pet&#39;s name</dd>" in page
    assert "<dt>born</dt><dd>Birth date</dd>" in page


# -- row page ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_row_page_key_cells_are_typed_by_value(ds):
    page = await html(ds, "/data/pets/1")
    assert '<td class="col-id type-int">1</td>' in page
    page = await html(ds, "/data/codes/CA")
    assert '<td class="col-code type-str">CA</td>' in page


# -- facets API ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_builtin_facet_results_are_a_list_and_the_timed_out_names(ds):
    path = "/data/pets?_facet=name&_facet_date=born&_facet_array=name"
    for cls, name in ((ColumnFacet, "name"), (DateFacet, "born")):
        facet = cls(ds, Request.fake(path), database="data", table="pets", metadata={})
        results, timed_out = await facet.facet_results()
        assert isinstance(results, list) and timed_out == []
        assert [f["name"] for f in results] == [name]
    facet = ArrayFacet(ds, Request.fake("/data/pets"), database="data", table="pets")
    results, _ = await facet.facet_results()
    assert results == []


# -- SQL text ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_table_sql_quotes_identifiers_only_when_needed(ds):
    response = await ds.client.get("/data/owners.json?_extra=query&_size=50")
    assert response.json()["query"]["sql"] == "select id, name from owners order by id limit 51"
    response = await ds.client.get("/data/pets.json?_extra=query&id__in=1,2&_odd__notin=b&_col=name")
    sql = response.json()["query"]["sql"]
    assert sql.startswith("select id, name from pets where ")
    assert "(id in (:p0, :p1))" in sql and "(_odd not in (:p2))" in sql
    assert [row["id"] for row in response.json()["rows"]] == [1]


# -- columns -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_generated_columns_appear_in_rows_and_json(ds):
    response = await ds.client.get("/data/priced.json?_extra=columns")
    data = response.json()
    assert data["columns"] == ["id", "price", "doubled", "tripled"]
    assert data["rows"][0] == {"id": 1, "price": 1.5, "doubled": 3.0, "tripled": 4.5}
    response = await ds.client.get("/data/priced/2.json")
    assert response.json()["rows"] == [{"id": 2, "price": 4.0, "doubled": 8.0, "tripled": 12.0}]
    page = await html(ds, "/data/priced")
    assert 'data-column="tripled"' in page


@pytest.mark.asyncio
async def test_full_text_tables_show_their_hidden_columns(ds):
    response = await ds.client.get("/data/docs_fts.json?_extra=columns")
    data = response.json()
    assert data["columns"] == ["rowid", "title", "body", "docs_fts", "rank"]
    assert [(row["rowid"], row["title"]) for row in data["rows"]] == [(1, "Hello")]


@pytest.mark.asyncio
async def test_database_json_lists_full_text_hidden_columns(ds):
    tables = {t["name"]: t for t in (await ds.client.get("/data.json")).json()["tables"]}
    assert tables["docs_fts"]["columns"] == ["title", "body", "docs_fts", "rank"]
    assert tables["priced"]["columns"] == ["id", "price", "doubled", "tripled"]


# -- CSV -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_query_csv_blob_links_keep_the_original_query_string(ds):
    response = await ds.client.get("/data.csv?sql=select+id,+photo+from+pets+order+by+id")
    rows = list(csv.reader(io.StringIO(response.text)))
    url = urllib.parse.urlsplit(rows[1][1])
    assert url.path == "/data.blob"
    assert url.query.startswith("sql=select+id,+photo+from+pets+order+by+id&_blob_column=photo&")
    assert rows[2] == ["2", ""]


@pytest.mark.asyncio
async def test_over_max_csv_mb_the_last_line_names_the_limit(ds):
    db = ds.get_database("data")
    await db.execute_write("create table wide (id integer primary key, body text)")
    await db.execute_write(
        "insert into wide (body) select printf('%.2000c', 'x') from"
        " (with recursive n(i) as (select 1 union all select i + 1 from n where i < 700)"
        " select i from n)"
    )
    response = await ds.client.get("/data/wide.csv?_stream=1")
    assert response.status_code == 200
    assert response.text.endswith("\r\nCSV contains more than 1048576 bytes")
