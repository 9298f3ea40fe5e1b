"""HTML index, database, query, canned query and row pages over real HTTP (http-cli.md §0.6,
§5.4, §10.1-§10.3, §10.5, §10.6; plugins-auth-config.md §2.2, §8.2, §8.4).

Pages are parsed with a tiny `html.parser` tree so assertions look at elements, attributes
and text rather than at incidental whitespace.
"""

import copy
import hashlib
import re
import sqlite3
import types
import urllib.parse
from contextlib import contextmanager
from html.parser import HTMLParser

import httpx
import pytest
from markupsafe import Markup

from datasette import hookimpl
from datasette.plugins import pm
from datasette.utils import format_bytes

from .fixtures import READ_API_METADATA

HTML = "text/html; charset=utf-8"
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "param", "source", "track", "wbr",
}


# -- a tiny DOM -------------------------------------------------------------------------------


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    @property
    def text(self):
        parts = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text)
        return "".join(parts)

    @property
    def clean_text(self):
        """Text with runs of whitespace (non-breaking spaces included) collapsed."""
        return " ".join(self.text.replace("\xa0", " ").split())

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
            if any(node.attrs.get(k.rstrip("_")) != v for k, v in attrs.items()):
                continue
            found.append(node)
        return found

    def find(self, tag=None, class_=None, **attrs):
        found = self.find_all(tag, class_, **attrs)
        return found[0] if found else None

    def one(self, tag=None, class_=None, **attrs):
        found = self.find_all(tag, class_, **attrs)
        assert len(found) == 1, f"expected one <{tag} {class_ or ''} {attrs}>, got {len(found)}"
        return found[0]

    def has_ancestor(self, tag, class_=None):
        node = self.parent
        while node is not None:
            if node.tag == tag and (class_ is None or class_ in node.classes):
                return True
            node = node.parent
        return False


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root
        self.comments = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, [(k, "" if v is None else v) for k, v in attrs], self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, [(k, "" if v is None else v) for k, v in attrs], self.current)
        self.current.children.append(node)

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)

    def handle_comment(self, data):
        self.comments.append(data)


def parse(html):
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root, builder.comments


class Page:
    def __init__(self, response):
        self.response = response
        self.root, self.comments = parse(response.text)
        self.body = self.root.one("body")

    @property
    def title(self):
        return self.root.one("title").clean_text

    @property
    def h1(self):
        return self.root.one("h1").clean_text

    @property
    def body_class(self):
        return self.body.attrs.get("class")

    @property
    def content(self):
        return self.root.one("section", class_="content")

    def templates_considered(self):
        for comment in self.comments:
            match = re.match(r"\s*Templates considered: (.*?)\s*$", comment)
            if match:
                return match.group(1).split(", ")
        return None


def get(url, status=200, **kwargs):
    response = httpx.get(url, **kwargs)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.headers["content-type"] == HTML
    return Page(response)


@contextmanager
def plugin(name, **hooks):
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, hookimpl(fn))
    pm.register(module, name=name)
    try:
        yield module
    finally:
        pm.unregister(name=name)


def metadata_with(changes):
    metadata = copy.deepcopy(READ_API_METADATA)
    changes(metadata)
    return metadata


@pytest.fixture(scope="module")
def index_json(read_api_server):
    return httpx.get(read_api_server.url + "/.json").json()


# -- common to every page -----------------------------------------------------------------------

PAGES = [
    ("/", "/.json", ["*index.html"]),
    ("/fixtures", "/fixtures.json", ["database-fixtures.html", "*database.html"]),
    (
        "/fixtures?sql=select+1+as+one",
        "/fixtures.json?sql=select+1+as+one",
        ["query-fixtures.html", "*query.html"],
    ),
    (
        "/fixtures/neighborhood_search?text=town",
        "/fixtures/neighborhood_search.json?text=town",
        [
            "query-fixtures-neighborhood_search.html",
            "query-fixtures.html",
            "*query.html",
        ],
    ),
    ("/fixtures/cities/1", "/fixtures/cities/1.json", ["row-fixtures-cities.html", "*row.html"]),
]


@pytest.mark.parametrize("path,json_path,templates", PAGES)
def test_alternate_link_header_and_templates_comment(read_api_server, path, json_path, templates):
    page = get(read_api_server.url + path)
    json_url = read_api_server.url + json_path
    assert page.response.headers["link"] == (
        f'{json_url}; rel="alternate"; type="application/json+datasette"'
    )
    alternate = page.root.one("link", rel="alternate")
    assert alternate.attrs["type"] == "application/json+datasette"
    assert alternate.attrs["href"] == json_url
    assert page.templates_considered() == templates
    # The JSON twin really exists
    assert httpx.get(json_url).status_code == 200


@pytest.mark.parametrize(
    "path,body_class",
    [
        ("/", "index"),
        ("/fixtures", "db db-fixtures"),
        ("/fixtures?sql=select+1", "query db-fixtures"),
        ("/fixtures/neighborhood_search", "query db-fixtures query-neighborhood_search"),
        ("/fixtures/cities/1", "row db-fixtures table-cities"),
        (
            "/fixtures/table~2Fwith~2Fslashes~2Ecsv/3",
            "row db-fixtures table-tablewithslashescsv-fa7563",
        ),
    ],
)
def test_body_class(read_api_server, path, body_class):
    assert get(read_api_server.url + path).body_class == body_class


def test_viewport_meta_and_stylesheet(read_api_server):
    page = get(read_api_server.url + "/fixtures")
    assert page.root.one("meta", name="viewport").attrs["content"].startswith("width=device-width")
    stylesheet = page.root.one("link", rel="stylesheet")
    assert re.fullmatch(r"/-/static/app\.css\?[0-9a-f]{6}", stylesheet.attrs["href"])


