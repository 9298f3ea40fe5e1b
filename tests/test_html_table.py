"""The HTML table and view page through real HTTP (http-cli.md §10.4, §3.2, §4, §0.6, §7.1;
plugins-auth-config.md §8.2, §8.4, §2.2).

Most tests read the module-scoped `read_api_server` (uvicorn over `fixtures.db` with
`READ_API_METADATA`: `places` has title "Places", always facets `state` and
`{"array": "tags"}` and puts unit `m` on `n`; `cities` labels by `name`; `big` has 1,001
rows, pages of 50 and sorts by `score` descending; `simple_view` is described "A view").
Settings, templates and plugins that change the page get their own instance from
`make_ds` served with `serve_ds`. HTML is parsed with the stdlib `html.parser`.
"""

import copy
import json
import re
import sqlite3
import urllib.parse
from html.parser import HTMLParser

import httpx
from markupsafe import Markup

from datasette.plugins import pm

from .fixtures import READ_API_METADATA

# -- a tiny DOM -------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children = []

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def get(self, name, default=None):
        return self.attrs.get(name, default)

    def text(self):
        parts = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text())
        return "".join(parts)

    def stripped(self):
        """Text with runs of ordinary whitespace collapsed (non-breaking spaces kept)."""
        return re.sub(r"[ \t\r\n]+", " ", self.text()).strip()

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag=None, class_=None, **attrs):
        found = []
        for node in self.iter():
            if tag is not None and node.tag != tag:
                continue
            if class_ is not None and class_ not in node.classes:
                continue
            if any(
                node.attrs.get(k.replace("_", "-") if k.startswith("data_") else k) != v
                for k, v in attrs.items()
            ):
                continue
            found.append(node)
        return found

    def find(self, tag=None, class_=None, **attrs):
        found = self.find_all(tag, class_, **attrs)
        return found[0] if found else None

    def __repr__(self):
        return "<{} {}>".format(self.tag, self.attrs)


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root
        self.comments = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)

    def handle_comment(self, data):
        self.comments.append(data)


def parse(html):
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    builder.root.comments = builder.comments
    return builder.root


# -- HTTP helpers ------------------------------------------------------------------------------


def get(server, path, **kwargs):
    return httpx.get(server.url + path, timeout=60, **kwargs)


def page(server, path, status=200, **kwargs):
    response = get(server, path, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return parse(response.text)


def query_pairs(url):
    return urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)


def header_cells(doc):
    table = doc.find("table", class_="rows-and-columns")
    assert table is not None
    return table.find("thead").find_all("th")


def body_rows(doc):
    table = doc.find("table", class_="rows-and-columns")
    assert table is not None
    return [tr.find_all("td") for tr in table.find("tbody").find_all("tr")]


def inner_html_of_cells(html):
    """`[[td inner HTML, ...], ...]` read with a regex, for exact markup checks."""
    tbody = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        re.findall(r'<td class="([^"]*)">(.*?)</td>', row, re.S)
        for row in re.findall(r"<tr>(.*?)</tr>", tbody, re.S)
    ]


def make_db(path, sql):
    conn = sqlite3.connect(str(path))
    try:
        conn.executescript(sql)
        conn.commit()
    finally:
        conn.close()
    return path


class Plugin:
    """Registers `obj` as a plugin for the `with` block, always unregistering it."""

    def __init__(self, obj, name):
        self.obj = obj
        self.name = name

    def __enter__(self):
        pm.register(self.obj, name=self.name)
        return self.obj

    def __exit__(self, *exc):
        pm.unregister(self.obj, name=self.name)


# -- title, header, description ---------------------------------------------------------------


def test_title_heading_and_body_class(read_api_server):
    doc = page(read_api_server, "/fixtures/places")
    assert doc.find("title").text() == "fixtures: places: 15 rows"
    assert doc.find("body").get("class") == "table db-fixtures table-places"
    header = doc.find("div", class_="page-header")
    assert header.find("h1").stripped() == "Places"
    assert doc.find("h3").stripped() == "15 rows"
    # Crumbs: home and the database, not the table itself.
    crumbs = doc.find("p", class_="crumbs")
    assert [a.get("href") for a in crumbs.find_all("a")] == ["/", "/fixtures"]


def test_title_with_filter_description(read_api_server):
    doc = page(read_api_server, "/fixtures/places?state=MI&_sort_desc=pk")
    expected = 'fixtures: places: 4 rows where state = "MI" sorted by pk descending'
    assert doc.find("title").text() == expected
    h3 = [h for h in doc.find_all("h3") if "rows" in h.text()][0]
    assert h3.stripped() == '4 rows where state = "MI" sorted by pk descending'


def test_singular_row_count(read_api_server):
    doc = page(read_api_server, "/fixtures/places?pk=3")
    assert doc.find("title").text() == "fixtures: places: 1 row where pk = 3"


def test_view_heading_description_and_definition(read_api_server):
    doc = page(read_api_server, "/fixtures/simple_view")
    assert doc.find("h1").stripped() == "simple_view (view)"
    assert doc.find("div", class_="metadata-description").stripped() == "A view"
    assert doc.find("body").get("class") == "table db-fixtures table-simple_view"
    headers = [th.get("data-column") for th in header_cells(doc)]
    # No link column on views.
    assert headers == ["content", "upper_content"]
    pre = doc.find("pre", class_="wrapped-sql")
    assert pre.text().startswith("CREATE VIEW simple_view AS SELECT")
    # Views have no row pages: no object shape.
    export = doc.find("div", id="export")
    assert "object" not in [a.stripped() for a in export.find_all("a")]


def test_description_html_is_raw(read_api_server):
    doc = page(read_api_server, "/fixtures/simple_primary_key")
    description = doc.find("div", class_="metadata-description")
    assert description.find("em").text() == "primary"
    assert description.stripped() == "Simple primary key"


def test_table_definition(read_api_server):
    doc = page(read_api_server, "/fixtures/places")
    pre = doc.find("pre", class_="wrapped-sql")
    assert pre.text().startswith("CREATE TABLE places (")
    assert "city_id INTEGER REFERENCES cities(id)" in pre.text()


def test_column_descriptions(make_ds, serve_ds, read_api_db_path):
    metadata = copy.deepcopy(READ_API_METADATA)
    metadata["databases"]["fixtures"]["tables"]["cities"]["columns"] = {
        "name": "City name",
        "state": "Two-letter <code>",
    }
    ds = make_ds([str(read_api_db_path)], metadata=metadata)
    with serve_ds(ds) as server:
        response = get(server, "/fixtures/cities")
    doc = parse(response.text)
    dl = doc.find("dl", class_="column-descriptions")
    assert [dt.text() for dt in dl.find_all("dt")] == ["name", "state"]
    assert [dd.text() for dd in dl.find_all("dd")] == ["City name", "Two-letter <code>"]
    assert "Two-letter &lt;code&gt;" in response.text
    th = {th.get("data-column"): th for th in header_cells(doc)}
    assert th["name"].get("data-column-description") == "City name"
    assert th["id"].get("data-column-description") is None


# -- headers ------------------------------------------------------------------------------------


