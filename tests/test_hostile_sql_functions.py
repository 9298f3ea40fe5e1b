"""SQL functions user SQL may not call (issue 9, item 4).

`fts3_tokenizer` hands out a native pointer (and with two arguments installs one),
`load_extension` loads code, and the fileio extension's `readfile`/`writefile`/`edit` touch
the server's files. The authorizer on every read connection refuses them, in any letter
case and with any number of arguments, whether SQLite has them built in or a plugin or
extension added them: a 400 naming the function.
"""

import urllib.parse

import httpx
import pytest

from datasette import hookimpl
from datasette.app import Datasette
from datasette.plugins import pm
from datasette.utils.sqlite import UNSAFE_FUNCTIONS

from .conftest import ServerThread


class FileFunctions:
    """A plugin giving connections file functions, as SQLite's fileio extension does."""

    __name__ = "hostile_file_functions"

    @staticmethod
    @hookimpl
    def prepare_connection(conn):
        conn.create_function("readfile", 1, lambda path: open(path, "rb").read())

        def writefile(path, data):
            with open(path, "w") as fp:
                fp.write(str(data))
            return len(str(data))

        conn.create_function("writefile", 2, writefile)
        conn.create_function("edit", 1, lambda value: value)
        conn.create_function("safe_double", 1, lambda value: value * 2)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from .fixtures import make_read_api_db

    folder = tmp_path_factory.mktemp("hostile_sql")
    path = folder / "fixtures.db"
    make_read_api_db(path, big_rows=10)
    plugin = FileFunctions()
    pm.register(plugin, name="hostile_file_functions")
    ds = Datasette([str(path)], crossdb=True)
    try:
        with ServerThread(ds) as running:
            with httpx.Client(base_url=running.url, timeout=30) as client:
                yield ds, client, folder
    finally:
        ds.close()
        pm.unregister(name="hostile_file_functions")


def run_sql(client, sql, database="fixtures", **kwargs):
    return client.get(f"/{database}.json?sql=" + urllib.parse.quote(sql), **kwargs)


@pytest.mark.parametrize(
    "sql,name",
    [
        ("select fts3_tokenizer('simple')", "fts3_tokenizer"),
        ("select FTS3_TOKENIZER('porter')", "fts3_tokenizer"),
        ("select fts3_tokenizer('simple', x'0000000000000000')", "fts3_tokenizer"),
        ("select hex(fts3_tokenizer(:name))", "fts3_tokenizer"),
        ("select * from (select fts3_tokenizer('unicode61') as p)", "fts3_tokenizer"),
        ("select load_extension('/tmp/nothing')", "load_extension"),
        ("select load_extension('/tmp/nothing', 'entry')", "load_extension"),
        ("select readfile('/etc/hostname')", "readfile"),
        ("select writefile('{folder}/written.txt', 'pwned')", "writefile"),
        ("select edit('text')", "edit"),
    ],
)
def test_unsafe_functions_are_refused(server, sql, name):
    ds, client, folder = server
    sql = sql.format(folder=folder)
    response = client.get("/fixtures.json?name=simple&sql=" + urllib.parse.quote(sql))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == (
        f"{name}() is not allowed: it can expose memory addresses or the server's files"
    )
    assert not (folder / "written.txt").exists()


@pytest.mark.parametrize("database", ["fixtures", "_memory"])
def test_refused_on_every_database(server, database):
    ds, client, folder = server
    response = run_sql(client, "select fts3_tokenizer('simple')", database=database)
    assert response.status_code == 400
    assert "fts3_tokenizer() is not allowed" in response.json()["error"]


def test_root_is_refused_too(server):
    ds, client, folder = server
    cookie = ds.client.actor_cookie({"id": "root"})
    response = run_sql(
        client, "select fts3_tokenizer('simple')", headers={"Cookie": f"ds_actor={cookie}"}
    )
    assert response.status_code == 400


def test_ordinary_functions_still_work(server):
    ds, client, folder = server
    response = run_sql(
        client,
        "select safe_double(21) as v, upper('a') as u, count(*) as c from simple_primary_key",
    )
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [{"v": 42, "u": "A", "c": 5}]


def test_html_query_page_shows_the_refusal(server):
    ds, client, folder = server
    response = client.get("/fixtures?sql=" + urllib.parse.quote("select fts3_tokenizer('simple')"))
    assert "fts3_tokenizer() is not allowed" in response.text


def test_full_text_search_still_works(server):
    """FTS tables use the tokenizer machinery internally; only the SQL function is refused."""
    ds, client, folder = server
    response = client.get("/fixtures/searchable.json?_search=dog")
    assert response.status_code == 200, response.text


def test_a_refusal_does_not_stick_to_the_connection(server):
    ds, client, folder = server
    assert run_sql(client, "select load_extension('x')").status_code == 400
    response = run_sql(client, "select 1 as one")
    assert response.json()["rows"] == [{"one": 1}]


def test_the_list_names_the_known_families():
    for name in ("fts3_tokenizer", "load_extension", "readfile", "writefile", "edit"):
        assert name in UNSAFE_FUNCTIONS