# -- index -------------------------------------------------------------------------------------


def test_index_page(read_api_server, index_json):
    page = get(read_api_server.url + "/")
    assert page.title == "Read API fixtures: fixtures"
    assert page.h1 == "Read API fixtures"
    entry = index_json["fixtures"]
    h2 = page.content.one("h2")
    assert f"border-left: 10px solid #{entry['color']}" in h2.attrs["style"]
    link = h2.one("a")
    assert link.attrs["href"] == "/fixtures"
    assert link.clean_text == "fixtures"
    expected_summary = (
        f"{entry['table_rows_sum']:,} rows in {entry['tables_count']} tables, "
        f"{entry['hidden_table_rows_sum']:,} rows in {entry['hidden_tables_count']} hidden tables, "
        f"{entry['views_count']} views"
    )
    paragraphs = [p.clean_text for p in page.content.find_all("p")]
    assert expected_summary in paragraphs
    # Up to five table/view links titled with their row counts, then "..."
    links_p = [p for p in page.content.find_all("p") if p.find("a", href="/fixtures/big")][0]
    links = links_p.find_all("a")
    assert entry["tables_and_views_more"] is True
    assert [a.clean_text for a in links[:-1]] == [
        t["name"] for t in entry["tables_and_views_truncated"]
    ]
    assert links[-1].clean_text == "..."
    assert links[-1].attrs["href"] == "/fixtures"
    big = links_p.one("a", href="/fixtures/big")
    assert big.attrs["title"] == "1,001 rows"


def test_index_page_footer_license_and_source(read_api_server):
    page = get(read_api_server.url + "/")
    footer = page.root.one("footer")
    assert footer.one("a", href="https://creativecommons.org/licenses/by/4.0/").clean_text == "CC BY 4.0"
    assert footer.one("a", href="https://example.com/source").clean_text == "Tests"


def test_index_summary_singular_and_description(tmp_path, make_ds, serve_ds):
    path = tmp_path / "tiny.db"
    conn = sqlite3.connect(str(path))
    conn.executescript(
        "create table one_row (id integer primary key, name text);"
        "insert into one_row values (1, 'a');"
        "create view v as select * from one_row;"
    )
    conn.close()
    ds = make_ds([str(path)], metadata={"title": "My <site>", "description": "About this"})
    with serve_ds(ds) as server:
        page = get(server.url + "/")
    assert page.title == "My <site>: tiny"
    assert page.h1 == "My <site>"
    assert page.content.one("div", class_="metadata-description").clean_text == "About this"
    paragraphs = [p.clean_text for p in page.content.find_all("p")]
    assert "1 row in 1 table, 1 view" in paragraphs
    assert page.content.one("a", href="/tiny/one_row").attrs["title"] == "1 row"
    assert page.content.find("a", href="/tiny/v") is not None
    assert "..." not in [a.clean_text for a in page.content.find_all("a")]


def test_index_default_title(tmp_path, make_ds, serve_ds):
    ds = make_ds(memory=True)
    with serve_ds(ds) as server:
        page = get(server.url + "/")
    assert page.title == "Datasette: _memory"
    assert page.h1 == "Datasette"
    assert "0 tables" in [p.clean_text for p in page.content.find_all("p")]


# -- database page -----------------------------------------------------------------------------


def db_table_divs(page):
    return {div.one("h3").one("a").clean_text: div for div in page.content.find_all("div", class_="db-table")}


def test_database_page(read_api_server):
    page = get(read_api_server.url + "/fixtures")
    assert page.title == "fixtures"
    assert page.h1 == "fixtures"
    assert page.content.one("div", class_="metadata-description").clean_text == "Fixtures for the read API"
    # Crumbs: home only
    crumbs = page.root.one("p", class_="crumbs")
    assert [a.attrs["href"] for a in crumbs.find_all("a")] == ["/"]
    # Queries
    assert page.content.one("h2", id="queries").clean_text == "Queries"
    search = page.content.one("a", href="/fixtures/neighborhood_search")
    assert search.clean_text == "Search neighborhoods"
    assert page.content.one("a", href="/fixtures/pragma_cache_size").clean_text == "pragma_cache_size"
    # Tables
    assert page.content.one("h2", id="tables").clean_text == "Tables"
    tables = db_table_divs(page)
    assert "no_primary_key" not in tables and "searchable_fts" not in tables
    spk = tables["simple_primary_key"]
    assert spk.one("h3").one("a").attrs["href"] == "/fixtures/simple_primary_key"
    assert spk.one("em").clean_text == "id, content"
    assert [p.clean_text for p in spk.find_all("p")][-1] == "5 rows"
    assert [p.clean_text for p in tables["select"].find_all("p")][-1] == "1 row"
    assert (
        tables["table/with/slashes.csv"].one("h3").one("a").attrs["href"]
        == "/fixtures/table~2Fwith~2Fslashes~2Ecsv"
    )
    # Hidden tables link
    hidden_link = page.content.one("a", href="/fixtures?_show_hidden=1")
    assert hidden_link.clean_text == "11 hidden tables"
    assert hidden_link.parent.clean_text == "... and 11 hidden tables"
    # Views
    assert page.content.one("h2", id="views").clean_text == "Views"
    assert page.content.one("a", href="/fixtures/simple_view").clean_text == "simple_view"
    # Mutable database: no download link
    assert page.content.find("p", class_="download-sqlite") is None
    # Order: queries, tables, views
    order = [h2.attrs.get("id") for h2 in page.content.find_all("h2")]
    assert order == ["queries", "tables", "views"]