def test_alternate_link_header(read_api_server):
    response = get(read_api_server, "/fixtures/places?state=CA")
    assert response.status_code == 200
    port = read_api_server.port
    expected = (
        'http://127.0.0.1:{}/fixtures/places.json?state=CA; rel="alternate"; '
        'type="application/json+datasette"'
    ).format(port)
    assert response.headers.get_list("link") == [expected]
    doc = parse(response.text)
    link = doc.find("link", rel="alternate")
    assert link.get("type") == "application/json+datasette"
    assert link.get("href") == "http://127.0.0.1:{}/fixtures/places.json?state=CA".format(port)
    assert response.headers["cache-control"] == "max-age=5"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_next_link_header_and_next_page_link(read_api_server):
    response = get(read_api_server, "/fixtures/big")
    links = response.headers.get_list("link")
    next_links = [link for link in links if link.endswith('rel="next"')]
    assert len(next_links) == 1
    next_url = re.match(r"<(.*)>; rel=\"next\"$", next_links[0]).group(1)
    assert ("_sort_desc", "score") in query_pairs(next_url)
    assert any(link.endswith('type="application/json+datasette"') for link in links)
    doc = parse(response.text)
    next_anchor = [a for a in doc.find_all("a") if a.text() == "Next page"]
    assert len(next_anchor) == 1
    assert next_anchor[0].get("href") == next_url
    assert next_anchor[0].parent.tag == "p"
    # Following it gives the next 50 rows.
    second = parse(httpx.get(next_url, timeout=60).text)
    assert len(body_rows(second)) == 50


def test_no_next_page_link_on_last_page(read_api_server):
    response = get(read_api_server, "/fixtures/places")
    assert not [link for link in response.headers.get_list("link") if 'rel="next"' in link]
    assert "Next page" not in response.text


# -- column headers and sorting -----------------------------------------------------------------


def test_column_headers_places(read_api_server):
    doc = page(read_api_server, "/fixtures/places")
    ths = header_cells(doc)
    assert [th.get("data-column") for th in ths] == [
        "pk",
        "created",
        "planet_int",
        "on_earth",
        "state",
        "city_id",
        "neighborhood",
        "tags",
        "complex_array",
        "distinct_some_null",
        "n",
    ]
    pk = ths[0]
    assert pk.get("class") == "col-pk"
    assert pk.get("scope") == "col"
    assert pk.get("data-column-type") == "integer"
    assert pk.get("data-column-not-null") == "0"
    assert pk.get("data-is-pk") == "1"
    # Unsorted single-pk table: the pk reads as ascending and links to descending.
    link = pk.find("a")
    assert link.text() == "pk\xa0▼"
    assert link.get("rel") == "nofollow"
    assert link.get("href") == "/fixtures/places?_sort_desc=pk"
    state = ths[4]
    assert state.get("data-column-type") == "text"
    assert state.get("data-is-pk") == "0"
    assert state.find("a").text() == "state"
    assert state.find("a").get("href") == "/fixtures/places?_sort=state"


def test_not_null_and_type_lower_case(make_ds, serve_ds, tmp_path):
    path = make_db(
        tmp_path / "types.db",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, label VARCHAR(20) NOT NULL, score REAL);"
        "INSERT INTO t VALUES (1, 'a', 1.5);",
    )
    ds = make_ds([str(path)])
    with serve_ds(ds) as server:
        doc = page(server, "/types/t")
    ths = {th.get("data-column"): th for th in header_cells(doc)}
    assert ths["label"].get("data-column-type") == "varchar(20)"
    assert ths["label"].get("data-column-not-null") == "1"
    assert ths["score"].get("data-column-not-null") == "0"
    cells = body_rows(doc)[0]
    assert [td.get("class") for td in cells] == [
        "col-id type-pk",
        "col-label type-str",
        "col-score type-float",
    ]


def test_sort_ascending_and_descending_links(read_api_server):
    doc = page(read_api_server, "/fixtures/places?_sort=state")
    ths = {th.get("data-column"): th for th in header_cells(doc)}
    assert ths["state"].find("a").text() == "state\xa0▼"
    assert ths["state"].find("a").get("href") == "/fixtures/places?_sort_desc=state"
    # The pk is no longer shown as the sort.
    assert ths["pk"].find("a").text() == "pk"
    assert ths["pk"].find("a").get("href") == "/fixtures/places?_sort=pk"

    doc = page(read_api_server, "/fixtures/places?_sort_desc=state&state=CA")
    ths = {th.get("data-column"): th for th in header_cells(doc)}
    assert ths["state"].find("a").text() == "state\xa0▲"
    assert query_pairs(ths["state"].find("a").get("href")) == [("state", "CA"), ("_sort", "state")]


def test_sort_links_clear_next(read_api_server):
    first = get(read_api_server, "/fixtures/big?_sort=id")
    next_url = [h for h in first.headers.get_list("link") if 'rel="next"' in h][0]
    next_path = urllib.parse.urlsplit(re.match(r"<(.*)>", next_url).group(1))
    doc = page(read_api_server, next_path.path + "?" + next_path.query)
    assert "_next" in dict(query_pairs(next_path.query and "?" + next_path.query))
    for th in header_cells(doc):
        href = th.find("a").get("href")
        assert "_next" not in dict(query_pairs(href))
    hidden = [
        i.get("name") for i in doc.find("form", class_="filters").find_all("input", type="hidden")
    ]
    assert "_next" not in hidden and "_sort" not in hidden
    # The CSV link keeps the current page; the export form starts from the first row.
    csv_link = [a for a in doc.find("p", class_="export-links").find_all("a") if a.text() == "CSV"]
    assert "_next" in dict(query_pairs(csv_link[0].get("href")))
    form = doc.find("div", id="export").find("form")
    csv_hidden = [(i.get("name"), i.get("value")) for i in form.find_all("input", type="hidden")]
    assert csv_hidden == [("_sort", "id"), ("_size", "max")]


def test_metadata_default_sort_desc(read_api_server):
    doc = page(read_api_server, "/fixtures/big")
    ths = {th.get("data-column"): th for th in header_cells(doc)}
    assert ths["score"].find("a").text() == "score\xa0▲"
    assert ths["score"].find("a").get("href") == "/fixtures/big?_sort=score"
    assert ths["id"].find("a").text() == "id"


def test_sortable_columns_metadata(read_api_server):
    doc = page(read_api_server, "/fixtures/sortable")
    ths = {th.get("data-column"): th for th in header_cells(doc)}
    # Not listed in sortable_columns: plain text, no link.
    assert ths["content"].find("a") is None
    assert ths["content"].stripped() == "content"
    assert ths["sortable"].find("a").get("href") == "/fixtures/sortable?_sort=sortable"


# -- link column and cells ----------------------------------------------------------------------


def test_single_pk_link_column_and_fk_labels(read_api_server):
    response = get(read_api_server, "/fixtures/cities")
    rows = inner_html_of_cells(response.text)
    assert rows[0] == [
        ("col-id type-pk", '<a href="/fixtures/cities/1">1</a>'),
        ("col-name type-str", "San Francisco"),
        ("col-state type-str", '<a href="/fixtures/states/CA">California</a>&nbsp;<em>CA</em>'),
    ]
    # NULL foreign key: not expanded, just a blank cell.
    assert rows[4][2] == ("col-state type-none", "&nbsp;")


def test_fk_label_links_integer_keys(read_api_server):
    response = get(read_api_server, "/fixtures/places?_col=city_id&pk__gt=12")
    rows = inner_html_of_cells(response.text)
    assert rows[0] == [
        ("col-pk type-pk", '<a href="/fixtures/places/13">13</a>'),
        ("col-city_id type-int", '<a href="/fixtures/cities/3">Detroit</a>&nbsp;<em>3</em>'),
    ]
    assert rows[2][1] == ("col-city_id type-none", "&nbsp;")


