"""Permissions (plugins-auth-config.md §4, §9 items 4, 6, 8, 9, 11; internals.md §2.6;
http-cli.md §1 and §2.9).

The core of this file is a matrix: five actors x the 13 core permissions x the resources
each permission applies to, under fourteen metadata configurations. The expected answers
are written out by hand per configuration (`Config.opinions`: which actors an allow or
`permissions` block lets through), then combined by `opinion()` with the two rules that
apply everywhere: the `root` actor's write/debug rights and the token restrictions. The
same model predicts the HTTP outcome of every view-style page through a real server.
"""

import asyncio
import copy
import dataclasses
import datetime
import html
import re
import sqlite3
from contextlib import contextmanager

import httpx
import pytest

from datasette import Forbidden
from datasette.app import Datasette
from datasette.default_permissions import restrictions_allow_action
from datasette.hookspecs import hookimpl
from datasette.permissions import Permission
from datasette.plugins import pm
from datasette.utils import StartupError, actor_matches_allow

from .conftest import ServerThread
from .fixtures import make_sample_db

# -- helpers ------------------------------------------------------------------------------

DB = "sample"
QUERY_SQL = "select id, title from books where year > 2000"

# Resource kinds and the resource each one stands for.
RESOURCES = {
    "instance": None,
    "database": DB,
    "table": (DB, "books"),
    "query": (DB, "recent"),
}

# name, abbr, takes_database, takes_resource, default, implies_can_view (§4.2)
CORE_PERMISSIONS = [
    ("view-instance", "vi", False, False, True, False),
    ("view-database", "vd", True, False, True, True),
    ("view-database-download", "vdd", True, False, True, False),
    ("view-table", "vt", True, True, True, True),
    ("view-query", "vq", True, True, True, True),
    ("execute-sql", "es", True, False, True, True),
    ("permissions-debug", "pd", False, False, False, False),
    ("debug-menu", "dm", False, False, False, False),
    ("insert-row", "ir", True, True, False, False),
    ("delete-row", "dr", True, True, False, False),
    ("update-row", "ur", True, True, False, False),
    ("create-table", "ct", True, False, False, False),
    ("drop-table", "dt", True, True, False, False),
]
DEFAULTS = {row[0]: row[4] for row in CORE_PERMISSIONS}
ROOT_ACTIONS = {
    "permissions-debug",
    "debug-menu",
    "insert-row",
    "create-table",
    "drop-table",
    "delete-row",
    "update-row",
}


def kinds_for(takes_database, takes_resource):
    if takes_resource:
        return ["table", "query"]
    if takes_database:
        return ["database"]
    return ["instance"]


# Every (action, resource kind) pair the matrix checks: 19 of them.
PAIRS = [
    (name, kind)
    for name, _, takes_database, takes_resource, _, _ in CORE_PERMISSIONS
    for kind in kinds_for(takes_database, takes_resource)
]

# The token actor is what `create_token("alice", restrict_all=["execute-sql"],
# restrict_resource={"sample": {"books": ["view-table", "insert-row"]}})` verifies to.
TOKEN_RESTRICTIONS = {"a": ["es"], "r": {DB: {"books": ["vt", "ir"]}}}
ACTORS = {
    "anon": None,
    "root": {"id": "root"},
    "alice": {"id": "alice"},
    "bob": {"id": "bob", "roles": ["staff"]},
    "token": {"id": "alice", "token": "dstok", "_r": TOKEN_RESTRICTIONS},
}
# What those restrictions leave open (§4.6); everything else is denied for the token.
TOKEN_ALLOWED = {
    ("view-instance", "instance"),  # es and vt imply viewing
    ("view-database", "database"),  # es is in "a", implies viewing and takes a database
    ("execute-sql", "database"),  # es is in "a"
    ("view-table", "table"),  # vt on sample/books
    ("insert-row", "table"),  # ir on sample/books
}
ALICE = {"alice", "token"}  # both carry id "alice"
EVERYONE_WITH_ID = {"root", "alice", "bob", "token"}


def md(root=None, database=None, books=None, recent=None):
    """Metadata with the canned query `recent` always defined, plus the given blocks."""
    db = dict(database or {})
    db["queries"] = {"recent": {"sql": QUERY_SQL, **(recent or {})}}
    if books is not None:
        db["tables"] = {"books": books}
    return {**(root or {}), "databases": {DB: db}}


@dataclasses.dataclass
class Config:
    name: str
    metadata: dict
    # (action, kind) -> the actor keys a block in the metadata lets through; everyone
    # else gets an explicit False. Pairs not listed get no opinion from the metadata.
    opinions: dict
    settings: dict = dataclasses.field(default_factory=dict)


CONFIGS = [
    Config("no-metadata", md(), {}),
    Config(
        "instance-allow",
        md(root={"allow": {"id": "alice"}}),
        # view-database falls back to the root `allow` (metadata cascade).
        {("view-instance", "instance"): ALICE, ("view-database", "database"): ALICE},
    ),
    Config(
        "database-allow",
        md(database={"allow": {"roles": ["staff"], "unauthenticated": True}}),
        {("view-database", "database"): {"anon", "bob"}},
    ),
    Config(
        "table-allow",
        md(books={"allow": {"id": ["alice", "bob"]}}),
        {("view-table", "table"): ALICE | {"bob"}},
    ),
    Config(
        "query-allow",
        md(recent={"allow": {"id": "*"}}),
        {("view-query", "query"): EVERYONE_WITH_ID},
    ),
    Config(
        "allow-sql-instance",
        md(root={"allow_sql": {"id": "root"}}),
        {("execute-sql", "database"): {"root"}},
    ),
    Config(
        "allow-sql-database-beats-instance",
        md(root={"allow_sql": {"id": "root"}}, database={"allow_sql": {"id": "bob"}}),
        {("execute-sql", "database"): {"bob"}},
    ),
    Config(
        "permissions-instance",
        md(
            root={
                "permissions": {
                    "debug-menu": {"id": "alice"},
                    "insert-row": {"roles": ["staff"]},
                    "view-instance": {"id": "*"},
                }
            }
        ),
        {
            ("debug-menu", "instance"): ALICE,
            ("insert-row", "table"): {"bob"},
            ("insert-row", "query"): {"bob"},
            ("view-instance", "instance"): EVERYONE_WITH_ID,
        },
    ),
    Config(
        "permissions-database",
        md(
            database={
                "permissions": {
                    "create-table": {"id": "bob"},
                    "view-database-download": {"id": "alice"},
                    "view-database": {"id": "bob"},
                }
            }
        ),
        {
            ("create-table", "database"): {"bob"},
            ("view-database-download", "database"): ALICE,
            ("view-database", "database"): {"bob"},
        },
    ),
    Config(
        "permissions-table",
        md(books={"permissions": {"update-row": {"id": "alice"}, "view-table": {"id": "bob"}}}),
        {("update-row", "table"): ALICE, ("view-table", "table"): {"bob"}},
    ),
    Config(
        "permissions-query",
        md(
            recent={
                "permissions": {"view-query": {"roles": ["staff"]}, "delete-row": {"id": "alice"}}
            }
        ),
        {("view-query", "query"): {"bob"}, ("delete-row", "query"): ALICE},
    ),
    Config(
        # A root-level block beats narrower ones; an allow block beats a permissions block.
        "permissions-precedence",
        md(
            root={"permissions": {"drop-table": {"id": "bob"}}},
            books={
                "allow": {"id": "alice"},
                "permissions": {"drop-table": {"id": "alice"}, "view-table": {"id": "bob"}},
            },
        ),
        {
            ("drop-table", "table"): {"bob"},
            ("drop-table", "query"): {"bob"},
            ("view-table", "table"): ALICE,
        },
    ),
    Config(
        # `false` and `{}` blocks are skipped, so the next level decides (§9.10).
        "permissions-falsy-blocks-skipped",
        md(
            root={"permissions": {"delete-row": False, "execute-sql": {}}},
            database={"permissions": {"delete-row": {"id": "alice"}, "execute-sql": {"id": "bob"}}},
            books={"permissions": {"delete-row": {}}},
        ),
        {
            ("delete-row", "table"): ALICE,
            ("delete-row", "query"): ALICE,
            ("execute-sql", "database"): {"bob"},
        },
    ),
    Config(
        "default-allow-sql-off",
        md(),
        {("execute-sql", "database"): set()},
        settings={"default_allow_sql": False},
    ),
    Config(
        "default-allow-sql-off-but-allow-sql-block",
        md(database={"allow_sql": {"id": "alice"}}),
        {("execute-sql", "database"): ALICE},
        settings={"default_allow_sql": False},
    ),
]
CONFIG_IDS = [config.name for config in CONFIGS]