def test_database_page_show_hidden(read_api_server):
    page = get(read_api_server.url + "/fixtures?_show_hidden=1")
    tables = db_table_divs(page)
    assert "(hidden)" in tables["no_primary_key"].one("h3").clean_text
    assert "(hidden)" in tables["searchable_fts"].one("h3").clean_text
    assert "(hidden)" not in tables["cities"].one("h3").clean_text
    assert page.content.find("a", href="/fixtures?_show_hidden=1") is None


def test_database_page_sql_form(read_api_server):
    page = get(read_api_server.url + "/fixtures")
    form = page.content.one("form", class_="sql")
    assert form.attrs["action"] == "/fixtures"
    assert form.attrs["method"] == "get"
    textarea = form.one("textarea", id="sql-editor")
    assert textarea.attrs["name"] == "sql"
    assert textarea.text == "select * from big"
    assert form.one("label").attrs["for"] == "sql-editor"
    assert form.one("input", type="submit").attrs["value"] == "Run SQL"
    # Submitting the form as a browser without JavaScript would
    url = read_api_server.url + form.attrs["action"] + "?" + urllib.parse.urlencode({"sql": textarea.text})
    result = get(url)
    assert result.body_class == "query db-fixtures"
    assert len(result.content.one("table", class_="rows-and-columns").one("tbody").find_all("tr")) == 100
    assert "Custom SQL query returning 100+ rows" in result.content.one("h3").clean_text


def test_database_page_sql_form_escapes_first_table(tmp_path, make_ds, serve_ds):
    path = tmp_path / "odd.db"
    conn = sqlite3.connect(str(path))
    conn.execute("create table [my table] (id integer)")
    conn.close()
    with serve_ds(make_ds([str(path)])) as server:
        page = get(server.url + "/odd")
    assert page.content.one("textarea", id="sql-editor").text == "select * from [my table]"
    assert [p.clean_text for p in db_table_divs(page)["my table"].find_all("p")][-1] == "0 rows"


def test_database_page_without_tables(make_ds, serve_ds):
    with serve_ds(make_ds(memory=True)) as server:
        page = get(server.url + "/_memory")
    assert page.content.one("textarea", id="sql-editor").text == "select sqlite_version()"
    assert page.content.find("h2", id="tables") is None
    assert page.content.find("h2", id="views") is None


def test_no_sql_form_when_allow_sql_false(read_api_db_path, make_ds, serve_ds):
    metadata = metadata_with(lambda m: m.update(allow_sql=False))
    ds = make_ds(immutables=[str(read_api_db_path)], metadata=metadata)
    with serve_ds(ds) as server:
        page = get(server.url + "/fixtures")
        assert page.content.find("form", class_="sql") is None
        assert page.content.find("textarea") is None
        # The tables are still listed
        assert "cities" in db_table_divs(page)
        # Canned queries stay readable, without the Edit SQL link
        canned = get(server.url + "/fixtures/neighborhood_search?text=town")
        assert canned.content.find("a", class_="canned-query-edit-sql") is None
        assert canned.content.one("pre", id="sql-query") is not None
        assert httpx.get(server.url + "/fixtures?sql=select+1").status_code == 403


def test_database_download_link(read_api_db_path, make_ds, serve_ds):
    ds = make_ds(immutables=[str(read_api_db_path)])
    with serve_ds(ds) as server:
        page = get(server.url + "/fixtures")
        download = page.content.one("p", class_="download-sqlite")
        link = download.one("a")
        assert link.attrs["href"] == "/fixtures.db"
        assert link.clean_text == "fixtures.db"
        size = read_api_db_path.stat().st_size
        assert format_bytes(size) in download.clean_text
        assert httpx.get(server.url + "/fixtures.db").status_code == 200


def test_database_download_link_absent_when_not_allowed(read_api_db_path, make_ds, serve_ds):
    ds = make_ds(immutables=[str(read_api_db_path)], settings={"allow_download": False})
    with serve_ds(ds) as server:
        assert get(server.url + "/fixtures").content.find("p", class_="download-sqlite") is None
    metadata = metadata_with(
        lambda m: m["databases"]["fixtures"].update(
            permissions={"view-database-download": {"id": "nobody"}}
        )
    )
    ds = make_ds(immutables=[str(read_api_db_path)], metadata=metadata)
    with serve_ds(ds) as server:
        assert get(server.url + "/fixtures").content.find("p", class_="download-sqlite") is None


def test_database_actions_plugin(read_api_server):
    seen = []

    def database_actions(datasette, actor, database, request):
        seen.append((database, request.path))

        async def inner():
            return [{"href": f"/-/custom-action/{database}", "label": f"Custom action for {database}"}]

        return inner

    # No plugin: no menu
    page = get(read_api_server.url + "/fixtures")
    assert page.content.find("details", class_="page-action-menu") is None
    with plugin("test_database_actions", database_actions=database_actions):
        page = get(read_api_server.url + "/fixtures")
    menu = page.content.one("details", class_="page-action-menu")
    assert menu.has_ancestor("div", class_="page-header")
    assert menu.one("summary").clean_text
    link = menu.one("a", href="/-/custom-action/fixtures")
    assert link.clean_text == "Custom action for fixtures"
    assert seen == [("fixtures", "/fixtures")]


def test_database_actions_plugin_empty_list(read_api_server):
    with plugin("test_database_actions_empty", database_actions=lambda: []):
        page = get(read_api_server.url + "/fixtures")
    assert page.content.find("details", class_="page-action-menu") is None


