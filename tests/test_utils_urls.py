"""datasette.utils URL helpers: row keys, query-string edits, formats, routes, CORS."""

import re
import sqlite3
import urllib.parse

import pytest

from datasette import utils
from datasette.utils import PrefixedUrlString
from datasette.utils.params import MultiParams


class FakeRequest:
    """The three request attributes the helpers read."""

    def __init__(self, path_with_query):
        self.path, _, self.query_string = path_with_query.partition("?")
        self.args = MultiParams(
            urllib.parse.parse_qs(self.query_string, keep_blank_values=True)
        )


@pytest.mark.parametrize(
    "token,expected",
    [
        ("foo", ["foo"]),
        ("foo,bar", ["foo", "bar"]),
        ("123,433,112", ["123", "433", "112"]),
        ("123~2C433,112", ["123,433", "112"]),
        ("123~2F433~2F112", ["123/433/112"]),
        ("a~2Fb,~2Ec-d", ["a/b", ".c-d"]),
    ],
)
def test_urlsafe_components(token, expected):
    assert utils.urlsafe_components(token) == expected


def test_path_from_row_pks():
    row = {"a": "a/b", "b": ".c-d", "rowid": 7}
    assert utils.path_from_row_pks(row, ["a", "b"], False) == "a~2Fb,~2Ec-d"
    assert utils.path_from_row_pks(row, ["a", "b"], False, quote=False) == "a/b,.c-d"
    assert utils.path_from_row_pks(row, ["a", "b"], True) == "7"


def test_path_from_row_pks_expanded_cells_and_sqlite_rows():
    assert utils.path_from_row_pks({"id": {"value": 3, "label": "x"}}, ["id"], False) == "3"
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    row = conn.execute("select 1 as rowid, 'a b' as name").fetchone()
    assert utils.path_from_row_pks(row, ["name"], False) == "a+b"
    assert utils.path_from_row_pks(row, [], True) == "1"


@pytest.mark.parametrize(
    "path,added_args,expected",
    [
        ("/foo", {"bar": 1}, "/foo?bar=1"),
        ("/foo?bar=1", {"baz": 2}, "/foo?bar=1&baz=2"),
        ("/foo?bar=1&bar=2", {"baz": 3}, "/foo?bar=1&bar=2&baz=3"),
        ("/foo?bar=1", {"bar": None}, "/foo"),
        (
            "/?_facet=prim_state&_facet=area_name",
            (("prim_state", "GA"),),
            "/?_facet=prim_state&_facet=area_name&prim_state=GA",
        ),
        (
            "/?_facet=state&_facet=city&state=MI",
            (("city", "Detroit"),),
            "/?_facet=state&_facet=city&state=MI&city=Detroit",
        ),
        (
            "/?_facet=state&_facet=city",
            (("_facet", "planet_int"),),
            "/?_facet=state&_facet=city&_facet=planet_int",
        ),
        ("/foo?x=a+b", {"y": "c d"}, "/foo?x=a+b&y=c+d"),
    ],
)
def test_path_with_added_args(path, added_args, expected):
    request = FakeRequest(path)
    assert utils.path_with_added_args(request, added_args) == expected


def test_path_with_added_args_explicit_path():
    request = FakeRequest("/foo?bar=1")
    assert utils.path_with_added_args(request, {"baz": 2}, path="/other") == (
        "/other?bar=1&baz=2"
    )


@pytest.mark.parametrize(
    "path,args,expected",
    [
        ("/foo?bar=1", {"bar"}, "/foo"),
        ("/foo?bar=1&baz=2", {"bar"}, "/foo?baz=2"),
        ("/foo?bar=1&bar=2&bar=3", {"bar": "2"}, "/foo?bar=1&bar=3"),
        ("/foo?bar=1&baz=2", {"bar": "9"}, "/foo?bar=1&baz=2"),
    ],
)
def test_path_with_removed_args(path, args, expected):
    assert utils.path_with_removed_args(FakeRequest(path), args) == expected
    # The same result when the path (with its query) is passed explicitly
    assert utils.path_with_removed_args(FakeRequest("/"), args, path=path) == expected


@pytest.mark.parametrize(
    "path,args,expected",
    [
        ("/foo?bar=1", {"bar": None}, "/foo"),
        ("/foo?bar=1", {"bar": 2}, "/foo?bar=2"),
        ("/foo?bar=1", {"baz": 3}, "/foo?bar=1&baz=3"),
        ("/foo?bar=1&bar=2&x=y", [("bar", "3")], "/foo?x=y&bar=3"),
    ],
)
def test_path_with_replaced_args(path, args, expected):
    assert utils.path_with_replaced_args(FakeRequest(path), args) == expected


