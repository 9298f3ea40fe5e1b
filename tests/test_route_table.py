"""Routing through one joined regex (datasette/route_table.py): the first route whose
regex matches wins, exactly as trying them one by one did, with the same URL variables."""

import os
import re
import subprocess
import sys

import pytest

from datasette import hookimpl
from datasette.plugins import pm
from datasette.route_table import JOIN_AFTER, RouteTable, literal_prefix, without_captures
from datasette.routes import LazyView
from datasette.utils.asgi import Response

from .conftest import one_row_db


def one_by_one(routes, path):
    for regex, view in routes:
        match = regex.match(path)
        if match is not None:
            return view, match.groupdict()
    return None


def joined(table, path):
    found = table.match(path)
    return None if found is None else (found[0], found[1].groupdict())


@pytest.mark.parametrize(
    "pattern,expected",
    [
        (r"/(?P<db>[^/]+)/(x|y)$", r"/(?:[^/]+)/(?:x|y)$"),
        (r"/a[(]b\(c", r"/a[(]b\(c"),
        (r"/a[]()]b", r"/a[]()]b"),
        (r"/a[^]()]b", r"/a[^]()]b"),
        (r"/(?:a)(?=b)(?!c)(?<=d)(?<!e)", r"/(?:a)(?=b)(?!c)(?<=d)(?<!e)"),
        (r"/\0", r"/\0"),
        (r"/(a)\1", None),
        (r"/(?P<a>x)(?P=a)", None),
        (r"(?i)/x", None),
        (r"/(?i:x)", None),
        (r"/(?#comment)", None),
        (r"/(a)?(?(1)b|c)", None),
    ],
)
def test_without_captures(pattern, expected):
    assert without_captures(pattern) == expected


def test_the_core_routes_are_joined_and_agree_with_one_by_one(make_ds):
    ds = make_ds([])
    routes = ds.routes()
    table = RouteTable(routes)
    assert table.joined
    paths = [
        "/", "/.json", "/favicon.ico", "/-/static/app.css", "/-/versions.json", "/-/config",
        "/-/config.json", "/db", "/db.json", "/db.db", "/db/-/create", "/db/t", "/db/t.json",
        "/db/t/-/insert", "/db/t/1", "/db/t/1.json", "/db/t/1,2.csv", "/db/t/1/-/update",
        "/db/t~2Ejson/1", "/db/a/b/c/d", "/nope/", "/:memory:", "/-/nothing-here",
    ]
    for path in paths:
        assert joined(table, path) == one_by_one(routes, path), path


@pytest.mark.parametrize(
    "pattern,prefix",
    [
        (r"/-/versions(\.(?P<format>json))?$", "/-/versions"),
        (r"^/-/config\.json", "/-/config.json"),
        (r"/(?P<database>[^/]+)$", "/"),
        (r"/-?/x", "/"),  # the "-" is optional
        (r"/-/a+b", "/-/a"),
        (r"/-/\d+", "/-/"),
        (r"/-/a|/b", ""),  # either alternative
        (r"/-/(a|b)", "/-/"),
        (r"/-/[|]x", "/-/"),
        (r"(?i)/-/x", ""),
    ],
)
def test_literal_prefix(pattern, prefix):
    assert literal_prefix(re.compile(pattern)) == prefix


def test_routes_split_at_special_pages_agree_with_one_by_one():
    # Plugin-style routes whose first characters say little, or lie, about the paths they
    # match: each must still be tried, in order, for the paths it can match.
    routes = [
        (re.compile(r"/-/A$", re.IGNORECASE), "ignorecase"),
        (re.compile(r"/-/b|/c$"), "alternation"),
        (re.compile(r"/-?/d$"), "optional dash"),
        (re.compile(r"/-/e(?P<rest>.*)$"), "special"),
        (re.compile(r"/(?P<db>[^/]+)/(?P<t>[^/]+)$"), "table"),
        (re.compile(r"(?P<any>.*)"), "anything"),
    ]
    table = RouteTable(routes)
    assert table.joined
    paths = ["/-/a", "/-/A", "/-/b", "/c", "/-/d", "//d", "/-/e/x", "/db/t", "/-/t", "/x/y/z", ""]
    for path in paths:
        assert joined(table, path) == one_by_one(routes, path), path