def test_crossdb_attached_databases_notice(read_api_db_path, make_ds, serve_ds):
    ds = make_ds([str(read_api_db_path)], crossdb=True)
    with serve_ds(ds) as server:
        page = get(server.url + "/_memory")
        notice = page.content.one("div", class_="message-info")
        assert "fixtures" in [s.clean_text for s in notice.find_all("strong")]
        link = notice.one("a")
        assert link.clean_text == "tables"
        tables_page = get(server.url + link.attrs["href"])
        assert "cities" in tables_page.content.one("table", class_="rows-and-columns").clean_text


# -- custom templates and template plugin hooks ------------------------------------------------


def test_custom_database_template_from_template_dir(tmp_path, read_api_db_path, make_ds, serve_ds):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "database-fixtures.html").write_text(
        '{% extends "default:database.html" %}\n'
        '{% block content %}<p class="custom-marker">Custom page for {{ database }} '
        "with {{ tables|length }} tables</p>{{ super() }}{% endblock %}\n"
    )
    ds = make_ds(immutables=[str(read_api_db_path)], template_dir=str(templates))
    with serve_ds(ds) as server:
        page = get(server.url + "/fixtures")
        other = get(server.url + "/fixtures?sql=select+1")
    marker = page.content.one("p", class_="custom-marker")
    assert marker.clean_text.startswith("Custom page for fixtures with ")
    # The default content is still there through super()
    assert page.content.one("h2", id="tables")
    assert page.templates_considered() == ["*database-fixtures.html", "database.html"]
    assert other.content.find("p", class_="custom-marker") is None


def test_custom_query_and_row_templates(tmp_path, read_api_db_path, make_ds, serve_ds):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "query-fixtures-neighborhood_search.html").write_text(
        '{% extends "default:query.html" %}\n'
        '{% block content %}<p class="custom-query">{{ canned_query }} / {{ query.sql|length > 0 }}'
        " / {{ named_parameter_values.text }}</p>{{ super() }}{% endblock %}\n"
    )
    (templates / "row-fixtures-cities.html").write_text(
        '{% extends "default:row.html" %}\n'
        '{% block content %}<p class="custom-row">{{ table }} {{ primary_key_values|join("/") }}'
        " {{ foreign_key_tables|length }}</p>{{ super() }}{% endblock %}\n"
    )
    ds = make_ds(immutables=[str(read_api_db_path)], metadata=copy.deepcopy(READ_API_METADATA), template_dir=str(templates))
    with serve_ds(ds) as server:
        query = get(server.url + "/fixtures/neighborhood_search?text=town")
        row = get(server.url + "/fixtures/cities/1")
    assert query.content.one("p", class_="custom-query").clean_text == "neighborhood_search / True / town"
    assert query.templates_considered() == [
        "*query-fixtures-neighborhood_search.html",
        "query-fixtures.html",
        "query.html",
    ]
    assert row.content.one("p", class_="custom-row").clean_text == "cities 1 1"
    assert row.templates_considered() == ["*row-fixtures-cities.html", "row.html"]