def test_labels_off_shows_raw_values(read_api_server):
    response = get(read_api_server, "/fixtures/cities?_labels=off")
    rows = inner_html_of_cells(response.text)
    assert rows[0][2] == ("col-state type-str", "CA")


def test_compound_primary_key_link_column(read_api_server):
    doc = page(read_api_server, "/fixtures/compound_primary_key")
    ths = header_cells(doc)
    assert [th.get("data-column") for th in ths] == ["Link", "pk1", "pk2", "content"]
    assert ths[0].get("class") == "col-Link"
    assert ths[0].find("a") is None
    assert ths[0].stripped() == "Link"
    assert ths[1].get("data-is-pk") == "1" and ths[2].get("data-is-pk") == "1"
    # Compound keys are not shown as sorted by default.
    assert ths[1].find("a").text() == "pk1"
    links = [(row[0].find("a").get("href"), row[0].find("a").text()) for row in body_rows(doc)]
    assert links == [
        ("/fixtures/compound_primary_key/a,b", "a,b"),
        ("/fixtures/compound_primary_key/a~2Fb,~2Ec-d", "a/b,.c-d"),
        ("/fixtures/compound_primary_key/a~7Eb,x~2Cy", "a~b,x,y"),
    ]
    assert all(row[0].get("class") == "col-Link type-pk" for row in body_rows(doc))
    # Each link resolves to the row page.
    assert get(read_api_server, links[1][0] + ".json").status_code == 200


def test_rowid_table_link_and_rowid_columns(read_api_server):
    doc = page(read_api_server, "/fixtures/no_primary_key")
    ths = header_cells(doc)
    assert [th.get("data-column") for th in ths] == ["Link", "rowid", "content", "a", "b", "c"]
    rowid = ths[1]
    assert rowid.get("data-column-type") == "integer"
    assert rowid.find("a").text() == "rowid\xa0▼"
    assert rowid.find("a").get("href") == "/fixtures/no_primary_key?_sort_desc=rowid"
    first = body_rows(doc)[0]
    assert first[0].get("class") == "col-Link type-pk"
    assert first[0].find("a").get("href") == "/fixtures/no_primary_key/1"
    assert first[1].get("class") == "col-rowid type-int"
    assert first[1].text() == "1"
    assert first[2].get("class") == "col-content type-str"


def test_binary_cells(read_api_server):
    response = get(read_api_server, "/fixtures/binary_data")
    rows = inner_html_of_cells(response.text)
    assert rows[0][2] == (
        "col-data type-bytes",
        '<a class="blob-download" href="/fixtures/binary_data/1.blob?_blob_column=data">'
        "&lt;Binary:&nbsp;3&nbsp;bytes&gt;</a>",
    )
    assert rows[2][2] == ("col-data type-none", "&nbsp;")
    doc = parse(response.text)
    href = body_rows(doc)[1][2].find("a").get("href")
    blob = get(read_api_server, href)
    assert blob.status_code == 200
    assert blob.content == b"ABC"


def test_empty_string_and_null_cells(read_api_server):
    response = get(read_api_server, "/fixtures/simple_primary_key")
    rows = inner_html_of_cells(response.text)
    assert rows[0][1] == ("col-content type-str", "hello")
    assert rows[2][1] == ("col-content type-str", "&nbsp;")
    assert rows[4][1] == ("col-content type-none", "&nbsp;")


def test_units_rendered(read_api_server):
    response = get(read_api_server, "/fixtures/places?_col=n&pk__gt=12")
    rows = inner_html_of_cells(response.text)
    assert rows[0][1] == ("col-n type-int", "5&nbsp;m")
    assert rows[2][1] == ("col-n type-none", "&nbsp;")


def test_url_links_truncation_and_escaping(make_ds, serve_ds, tmp_path):
    path = make_db(
        tmp_path / "cells.db",
        """
        CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
        INSERT INTO t VALUES
          (1, 'https://example.com/'),
          (2, 'https://example.com/a/very/long/path/to/image.png'),
          (3, 'abcdefghijklmnopqrstuvwxyz'),
          (4, 'http://example.com/ has spaces'),
          (5, '<b>bold</b>'),
          (6, 'http://example.com/?a=1&b=2');
        """,
    )
    ds = make_ds([str(path)], settings={"truncate_cells_html": 20})
    with serve_ds(ds) as server:
        response = get(server, "/cells/t")
    rows = inner_html_of_cells(response.text)
    cells = [row[1][1] for row in rows]
    assert cells[0] == '<a href="https://example.com/">https://example.com/</a>'
    href, text = re.match(r'<a href="([^"]*)">(.*)</a>$', cells[1]).groups()
    assert href == "https://example.com/a/very/long/path/to/image.png"
    assert text.endswith("\u2026.png") and text.startswith("https://example.")
    assert len(text) < len(href) - 20
    assert cells[2] == "abcdefghijklmnopqrst\u2026"
    # Whitespace: not a URL, so plain (truncated) text.
    assert cells[3] == "http://example.com/ \u2026"
    assert cells[4] == "&lt;b&gt;bold&lt;/b&gt;"
    assert cells[5] == '<a href="http://example.com/?a=1&amp;b=2">http://example.com/\u2026</a>'


def test_zero_results(read_api_server):
    doc = page(read_api_server, "/fixtures/places?pk__gt=100")
    zero = doc.find("p", class_="zero-results")
    assert zero.text() == "0 records"
    assert doc.find("table", class_="rows-and-columns") is None
    export = doc.find("p", class_="export-links")
    assert export.stripped() == "This data as json"
    assert doc.find("div", id="export") is None
    assert doc.find("title").text() == "fixtures: places: 0 rows where pk > 100"


# -- filter form --------------------------------------------------------------------------------


def labelled(doc, control):
    """True when `control` has a `<label for=id>` or sits inside a `<label>`."""
    node = control.parent
    while node is not None:
        if node.tag == "label":
            return True
        node = node.parent
    control_id = control.get("id")
    return bool(control_id) and any(
        label.get("for") == control_id for label in doc.find_all("label")
    )


def test_filter_form_blank_row(read_api_server):
    doc = page(read_api_server, "/fixtures/places")
    form = doc.find("form", class_="filters")
    assert form.get("method") == "get"
    assert form.get("action") == "/fixtures/places"
    rows = form.find_all("div", class_="filter-row")
    assert len(rows) == 1
    column_select = form.find("select", name="_filter_column")
    options = [o.text() for o in column_select.find_all("option")]
    assert options[0] == "- column -"
    assert column_select.find_all("option")[0].get("value") == ""
    assert options[1:] == [
        "pk",
        "created",
        "planet_int",
        "on_earth",
        "state",
        "city_id",
        "neighborhood",
        "tags",
        "complex_array",
        "distinct_some_null",
        "n",
    ]
    op_values = [o.get("value") for o in form.find("select", name="_filter_op").find_all("option")]
    assert op_values[:3] == ["exact", "not", "contains"]
    for op in ("isnull__1", "notnull__1", "isblank__1", "notblank__1", "gt", "in", "date"):
        assert op in op_values
    op_labels = [o.text() for o in form.find("select", name="_filter_op").find_all("option")]
    assert "≥" in op_labels and "is not null" in op_labels
    assert form.find("input", name="_filter_value").get("type") == "text"
    sort = form.find("select", name="_sort")
    assert "small-screen-only" in sort.parent.classes
    assert [o.get("value") for o in sort.find_all("option")][:3] == ["", "pk", "created"]
    assert form.find("input", name="_sort_by_desc").get("type") == "checkbox"
    submit = form.find("input", type="submit")
    assert submit.get("value") == "Apply"
    # No search box: places has no FTS table.
    assert form.find("input", name="_search") is None
    for control in form.find_all("select") + form.find_all("input"):
        if control.get("type") in ("hidden", "submit"):
            continue
        assert labelled(doc, control), control


