"""Tables and columns with hostile names work on every page (issue 9, hostile input 3).

A generated database holds, for each awkward character, a table with a text primary key
and a rowid table, each with columns whose names carry the same character, and a foreign
key into a table whose own names hold a `]`. Every page is fetched through
`datasette.client`; one test goes through real HTTP.
"""

import csv
import io
import sqlite3
import urllib.parse

import httpx
import pytest
from markupsafe import escape

from datasette.utils import escape_sqlite, tilde_encode

# One name per awkward character: brackets, quotes, path and URL syntax, spaces, newline.
ODD = ["odd]name", "has[br", 'dq"name', "sq'name", "sl/ash", "do.t", "pc%t", "ti~lde", "sp ace", "new\nline"]
LABELS = "lab]els"


def _q(name):
    # The test builds its schema with its own quoting, independent of the code under test.
    return '"' + name.replace('"', '""') + '"'


def make_odd_db(path):
    conn = sqlite3.connect(str(path))
    conn.execute(f"create table {_q(LABELS)} (id integer primary key, {_q('na]me')} text)")
    conn.execute(f"insert into {_q(LABELS)} values (1, 'one'), (2, 'two')")
    for name in ODD:
        pk, c, d = "p" + name, "c" + name, "d" + name
        conn.execute(
            f"create table {_q(name)} ({_q(pk)} text primary key, {_q(c)} text,"
            f" {_q(d)} integer references {_q(LABELS)}(id))"
        )
        conn.executemany(
            f"insert into {_q(name)} values (?, ?, ?)",
            [("k1" + name, "v", 1), ("k2" + name, "w", 2), ("k3" + name, "v", 2)],
        )
        conn.execute(f"create table {_q('r' + name)} ({_q(c)} text, {_q(d)} integer)")
        conn.executemany(
            f"insert into {_q('r' + name)} values (?, ?)", [("v", 1), ("w", 2), ("v", 3)]
        )
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def odd_db_path(tmp_path):
    return make_odd_db(tmp_path / "odd.db")


@pytest.fixture
def ds(make_ds, odd_db_path):
    return make_ds([str(odd_db_path)])


def table_path(table, suffix="", **args):
    path = "/odd/" + tilde_encode(table) + suffix
    return path + ("?" + urllib.parse.urlencode(args) if args else "")


async def get_json(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 200, (path, response.text[:500])
    return response.json()


# -- the helper ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ODD + ["select", "plain", "x]y\"z", "a]]b"])
def test_escape_sqlite_round_trips_every_name(name):
    conn = sqlite3.connect(":memory:")
    quoted = escape_sqlite(name)
    conn.execute(f"create table {quoted} ({escape_sqlite('c' + name)} text)")
    conn.execute(f"insert into {quoted} values ('x')")
    assert conn.execute("select name from sqlite_master").fetchone()[0] == name
    assert conn.execute(f"select {escape_sqlite('c' + name)} from {quoted}").fetchall() == [("x",)]


def test_escape_sqlite_quotes_only_when_needed():
    assert escape_sqlite("simple_primary_key") == "simple_primary_key"
    assert escape_sqlite("select") == "[select]"
    assert escape_sqlite("sl/ash") == "[sl/ash]"
    assert escape_sqlite("odd]name") == '"odd]name"'
    assert escape_sqlite('x]"y') == '"x]""y"'


# -- table pages ---------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ODD)
async def test_table_json_rows_sort_col_and_filters(ds, name):
    c, d, pk = "c" + name, "d" + name, "p" + name
    data = await get_json(ds, table_path(name, ".json", _extra="columns"))
    assert data["columns"] == [pk, c, d]
    assert [row[pk] for row in data["rows"]] == ["k1" + name, "k2" + name, "k3" + name]
    data = await get_json(ds, table_path(name, ".json", _sort_desc=c))
    assert [row[c] for row in data["rows"]] == ["w", "v", "v"]
    data = await get_json(ds, table_path(name, ".json", _col=c, _extra="columns"))
    assert data["columns"] == [pk, c]
    data = await get_json(ds, table_path(name, ".json", **{c: "w"}))
    assert [row[pk] for row in data["rows"]] == ["k2" + name]
    data = await get_json(ds, table_path(name, ".json", **{c + "__in": "w,x"}))
    assert [row[pk] for row in data["rows"]] == ["k2" + name]
    data = await get_json(ds, table_path(name, ".json", **{d + "__gt": "1"}))
    assert len(data["rows"]) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ODD)