def opinion(config, actor_key, action, kind):
    """The explicit answer (True/False) all hooks together give, or None for no opinion."""
    if actor_key == "token" and (action, kind) not in TOKEN_ALLOWED:
        return False  # the token-restriction impl runs after core: its False wins
    if actor_key == "root" and action in ROOT_ACTIONS:
        return True
    allowed = config.opinions.get((action, kind))
    if allowed is None:
        return None
    return actor_key in allowed


def expected_allowed(config, actor_key, action, kind):
    answer = opinion(config, actor_key, action, kind)
    return DEFAULTS[action] if answer is None else answer


def first_denial(config, actor_key, checks):
    """The action whose explicit False stops a cascade, or None when it passes."""
    for action, kind in checks:
        answer = opinion(config, actor_key, action, kind)
        if answer is not None:
            return None if answer else action
    return None


DB_CHECKS = [("view-database", "database"), ("view-instance", "instance")]
TABLE_CHECKS = [("view-table", "table")] + DB_CHECKS
QUERY_CHECKS = [("view-query", "query")] + DB_CHECKS
DOWNLOAD_CHECKS = [("view-database-download", "database")] + DB_CHECKS

FORBID_DB = "You do not have permission to view this database"
FORBID_TABLE = "You do not have permission to view this table"
FORBID_QUERY = "You do not have permission to view this query"


def expected_http(config, actor_key):
    """`{path: (status, error message or None)}` predicted by the model (§4.5)."""
    deny = lambda checks: first_denial(config, actor_key, checks)  # noqa: E731
    out = {}
    denied = deny([("view-instance", "instance")])
    out["/.json"] = (403, denied) if denied else (200, None)
    out["/"] = out["/.json"]
    out["/sample.json"] = (403, FORBID_DB) if deny(DB_CHECKS) else (200, None)
    out["/sample"] = out["/sample.json"]
    out["/sample/books.json"] = (403, FORBID_TABLE) if deny(TABLE_CHECKS) else (200, None)
    out["/sample/books"] = out["/sample/books.json"]
    out["/sample/recent.json"] = (403, FORBID_QUERY) if deny(QUERY_CHECKS) else (200, None)
    if deny(DB_CHECKS):
        out["/sample.json?sql=select+1"] = (403, FORBID_DB)
    elif deny([("execute-sql", "database")]):
        out["/sample.json?sql=select+1"] = (403, "execute-sql")
    else:
        out["/sample.json?sql=select+1"] = (200, None)
    # _where= uses permission_allowed(execute-sql, default=True), after the table check.
    if deny(TABLE_CHECKS):
        out["/sample/books.json?_where=id>0"] = (403, FORBID_TABLE)
    elif opinion(config, actor_key, "execute-sql", "database") is False:
        out["/sample/books.json?_where=id>0"] = (403, "_where= is not allowed")
    else:
        out["/sample/books.json?_where=id>0"] = (200, None)
    denied = deny(DOWNLOAD_CHECKS)
    out["/sample.db"] = (403, denied) if denied else (200, None)
    return out


def html_lines(text):
    """The visible text of an HTML page, one stripped line per entry."""
    text = re.sub(r"(?s)<(script|style)\b.*?</\1>", "", text)
    text = re.sub(r"<[^>]+>", "\n", text)
    return [html.unescape(line).strip() for line in text.splitlines() if line.strip()]


def error_message(response):
    """The JSON `error` of an error response, or the HTML page itself."""
    if response.headers["content-type"].startswith("application/json"):
        return response.json()["error"]
    return response.text


def cookie_for(ds, actor):
    return {"Cookie": "ds_actor=" + ds.client.actor_cookie(actor)}


def auth_headers(ds, actor_key):
    """Headers that make a request act as `ACTORS[actor_key]` (the token via Bearer)."""
    if actor_key == "anon":
        return {}
    if actor_key == "token":
        token = ds.create_token(
            "alice",
            restrict_all=["execute-sql"],
            restrict_resource={DB: {"books": ["view-table", "insert-row"]}},
        )
        return {"Authorization": f"Bearer {token}"}
    return cookie_for(ds, ACTORS[actor_key])


def get(server, path, **kwargs):
    return httpx.get(server.url + path, timeout=60, **kwargs)


@contextmanager
def temporary_plugin(plugin, name):
    pm.register(plugin, name=name)
    try:
        yield plugin
    finally:
        pm.unregister(name=name)


class Answers:
    """A plugin answering `permission_allowed` from a dict `{(action, resource): answer}`."""

    __name__ = "answers"

    def __init__(self, answers):
        self.answers = answers

    @hookimpl
    def permission_allowed(self, action, resource):
        return self.answers.get((action, resource))


async def started(make_ds, *args, **kwargs):
    ds = make_ds(*args, **kwargs)
    await ds.invoke_startup()
    return ds