def test_filter_form_rows_for_active_filters(read_api_server):
    doc = page(
        read_api_server,
        "/fixtures/places?state=CA&pk__gt=2&city_id__isnull=1&_facet=city_id&_sort=n&_size=5",
    )
    form = doc.find("form", class_="filters")
    rows = form.find_all("div", class_="filter-row")
    assert len(rows) == 4
    expected = [("state", "exact", "CA"), ("pk", "gt", "2"), ("city_id", "isnull__1", "1")]
    for n, (column, op, value) in enumerate(expected, start=1):
        column_select = form.find("select", name="_filter_column_{}".format(n))
        options = column_select.find_all("option")
        assert options[0].text() == "- remove filter -"
        assert options[0].get("value") == ""
        assert [o.text() for o in options if "selected" in o.attrs] == [column]
        op_select = form.find("select", name="_filter_op_{}".format(n))
        assert [o.get("value") for o in op_select.find_all("option") if "selected" in o.attrs] == [
            op
        ]
        assert form.find("input", name="_filter_value_{}".format(n)).get("value") == value
    hidden = [(i.get("name"), i.get("value")) for i in form.find_all("input", type="hidden")]
    assert hidden == [("_facet", "city_id"), ("_size", "5")]
    sort = form.find("select", name="_sort")
    assert [o.get("value") for o in sort.find_all("option") if "selected" in o.attrs] == ["n"]
    assert "checked" not in form.find("input", name="_sort_by_desc").attrs
    for control in form.find_all("select") + form.find_all("input"):
        if control.get("type") in ("hidden", "submit"):
            continue
        assert labelled(doc, control), control


def test_filter_form_sort_desc_checked(read_api_server):
    doc = page(read_api_server, "/fixtures/places?_sort_desc=created&_search=no")
    form = doc.find("form", class_="filters")
    assert "checked" in form.find("input", name="_sort_by_desc").attrs
    sort = form.find("select", name="_sort")
    assert [o.get("value") for o in sort.find_all("option") if "selected" in o.attrs] == ["created"]
    names = [i.get("name") for i in form.find_all("input", type="hidden")]
    assert "_sort_desc" not in names and "_next" not in names and "_search" not in names


def test_filter_form_submission_redirects(read_api_server):
    """The blank row's fields, as a browser submits them, become a filter (§3.2)."""
    response = get(
        read_api_server,
        "/fixtures/places?_filter_column=city_id&_filter_op=isnull__1&_filter_value=&_sort=&_facet=state",
        follow_redirects=False,
    )
    assert response.status_code == 302
    location = response.headers["location"]
    assert dict(query_pairs(location)) == {"_facet": "state", "city_id__isnull": "1"}
    doc = page(read_api_server, location)
    assert doc.find("title").text() == "fixtures: places: 1 row where city_id is null"


def test_filter_columns_include_hidden_and_rowid(read_api_server):
    doc = page(read_api_server, "/fixtures/places?_nocol=tags&_nocol=n")
    options = [o.text() for o in doc.find("select", name="_filter_column").find_all("option")]
    assert "tags" in options and "n" in options
    assert "tags" not in [th.get("data-column") for th in header_cells(doc)]
    doc = page(read_api_server, "/fixtures/no_primary_key")
    options = [o.text() for o in doc.find("select", name="_filter_column").find_all("option")]
    assert options[:3] == ["- column -", "rowid", "content"]


def test_search_row_and_fts_hidden_fields(read_api_server):
    doc = page(
        read_api_server, "/fixtures/searchable?_search=terry&_fts_table=searchable_fts&_fts_pk=pk"
    )
    form = doc.find("form", class_="filters")
    search = form.find("input", name="_search")
    assert search.get("type") == "search"
    assert search.get("value") == "terry"
    assert labelled(doc, search)
    hidden = [(i.get("name"), i.get("value")) for i in form.find_all("input", type="hidden")]
    assert ("_fts_table", "searchable_fts") in hidden
    assert ("_fts_pk", "pk") in hidden
    assert doc.find("title").text() == 'fixtures: searchable: 2 rows where search matches "terry"'


def test_extra_wheres_and_edit_sql(read_api_server):
    doc = page(read_api_server, "/fixtures/places?_where=pk+>+12&state=MI")
    box = doc.find("div", class_="extra-wheres")
    assert box.find("code").text() == "pk > 12"
    remove = [a for a in box.find_all("a") if a.text() == "remove"][0]
    assert query_pairs(remove.get("href")) == [("state", "MI")]
    hidden = [
        (i.get("name"), i.get("value"))
        for i in doc.find("form", class_="filters").find_all("input", type="hidden")
    ]
    assert hidden == [("_where", "pk > 12")]
    edit = [a for a in doc.find_all("a") if "View and edit SQL" in a.text()]
    assert len(edit) == 1
    assert edit[0].text().startswith("\u270e")
    url = urllib.parse.urlsplit(edit[0].get("href"))
    assert url.path == "/fixtures"
    params = dict(query_pairs(edit[0].get("href")))
    assert "limit" not in params["sql"]
    assert params["sql"].startswith("select ")
    assert "pk > 12" in params["sql"]
    assert params["p0"] == "MI"
    # The link runs: the SQL page answers with the same two rows.
    data = get(read_api_server, "/fixtures.json?" + url.query + "&_shape=array").json()
    assert [row["pk"] for row in data] == [13, 14]


def test_edit_sql_hidden_without_execute_sql(make_ds, serve_ds, read_api_db_path):
    metadata = copy.deepcopy(READ_API_METADATA)
    metadata["databases"]["fixtures"]["allow_sql"] = False
    ds = make_ds([str(read_api_db_path)], metadata=metadata)
    with serve_ds(ds) as server:
        allowed = get(server, "/fixtures/places")
    assert allowed.status_code == 200
    assert "View and edit SQL" not in allowed.text
    assert doc_has_table(allowed.text)


def doc_has_table(html):
    return parse(html).find("table", class_="rows-and-columns") is not None


# -- export links and CSV form ------------------------------------------------------------------


def test_export_links(read_api_server):
    doc = page(read_api_server, "/fixtures/cities?state=CA")
    export = doc.find("p", class_="export-links")
    assert export.stripped() == "This data as json, CSV (advanced)"
    links = {a.text(): a.get("href") for a in export.find_all("a")}
    # cities has a foreign key: exports carry the labels (issue 9, table page HTML).
    assert links["json"] == "/fixtures/cities.json?state=CA&_labels=on"
    assert urllib.parse.urlsplit(links["CSV"]).path == "/fixtures/cities.csv"
    assert query_pairs(links["CSV"]) == [("state", "CA"), ("_labels", "on"), ("_size", "max")]
    assert links["advanced"] == "#export"
    csv = get(read_api_server, links["CSV"])
    assert csv.status_code == 200
    assert csv.text.splitlines()[0] == "id,name,state,state_label"