@pytest.mark.parametrize(
    "path,format,extra_qs,expected",
    [
        ("/foo?sql=select+1", "csv", {}, "/foo.csv?sql=select+1"),
        ("/foo?sql=select+1", "json", {}, "/foo.json?sql=select+1"),
        ("/foo/bar", "json", {}, "/foo/bar.json"),
        ("/foo/bar", "csv", {}, "/foo/bar.csv"),
        ("/foo/bar", "csv", {"_dl": 1}, "/foo/bar.csv?_dl=1"),
        (
            "/sf-trees/Street_Tree_List?_search=cherry&_size=1000",
            "csv",
            {"_dl": 1},
            "/sf-trees/Street_Tree_List.csv?_search=cherry&_size=1000&_dl=1",
        ),
        ("/foo/bar.baz", "json", {}, "/foo/bar.baz?_format=json"),
        ("/foo/bar", "csv", {"z": 1, "a": 2}, "/foo/bar.csv?a=2&z=1"),
    ],
)
def test_path_with_format_from_request(path, format, extra_qs, expected):
    request = FakeRequest(path)
    actual = utils.path_with_format(request=request, format=format, extra_qs=extra_qs)
    assert actual == expected


def test_path_with_format_from_path_and_replace_format():
    assert utils.path_with_format(path="/db/t", format="json") == "/db/t.json"
    assert (
        utils.path_with_format(path="/db/t.json", format="csv", replace_format="json")
        == "/db/t.csv"
    )
    assert utils.path_with_format(path="/db/t?x=1.5", format="json") == "/db/t.json?x=1.5"


def test_path_with_format_does_not_mutate_extra_qs():
    extra = {"_dl": 1}
    utils.path_with_format(path="/a.b", format="csv", extra_qs=extra)
    assert extra == {"_dl": 1}


def test_prefixed_url_string_keeps_its_type():
    url = PrefixedUrlString("/prefix/db")
    assert isinstance(url, str)
    assert isinstance(url + "/table", PrefixedUrlString)
    assert url + "/table" == "/prefix/db/table"
    assert isinstance(url.replace("db", "other"), PrefixedUrlString)
    assert isinstance(url.lower(), PrefixedUrlString)
    parts = url.split("/")
    assert parts == ["", "prefix", "db"]
    assert all(isinstance(part, PrefixedUrlString) for part in parts)
    assert all(isinstance(p, PrefixedUrlString) for p in url.partition("/db"))
    assert url.startswith("/prefix") is True
    assert url.count("/") == 2
    assert type(str(url)) is str
    assert not isinstance("/x" + "y", PrefixedUrlString)


def test_add_cors_headers():
    headers = {"content-type": "text/plain"}
    utils.add_cors_headers(headers)
    assert headers == {
        "content-type": "text/plain",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Expose-Headers": "Link",
        "Access-Control-Allow-Methods": "GET, POST, HEAD, OPTIONS",
        "Access-Control-Max-Age": "3600",
    }


def test_resolve_routes():
    def index():
        pass

    def table():
        pass

    routes = [
        (re.compile(r"^/$"), index),
        (re.compile(r"^/(?P<database>[^/]+)/(?P<table>[^/]+)$"), table),
    ]
    match, view = utils.resolve_routes(routes, "/db/t")
    assert view is table
    assert match.groupdict() == {"database": "db", "table": "t"}
    match, view = utils.resolve_routes(routes, "/")
    assert view is index
    assert utils.resolve_routes(routes, "/a/b/c") == (None, None)


class FakeUrls:
    def instance(self):
        return "/"

    def database(self, name):
        return "/" + utils.tilde_encode(name)

    def table(self, database, table):
        return self.database(database) + "/" + utils.tilde_encode(table)


class FakeDb:
    def __init__(self, tables, hidden=()):
        self.tables = list(tables)
        self.hidden = list(hidden)

    async def table_names(self):
        return self.tables

    async def hidden_table_names(self):
        return self.hidden


class FakeDatasette:
    def __init__(self, databases):
        self.databases = databases
        self.urls = FakeUrls()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "databases,expected",
    [
        ({"one": FakeDb(["one"])}, "/one/one"),
        ({"two": FakeDb(["two", "three"])}, "/two"),
        ({"one": FakeDb(["one"]), "two": FakeDb(["two", "three"])}, "/"),
        ({"fts": FakeDb(["docs", "docs_fts", "docs_fts_data"], ["docs_fts", "docs_fts_data"])}, "/fts/docs"),
        ({"empty": FakeDb([])}, "/empty"),
        ({}, "/"),
    ],
)
async def test_initial_path_for_datasette(databases, expected):
    assert await utils.initial_path_for_datasette(FakeDatasette(databases)) == expected