@pytest.fixture
def sample_path(tmp_path):
    return str(make_sample_db(tmp_path / "sample.db"))


# -- the built-in permissions (§4.2) ------------------------------------------------------


@pytest.mark.asyncio
async def test_core_permissions_registered(make_ds):
    ds = await started(make_ds)
    got = [
        (p.name, p.abbr, p.takes_database, p.takes_resource, p.default, p.implies_can_view)
        for p in ds.permissions.values()
        if p.name in DEFAULTS
    ]
    assert sorted(got) == sorted(CORE_PERMISSIONS)
    assert set(ds.permissions) == set(DEFAULTS)
    assert all(isinstance(p, Permission) for p in ds.permissions.values())


def test_permission_dataclass_fields():
    fields = [f.name for f in dataclasses.fields(Permission)]
    assert fields == [
        "name",
        "abbr",
        "description",
        "takes_database",
        "takes_resource",
        "default",
        "implies_can_view",
    ]
    p = Permission("x", None, None, False, False, True)
    assert p.implies_can_view is False


@pytest.mark.asyncio
async def test_permissions_empty_before_startup(make_ds):
    ds = make_ds()
    assert ds.permissions == {}
    await ds.invoke_startup()
    assert len(ds.permissions) == 13


@pytest.mark.asyncio
async def test_get_permission(make_ds):
    ds = await started(make_ds)
    assert ds.get_permission("view-query").name == "view-query"
    assert ds.get_permission("vq") is ds.get_permission("view-query")
    assert ds.get_permission("vdd").name == "view-database-download"
    with pytest.raises(KeyError):
        ds.get_permission("no-such-permission")
    with pytest.raises(KeyError):
        ds.get_permission("VQ")


# -- the matrix: permission_allowed -------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("actor_key", list(ACTORS))
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
async def test_permission_matrix(make_ds, sample_path, config, actor_key):
    ds = await started(
        make_ds, [sample_path], metadata=copy.deepcopy(config.metadata), settings=config.settings
    )
    actor = copy.deepcopy(ACTORS[actor_key])
    got = {}
    explicit = {}
    for action, kind in PAIRS:
        got[(action, kind)] = await ds.permission_allowed(actor, action, RESOURCES[kind])
        explicit[(action, kind)] = await ds.permission_allowed(
            actor, action, RESOURCES[kind], default=None
        )
    assert got == {pair: expected_allowed(config, actor_key, *pair) for pair in PAIRS}
    assert explicit == {pair: opinion(config, actor_key, *pair) for pair in PAIRS}


# -- the matrix: the same configurations over HTTP ---------------------------------------


@pytest.fixture(scope="module", params=CONFIGS, ids=CONFIG_IDS)
def config_server(request, tmp_path_factory):
    """A real server per configuration; the database is immutable so `/sample.db` serves."""
    config = request.param
    path = make_sample_db(tmp_path_factory.mktemp("perm") / "sample.db")
    ds = Datasette(
        immutables=[str(path)],
        metadata=copy.deepcopy(config.metadata),
        settings=config.settings,
    )
    try:
        with ServerThread(ds) as server:
            yield config, server
    finally:
        ds.close()


@pytest.mark.parametrize("actor_key", list(ACTORS))
def test_http_matrix(config_server, actor_key):
    config, server = config_server
    ds = server.ds
    headers = auth_headers(ds, actor_key)
    actor = get(server, "/-/actor.json", headers=headers).json()["actor"]
    assert actor == ACTORS[actor_key]
    got = {}
    expected = expected_http(config, actor_key)
    for path in expected:
        response = get(server, path, headers=headers)
        if response.status_code == 200:
            got[path] = (200, None)
            continue
        message = error_message(response)
        if path.endswith(".json") or ".json?" in path:
            got[path] = (response.status_code, message)
        else:
            # HTML error page: the expected message must be a whole line of its text.
            lines = html_lines(message)
            want = expected[path][1]
            got[path] = (response.status_code, want if want in lines else lines)
    assert got == expected


def test_http_forbidden_page_is_html_titled_forbidden(make_ds, serve_ds, sample_path):
    ds = make_ds([sample_path], metadata=md(books={"allow": {"id": "alice"}}))
    with serve_ds(ds) as server:
        response = get(server, "/sample/books")
    assert response.status_code == 403
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Forbidden</title>" in response.text
    assert FORBID_TABLE in html_lines(response.text)


# -- allow blocks (§4.4) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "actor,allow,expected",
    [
        (None, True, True),
        ({"id": "a"}, False, False),
        ({"id": "a"}, None, True),
        (None, None, True),
        ({"id": "a"}, {}, False),
        (None, {}, False),
        ({"id": "root"}, {"id": "*"}, True),
        ({"id": None}, {"id": "*"}, True),  # "*" only needs the key
        ({"name": "x"}, {"id": "*"}, False),
        (None, {"id": "*"}, False),
        (None, {"unauthenticated": True}, True),
        ({"id": "a"}, {"unauthenticated": True}, False),
        (None, {"unauthenticated": "yes"}, False),
        ({"id": "a"}, {"id": "a"}, True),
        ({"id": "a"}, {"id": ["b", "a"]}, True),
        ({"id": "c"}, {"id": ["a", "b"]}, False),
        ({"id": ["x", "a"]}, {"id": "a"}, True),
        ({"roles": ["staff", "dev"]}, {"roles": "staff"}, True),
        ({"roles": ["dev"]}, {"roles": ["staff"]}, False),
        ({"id": 1}, {"id": "1"}, False),  # type-sensitive
        ({"id": 1}, {"id": [1]}, True),
        ({"id": "a"}, {"id": ["*"]}, False),  # "*" in a list is literal
        ({"id": "*"}, {"id": ["*"]}, True),
        ({"id": None}, {"id": [None]}, False),  # a None actor value is skipped
        ({"id": "b", "roles": ["staff"]}, {"id": "a", "roles": ["staff"]}, True),  # OR-ed
        ({"a": {"b": 1}}, {"a.b": 1}, False),  # top-level keys only
    ],
)
def test_actor_matches_allow(actor, allow, expected):
    assert actor_matches_allow(actor, allow) is expected


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "allow,answers",
    [
        (True, [True, True, True]),
        (False, [False, False, False]),
        ({}, [False, False, False]),
        (None, [None, None, None]),
        ({"id": "*"}, [False, True, True]),
    ],
    ids=["true", "false", "empty", "null", "star"],
)
async def test_root_allow_literal_values(make_ds, allow, answers):
    """Unlike `permissions` blocks, a `false` or `{}` allow block is consulted (and denies)."""
    ds = await started(make_ds, metadata={"allow": allow})
    got = [
        await ds.permission_allowed(actor, "view-instance", default=None)
        for actor in (None, {"id": "root"}, {"id": "x"})
    ]
    assert got == answers