def test_export_links_without_foreign_keys(read_api_server):
    doc = page(read_api_server, "/fixtures/compound_primary_key")
    links = {a.text(): a.get("href") for a in doc.find("p", class_="export-links").find_all("a")}
    assert query_pairs(links["CSV"]) == [("_size", "max")]


def test_advanced_export_block(read_api_server):
    doc = page(read_api_server, "/fixtures/cities?_sort=name")
    export = doc.find("div", id="export")
    assert "advanced-export" in export.classes
    shapes = {a.text(): a.get("href") for a in export.find_all("a")}
    # The shapes extend the JSON link, which asks for labels (issue 9, table page HTML).
    assert shapes["default"] == "/fixtures/cities.json?_sort=name&_labels=on"
    labels = ("_labels", "on")
    assert query_pairs(shapes["array"]) == [("_sort", "name"), labels, ("_shape", "array")]
    assert query_pairs(shapes["newline-delimited"]) == [
        ("_sort", "name"),
        labels,
        ("_shape", "array"),
        ("_nl", "on"),
    ]
    assert query_pairs(shapes["object"]) == [("_sort", "name"), labels, ("_shape", "object")]
    form = export.find("form")
    assert form.get("action") == "/fixtures/cities.csv"
    assert form.get("method") == "get"
    checkboxes = {i.get("name"): i for i in form.find_all("input", type="checkbox")}
    assert set(checkboxes) == {"_dl", "_labels"}
    assert "checked" in checkboxes["_labels"].attrs
    for checkbox in checkboxes.values():
        assert labelled(doc, checkbox)
    hidden = [(i.get("name"), i.get("value")) for i in form.find_all("input", type="hidden")]
    assert hidden == [("_sort", "name"), ("_size", "max")]
    assert form.find("input", type="submit").get("value") == "Export CSV"


def test_csv_stream_checkbox_only_with_next_page(read_api_server):
    doc = page(read_api_server, "/fixtures/big")
    names = [i.get("name") for i in doc.find("div", id="export").find_all("input", type="checkbox")]
    assert names == ["_dl", "_stream"]
    doc = page(read_api_server, "/fixtures/compound_primary_key")
    names = [i.get("name") for i in doc.find("div", id="export").find_all("input", type="checkbox")]
    assert names == ["_dl"]


