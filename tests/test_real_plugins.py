"""Two real plugins from the package index, unchanged, against a real server.

`datasette-public` 0.2.3 and `datasette-search-all` 1.1.4 are test dependencies (the
`test` extra in setup.py), imported here as installed. Tests do not load installed plugins' entry points (see conftest), so each
fixture registers the plugin module on the global plugin manager before Datasette is
constructed (its routes and templates are collected at construction) and unregisters it
afterwards. Everything goes over HTTP to uvicorn (`serve_ds`).
"""

import re
import sqlite3
from http.cookies import SimpleCookie

import datasette_public
import datasette_search_all
import httpx
import pytest

from datasette.plugins import pm


def _register(module, name):
    if pm.get_plugin(name) is not None:
        pm.unregister(name=name)
    pm.register(module, name=name)


def _unregister(name):
    if pm.get_plugin(name) is not None:
        pm.unregister(name=name)


def make_db(path, sql):
    conn = sqlite3.connect(str(path))
    try:
        conn.executescript(sql)
    finally:
        conn.close()
    return str(path)


def set_cookies(response):
    found = {}
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            found[name] = morsel.value
    return found


def csrftoken_from(html):
    match = re.search(r'<input type="hidden" name="csrftoken" value="([^"]+)">', html)
    assert match, "no csrftoken field in the page"
    return match.group(1)


# =========================================================================================
# datasette-public 0.2.3
# =========================================================================================

PUBLIC_SQL = """
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO t VALUES (1, 'visible once public'), (2, 'second row');
CREATE TABLE other (id INTEGER PRIMARY KEY, secret TEXT);
INSERT INTO other VALUES (1, 'stays private');
CREATE VIEW t_view AS SELECT name FROM t;
"""

EXTRA_SQL = """
CREATE TABLE extra_table (id INTEGER PRIMARY KEY, note TEXT);
INSERT INTO extra_table VALUES (1, 'in the second database');
"""


@pytest.fixture
def public_plugin():
    _register(datasette_public, "datasette-public")
    yield datasette_public
    _unregister("datasette-public")


@pytest.fixture
def public_server(public_plugin, make_ds, serve_ds, tmp_path):
    """A private instance (only root may view it) serving `data` then `extra`."""
    data = make_db(tmp_path / "data.db", PUBLIC_SQL)
    extra = make_db(tmp_path / "extra.db", EXTRA_SQL)
    ds = make_ds([data, extra], metadata={"allow": {"id": "root"}})
    with serve_ds(ds) as server:
        server.root_cookie = ds.client.actor_cookie({"id": "root"})
        server.alice_cookie = ds.client.actor_cookie({"id": "alice"})
        yield server


def root_client(server):
    return httpx.Client(base_url=server.url, cookies={"ds_actor": server.root_cookie})