def test_extra_template_vars_plugin(tmp_path, read_api_db_path, make_ds, serve_ds):
    calls = []

    def extra_template_vars(template, database, table, view_name, request):
        calls.append((template, database, table, view_name))

        async def inner():
            return {"greeting": f"hello from {view_name} on {request.path}"}

        return inner

    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "database-fixtures.html").write_text(
        '{% extends "default:database.html" %}\n'
        '{% block content %}<p class="greeting">{{ greeting }}</p>{{ super() }}{% endblock %}\n'
    )
    ds = make_ds(
        immutables=[str(read_api_db_path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        template_dir=str(templates),
    )
    with plugin("test_extra_template_vars", extra_template_vars=extra_template_vars):
        with serve_ds(ds) as server:
            page = get(server.url + "/fixtures")
            for path in (
                "/",
                "/fixtures?sql=select+1",
                "/fixtures/neighborhood_search",
                "/fixtures/cities/1",
            ):
                get(server.url + path)
    assert page.content.one("p", class_="greeting").clean_text == "hello from database on /fixtures"
    assert calls == [
        ("database-fixtures.html", "fixtures", None, "database"),
        ("index.html", None, None, "index"),
        ("query.html", "fixtures", None, "database"),
        ("query.html", "fixtures", None, "database"),
        ("row.html", "fixtures", "cities", "row"),
    ]


# -- query pages -------------------------------------------------------------------------------


def result_table(page):
    table = page.content.one("table", class_="rows-and-columns")
    headers = [th.clean_text for th in table.one("thead").find_all("th")]
    rows = [[td for td in tr.find_all("td")] for tr in table.one("tbody").find_all("tr")]
    return table, headers, rows


def test_query_page(read_api_server):
    sql = "select id, content from simple_primary_key order by id"
    page = get(read_api_server.url + "/fixtures?" + urllib.parse.urlencode({"sql": sql}))
    assert page.title == f"fixtures: {sql}"
    assert page.h1 == "fixtures"
    form = page.content.one("form", class_="sql")
    assert form.attrs["method"] == "get"
    assert form.attrs["action"] == "/fixtures"
    h3 = form.find_all("h3")[0]
    assert h3.clean_text.startswith("Custom SQL query returning 5 rows")
    toggle = h3.one("span", class_="show-hide-sql").one("a")
    assert toggle.clean_text == "hide"
    assert "_hide_sql=1" in toggle.attrs["href"]
    textarea = form.one("textarea", id="sql-editor")
    assert textarea.attrs["name"] == "sql"
    assert textarea.text == sql
    assert form.one("input", type="submit").attrs["value"] == "Run SQL"
    assert form.find("a", class_="canned-query-edit-sql") is None
    table, headers, rows = result_table(page)
    assert table.has_ancestor("div", class_="table-wrapper")
    assert headers == ["id", "content"]
    for th, name in zip(table.find_all("th"), ("id", "content")):
        assert th.attrs["class"] == f"col-{name}"
        assert th.attrs["scope"] == "col"
    assert [[td.text for td in row] for row in rows] == [
        ["1", "hello"],
        ["2", "world"],
        ["3", "\xa0"],
        ["4", "RENDER_CELL_DEMO"],
        ["5", "\xa0"],
    ]
    assert [td.attrs["class"] for td in rows[0]] == ["col-id", "col-content"]
    assert page.content.find("p", class_="zero-results") is None
    # Export links
    export = page.content.one("p", class_="export-links")
    assert export.clean_text == "This data as json, CSV"
    json_link, csv_link = export.find_all("a")
    assert json_link.attrs["href"] == "/fixtures.json?" + urllib.parse.urlencode({"sql": sql})
    assert csv_link.attrs["href"] == "/fixtures.csv?" + urllib.parse.urlencode({"sql": sql}) + "&_size=max"
    assert httpx.get(read_api_server.url + csv_link.attrs["href"]).text.startswith("id,content")
    # Nav crumbs include the database
    crumbs = page.root.one("p", class_="crumbs")
    assert [a.attrs["href"] for a in crumbs.find_all("a")] == ["/", "/fixtures"]


def test_query_page_single_row_and_css_classes(read_api_server):
    page = get(read_api_server.url + "/fixtures?sql=" + urllib.parse.quote('select 1 as "my col", 2 as _x'))
    assert page.content.one("h3").clean_text.startswith("Custom SQL query returning 1 row ")
    table, headers, rows = result_table(page)
    assert headers == ["my col", "_x"]
    md5 = lambda s: hashlib.md5(s.encode("utf-8")).hexdigest()[:6]  # noqa: E731
    assert [td.attrs["class"] for td in rows[0]] == [f"col-my-col-{md5('my col')}", f"col-x-{md5('_x')}"]
    assert [th.attrs["class"] for th in table.find_all("th")] == [td.attrs["class"] for td in rows[0]]


def test_query_page_truncated(read_api_server):
    page = get(read_api_server.url + "/fixtures?sql=select+*+from+big")
    assert "Custom SQL query returning 100+ rows" in page.content.one("h3").clean_text
    _, _, rows = result_table(page)
    assert len(rows) == 100


def test_query_page_zero_results(read_api_server):
    page = get(read_api_server.url + "/fixtures?sql=select+*+from+cities+where+id+>+100")
    assert page.content.one("p", class_="zero-results").clean_text == "0 results"
    assert page.content.find("table") is None
    assert page.content.find("p", class_="export-links") is None
    assert page.content.one("h3").clean_text == "Custom SQL query (hide)"


def test_query_page_parameters(read_api_server):
    sql = "select :text as t, :other as o"
    page = get(read_api_server.url + "/fixtures?" + urllib.parse.urlencode({"sql": sql, "text": "hi <there>"}))
    form = page.content.one("form", class_="sql")
    assert "Query parameters" in [h3.clean_text for h3 in form.find_all("h3")]
    labels = form.find_all("label")
    fields = {label.attrs["for"]: label.clean_text for label in labels if label.attrs["for"].startswith("qp")}
    assert fields == {"qp1": "text", "qp2": "other"}
    qp1 = form.one("input", id="qp1")
    assert qp1.attrs == {"type": "text", "id": "qp1", "name": "text", "value": "hi <there>"}
    assert form.one("input", id="qp2").attrs["value"] == ""
    _, headers, rows = result_table(page)
    assert [td.text for td in rows[0]] == ["hi <there>", "\xa0"]
    assert "<there>" not in page.response.text


def test_query_page_never_shows_underscore_parameters(read_api_server):
    page = get(read_api_server.url + "/fixtures/from_magic", headers={"User-Agent": "html-test-agent"})
    form = page.content.one("form", class_="sql")
    assert form.find("input", type="text") is None
    assert "Query parameters" not in form.clean_text
    _, headers, rows = result_table(page)
    assert headers == ["ua", "today"]
    assert rows[0][0].text == "html-test-agent"
    # SQL using :_ magic parameters gets no Edit SQL link
    assert form.find("a", class_="canned-query-edit-sql") is None


def test_query_page_hide_sql(read_api_server):
    sql = "select 1 as one"
    page = get(read_api_server.url + "/fixtures?" + urllib.parse.urlencode({"sql": sql, "_hide_sql": "1"}))
    form = page.content.one("form", class_="sql")
    assert form.find("textarea") is None
    assert form.find("pre") is None
    hidden = {i.attrs["name"]: i.attrs["value"] for i in form.find_all("input", type="hidden")}
    assert hidden == {"sql": sql, "_hide_sql": "1"}
    toggle = form.one("span", class_="show-hide-sql").one("a")
    assert toggle.clean_text == "show"
    assert toggle.attrs["href"] == "/fixtures?" + urllib.parse.urlencode({"sql": sql})
    # Results still shown
    assert result_table(page)[1] == ["one"]


def test_query_page_cells_urls_blobs_and_truncation(tmp_path, make_ds, serve_ds):
    ds = make_ds(memory=True, settings={"truncate_cells_html": 12})
    sql = (
        "select 'https://example.com/a/long/path/page' as url, x'0001ff' as data, "
        "'abcdefghijklmnopqrstuvwxyz' as long_text, 'short' as short, null as empty"
    )
    with serve_ds(ds) as server:
        page = get(server.url + "/_memory?" + urllib.parse.urlencode({"sql": sql}))
        _, headers, rows = result_table(page)
        assert headers == ["url", "data", "long_text", "short", "empty"]
        url_cell, data_cell, long_cell, short_cell, nothing_cell = rows[0]
        link = url_cell.one("a")
        assert link.attrs["href"] == "https://example.com/a/long/path/page"
        assert link.text.endswith("\u2026") and len(link.text) <= 12
        blob = data_cell.one("a", class_="blob-download")
        assert blob.text == "<Binary:\xa03\xa0bytes>"
        sha = hashlib.sha256(b"\x00\x01\xff").hexdigest()
        parsed = urllib.parse.urlparse(blob.attrs["href"])
        assert parsed.path == "/_memory.blob"
        query = urllib.parse.parse_qs(parsed.query)
        assert query["_blob_column"] == ["data"] and query["_blob_hash"] == [sha]
        assert query["sql"] == [sql]
        download = httpx.get(server.url + blob.attrs["href"])
        assert download.status_code == 200
        assert download.content == b"\x00\x01\xff"
        assert long_cell.text == "abcdefghijkl\u2026"
        assert short_cell.text == "short"
        assert nothing_cell.text == "\xa0"


def test_query_page_large_blob_has_size_title(make_ds, serve_ds):
    with serve_ds(make_ds(memory=True)) as server:
        page = get(server.url + "/_memory?sql=" + urllib.parse.quote("select zeroblob(2048) as b"))
    blob = result_table(page)[2][0][0].one("a", class_="blob-download")
    assert blob.attrs["title"] == "2.0 KB"
    assert blob.text == "<Binary:\xa02,048\xa0bytes>"


def test_query_error_shown_in_page(tmp_path, read_api_db_path, make_ds, serve_ds):
    """`render_query_html(error=...)` shows the SQLite error in the form with status 200."""
    from datasette.utils.asgi import Response  # noqa: F401 - views return Responses
    from datasette.views.query_html import render_query_html

    async def error_demo(datasette, request):
        db = datasette.get_database("fixtures")
        return await render_query_html(
            datasette,
            request,
            db,
            sql="select nope from cities",
            params={},
            results=None,
            canned=None,
            error="no such column: nope",
        )

    def register_routes():
        return [(r"^/-/query-error-demo$", error_demo)]

    with plugin("test_query_error_route", register_routes=register_routes):
        ds = make_ds(immutables=[str(read_api_db_path)])
        with serve_ds(ds) as server:
            page = get(server.url + "/-/query-error-demo")
    form = page.content.one("form", class_="sql")
    assert form.one("p", class_="message-error").clean_text == "no such column: nope"
    assert form.one("textarea", id="sql-editor").text == "select nope from cities"
    assert page.content.find("p", class_="zero-results") is None
    assert page.content.find("table") is None


# -- canned queries ----------------------------------------------------------------------------


def test_canned_query_page(read_api_server):
    page = get(read_api_server.url + "/fixtures/neighborhood_search?text=town")
    sql = READ_API_METADATA["databases"]["fixtures"]["queries"]["neighborhood_search"]["sql"]
    assert page.title == f"fixtures: {sql}"
    assert page.h1 == "Search neighborhoods"
    form = page.content.one("form", class_="sql")
    assert form.attrs["action"] == "/fixtures/neighborhood_search"
    assert form.attrs["method"] == "get"
    assert form.find("textarea") is None
    assert form.one("pre", id="sql-query").text == sql
    assert form.one("input", id="qp1").attrs["value"] == "town"
    assert [i for i in form.find_all("input") if i.attrs.get("name") == "csrftoken"] == []
    edit = form.one("a", class_="canned-query-edit-sql")
    assert edit.clean_text == "Edit SQL"
    assert edit.attrs["href"] == "/fixtures?" + urllib.parse.urlencode({"sql": sql, "text": "town"})
    _, headers, rows = result_table(page)
    assert headers == ["neighborhood", "state"]
    assert [row[0].text for row in rows] == [
        "Corktown", "Downtown", "Downtown", "Greektown", "Koreatown", "Mexicantown"
    ]
    export = page.content.one("p", class_="export-links")
    assert [a.attrs["href"] for a in export.find_all("a")] == [
        "/fixtures/neighborhood_search.json?text=town",
        "/fixtures/neighborhood_search.csv?text=town&_size=max",
    ]


def test_canned_query_without_title_and_not_editable(read_api_server):
    page = get(read_api_server.url + "/fixtures/pragma_cache_size")
    assert page.h1 == "fixtures: pragma_cache_size"
    assert page.title == "fixtures: PRAGMA cache_size;"
    # PRAGMA does not pass SELECT validation, so no Edit SQL link
    assert page.content.find("a", class_="canned-query-edit-sql") is None


def test_canned_query_hide_sql_description_and_fragment(read_api_db_path, make_ds, serve_ds):
    def changes(m):
        m["databases"]["fixtures"]["queries"]["secret"] = {
            "sql": "select name from states order by code",
            "title": "Secret <query>",
            "description": "Lists the states",
            "hide_sql": True,
            "fragment": "chart=bar",
        }

    ds = make_ds(immutables=[str(read_api_db_path)], metadata=metadata_with(changes))
    with serve_ds(ds) as server:
        page = get(server.url + "/fixtures/secret")
        shown = get(server.url + "/fixtures/secret?_show_sql=1")
        database = get(server.url + "/fixtures")
    assert page.h1 == "Secret <query>"
    assert page.content.one("div", class_="metadata-description").clean_text == "Lists the states"
    form = page.content.one("form", class_="sql")
    assert form.find("pre") is None and form.find("textarea") is None
    toggle = form.one("span", class_="show-hide-sql").one("a")
    assert toggle.clean_text == "show"
    assert toggle.attrs["href"] == "/fixtures/secret?_show_sql=1"
    assert [row[0].text for row in result_table(page)[2]] == ["California", "Michigan", "New York"]
    # ?_show_sql=1 reveals it, and the form keeps the choice
    shown_form = shown.content.one("form", class_="sql")
    assert shown_form.one("pre", id="sql-query").text == "select name from states order by code"
    assert shown_form.one("span", class_="show-hide-sql").one("a").clean_text == "hide"
    assert shown_form.one("span", class_="show-hide-sql").one("a").attrs["href"] == "/fixtures/secret"
    assert shown_form.one("input", type="hidden").attrs == {"type": "hidden", "name": "_show_sql", "value": "1"}
    # Database page link carries the fragment and shows the title
    link = database.content.one("a", href="/fixtures/secret#chart=bar")
    assert link.clean_text == "Secret <query>"


def test_writable_canned_query_form(read_api_server):
    page = get(read_api_server.url + "/fixtures/add_city?name=Paris")
    assert page.h1 == "fixtures: add_city"
    assert page.body_class == "query db-fixtures query-add_city"
    form = page.content.one("form", class_="sql")
    assert form.attrs["method"] == "post"
    assert form.attrs["action"] == "/fixtures/add_city"
    csrf = [i for i in form.find_all("input") if i.attrs.get("name") == "csrftoken"]
    assert len(csrf) == 1 and csrf[0].attrs["type"] == "hidden" and csrf[0].attrs["value"]
    assert form.one("input", id="qp1").attrs["name"] == "name"
    assert form.one("input", id="qp1").attrs["value"] == "Paris"
    assert form.one("input", id="qp2").attrs["name"] == "state"
    submit = form.one("input", type="submit")
    assert "disabled" not in submit.attrs
    assert page.content.find("p", class_="zero-results") is None
    assert page.content.find("table") is None
    assert page.content.find("p", class_="message-error") is None
    assert form.find_all("h3")[0].clean_text == "Custom SQL query (hide)"


def test_writable_canned_query_on_immutable_database(read_api_db_path, make_ds, serve_ds):
    ds = make_ds(immutables=[str(read_api_db_path)], metadata=copy.deepcopy(READ_API_METADATA))
    with serve_ds(ds) as server:
        page = get(server.url + "/fixtures/add_city")
    assert page.content.one("p", class_="message-error").clean_text == (
        "This query cannot be executed because the database is immutable."
    )
    assert "disabled" in page.content.one("input", type="submit").attrs


# -- row pages ---------------------------------------------------------------------------------


def test_row_page(read_api_server):
    page = get(read_api_server.url + "/fixtures/cities/1")
    assert page.title == "fixtures: cities"
    assert page.h1 == "cities: 1"
    crumbs = page.root.one("p", class_="crumbs")
    assert [a.attrs["href"] for a in crumbs.find_all("a")] == ["/", "/fixtures", "/fixtures/cities"]
    json_link = page.content.one("a", href="/fixtures/cities/1.json")
    assert json_link.parent.clean_text == "This data as json"
    table, headers, rows = result_table(page)
    assert headers == ["id", "name", "state"]
    assert [td.text for td in rows[0]] == ["1", "San Francisco", "CA"]
    assert rows[0][1].attrs["class"] == "col-name type-str"
    # Key cells are typed by their value on the row page (issue 9, row page).
    assert rows[0][0].attrs["class"] == "col-id type-int"
    # Row pages keep their cache headers
    assert page.response.headers["cache-control"] == "max-age=5"
    # Links from other tables
    h2 = page.content.one("h2")
    assert h2.clean_text == "Links from other tables"
    items = h2.parent.find_all("li")
    assert [li.clean_text for li in items] == ["6 rows from city_id in places"]
    assert items[0].one("a").attrs["href"] == "/fixtures/places?city_id=1"


def test_row_page_compound_key_and_blob(read_api_server):
    page = get(read_api_server.url + "/fixtures/compound_primary_key/a~2Fb,~2Ec-d")
    assert page.h1 == "compound_primary_key: a/b, .c-d"
    assert page.content.find("h2") is None
    blob_page = get(read_api_server.url + "/fixtures/binary_data/1")
    _, headers, rows = result_table(blob_page)
    assert headers == ["rowid", "data"]
    link = rows[0][1].one("a", class_="blob-download")
    assert link.attrs["href"] == "/fixtures/binary_data/1.blob?_blob_column=data"
    assert link.text == "<Binary:\xa03\xa0bytes>"
    assert httpx.get(read_api_server.url + link.attrs["href"]).content == b"\xff\x00\xff"


def test_row_page_links_from_other_tables_singular(db_path, make_ds, serve_ds):
    with serve_ds(make_ds([str(db_path)])) as server:
        page = get(server.url + "/sample/authors/1")
        other = get(server.url + "/sample/authors/2")
    assert [li.clean_text for li in page.content.find_all("li")] == ["1 row from author_id in books"]
    assert [li.clean_text for li in other.content.find_all("li")] == ["2 rows from author_id in books"]
    assert other.content.one("a", href="/sample/books?author_id=2")


# -- render_cell ------------------------------------------------------------------------------


def test_render_cell_plugin(read_api_server):
    calls = []

    def render_cell(value, column, table, database, row, request, datasette):
        calls.append((column, table, database))
        if value == "RENDER_CELL_DEMO":
            return Markup(f"<strong class=\"rendered\">{table or 'query'}:{row['id']}</strong>")
        if value == "hello":
            return "<em>escaped</em>"
        return None

    with plugin("test_render_cell", render_cell=render_cell):
        query = get(read_api_server.url + "/fixtures?sql=" + urllib.parse.quote(
            "select id, content from simple_primary_key where id in (1, 4) order by id"))
        row = get(read_api_server.url + "/fixtures/simple_primary_key/4")
        row_plain = get(read_api_server.url + "/fixtures/simple_primary_key/1")
    _, _, rows = result_table(query)
    assert rows[1][1].one("strong", class_="rendered").text == "query:4"
    assert rows[0][1].text == "<em>escaped</em>"
    assert rows[0][1].find("em") is None
    _, _, row_rows = result_table(row)
    assert row_rows[0][1].one("strong", class_="rendered").text == "simple_primary_key:4"
    assert result_table(row_plain)[2][0][1].text == "<em>escaped</em>"
    assert ("content", None, "fixtures") in calls
    assert ("content", "simple_primary_key", "fixtures") in calls


def test_render_cell_falsy_result(read_api_server):
    async def render_cell(value, column):
        if column == "content":
            return ""
        return None

    with plugin("test_render_cell_falsy", render_cell=render_cell):
        query = get(read_api_server.url + "/fixtures?sql=" + urllib.parse.quote(
            "select id, content from simple_primary_key where id = 2"))
        row = get(read_api_server.url + "/fixtures/simple_primary_key/2")
    # Query pages use any non-None answer...
    assert result_table(query)[2][0][1].text == ""
    # ...table and row pages treat a falsy one as "render it the default way"
    assert result_table(row)[2][0][1].text == "world"


# -- privacy -----------------------------------------------------------------------------------


def test_private_items_get_padlocks(read_api_db_path, make_ds, serve_ds):
    def changes(m):
        fixtures = m["databases"]["fixtures"]
        fixtures["tables"]["cities"]["allow"] = {"id": "root"}
        fixtures["tables"]["simple_view"]["allow"] = {"id": "root"}
        fixtures["queries"]["neighborhood_search"]["allow"] = {"id": "root"}

    ds = make_ds(immutables=[str(read_api_db_path)], metadata=metadata_with(changes))
    with serve_ds(ds) as server:
        cookies = {"ds_actor": ds.client.actor_cookie({"id": "root"})}
        index = get(server.url + "/", cookies=cookies)
        database = get(server.url + "/fixtures", cookies=cookies)
        row = get(server.url + "/fixtures/cities/1", cookies=cookies)
        canned = get(server.url + "/fixtures/neighborhood_search", cookies=cookies)
        anon_database = get(server.url + "/fixtures")
        anon_index = get(server.url + "/")
        assert httpx.get(server.url + "/fixtures/cities/1").status_code == 403
    # Index: the table link is followed by a padlock
    cities_link = index.content.one("a", href="/fixtures/cities")
    siblings = cities_link.parent.children
    assert siblings[siblings.index(cities_link) + 1].startswith(" 🔒")
    assert "🔒" not in index.content.one("h2").clean_text
    # Database page: tables, views and queries
    assert database.content.one("a", href="/fixtures/cities").parent.clean_text == "cities 🔒"
    assert database.content.one("a", href="/fixtures/states").parent.clean_text == "states"
    assert database.content.one("a", href="/fixtures/simple_view").parent.clean_text == "simple_view 🔒"
    assert database.content.one("a", href="/fixtures/neighborhood_search").parent.clean_text == (
        "Search neighborhoods 🔒"
    )
    assert row.h1 == "cities: 1 🔒"
    assert canned.h1 == "Search neighborhoods 🔒"
    # Anonymous users do not see the private items at all
    assert anon_database.content.find("a", href="/fixtures/cities") is None
    assert anon_database.content.find("a", href="/fixtures/neighborhood_search") is None
    assert anon_index.content.find("a", href="/fixtures/cities") is None
    assert "🔒" not in anon_database.content.text


def test_private_database_padlock_on_index(read_api_db_path, make_ds, serve_ds):
    metadata = metadata_with(lambda m: m["databases"]["fixtures"].update(allow={"id": "root"}))
    ds = make_ds(immutables=[str(read_api_db_path)], metadata=metadata)
    with serve_ds(ds) as server:
        cookies = {"ds_actor": ds.client.actor_cookie({"id": "root"})}
        index = get(server.url + "/", cookies=cookies)
        database = get(server.url + "/fixtures", cookies=cookies)
        anon = get(server.url + "/")
    assert index.content.one("h2").clean_text == "fixtures 🔒"
    assert database.h1 == "fixtures 🔒"
    assert anon.content.find("h2") is None
    assert anon.title == "Read API fixtures:"


# -- CORS --------------------------------------------------------------------------------------


def test_cors_headers_on_html_pages(read_api_db_path, make_ds, serve_ds):
    ds = make_ds(immutables=[str(read_api_db_path)], cors=True, metadata=copy.deepcopy(READ_API_METADATA))
    with serve_ds(ds) as server:
        for path in ("/", "/fixtures?sql=select+1", "/fixtures/neighborhood_search", "/fixtures/cities/1"):
            response = httpx.get(server.url + path)
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == "*", path
        database = httpx.get(server.url + "/fixtures")
        assert "access-control-allow-origin" not in database.headers