def test_flags_are_kept_per_route():
    routes = [
        (re.compile(r"/upper$", re.IGNORECASE), "ignorecase"),
        (re.compile(r"/UPPER2$"), "exact"),
        (re.compile(r"/dot.$", re.DOTALL), "dotall"),
    ]
    table = RouteTable(routes)
    assert table.joined
    assert table.match("/UPPER")[0] == "ignorecase"
    assert table.match("/upper2") is None
    assert table.match("/UPPER2")[0] == "exact"
    assert table.match("/dot\n")[0] == "dotall"


def test_a_route_that_cannot_be_joined_leaves_one_by_one_matching():
    routes = [
        (re.compile(r"/(?P<a>x)(?P=a)$"), "backreference"),
        (re.compile(r"/(?P<b>.*)$"), "catch-all"),
    ]
    table = RouteTable(routes)
    assert not table.joined
    view, match = table.match("/xx")
    assert (view, match.groupdict()) == ("backreference", {"a": "x"})
    view, match = table.match("/xy")
    assert (view, match.groupdict()) == ("catch-all", {"b": "xy"})


def test_the_first_matches_go_one_by_one_then_the_routes_are_joined(make_ds):
    # A starting server's first requests do not wait for the joined regex's compile.
    routes = make_ds([]).routes()
    table = RouteTable(routes)
    # One path under /-/ and one elsewhere per round: each half of the table counts its own.
    rounds = [("/-/versions.json", "/db/t/1.json"), ("/-/nothing-here", "/db"), ("/-/api", "/")]
    for number in range(JOIN_AFTER + 1):
        assert not table.joined_yet
        for path in rounds[number % len(rounds)]:
            assert joined(table, path) == one_by_one(routes, path), path
    assert table.joined_yet  # both halves joined at their use after JOIN_AFTER


def test_an_earlier_route_wins_over_a_later_one():
    routes = [
        (re.compile(r"/(?P<first>a+)"), "first"),
        (re.compile(r"/(?P<second>a+)b$"), "second"),
    ]
    table = RouteTable(routes)
    view, match = table.match("/aab")
    assert (view, match.groupdict()) == ("first", {"first": "aa"})


@pytest.mark.asyncio
async def test_plugin_routes_with_backreferences_still_route(make_ds):
    class Routes:
        @hookimpl
        def register_routes(self):
            async def doubled(request):
                return Response.text("doubled " + request.url_vars["word"])

            return [(r"^/-/twice/(?P<word>\w+)/(?P=word)$", doubled)]

    pm.register(Routes(), name="route-table-backreference")
    try:
        ds = make_ds([])
        assert (await ds.client.get("/-/twice/hi/hi")).text == "doubled hi"
        assert (await ds.client.get("/-/twice/hi/ho")).status_code == 404
        assert (await ds.client.get("/-/versions.json")).status_code == 200
    finally:
        pm.unregister(name="route-table-backreference")


# -- core views imported on their first request (issue 15) ---------------------------------


def test_importing_the_command_line_imports_no_page_view():
    """Start-up imports the views its first pages need, not every page (routes.LazyView)."""
    code = (
        "import sys, datasette.cli; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('datasette.views.'))))"
    )
    env = dict(os.environ, DATASETTE_LOAD_PLUGINS="")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    for module in ("table", "row", "database", "index", "query", "table_write", "replication"):
        assert f"datasette.views.{module}" not in out
    assert "datasette.views.special" in out  # /-/versions.json and the other JSON pages


@pytest.mark.asyncio
async def test_a_lazy_view_is_imported_and_made_once_then_serves(make_ds, tmp_path):
    ds = make_ds([one_row_db(tmp_path / "db.db")])
    lazy = next(view for regex, view in ds.routes() if view.__name__ == "RowView")
    assert isinstance(lazy, LazyView)
    assert lazy.load() is lazy.load()  # one instance per route, made on first use
    response = await ds.client.get("/db/t/1.json")
    assert response.status_code == 200
    assert response.json()["rows"] == [{"id": 1, "name": "one"}]
    assert "datasette.views.row" in sys.modules


def test_the_1_0a7_view_names_stay_importable_from_datasette_app():
    import datasette.app
    from datasette.app import DatabaseView, TableInsertView
    from datasette.views.database import DatabaseView as direct
    from datasette.views.table_write import TableInsertView as direct_insert

    assert DatabaseView is direct and TableInsertView is direct_insert
    assert not hasattr(datasette.app, "NoSuchView")