def change_privacy(client, path, action):
    """Open the privacy page, then POST `action` with its CSRF token; returns both."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    token = csrftoken_from(page.text)
    assert client.cookies.get("ds_csrftoken"), "the page set no ds_csrftoken cookie"
    response = client.post(path, data={"csrftoken": token, "action": action})
    return page, response


def test_public_root_sees_private_instance_anonymous_gets_403(public_server):
    with root_client(public_server) as client:
        table = client.get("/data/t")
    assert table.status_code == 200
    assert "visible once public" in table.text
    anonymous = httpx.get(public_server.url + "/data/t")
    assert anonymous.status_code == 403
    assert httpx.get(public_server.url + "/data/t.json").status_code == 403
    assert httpx.get(public_server.url + "/").status_code == 403


def test_public_privacy_page_renders_from_plugin_template(public_server):
    with root_client(public_server) as client:
        page = client.get("/-/public-table/data/t")
    assert page.status_code == 200
    html = page.text
    assert "<title>Change privacy for table t in data</title>" in html
    assert "Table is currently <strong>private</strong>" in html
    assert '<input type="hidden" name="action" value="make-public">' in html
    assert '<form action="/-/public-table/data/t" method="post">' in html
    # It extends our base.html ...
    assert '<link rel="stylesheet" href="/-/static/app.css?' in html
    assert '<div class="actor">' in html and "<strong>root</strong>" in html
    # ... and calls our crumbs.nav macro with the database and table.
    crumbs = re.search(r'<p class="crumbs">(.*?)</p>', html, re.S).group(1)
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', crumbs) == [
        ("/", "home"),
        ("/data", "data"),
        ("/data/t", "t"),
    ]
    # A fresh CSRF cookie accompanies the form.
    assert "ds_csrftoken" in set_cookies(page)


def test_public_make_public_then_private(public_server):
    url = public_server.url
    with root_client(public_server) as client:
        page, response = change_privacy(client, "/-/public-table/data/t", "make-public")
        assert response.status_code == 302
        assert response.headers["location"] == "/data/t"
        assert "ds_messages" in set_cookies(response)
        # The flash message shows on the next page.
        followed = client.get("/data/t")
        assert followed.status_code == 200
        assert "Table &#39;t&#39; is now public" in followed.text
        assert "Make table private" in followed.text

        # Anonymous can see the table now, as HTML and JSON; other tables stay private.
        assert httpx.get(url + "/data/t").status_code == 200
        as_json = httpx.get(url + "/data/t.json?_shape=array")
        assert as_json.status_code == 200
        assert [row["name"] for row in as_json.json()] == ["visible once public", "second row"]
        assert httpx.get(url + "/data/other").status_code == 403
        assert httpx.get(url + "/data/other.json").status_code == 403
        assert httpx.get(url + "/extra/extra_table").status_code == 403
        assert httpx.get(url + "/data").status_code == 403

        again = client.get("/-/public-table/data/t")
        assert "Table is currently <strong>public</strong>" in again.text
        _, response = change_privacy(client, "/-/public-table/data/t", "make-private")
        assert response.status_code == 302
        assert "Table &#39;t&#39; is now private" in client.get("/data/t").text

    assert httpx.get(url + "/data/t").status_code == 403
    assert httpx.get(url + "/data/t.json").status_code == 403


def test_public_post_without_csrf_token_is_refused(public_server):
    with root_client(public_server) as client:
        client.get("/-/public-table/data/t")  # gets the ds_csrftoken cookie
        response = client.post("/-/public-table/data/t", data={"action": "make-public"})
    assert response.status_code == 403
    assert httpx.get(public_server.url + "/data/t").status_code == 403


def test_public_state_is_stored_in_the_first_attached_database(public_server, tmp_path):
    """0.2.3 keeps `_public_tables` in the first database (not the internal one)."""
    with root_client(public_server) as client:
        change_privacy(client, "/-/public-table/extra/extra_table", "make-public")
        # The plugin's table shows up among the first database's tables.
        listed = client.get("/data.json").json()
        assert "_public_tables" in [t["name"] for t in listed["tables"]]
    assert httpx.get(public_server.url + "/extra/extra_table").status_code == 200
    conn = sqlite3.connect(str(tmp_path / "data.db"))
    try:
        rows = conn.execute("select table_name from _public_tables").fetchall()
    finally:
        conn.close()
    assert rows == [("extra_table",)]
    conn = sqlite3.connect(str(tmp_path / "extra.db"))
    try:
        names = [r[0] for r in conn.execute("select name from sqlite_master")]
    finally:
        conn.close()
    assert "_public_tables" not in names


@pytest.mark.asyncio
async def test_public_table_not_in_internal_database(public_plugin, make_ds, tmp_path):
    data = make_db(tmp_path / "data.db", PUBLIC_SQL)
    ds = make_ds([data], metadata={"allow": {"id": "root"}})
    await ds.invoke_startup()
    assert "_public_tables" in await ds.get_database("data").table_names()
    internal = ds.get_internal_database()
    assert "_public_tables" not in await internal.table_names()


def test_public_table_actions_menu_for_root(public_server):
    with root_client(public_server) as client:
        table = client.get("/data/t").text
        view = client.get("/data/t_view").text
    assert '<li><a href="/-/public-table/data/t">Make table public</a></li>' in table
    assert '<li><a href="/-/public-table/data/t_view">Make view public</a></li>' in view


def test_public_non_root_actor_gets_403_on_privacy_page(public_server):
    with httpx.Client(
        base_url=public_server.url, cookies={"ds_actor": public_server.alice_cookie}
    ) as client:
        page = client.get("/-/public-table/data/t")
        table = client.get("/data/t")
    assert page.status_code == 403
    assert "Permission denied for changing table privacy" in page.text
    assert table.status_code == 403
    # Anonymous too.
    assert httpx.get(public_server.url + "/-/public-table/data/t").status_code == 403


def test_public_privacy_page_for_missing_table_is_404(public_server):
    with root_client(public_server) as client:
        assert client.get("/-/public-table/data/no_such_table").status_code == 404


# =========================================================================================
# datasette-search-all 1.1.4
# =========================================================================================

NEWS_SQL = """
CREATE TABLE articles (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
INSERT INTO articles VALUES
  (1, 'SQLite tips', 'Use FTS for search'),
  (2, 'Gardening', 'Tomatoes and sqlite do not mix'),
  (3, 'Cooking', 'Nothing relevant here');
CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, content=[articles], content_rowid='id');
INSERT INTO articles_fts (rowid, title, body) SELECT id, title, body FROM articles;
CREATE TABLE secret_notes (id INTEGER PRIMARY KEY, note TEXT);
INSERT INTO secret_notes VALUES (1, 'secret sqlite note');
CREATE VIRTUAL TABLE secret_notes_fts USING fts5(note, content=[secret_notes], content_rowid='id');
INSERT INTO secret_notes_fts (rowid, note) SELECT id, note FROM secret_notes;
CREATE TABLE plain (id INTEGER PRIMARY KEY, text TEXT);
INSERT INTO plain VALUES (1, 'sqlite but not searchable');
"""

LIBRARY_SQL = """
CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, author TEXT);
INSERT INTO books VALUES (1, 'Using SQLite', 'Kreibich'), (2, 'Dune', 'Herbert');
CREATE VIRTUAL TABLE books_fts USING fts4(title, author, content="books");
INSERT INTO books_fts (rowid, title, author) SELECT id, title, author FROM books;
"""

SEARCH_METADATA = {
    "description": "Instance description kept by super()",
    "databases": {"news": {"tables": {"secret_notes": {"allow": {"id": "editor"}}}}},
}


@pytest.fixture
def search_all_plugin():
    _register(datasette_search_all, "datasette-search-all")
    yield datasette_search_all
    _unregister("datasette-search-all")


@pytest.fixture
def search_server(search_all_plugin, make_ds, serve_ds, tmp_path):
    news = make_db(tmp_path / "news.db", NEWS_SQL)
    library = make_db(tmp_path / "library.db", LIBRARY_SQL)
    ds = make_ds([news, library], metadata=SEARCH_METADATA)
    with serve_ds(ds) as server:
        server.editor_cookie = ds.client.actor_cookie({"id": "editor"})
        yield server


def listed_tables(html):
    return re.findall(r'<li data-searchable-url="([^"]+)"><a href="([^"]+)">([^<]+)</a></li>', html)


def test_search_all_page_lists_searchable_tables(search_server):
    response = httpx.get(search_server.url + "/-/search?q=sqlite")
    assert response.status_code == 200
    html = response.text
    assert "<title>Search: sqlite</title>" in html
    assert "<h1>Search all tables</h1>" in html
    assert listed_tables(html) == [
        ("/news/articles", "/news/articles?_search=sqlite", 'Search news: articles for "sqlite"'),
        ("/library/books", "/library/books?_search=sqlite", 'Search library: books for "sqlite"'),
    ]
    # The plugin's JavaScript gets the tables and their JSON URLs.
    assert '"url_json": "/news/articles.json"' in html
    assert '"url_json": "/library/books.json"' in html
    # Extends our base.html.
    assert '<link rel="stylesheet" href="/-/static/app.css?' in html


def test_search_all_page_without_query(search_server):
    response = httpx.get(search_server.url + "/-/search")
    assert response.status_code == 200
    assert "<title>Search all tables</title>" in response.text
    assert 'id="search-all-q"' in response.text
    assert listed_tables(response.text) == []


def test_search_all_hides_tables_the_actor_cannot_view(search_server):
    anonymous = httpx.get(search_server.url + "/-/search?q=sqlite").text
    assert "secret_notes" not in anonymous
    editor = httpx.get(
        search_server.url + "/-/search?q=sqlite", cookies={"ds_actor": search_server.editor_cookie}
    ).text
    assert ("/news/secret_notes", "/news/secret_notes?_search=sqlite") in [
        (a, b) for a, b, _ in listed_tables(editor)
    ]
    # Tables without full-text search are never listed.
    assert "/news/plain" not in editor


def test_search_all_index_page_form_and_menu(search_server):
    response = httpx.get(search_server.url + "/")
    assert response.status_code == 200
    html = response.text
    # The plugin's index.html extends "default:index.html" and overrides a block ...
    assert '<form class="core" action="/-/search" method="get">' in html
    assert 'placeholder="Search for records across 2 tables"' in html
    # ... calling super(), so the core block content is still there.
    assert "Instance description kept by super()" in html
    # Its menu_links entry.
    assert '<li><a href="/-/search">Search all tables</a></li>' in html
    editor = httpx.get(search_server.url + "/", cookies={"ds_actor": search_server.editor_cookie})
    assert 'placeholder="Search for records across 3 tables"' in editor.text


def test_search_all_no_menu_or_form_without_searchable_tables(
    search_all_plugin, make_ds, serve_ds, tmp_path
):
    plain = make_db(tmp_path / "plain.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);")
    ds = make_ds([plain])
    with serve_ds(ds) as server:
        index = httpx.get(server.url + "/").text
        search = httpx.get(server.url + "/-/search?q=x")
    assert "Search all tables" not in index
    assert 'action="/-/search"' not in index
    assert search.status_code == 200
    assert "There are no tables that have been configured for search." in search.text


def test_search_all_json_the_javascript_fetches(search_server):
    # The exact query string the plugin's JavaScript builds for each listed table.
    query = "?_shape=objects&_labels=on&_extra=count&_extra=database&_extra=table&_size=5&_search="
    news = httpx.get(search_server.url + "/news/articles.json" + query + "sqlite")
    assert news.status_code == 200
    data = news.json()
    assert data["database"] == "news" and data["table"] == "articles"
    assert data["count"] == 2
    assert sorted(row["title"] for row in data["rows"]) == ["Gardening", "SQLite tips"]
    assert set(data["rows"][0]) == {"id", "title", "body"}
    library = httpx.get(search_server.url + "/library/books.json" + query + "sqlite").json()
    assert [row["title"] for row in library["rows"]] == ["Using SQLite"]
    assert library["count"] == 1
    none = httpx.get(search_server.url + "/library/books.json" + query + "zzzz").json()
    assert none["rows"] == [] and none["count"] == 0
    # The secret table's JSON stays closed to anonymous users.
    secret = httpx.get(search_server.url + "/news/secret_notes.json" + query + "sqlite")
    assert secret.status_code == 403


def test_search_all_links_open_filtered_table_pages(search_server):
    response = httpx.get(search_server.url + "/news/articles?_search=sqlite")
    assert response.status_code == 200
    assert "SQLite tips" in response.text
    assert "Cooking" not in response.text