def test_allow_debug_page(make_ds, serve_ds):
    ds = make_ds(metadata={"allow": {"id": "nobody"}})
    with serve_ds(ds) as server:

        def lines(**params):
            response = httpx.get(server.url + "/-/allow-debug", params=params, timeout=60)
            assert response.status_code == 200  # no permission check
            return html_lines(response.text)

        assert "True" in lines(actor='{"id": "x"}', allow='{"id": ["x", "y"]}')
        assert "False" in lines(actor='{"id": "z"}', allow='{"id": ["x", "y"]}')
        assert "True" in lines()  # defaults: root actor, {"id": "*"}
        assert any(line.startswith("Actor JSON error:") for line in lines(actor="{nope"))
        assert any(line.startswith("Allow JSON error:") for line in lines(allow="{nope"))


def test_table_allow_applies_to_sql_views(make_ds, serve_ds, sample_path):
    ds = make_ds([sample_path], metadata=md(books={"allow": {"id": "alice"}}))
    ds._metadata_local["databases"][DB]["tables"]["recent_books"] = {"allow": {"id": "alice"}}
    with serve_ds(ds) as server:
        denied = get(server, "/sample/recent_books.json")
        assert denied.status_code == 403
        assert denied.json()["error"] == FORBID_TABLE
        alice = cookie_for(ds, {"id": "alice"})
        assert get(server, "/sample/recent_books.json", headers=alice).status_code == 200
        assert get(server, "/sample.json").json()["views"] == []


@pytest.mark.parametrize("allowed", [True, False])
def test_execute_sql_sets_allow_execute_sql_and_table_columns(
    make_ds, serve_ds, sample_path, allowed
):
    ds = make_ds([sample_path], settings={"default_allow_sql": allowed})
    with serve_ds(ds) as server:
        data = get(server, "/sample.json").json()
    assert data["allow_execute_sql"] is allowed
    if allowed:
        assert data["table_columns"]["books"] == ["id", "title", "author_id", "year"]
        assert data["table_columns"]["recent_books"] == []
    else:
        assert data["table_columns"] == {}


# -- ensure_permissions --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ensure_permissions_first_explicit_opinion_decides(make_ds):
    ds = await started(make_ds)
    answers = {
        ("view-table", (DB, "books")): True,
        ("view-database", DB): False,
        ("view-instance", None): None,
    }
    with temporary_plugin(Answers(answers), "answers"):
        alice = {"id": "alice"}
        # True first: allowed even though the database says no.
        assert (
            await ds.ensure_permissions(
                alice, [("view-table", (DB, "books")), ("view-database", DB), "view-instance"]
            )
            is None
        )
        # The database first: its False raises Forbidden(action).
        with pytest.raises(Forbidden) as excinfo:
            await ds.ensure_permissions(
                alice, ["view-instance", ("view-database", DB), ("view-table", (DB, "books"))]
            )
        assert excinfo.value.args[0] == "view-database"
        # Lists work like tuples.
        with pytest.raises(Forbidden):
            await ds.ensure_permissions(alice, [["view-database", DB]])
        # Nobody has an opinion: allowed, even for actions whose registered default is deny.
        assert await ds.ensure_permissions(alice, [("insert-row", (DB, "authors"))]) is None
        assert await ds.ensure_permissions(None, ["permissions-debug", "debug-menu"]) is None
        assert await ds.ensure_permissions(alice, []) is None


@pytest.mark.asyncio
async def test_ensure_permissions_uses_core_rules(make_ds, sample_path):
    ds = await started(make_ds, [sample_path], metadata=md(database={"allow": {"id": "alice"}}))
    await ds.ensure_permissions({"id": "alice"}, [("view-database", DB), "view-instance"])
    with pytest.raises(Forbidden) as excinfo:
        await ds.ensure_permissions({"id": "bob"}, [("view-database", DB), "view-instance"])
    assert excinfo.value.args[0] == "view-database"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "actor,permissions",
    [
        ("alice", ["view-instance"]),
        (["alice"], ["view-instance"]),
        ({"id": "alice"}, [("view-table", DB, "books")]),
        ({"id": "alice"}, [("view-instance",)]),
        ({"id": "alice"}, [5]),
    ],
    ids=["actor-string", "actor-list", "three-item-tuple", "one-item-tuple", "integer"],
)
async def test_ensure_permissions_assertion_errors(make_ds, actor, permissions):
    ds = await started(make_ds)
    with pytest.raises(AssertionError):
        await ds.ensure_permissions(actor, permissions)


# -- check_visibility ----------------------------------------------------------------------


VIS_TABLE = [("view-table", (DB, "books")), ("view-database", DB), "view-instance"]
VIS_DB = [("view-database", DB), "view-instance"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "metadata,actor,kwargs,expected",
    [
        (md(), {"id": "alice"}, {"action": "view-instance"}, (True, False)),
        (md(), None, {"permissions": VIS_TABLE}, (True, False)),
        (
            md(root={"allow": {"id": "alice"}}),
            {"id": "alice"},
            {"action": "view-instance"},
            (True, True),
        ),
        (
            md(root={"allow": {"id": "alice"}}),
            {"id": "bob"},
            {"action": "view-instance"},
            (False, False),
        ),
        (md(root={"allow": {"id": "alice"}}), None, {"action": "view-instance"}, (False, False)),
        # Privacy inherited from the instance and from the database.
        (
            md(root={"allow": {"id": "alice"}}),
            {"id": "alice"},
            {"permissions": VIS_TABLE},
            (True, True),
        ),
        (
            md(database={"allow": {"id": "alice"}}),
            {"id": "alice"},
            {"permissions": VIS_TABLE},
            (True, True),
        ),
        (
            md(database={"allow": {"id": "alice"}}),
            {"id": "alice"},
            {"permissions": VIS_DB},
            (True, True),
        ),
        (
            md(database={"allow": {"id": "alice"}}),
            {"id": "bob"},
            {"permissions": VIS_TABLE},
            (False, False),
        ),
        (
            md(database={"allow": {"id": "alice"}}),
            {"id": "alice"},
            {"action": "view-instance"},
            (True, False),
        ),
        # A table allow block decides before its database's.
        (
            md(database={"allow": {"id": "alice"}}, books={"allow": {"id": "bob"}}),
            {"id": "bob"},
            {"permissions": VIS_TABLE},
            (True, True),
        ),
        (
            md(database={"allow": {"id": "alice"}}, books={"allow": {"id": "bob"}}),
            {"id": "alice"},
            {"permissions": VIS_TABLE},
            (False, False),
        ),
        (
            md(books={"allow": {"id": "alice", "unauthenticated": True}}),
            {"id": "alice"},
            {"action": "view-table", "resource": (DB, "books")},
            (True, False),
        ),
        (
            md(books={"allow": {"id": "alice"}}),
            {"id": "alice"},
            {"action": "view-table", "resource": (DB, "books")},
            (True, True),
        ),
        (
            md(recent={"allow": {"id": "alice"}}),
            {"id": "alice"},
            {
                "permissions": [
                    ("view-query", (DB, "recent")),
                    ("view-database", DB),
                    "view-instance",
                ]
            },
            (True, True),
        ),
    ],
)
async def test_check_visibility(make_ds, sample_path, metadata, actor, kwargs, expected):
    ds = await started(make_ds, [sample_path], metadata=copy.deepcopy(metadata))
    assert await ds.check_visibility(actor, **kwargs) == expected