async def test_table_pagination_with_sort(ds, name):
    c = "c" + name
    seen = []
    token = None
    for _ in range(5):
        args = {"_size": 1, "_sort": c, **({"_next": token} if token else {})}
        data = await get_json(ds, table_path("r" + name, ".json", **args))
        seen.extend((row["rowid"], row[c]) for row in data["rows"])
        token = data["next"]
        if not token:
            break
    assert seen == [(1, "v"), (3, "v"), (2, "w")]


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ODD)
async def test_labels_expand_into_a_table_with_odd_names(ds, name):
    d = "d" + name
    data = await get_json(ds, table_path(name, ".json", _label=d))
    assert data["rows"][0][d] == {"value": 1, "label": "one"}
    data = await get_json(ds, table_path(name, ".json", _labels="on"))
    assert data["rows"][1][d] == {"value": 2, "label": "two"}


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ODD)
async def test_facets_on_odd_columns(ds, name):
    c = "c" + name
    data = await get_json(ds, table_path("r" + name, ".json", _facet=c))
    results = data["facet_results"]["results"][c]["results"]
    assert [(r["value"], r["count"]) for r in results] == [("v", 2), ("w", 1)]
    # The facet's toggle link, followed, filters the table.
    query = urllib.parse.urlsplit(results[1]["toggle_url"]).query
    data = await get_json(ds, table_path("r" + name, ".json") + "?" + query)
    assert [row[c] for row in data["rows"]] == ["w"]


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ODD)
async def test_table_html_and_csv(ds, name):
    c = "c" + name
    response = await ds.client.get(table_path(name, _facet=c, _sort=c))
    assert response.status_code == 200
    assert str(escape("k2" + name)) in response.text
    response = await ds.client.get(table_path("r" + name, ".csv", _labels="on"))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:2] == ["rowid", c]
    assert len(rows) == 4


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ODD)
async def test_row_pages(ds, name):
    key = tilde_encode("k1" + name)
    data = await get_json(ds, table_path(name, "/" + key + ".json"))
    assert data["rows"] == [{"p" + name: "k1" + name, "c" + name: "v", "d" + name: 1}]
    response = await ds.client.get(table_path(name, "/" + key))
    assert response.status_code == 200
    assert str(escape("k1" + name)) in response.text
    data = await get_json(ds, table_path("r" + name, "/2.json"))
    assert data["rows"] == [{"rowid": 2, "c" + name: "w", "d" + name: 2}]
    assert (await ds.client.get(table_path("r" + name, "/2"))).status_code == 200


@pytest.mark.asyncio
async def test_row_page_lists_incoming_foreign_keys_from_odd_tables(ds):
    response = await ds.client.get(table_path(LABELS, "/2"))
    assert response.status_code == 200
    data = await get_json(ds, table_path(LABELS, "/2.json", _extras="foreign_key_tables"))
    counts = {fk["other_table"]: fk["count"] for fk in data["foreign_key_tables"]}
    assert counts == {name: 2 for name in ODD}


@pytest.mark.asyncio
async def test_database_page_and_json(ds):
    response = await ds.client.get("/odd")
    assert response.status_code == 200
    data = await get_json(ds, "/odd.json")
    names = {table["name"] for table in data["tables"]}
    assert set(ODD) <= names
    counts = {table["name"]: table["count"] for table in data["tables"]}
    assert all(counts[name] == 3 for name in ODD)


@pytest.mark.asyncio
async def test_internal_catalog_describes_odd_tables(ds):
    await ds.invoke_startup()
    internal = ds.get_internal_database()
    fks = await internal.execute(
        "select table_name, \"from\" from catalog_foreign_keys where database_name = 'odd'"
    )
    assert sorted(tuple(r) for r in fks.rows) == sorted((n, "d" + n) for n in ODD)
    indexes = await internal.execute(
        "select table_name from catalog_indexes where database_name = 'odd' and origin = 'pk'"
    )
    assert sorted(r[0] for r in indexes.rows) == sorted(ODD)


# -- the write API -------------------------------------------------------------------------


async def post(ds, path, body):
    cookies = {"ds_actor": ds.client.actor_cookie({"id": "root"})}
    return await ds.client.post(path, json=body, cookies=cookies)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ODD)
async def test_write_api_on_odd_names(ds, name):
    ds.root_enabled = True
    pk, c, d = "p" + name, "c" + name, "d" + name
    base = table_path(name)
    response = await post(ds, base + "/-/insert", {"row": {pk: "new", c: "x"}, "return": True})
    assert response.status_code == 201, response.text
    assert response.json()["rows"] == [{pk: "new", c: "x", d: None}]
    response = await post(ds, base + "/-/upsert", {"rows": [{pk: "new", c: "y"}]})
    assert response.status_code == 200, response.text
    response = await post(ds, base + "/new/-/update", {"update": {d: 2}, "return": True})
    assert response.status_code == 200, response.text
    assert response.json()["row"] == {pk: "new", c: "y", d: 2}
    response = await post(ds, base + "/new/-/delete", {})
    assert response.status_code == 200, response.text
    db = ds.get_database("odd")
    assert (await db.execute(f"select count(*) from {escape_sqlite(name)}")).single_value() == 3
    response = await post(ds, base + "/-/drop", {"confirm": True})
    assert response.status_code == 200, response.text
    assert name not in await db.table_names()


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["new]t", 'n"q', "s p/a.c%e~"])
async def test_create_table_with_odd_names(ds, name):
    ds.root_enabled = True
    body = {"table": name, "rows": [{"i" + name: 1, "c]" + name: "x"}], "pk": "i" + name}
    response = await post(ds, "/odd/-/create", body)
    assert response.status_code == 201, response.text
    data = await get_json(ds, table_path(name, "/1.json"))
    assert data["rows"] == [{"i" + name: 1, "c]" + name: "x"}]


# -- real HTTP -----------------------------------------------------------------------------


@pytest.mark.slow
def test_odd_names_over_real_http(make_ds, serve_ds, odd_db_path):
    ds = make_ds([str(odd_db_path)])
    with serve_ds(ds) as server:
        for name in ODD:
            url = server.url + table_path(name, ".json", **{"c" + name: "v", "_labels": "on"})
            response = httpx.get(url)
            assert response.status_code == 200, (name, response.text[:300])
            assert [row["d" + name]["label"] for row in response.json()["rows"]] == ["one", "two"]
            key = tilde_encode("k1" + name)
            response = httpx.get(server.url + table_path(name, "/" + key + ".json"))
            assert response.json()["rows"][0]["p" + name] == "k1" + name