def test_csv_stream_checkbox_respects_setting(make_ds, serve_ds, read_api_db_path):
    ds = make_ds(
        [str(read_api_db_path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        settings={"allow_csv_stream": False},
    )
    with serve_ds(ds) as server:
        doc = page(server, "/fixtures/big")
    names = [i.get("name") for i in doc.find("div", id="export").find_all("input", type="checkbox")]
    assert names == ["_dl"]


def test_plugin_renderer_in_export_links(make_ds, serve_ds, read_api_db_path):
    from datasette.hookspecs import hookimpl

    class RendererPlugin:
        @hookimpl
        def register_output_renderer(self, datasette):
            return [
                {"extension": "testnone", "render": lambda: None, "can_render": lambda: False},
                {
                    "extension": "testall",
                    "render": lambda columns: {"body": ",".join(columns)},
                    "can_render": lambda table: table == "cities",
                },
            ]

    with Plugin(RendererPlugin(), "test-html-table-renderer"):
        ds = make_ds([str(read_api_db_path)], metadata=copy.deepcopy(READ_API_METADATA))
        with serve_ds(ds) as server:
            cities = page(server, "/fixtures/cities")
            states = page(server, "/fixtures/states")
    export = cities.find("p", class_="export-links")
    assert export.stripped() == "This data as json, testall, CSV (advanced)"
    assert {a.text(): a.get("href") for a in export.find_all("a")}[
        "testall"
    ] == "/fixtures/cities.testall?_labels=on"
    assert states.find("p", class_="export-links").stripped() == "This data as json, CSV (advanced)"


# -- facets -----------------------------------------------------------------------------------


def facet_infos(doc):
    results = doc.find("div", class_="facet-results")
    assert results is not None
    return {div.get("data-column"): div for div in results.find_all("div", class_="facet-info")}


def test_metadata_facets_html(read_api_server):
    doc = page(read_api_server, "/fixtures/places")
    facets = facet_infos(doc)
    assert set(facets) == {"state", "tags"}
    state = facets["state"]
    assert state.classes == ["facet-info", "facet-fixtures-places-state"]
    assert state.get("id") == "facet-state"
    # The total sits inside the heading's <strong>, as in 1.0a7 (issue 9, table page HTML).
    assert state.find("strong").stripped() == "state 3"
    assert state.find("span", class_="facet-info-total").text() == "3"
    # Metadata facets cannot be hidden.
    assert state.find("a", class_="cross") is None
    items = [
        (li.find("a").text(), li.find("a").get("href"), li.stripped())
        for li in state.find("ul").find_all("li")
    ]
    port = read_api_server.port
    assert items == [
        ("CA", "http://127.0.0.1:{}/fixtures/places?state=CA".format(port), "CA 10"),
        ("MI", "http://127.0.0.1:{}/fixtures/places?state=MI".format(port), "MI 4"),
        ("MC", "http://127.0.0.1:{}/fixtures/places?state=MC".format(port), "MC 1"),
    ]
    tags = facets["tags"]
    assert tags.find("strong").stripped() == "tags (array) 3"
    assert [li.stripped() for li in tags.find("ul").find_all("li")] == [
        "tag1 2",
        "tag2 1",
        "tag3 1",
    ]
    assert (
        tags.find("li").find("a").get("href").endswith("/fixtures/places?tags__arraycontains=tag1")
    )


def test_requested_facet_hideable_with_labels(read_api_server):
    doc = page(read_api_server, "/fixtures/places?_facet=city_id")
    city = facet_infos(doc)["city_id"]
    cross = city.find("p").find("a", class_="cross")
    assert cross.get("href") == "/fixtures/places"
    assert [li.stripped() for li in city.find("ul").find_all("li")] == [
        "San Francisco 6",
        "Los Angeles 4",
        "Detroit 4",
    ]
    assert (
        city.find("ul").find("a").get("href").endswith("/fixtures/places?_facet=city_id&city_id=1")
    )


def test_selected_facet_value(read_api_server):
    doc = page(read_api_server, "/fixtures/places?state=MI")
    state = facet_infos(doc)["state"]
    items = state.find("ul").find_all("li")
    assert len(items) == 1
    assert items[0].find("a").text() == "\u2716"
    assert items[0].stripped().startswith("MI")
    assert "4" in items[0].stripped()
    href = items[0].find("a", class_="cross").get("href")
    assert urllib.parse.urlsplit(href).query == ""


def test_date_facet_and_truncation(read_api_server):
    doc = page(read_api_server, "/fixtures/places?_facet_date=created&_facet_size=2")
    created = facet_infos(doc)["created"]
    assert created.get("id") == "facet-created"
    assert created.find("strong").stripped() == "created (date) >2"
    assert created.find("span", class_="facet-info-total").text() == ">2"
    truncated = created.find("li", class_="facet-truncated")
    link = truncated.find("a")
    assert link.text() == "\u2026"
    assert dict(query_pairs(link.get("href")))["_facet_size"] == "max"
    assert ("_facet_size", "2") not in query_pairs(link.get("href"))
    # At max the ellipsis is plain text.
    doc = page(read_api_server, "/fixtures/big?_facet=score&_facet_size=max&_size=0")
    score = facet_infos(doc)["score"]
    assert score.find("li", class_="facet-truncated") is None
    doc = page(read_api_server, "/fixtures/big?_facet=value&_facet_size=max&_size=0")
    value = facet_infos(doc)["value"]
    truncated = value.find("li", class_="facet-truncated")
    assert truncated.find("a") is None
    assert truncated.stripped() == "\u2026"


def test_suggested_facets(read_api_server):
    doc = page(read_api_server, "/fixtures/places")
    suggested = doc.find("p", class_="suggested-facets")
    text = suggested.stripped()
    assert text.startswith("Suggested facets: ")
    assert "created (date)" in text
    links = {
        a.text(): a.get("href") for a in suggested.find_all("a") if "date" not in a.get("href")
    }
    href = links["city_id"]
    assert href.endswith("?_facet=city_id#facet-city_id")
    date_link = [a for a in suggested.find_all("a") if "_facet_date" in a.get("href")][0]
    assert date_link.text() == "created"
    assert date_link.get("href").endswith("?_facet_date=created#facet-created")
    # No suggestions with _nosuggest or on later pages.
    assert (
        page(read_api_server, "/fixtures/places?_nosuggest=1").find("p", class_="suggested-facets")
        is None
    )


def test_no_facets_without_allow_facet_script_flag(make_ds, serve_ds, read_api_db_path):
    ds = make_ds(
        [str(read_api_db_path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        settings={"allow_facet": False},
    )
    with serve_ds(ds) as server:
        response = get(server, "/fixtures/cities")
    assert "DATASETTE_ALLOW_FACET = false;" in response.text
    assert parse(response.text).find("p", class_="suggested-facets") is None


def test_table_js_and_allow_facet_flag(read_api_server):
    response = get(read_api_server, "/fixtures/places")
    assert "DATASETTE_ALLOW_FACET = true;" in response.text
    doc = parse(response.text)
    scripts = [s.get("src") for s in doc.find_all("script") if s.get("src")]
    assert "/-/static/table.js" in scripts
    js = get(read_api_server, "/-/static/table.js")
    assert js.status_code == 200
    for fragment in ("_sort_desc", "_facet", "_nocol", "DATASETTE_ALLOW_FACET"):
        assert fragment in js.text
    css = get(read_api_server, "/-/static/app.css")
    assert ".visually-hidden" in css.text
    assert "max-width: 576px" in css.text


def test_mobile_column_labels_style(read_api_server):
    response = get(read_api_server, "/fixtures/compound_primary_key")
    assert 'td:nth-of-type(1)::before { content: "Link"; }' in response.text
    assert 'td:nth-of-type(4)::before { content: "content"; }' in response.text


# -- templates --------------------------------------------------------------------------------


def test_templates_considered_comment(read_api_server):
    doc = page(read_api_server, "/fixtures/cities")
    comments = [c.strip() for c in doc.comments]
    assert "Templates considered: table-fixtures-cities.html, *table.html" in comments


def test_custom_templates_from_template_dir(make_ds, serve_ds, read_api_db_path, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "table-fixtures-cities.html").write_text(
        '{% extends "table.html" %}{% block content %}<p class="custom-page">Custom cities page</p>'
        "{{ super() }}{% endblock %}"
    )
    (templates / "_table-fixtures-states.html").write_text(
        '<ul class="custom-rows">{% for row in display_rows %}'
        '<li data-code="{{ row["code"] }}">{{ row.display("name") }} / {{ row["name"] }}</li>'
        "{% endfor %}</ul>"
    )
    (templates / "_table.html").write_text(
        '<div class="generic-rows">{% for row in display_rows %}'
        '<span class="city">{{ row.display("state") }}|{{ row["state"] }}|{{ row["id"] }}</span>'
        "{% endfor %}</div>"
    )
    ds = make_ds(
        [str(read_api_db_path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        template_dir=str(templates),
    )
    with serve_ds(ds) as server:
        cities_response = get(server, "/fixtures/cities")
        states = page(server, "/fixtures/states")
    cities = parse(cities_response.text)
    assert cities.find("p", class_="custom-page").text() == "Custom cities page"
    assert "Templates considered: *table-fixtures-cities.html, table.html" in [
        c.strip() for c in cities.comments
    ]
    # `_table.html` from the template dir replaces the built-in rows include.
    assert cities.find("table", class_="rows-and-columns") is None
    spans = cities.find_all("span", class_="city")
    assert len(spans) == 5
    assert (
        '<span class="city"><a href="/fixtures/states/CA">California</a>&nbsp;<em>CA</em>|CA|1</span>'
        in cities_response.text
    )
    assert spans[4].text() == "\xa0|None|5"
    # The most specific rows include wins for states.
    items = states.find("ul", class_="custom-rows").find_all("li")
    assert [(li.get("data-code"), li.text()) for li in items] == [
        ("CA", "California / California"),
        ("MI", "Michigan / Michigan"),
        ("NY", "New York / New York"),
    ]
    assert states.find("div", class_="generic-rows") is None


def test_template_context_variable_names(make_ds, serve_ds, read_api_db_path, tmp_path):
    names = [
        "database",
        "table",
        "rows",
        "columns",
        "display_columns",
        "display_rows",
        "primary_keys",
        "count",
        "facet_results",
        "suggested_facets",
        "filters",
        "human_description_en",
        "next_url",
        "metadata",
        "private",
        "renderers",
        "table_actions",
        "is_view",
        "sort",
        "sort_desc",
        "supports_search",
        "search",
        "custom_table_templates",
        "select_templates",
        "alternate_url_json",
    ]
    templates = tmp_path / "templates"
    templates.mkdir()
    body = "".join(
        '<p data-name="{0}">{{% if {0} is defined %}}yes{{% else %}}no{{% endif %}}</p>'.format(n)
        for n in names
    )
    body += (
        '<p id="values">{{ database }}|{{ table }}|{{ count }}|{{ primary_keys|join(",") }}|'
        "{{ is_view }}|{{ sort }}|{{ sort_desc }}|{{ supports_search }}|{{ search }}|"
        '{{ columns|join(",") }}|{{ rows|length }}|{{ custom_table_templates|join(",") }}|'
        '{{ human_description_en }}|{{ renderers["json"] }}</p>'
    )
    (templates / "table-fixtures-searchable.html").write_text(body)
    ds = make_ds([str(read_api_db_path)], template_dir=str(templates))
    with serve_ds(ds) as server:
        doc = page(server, "/fixtures/searchable?_search=dog&_sort_desc=text1")
    for name in names:
        assert doc.find("p", data_name=name).text() == "yes", name
    values = doc.find("p", id="values").text().split("|")
    assert values == [
        "fixtures",
        "searchable",
        "2",
        "pk",
        "False",
        "None",
        "text1",
        "True",
        "dog",
        "pk,text1,text2,name with . and spaces",
        "2",
        "_table-fixtures-searchable.html,_table-table-fixtures-searchable.html,_table.html",
        'where search matches "dog" sorted by text1 descending',
        "/fixtures/searchable.json?_search=dog&_sort_desc=text1",
    ]


# -- plugins ------------------------------------------------------------------------------------


def test_render_cell_plugin(read_api_server):
    from datasette.hookspecs import hookimpl

    calls = []

    class RenderCell:
        @hookimpl
        def render_cell(self, row, value, column, table, database, datasette, request):
            calls.append((database, table, column))
            if value == "RENDER_CELL_DEMO":
                return Markup("<strong>demo</strong>")
            if value == "world":
                return "<b>world</b>"
            if value == "hello":
                # Falsy: default rendering on table pages.
                return ""
            return None

    with Plugin(RenderCell(), "test-html-table-render-cell"):
        response = get(read_api_server, "/fixtures/simple_primary_key")
    rows = inner_html_of_cells(response.text)
    assert rows[0][1] == ("col-content type-str", "hello")
    assert rows[1][1] == ("col-content type-str", "&lt;b&gt;world&lt;/b&gt;")
    assert rows[3][1] == ("col-content type-str", "<strong>demo</strong>")
    assert ("fixtures", "simple_primary_key", "content") in calls
    # The link column is not a rendered cell.
    assert ("fixtures", "simple_primary_key", "id") not in calls


def test_render_cell_async_plugin_sees_expanded_row(read_api_server):
    from datasette.hookspecs import hookimpl

    class AsyncRenderCell:
        @hookimpl
        def render_cell(self, row, value, column, table, datasette):
            async def inner():
                if table == "cities" and column == "name":
                    return Markup('<span class="plugin">{}:{}</span>').format(value, row["id"])
                return None

            return inner

    with Plugin(AsyncRenderCell(), "test-html-table-render-cell-async"):
        response = get(read_api_server, "/fixtures/cities")
    rows = inner_html_of_cells(response.text)
    assert rows[0][1] == ("col-name type-str", '<span class="plugin">San Francisco:1</span>')
    assert rows[0][2][1].startswith('<a href="/fixtures/states/CA">')


def test_table_actions_plugin(read_api_server):
    from datasette.hookspecs import hookimpl

    class TableActions:
        @hookimpl
        def table_actions(self, datasette, actor, database, table, request):
            async def inner():
                if table != "cities":
                    return []
                return [
                    {
                        "href": datasette.urls.table(database, table) + "/-/custom",
                        "label": "Custom <action>",
                    },
                    {"href": "/-/other?t=" + table, "label": "Other"},
                ]

            return inner

    without = page(read_api_server, "/fixtures/cities")
    assert without.find("details", class_="page-action-menu") is None
    with Plugin(TableActions(), "test-html-table-actions"):
        cities = page(read_api_server, "/fixtures/cities")
        places = page(read_api_server, "/fixtures/places")
    menu = cities.find("div", class_="page-header").find("details", class_="page-action-menu")
    assert menu is not None
    assert menu.find("summary").stripped() == "Table actions"
    links = [(a.get("href"), a.text()) for a in menu.find_all("a")]
    assert links == [
        ("/fixtures/cities/-/custom", "Custom <action>"),
        ("/-/other?t=cities", "Other"),
    ]
    assert places.find("details", class_="page-action-menu") is None


def test_extra_template_vars_view_name(read_api_server):
    from datasette.hookspecs import hookimpl

    seen = []

    class ExtraVars:
        @hookimpl
        def extra_template_vars(self, template, database, table, columns, view_name, request):
            seen.append((template, database, table, view_name, list(columns or [])))
            return {"extra_var_from_plugin": "yes"}

        @hookimpl
        def extra_body_script(self, view_name):
            if view_name == "table":
                return "var TABLE_PAGE_SCRIPT = 1;"
            return None

    with Plugin(ExtraVars(), "test-html-table-extra-vars"):
        response = get(read_api_server, "/fixtures/states")
    assert ("table.html", "fixtures", "states", "table", ["code", "name"]) in seen
    assert "var TABLE_PAGE_SCRIPT = 1;" in response.text


# -- permissions, base_url ------------------------------------------------------------------------


def test_private_table_padlock(make_ds, serve_ds, read_api_db_path):
    metadata = copy.deepcopy(READ_API_METADATA)
    metadata["databases"]["fixtures"]["tables"]["states"] = {"allow": {"id": "root"}}
    ds = make_ds([str(read_api_db_path)], metadata=metadata)
    cookie = ds.sign({"a": {"id": "root"}}, "actor")
    with serve_ds(ds) as server:
        private = page(server, "/fixtures/states", cookies={"ds_actor": cookie})
        public = page(server, "/fixtures/cities", cookies={"ds_actor": cookie})
        anonymous = get(server, "/fixtures/states")
    assert private.find("h1").stripped() == "states 🔒"
    assert public.find("h1").stripped() == "cities"
    assert anonymous.status_code == 403


def test_base_url_prefixes_links(make_ds, serve_ds, read_api_db_path):
    ds = make_ds(
        [str(read_api_db_path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        settings={"base_url": "/prefix/"},
    )
    with serve_ds(ds) as server:
        response = get(server, "/prefix/fixtures/cities?state=CA")
        doc = parse(response.text)
    assert doc.find("form", class_="filters").get("action") == "/prefix/fixtures/cities"
    ths = {th.get("data-column"): th for th in header_cells(doc)}
    assert ths["name"].find("a").get("href") == "/prefix/fixtures/cities?state=CA&_sort=name"
    first = body_rows(doc)[0]
    assert first[0].find("a").get("href") == "/prefix/fixtures/cities/1"
    assert first[2].find("a").get("href") == "/prefix/fixtures/states/CA"
    export = {a.text(): a.get("href") for a in doc.find("p", class_="export-links").find_all("a")}
    assert export["json"] == "/prefix/fixtures/cities.json?state=CA&_labels=on"
    assert export["CSV"].startswith("/prefix/fixtures/cities.csv?")
    assert doc.find("div", id="export").find("form").get("action") == "/prefix/fixtures/cities.csv"
    link = response.headers["link"]
    assert link.startswith(
        "http://127.0.0.1:{}/prefix/fixtures/cities.json?state=CA;".format(server.port)
    )
    assert "/-/static/table.js" in response.text and "/prefix/-/static/table.js" in response.text


def test_json_context_debug_is_escaped(make_ds, serve_ds, read_api_db_path):
    """`?_context=1` with template_debug shows the context, including the display rows."""
    ds = make_ds(
        [str(read_api_db_path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        settings={"template_debug": True},
    )
    with serve_ds(ds) as server:
        response = get(server, "/fixtures/states?_context=1")
    assert response.status_code == 200
    doc = parse(response.text)
    context = json.loads(doc.find("pre").text())
    assert context["table"] == "states"
    assert context["primary_keys"] == ["code"]
    assert "display_rows" in context


def test_facets_timed_out(read_api_server):
    from datasette.facets import Facet
    from datasette.hookspecs import hookimpl

    class TimingOutFacet(Facet):
        type = "timingouttest"

        async def suggest(self):
            return []

        async def facet_results(self):
            if "_facet_timingouttest" in self.request.args:
                return {}, ["slow_one", "slow_two"]
            return {}, []

    class FacetPlugin:
        @hookimpl
        def register_facet_classes(self):
            return [TimingOutFacet]

    with Plugin(FacetPlugin(), "test-html-table-facet-timeout"):
        timed_out = page(read_api_server, "/fixtures/places?_facet_timingouttest=x")
        normal = page(read_api_server, "/fixtures/places")
    p = timed_out.find("p", class_="facets-timed-out")
    assert p.stripped() == "These facets timed out: slow_one, slow_two"
    # The other facets still render.
    assert set(facet_infos(timed_out)) == {"state", "tags"}
    assert normal.find("p", class_="facets-timed-out") is None


def test_nocount(read_api_server):
    doc = page(read_api_server, "/fixtures/places?_nocount=1&state=MI")
    assert doc.find("title").text() == 'fixtures: places: where state = "MI"'
    h3 = [h for h in doc.find_all("h3") if "where" in h.text()][0]
    assert h3.stripped() == 'where state = "MI"'
    assert len(body_rows(doc)) == 4


JS_HARNESS = r"""
function El(tag) {
  this.tagName = tag; this.children = []; this.attrs = {}; this.listeners = {};
  this.style = {}; this.className = ""; this.textContent = "";
}
El.prototype.setAttribute = function (k, v) { this.attrs[k] = String(v); };
El.prototype.getAttribute = function (k) { return k in this.attrs ? this.attrs[k] : null; };
El.prototype.appendChild = function (c) { this.children.push(c); c.parentNode = this; return c; };
El.prototype.remove = function () {
  if (this.parentNode) { var i = this.parentNode.children.indexOf(this); this.parentNode.children.splice(i, 1); }
};
El.prototype.addEventListener = function (t, f) { this.listeners[t] = f; };
El.prototype.querySelector = function (sel) {
  var found = null;
  (function walk(n) { n.children.forEach(function (c) { if (!found && c.tagName === sel) found = c; walk(c); }); })(this);
  return found;
};
El.prototype.contains = function (x) { return x === this; };
El.prototype.getBoundingClientRect = function () { return { left: 10, bottom: 20 }; };
El.prototype.focus = function () {};
Object.defineProperty(El.prototype, "offsetWidth", { get: function () { return 100; } });
var input = JSON.parse(process.argv[3]);
var ths = input.headers.map(function (h) {
  var th = new El("th");
  th.attrs = h.attrs;
  if (h.sortable) { th.appendChild(new El("a")); }
  return th;
});
var table = new El("table");
table.querySelectorAll = function () { return ths; };
var body = new El("body");
global.window = {
  location: { search: input.search, pathname: input.pathname }, URLSearchParams: URLSearchParams,
  scrollX: 0, scrollY: 0, addEventListener: function () {}, DATASETTE_ALLOW_FACET: input.allowFacet,
};
global.document = {
  querySelector: function () { return table; }, createElement: function (t) { return new El(t); },
  body: body, documentElement: { clientWidth: 375 }, addEventListener: function () {},
};
require(process.argv[2]);
var out = {};
ths.forEach(function (th) {
  var button = th.children.filter(function (c) { return c.tagName === "button"; })[0];
  if (!button) { return; }
  button.listeners.click({ stopPropagation: function () {} });
  var menu = body.children[body.children.length - 1];
  var list = menu.children[menu.children.length - 1];
  out[th.attrs["data-column"]] = {
    label: button.attrs["aria-label"],
    items: list.children.map(function (li) {
      var a = li.children[0];
      return a ? [a.textContent, a.href] : [li.textContent, null];
    }),
  };
  button.listeners.click({ stopPropagation: function () {} });
});
console.log(JSON.stringify(out));
"""


def test_table_js_column_menus(read_api_server, tmp_path):
    """Runs the served `table.js` under Node against the page's real headers (fake DOM)."""
    import shutil
    import subprocess

    import pytest

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    search = "?state=CA&_sort=state&_next=abc&_col=state&_col=neighborhood"
    doc = page(read_api_server, "/fixtures/places" + search.replace("&_next=abc", ""))
    headers = [
        {"attrs": dict(th.attrs), "sortable": th.find("a") is not None} for th in header_cells(doc)
    ]
    script = tmp_path / "table.js"
    script.write_text(get(read_api_server, "/-/static/table.js").text)
    harness = tmp_path / "harness.js"
    harness.write_text(JS_HARNESS)

    def run(allow_facet):
        payload = {
            "headers": headers,
            "search": search,
            "pathname": "/fixtures/places",
            "allowFacet": allow_facet,
        }
        result = subprocess.run(
            [node, str(harness), str(script), json.dumps(payload)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    menus = run(True)
    assert set(menus) == {"pk", "state", "neighborhood"}
    assert menus["state"]["label"] == "Actions for column state"
    state = dict(menus["state"]["items"])
    # Already sorted ascending by state: only descending is offered; `_next` is dropped.
    assert "Sort ascending" not in state
    assert query_pairs(state["Sort descending"]) == [
        ("state", "CA"),
        ("_col", "state"),
        ("_col", "neighborhood"),
        ("_sort_desc", "state"),
    ]
    assert ("_facet", "state") in query_pairs(state["Facet by this"])
    assert query_pairs(state["Hide this column"]) == [
        ("state", "CA"),
        ("_sort", "state"),
        ("_col", "neighborhood"),
    ]
    assert query_pairs(state["Show all columns"]) == [("state", "CA"), ("_sort", "state")]
    pk = dict(menus["pk"]["items"])
    # Primary keys cannot be hidden.
    assert "Hide this column" not in pk
    assert "Sort ascending" in pk
    # Without allow_facet there is no facet action.
    assert "Facet by this" not in dict(run(False)["state"]["items"])
    # Each link works on the server.
    for href in state.values():
        assert get(read_api_server, href).status_code == 200


def test_fk_label_edge_cases_and_blob_sizes(make_ds, serve_ds, tmp_path):
    path = make_db(
        tmp_path / "pets.db",
        """
        CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT);
        INSERT INTO owners VALUES (1, 'Ann & Bo'), (2, '');
        CREATE TABLE bare (id INTEGER PRIMARY KEY, size INTEGER, weight INTEGER);
        INSERT INTO bare VALUES (7, 1, 2);
        CREATE TABLE pets (
            id INTEGER PRIMARY KEY,
            owner_id INTEGER REFERENCES owners(id),
            bare_id INTEGER REFERENCES bare(id),
            photo BLOB
        );
        INSERT INTO pets VALUES (1, 1, 7, zeroblob(2000)), (2, 2, 7, X'00');
        """,
    )
    ds = make_ds([str(path)])
    with serve_ds(ds) as server:
        response = get(server, "/pets/pets")
    rows = inner_html_of_cells(response.text)
    assert rows[0][1] == (
        "col-owner_id type-int",
        '<a href="/pets/owners/1">Ann &amp; Bo</a>&nbsp;<em>1</em>',
    )
    # A blank label shows as "-".
    assert rows[1][1] == ("col-owner_id type-int", '<a href="/pets/owners/2">-</a>&nbsp;<em>2</em>')
    # No label column: an integer key shows link and value, as 1.0a7 does (issue 9).
    assert rows[0][2] == (
        "col-bare_id type-int",
        '<a href="/pets/bare/7">7</a>&nbsp;<em>7</em>',
    )
    assert rows[0][3] == (
        "col-photo type-bytes",
        '<a class="blob-download" href="/pets/pets/1.blob?_blob_column=photo" title="2.0 KB">'
        "&lt;Binary:&nbsp;2,000&nbsp;bytes&gt;</a>",
    )
    assert rows[1][3] == (
        "col-photo type-bytes",
        '<a class="blob-download" href="/pets/pets/2.blob?_blob_column=photo">'
        "&lt;Binary:&nbsp;1&nbsp;byte&gt;</a>",
    )