@pytest.mark.asyncio
async def test_check_visibility_rejects_action_with_permissions(make_ds):
    ds = await started(make_ds)
    with pytest.raises(AssertionError):
        await ds.check_visibility(
            {"id": "a"}, action="view-instance", permissions=["view-instance"]
        )
    with pytest.raises(AssertionError):
        await ds.check_visibility({"id": "a"}, resource=DB, permissions=[("view-database", DB)])


def _listed_privacy(server, headers):
    index = get(server, "/.json", headers=headers).json()
    database = get(server, "/sample.json", headers=headers).json()
    return {
        "index-db": index[DB]["private"],
        "index-tables": {t["name"]: t["private"] for t in index[DB]["tables_and_views_truncated"]},
        "db": database["private"],
        "db-tables": {t["name"]: t["private"] for t in database["tables"]},
        "db-views": {v["name"]: v["private"] for v in database["views"]},
        "db-queries": {q["name"]: q["private"] for q in database["queries"]},
    }


@pytest.mark.parametrize(
    "metadata",
    [md(root={"allow": {"id": "alice"}}), md(database={"allow": {"id": "alice"}})],
    ids=["instance-private", "database-private"],
)
def test_privacy_inherited_in_listings(make_ds, serve_ds, sample_path, metadata):
    ds = make_ds([sample_path], metadata=copy.deepcopy(metadata))
    with serve_ds(ds) as server:
        assert _listed_privacy(server, cookie_for(ds, {"id": "alice"})) == {
            "index-db": True,
            "index-tables": {"authors": True, "books": True, "tags": True, "recent_books": True},
            "db": True,
            "db-tables": {"authors": True, "books": True, "tags": True},
            "db-views": {"recent_books": True},
            "db-queries": {"recent": True},
        }
        assert get(server, "/sample.json").status_code == 403


def test_privacy_of_single_table_and_query_in_listings(make_ds, serve_ds, sample_path):
    metadata = md(books={"allow": {"id": "alice"}}, recent={"allow": {"id": "alice"}})
    ds = make_ds([sample_path], metadata=metadata)
    with serve_ds(ds) as server:
        assert _listed_privacy(server, cookie_for(ds, {"id": "alice"})) == {
            "index-db": False,
            "index-tables": {"authors": False, "books": True, "tags": False, "recent_books": False},
            "db": False,
            "db-tables": {"authors": False, "books": True, "tags": False},
            "db-views": {"recent_books": False},
            "db-queries": {"recent": True},
        }
        # Anonymous users do not see the private items at all.
        assert _listed_privacy(server, {}) == {
            "index-db": False,
            "index-tables": {"authors": False, "tags": False, "recent_books": False},
            "db": False,
            "db-tables": {"authors": False, "tags": False},
            "db-views": {"recent_books": False},
            "db-queries": {},
        }


# -- permission_allowed: defaults, logging, hooks -----------------------------------------


@pytest.mark.asyncio
async def test_unregistered_action_without_default_is_none(make_ds):
    """§9.4: 1.0a7 returned a truthy sentinel here."""
    ds = await started(make_ds)
    assert await ds.permission_allowed({"id": "alice"}, "no-such-action") is None
    assert ds._permission_checks[-1]["result"] is None
    assert ds._permission_checks[-1]["used_default"] is True
    assert await ds.permission_allowed({"id": "alice"}, "no-such-action", default=False) is False
    assert await ds.permission_allowed({"id": "alice"}, "no-such-action", default="X") == "X"
    with temporary_plugin(Answers({("no-such-action", None): True}), "answers"):
        assert await ds.permission_allowed({"id": "alice"}, "no-such-action") is True


@pytest.mark.asyncio
async def test_explicit_default_replaces_registered_default(make_ds):
    ds = await started(make_ds)
    assert await ds.permission_allowed({"id": "alice"}, "view-instance", default=False) is False
    assert (
        await ds.permission_allowed({"id": "alice"}, "insert-row", (DB, "t"), default=True) is True
    )
    assert await ds.permission_allowed({"id": "alice"}, "insert-row", (DB, "t")) is False
    # The root rule is an opinion, so a default does not matter there.
    assert (
        await ds.permission_allowed({"id": "root"}, "insert-row", (DB, "t"), default=False) is True
    )


@pytest.mark.asyncio
async def test_permission_checks_are_logged(make_ds):
    ds = await started(make_ds)
    before = datetime.datetime.now(datetime.timezone.utc)
    await ds.permission_allowed({"id": "alice"}, "view-table", (DB, "books"))
    await ds.permission_allowed({"id": "root"}, "insert-row", (DB, "books"))
    after = datetime.datetime.now(datetime.timezone.utc)
    used_default, explicit = list(ds._permission_checks)[-2:]
    assert set(used_default) == {"when", "actor", "action", "resource", "used_default", "result"}
    assert used_default["actor"] == {"id": "alice"}
    assert used_default["action"] == "view-table"
    assert tuple(used_default["resource"]) == (DB, "books")
    assert used_default["used_default"] is True
    assert used_default["result"] is True
    assert explicit["used_default"] is False
    assert explicit["result"] is True
    when = datetime.datetime.fromisoformat(used_default["when"])
    assert when.utcoffset() == datetime.timedelta(0)
    assert before <= when <= after


@pytest.mark.asyncio
async def test_permission_log_keeps_last_200(make_ds):
    ds = await started(make_ds)
    for i in range(250):
        await ds.permission_allowed(None, "view-database", f"db{i}")
    checks = list(ds._permission_checks)
    assert len(checks) == 200
    assert checks[0]["resource"] == "db50"
    assert checks[-1]["resource"] == "db249"


class Voice:
    """A plugin that records being called and answers `answer` (maybe via a coroutine)."""

    def __init__(self, name, answer, calls, asynchronous=False):
        self.__name__ = name
        self.answer = answer
        self.calls = calls
        self.asynchronous = asynchronous

    def _answer(self, action):
        if action != "view-instance":
            return None
        self.calls.append(self.__name__)
        if self.asynchronous:

            async def inner():
                return self.answer

            return inner
        return self.answer


class PlainVoice(Voice):
    @hookimpl
    def permission_allowed(self, action):
        return self._answer(action)


class LastVoice(Voice):
    @hookimpl(trylast=True)
    def permission_allowed(self, action):
        return self._answer(action)


@pytest.mark.asyncio
async def test_last_non_none_hook_answer_wins(make_ds):
    ds = await started(make_ds)
    calls = []
    plugins = {
        "last-voice": LastVoice("last-voice", False, calls),
        "plain-voice": PlainVoice("plain-voice", True, calls, asynchronous=True),
        "silent-voice": LastVoice("silent-voice", None, calls, asynchronous=True),
    }
    for name, plugin in plugins.items():
        pm.register(plugin, name=name)
    try:
        result = await ds.permission_allowed({"id": "alice"}, "view-instance")
    finally:
        for name in plugins:
            pm.unregister(name=name)
    assert sorted(calls) == sorted(plugins)
    # trylast implementations run after plain ones; the last non-None answer decides.
    answers = [plugins[name].answer for name in calls if plugins[name].answer is not None]
    assert calls.index("plain-voice") < calls.index("last-voice")
    assert result is answers[-1] is False


@pytest.mark.asyncio
async def test_plugin_answer_overrides_core(make_ds, sample_path):
    ds = await started(make_ds, [sample_path], metadata=md(root={"allow": {"id": "bob"}}))
    answers = {
        ("permissions-debug", None): True,
        ("insert-row", (DB, "books")): False,
        ("view-instance", None): True,
    }
    with temporary_plugin(Answers(answers), "answers"):
        assert await ds.permission_allowed({"id": "alice"}, "permissions-debug") is True
        assert await ds.permission_allowed({"id": "root"}, "insert-row", (DB, "books")) is False
        assert await ds.permission_allowed({"id": "alice"}, "view-instance") is True
    assert await ds.permission_allowed({"id": "alice"}, "view-instance") is False


@pytest.mark.asyncio
async def test_view_query_on_nonexistent_query_has_no_opinion(make_ds, sample_path):
    """§9.11: 1.0a7 tripped an assertion here."""
    ds = await started(make_ds, [sample_path], metadata=md(recent={"allow": {"id": "bob"}}))
    alice = {"id": "alice"}
    assert await ds.permission_allowed(alice, "view-query", (DB, "nope"), default=None) is None
    assert await ds.permission_allowed(alice, "view-query", (DB, "nope")) is True
    assert await ds.permission_allowed(alice, "view-query", ("nodb", "nope"), default=None) is None
    assert await ds.permission_allowed(alice, "view-query", (DB, "recent")) is False


@pytest.mark.asyncio
async def test_view_query_allow_from_canned_queries_hook(make_ds, sample_path):
    class Queries:
        __name__ = "queries"

        @hookimpl
        def canned_queries(self, database):
            if database == DB:
                return {"secret": {"sql": "select 1", "allow": {"id": "alice"}}}

    ds = await started(make_ds, [sample_path])
    with temporary_plugin(Queries(), "queries"):
        assert await ds.permission_allowed({"id": "alice"}, "view-query", (DB, "secret")) is True
        assert await ds.permission_allowed({"id": "bob"}, "view-query", (DB, "secret")) is False
        assert await ds.permission_allowed(None, "view-query", (DB, "secret")) is False


@pytest.mark.asyncio
async def test_actors_from_ids_default(make_ds):
    ds = await started(make_ds)
    assert await ds.actors_from_ids(["alice", 7]) == {"alice": {"id": "alice"}, 7: {"id": 7}}
    assert await ds.actors_from_ids([]) == {}


@pytest.mark.asyncio
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_actors_from_ids_plugin(make_ds, asynchronous):
    class Directory:
        __name__ = "directory"

        @hookimpl
        def actors_from_ids(self, actor_ids):
            result = {i: {"id": i, "name": str(i).upper()} for i in actor_ids}
            if not asynchronous:
                return result

            async def inner():
                return result

            return inner

    ds = await started(make_ds)
    with temporary_plugin(Directory(), "directory"):
        assert await ds.actors_from_ids(["ann", "ben"]) == {
            "ann": {"id": "ann", "name": "ANN"},
            "ben": {"id": "ben", "name": "BEN"},
        }


# -- register_permissions ------------------------------------------------------------------


class Registers:
    """A plugin registering the given `Permission` objects."""

    def __init__(self, name, permissions):
        self.__name__ = name
        self.permissions = permissions

    @hookimpl
    def register_permissions(self):
        return self.permissions


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "permission,message",
    [
        (
            Permission("view-instance", "vi", "Something else", False, False, False),
            "Duplicate permission name: view-instance",
        ),
        (
            Permission("view-instance", "vix", "View Datasette instance", False, False, True),
            "Duplicate permission name: view-instance",
        ),
        (
            Permission("my-own-thing", "vi", "Clashes with view-instance", False, False, True),
            "Duplicate permission abbr: vi",
        ),
    ],
    ids=["name-different-fields", "name-different-abbr", "abbr"],
)
async def test_register_permissions_conflict_fails_startup(make_ds, permission, message):
    ds = make_ds()
    with temporary_plugin(Registers("clash", [permission]), "clash"):
        with pytest.raises(StartupError) as excinfo:
            await ds.invoke_startup()
    assert str(excinfo.value) == message


@pytest.mark.asyncio
async def test_register_permissions_conflict_between_plugins(make_ds):
    ds = make_ds()
    one = Registers("one", [Permission("shared-thing", "st", "A", True, False, False)])
    two = Registers("two", [Permission("shared-thing", "st2", "A", True, False, False)])
    with temporary_plugin(one, "one"), temporary_plugin(two, "two"):
        with pytest.raises(StartupError) as excinfo:
            await ds.invoke_startup()
    assert str(excinfo.value) == "Duplicate permission name: shared-thing"


@pytest.mark.asyncio
async def test_register_permissions_identical_duplicates_and_new_ones(make_ds):
    core_copy = dataclasses.replace((await started(make_ds)).permissions["view-instance"])
    new = Permission("my-thing", "mt", "My thing", True, True, False)
    no_abbr_1 = Permission("no-abbr-1", None, None, False, False, True)
    no_abbr_2 = Permission("no-abbr-2", None, None, False, False, False)
    ds = make_ds()
    plugin = Registers("extra", [core_copy, new, new, no_abbr_1, no_abbr_2])
    with temporary_plugin(plugin, "extra"):
        await ds.invoke_startup()
    assert ds.get_permission("mt") == new
    assert ds.permissions["no-abbr-1"] == no_abbr_1
    assert len(ds.permissions) == 16
    # The plugin's default applies to its own action.
    assert await ds.permission_allowed({"id": "x"}, "no-abbr-1") is True
    assert await ds.permission_allowed({"id": "x"}, "my-thing", (DB, "t")) is False


# -- token restrictions (§4.6) ------------------------------------------------------------


RESTRICTION_CASES = [
    # view-instance: anything implying view, anywhere
    ({"a": ["vt"]}, "view-instance", None, True),
    ({"a": ["view-table"]}, "view-instance", None, True),
    ({"d": {"other": ["es"]}}, "view-instance", None, True),
    ({"r": {"other": {"t": ["vq"]}}}, "view-instance", None, True),
    ({"a": ["ir", "dr", "ct", "pd"]}, "view-instance", None, False),
    ({"r": {DB: {"books": ["ir"]}}}, "view-instance", None, False),
    ({"a": ["vi"]}, "view-instance", None, True),
    ({"a": ["view-instance"]}, "view-instance", None, True),
    # view-database: implies view and takes a database, in a / d[db] / this db's resources
    ({"a": ["es"]}, "view-database", DB, True),
    ({"d": {DB: ["vt"]}}, "view-database", DB, True),
    ({"d": {"other": ["vt"]}}, "view-database", DB, False),
    ({"r": {DB: {"books": ["vt"]}}}, "view-database", DB, True),
    ({"a": ["vi"]}, "view-database", DB, False),
    ({"d": {DB: ["vd"]}}, "view-database", DB, True),
    ({"d": {DB: ["ir"]}}, "view-database", DB, False),
    ({"d": {DB: ["vdd"]}}, "view-database", DB, False),  # vdd does not imply viewing
    ({"d": {DB: ["vdd"]}}, "view-database-download", DB, True),
    # §9.8: resource rules of another database do not open this one
    ({"r": {"other": {"books": ["vt"]}}}, "view-database", DB, False),
    ({"r": {"other": {"books": ["vt"]}}}, "view-database", "other", True),
    # everything else: name or abbreviation in a, d[db] or r[db][res]
    ({"a": ["ir"]}, "insert-row", (DB, "books"), True),
    ({"a": ["insert-row"]}, "insert-row", (DB, "books"), True),
    ({"d": {DB: ["ir"]}}, "insert-row", (DB, "books"), True),
    ({"d": {"other": ["ir"]}}, "insert-row", (DB, "books"), False),
    ({"r": {DB: {"books": ["ir"]}}}, "insert-row", (DB, "books"), True),
    ({"r": {DB: {"books": ["ir"]}}}, "insert-row", (DB, "authors"), False),
    ({"r": {DB: {"books": ["ur"]}}}, "insert-row", (DB, "books"), False),
    ({"d": {DB: ["es"]}}, "execute-sql", DB, True),
    ({"d": {DB: ["es"]}}, "execute-sql", "other", False),
    ({"r": {DB: {"books": ["vt"]}}}, "view-table", (DB, "books"), True),
    ({"r": {DB: {"books": ["vt"]}}}, "view-table", (DB, "authors"), False),
    ({"r": {DB: {"books": ["vt"]}}}, "view-query", (DB, "books"), False),
    ({"a": ["vt"]}, "permissions-debug", None, False),
    ({"a": ["pd"]}, "permissions-debug", None, True),
    ({}, "view-table", (DB, "books"), False),
    # unknown action names stored verbatim match themselves and are otherwise ignored (§9.9)
    ({"a": ["bogus"]}, "view-instance", None, False),
    ({"a": ["bogus"]}, "view-database", DB, False),
    ({"d": {DB: ["bogus", "vt"]}}, "view-database", DB, True),
    ({"r": {DB: {"books": ["bogus"]}}}, "view-instance", None, False),
    ({"a": ["my-plugin-action"]}, "my-plugin-action", None, True),
    ({"a": ["my-plugin-action"]}, "other-plugin-action", DB, False),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("restrictions,action,resource,expected", RESTRICTION_CASES)
async def test_restrictions_allow_action(make_ds, restrictions, action, resource, expected):
    ds = await started(make_ds)
    assert restrictions_allow_action(ds, restrictions, action, resource) is expected


@pytest.mark.asyncio
async def test_restrictions_only_subtract(make_ds, sample_path):
    ds = await started(make_ds, [sample_path])
    root_token = {"id": "root", "token": "dstok", "_r": {"r": {DB: {"books": ["vt"]}}}}
    assert await ds.permission_allowed(root_token, "view-table", (DB, "books")) is True
    assert await ds.permission_allowed(root_token, "view-table", (DB, "authors")) is False
    # root may insert; its restricted token may not.
    assert await ds.permission_allowed({"id": "root"}, "insert-row", (DB, "books")) is True
    assert await ds.permission_allowed(root_token, "insert-row", (DB, "books")) is False
    # Allowed by the restrictions is not granted: insert-row still defaults to deny.
    alice_token = {"id": "alice", "token": "dstok", "_r": {"a": ["ir"]}}
    assert await ds.permission_allowed(alice_token, "insert-row", (DB, "books")) is False
    # No _r key at all: no restriction.
    assert (
        await ds.permission_allowed({"id": "alice", "token": "dstok"}, "view-table", (DB, "x"))
        is True
    )


@pytest.mark.asyncio
async def test_unknown_action_in_restrictions_is_not_an_error_over_http(
    make_ds, serve_ds, sample_path
):
    """§9.9: 1.0a7 raised while checking view-instance/view-database for such a token."""
    ds = make_ds([sample_path])
    with serve_ds(ds) as server:
        token = ds.create_token(
            "alice", restrict_all=["bogus"], restrict_database={DB: ["also-bogus", "vt"]}
        )
        headers = {"Authorization": f"Bearer {token}"}
        assert get(server, "/.json", headers=headers).status_code == 200
        assert get(server, "/sample.json", headers=headers).status_code == 200
        assert get(server, "/sample/books.json", headers=headers).status_code == 200
        assert get(server, "/sample.json?sql=select+1", headers=headers).status_code == 403
        only_bogus = ds.create_token("alice", restrict_all=["bogus"])
        response = get(server, "/.json", headers={"Authorization": f"Bearer {only_bogus}"})
        assert response.status_code == 403
        assert response.json()["error"] == "view-instance"


def test_view_database_restriction_scans_only_that_database_over_http(make_ds, serve_ds, tmp_path):
    """§9.8: a token for a table in `other` cannot open database `sample`."""
    sample = make_sample_db(tmp_path / "sample.db")
    other = make_sample_db(tmp_path / "other.db")
    ds = make_ds([str(sample), str(other)])
    with serve_ds(ds) as server:
        token = ds.create_token("alice", restrict_resource={"other": {"books": ["view-table"]}})
        assert ds.unsign(token[len("dstok_") :], "token")["_r"] == {
            "r": {"other": {"books": ["vt"]}}
        }
        headers = {"Authorization": f"Bearer {token}"}
        assert get(server, "/other.json", headers=headers).status_code == 200
        assert get(server, "/other/books.json", headers=headers).status_code == 200
        assert get(server, "/sample.json", headers=headers).status_code == 403
        assert list(get(server, "/.json", headers=headers).json()) == ["other"]


# -- checks made by core over HTTP (§4.5) -------------------------------------------------


VIEW_INSTANCE_PAGES = [
    "/-/metadata.json",
    "/-/versions.json",
    "/-/plugins.json",
    "/-/settings.json",
    "/-/threads.json",
    "/-/databases.json",
    "/-/messages",
    "/-/patterns",
    "/-/api",
]
UNCHECKED_PAGES = {"/-/actor.json": 200, "/-/allow-debug": 200, "/-/logout": 302}


def test_pages_needing_view_instance(make_ds, serve_ds, sample_path):
    ds = make_ds([sample_path], metadata=md(root={"allow": {"id": "alice"}}))
    with serve_ds(ds) as server:
        alice = cookie_for(ds, {"id": "alice"})
        for path in VIEW_INSTANCE_PAGES:
            denied = get(server, path)
            assert denied.status_code == 403, path
            assert "view-instance" in (
                denied.json()["error"] if path.endswith(".json") else html_lines(denied.text)
            ), path
            assert get(server, path, headers=alice).status_code == 200, path
        for path, status in UNCHECKED_PAGES.items():
            assert get(server, path, follow_redirects=False).status_code == status, path
        # /-/auth-token answers with its own message, not view-instance.
        response = get(server, "/-/auth-token?token=wrong")
        assert response.status_code == 403
        assert "Invalid token" in html_lines(response.text)


def _csrf_from(response):
    token = re.search(r'name="csrftoken" value="([^"]+)"', response.text).group(1)
    return token, response.cookies.get("ds_csrftoken") or token


def test_permissions_debug_page(make_ds, serve_ds, sample_path):
    ds = make_ds([sample_path])
    with serve_ds(ds) as server:
        # Allowed for root (permissions-debug), denied for alice and anonymous.
        root = cookie_for(ds, {"id": "root"})
        for headers in ({}, cookie_for(ds, {"id": "alice"})):
            response = get(server, "/-/permissions", headers=headers)
            assert response.status_code == 403
            assert "Permission denied" in html_lines(response.text)
        # Two checks made outside any request, oldest first; the page lists newest first.
        asyncio.run(ds.permission_allowed({"id": "zed"}, "first-special-action", default=False))
        asyncio.run(ds.permission_allowed({"id": "zed"}, "second-special-action"))
        page = get(server, "/-/permissions", headers=root)
        assert page.status_code == 200
        text = page.text
        assert text.index("second-special-action") < text.index("first-special-action")
        assert "(used default)" in html_lines(text)

        token, cookie = _csrf_from(page)
        headers = {"Cookie": root["Cookie"] + "; ds_csrftoken=" + cookie}

        def simulate(**fields):
            response = httpx.post(
                server.url + "/-/permissions",
                data={"csrftoken": token, **fields},
                headers=headers,
                timeout=60,
            )
            assert response.status_code == 200, response.text
            return response.json()

        assert simulate(
            actor='{"id": "alice"}', permission="view-query", resource_1=DB, resource_2="recent"
        ) == {
            "actor": {"id": "alice"},
            "permission": "view-query",
            "resource": [DB, "recent"],
            "result": "USE_DEFAULT",
        }
        assert simulate(actor='{"id": "root"}', permission="create-table", resource_1=DB) == {
            "actor": {"id": "root"},
            "permission": "create-table",
            "resource": DB,
            "result": True,
        }
        assert simulate(actor="null", permission="view-instance") == {
            "actor": None,
            "permission": "view-instance",
            "resource": [],
            "result": "USE_DEFAULT",
        }


def test_permissions_debug_needs_view_instance_first(make_ds, serve_ds, sample_path):
    ds = make_ds([sample_path], metadata=md(root={"allow": {"id": "alice"}}))
    with serve_ds(ds) as server:
        response = get(server, "/-/permissions", headers=cookie_for(ds, {"id": "root"}))
        assert response.status_code == 403
        assert "view-instance" in html_lines(response.text)


# -- writable canned queries check view-query on POST (§9.6) -------------------------------


def write_metadata(query_allow=None, database_allow=None, instance_allow=None):
    """A writable canned query `add_tag`, with the given allow blocks."""
    query = {"sql": "insert into tags (book_id, tag) values (:book_id, :tag)", "write": True}
    if query_allow is not None:
        query["allow"] = query_allow
    database = {"queries": {"add_tag": query}}
    if database_allow is not None:
        database["allow"] = database_allow
    metadata = {"databases": {DB: database}}
    if instance_allow is not None:
        metadata["allow"] = instance_allow
    return metadata


def _tags(path):
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("select book_id, tag from tags order by rowid").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "metadata,actor,allowed",
    [
        (write_metadata(query_allow={"id": "alice"}), None, False),
        (write_metadata(query_allow={"id": "alice"}), {"id": "bob"}, False),
        (write_metadata(query_allow={"id": "alice"}), {"id": "alice"}, True),
        # Without an allow block of its own, the database's or the instance's decides.
        (write_metadata(database_allow={"id": "bob"}), {"id": "alice"}, False),
        (write_metadata(database_allow={"id": "bob"}), {"id": "bob"}, True),
        (write_metadata(instance_allow={"id": "bob"}), {"id": "alice"}, False),
    ],
    ids=[
        "query-allow-anon",
        "query-allow-bob",
        "query-allow-alice",
        "database-allow-alice",
        "database-allow-bob",
        "instance-allow-alice",
    ],
)
def test_writable_canned_query_post_checks_view_query(
    make_ds, serve_ds, tmp_path, metadata, actor, allowed
):
    """§9.6: 1.0a7 ran writable canned queries on POST without the view-query check."""
    path = make_sample_db(tmp_path / "sample.db")
    ds = make_ds([str(path)], metadata=metadata)
    before = _tags(path)
    # A JSON body skips CSRF, so the signed-in actor needs no token.
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if actor:
        headers.update(cookie_for(ds, actor))
    with serve_ds(ds) as server:
        response = httpx.post(
            server.url + "/sample/add_tag",
            content='{"book_id": 1, "tag": "new"}',
            headers=headers,
            timeout=60,
        )
    if allowed:
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is True
        assert _tags(path) == before + [(1, "new")]
    else:
        assert response.status_code == 403
        if response.headers["content-type"].startswith("application/json"):
            assert response.json()["error"] == FORBID_QUERY
        else:
            assert FORBID_QUERY in html_lines(response.text)
        assert _tags(path) == before
