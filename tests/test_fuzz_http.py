"""Hostile input, generated: no request a client can make gets a 5xx, a traceback or a non-JSON
error where JSON was asked for (issue 9, item 7).

Hypothesis generates query parameters, path segments, JSON bodies, cookies and tokens for
every route family and sends them over real HTTP to one uvicorn server. The `ci` profile
below fixes the number of examples and derandomizes them, so a run is bounded and repeatable;
`HYPOTHESIS_PROFILE=deep` explores more.
"""

import copy
import json
import os
import shutil
import urllib.parse

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasette.app import Datasette

from .conftest import ServerThread
from .fixtures import READ_API_METADATA

settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TABLES = [
    "simple_primary_key",
    "compound_primary_key",
    "no_primary_key",
    "places",
    "cities",
    "searchable",
    "sortable",
    "big",
    "binary_data",
    "table/with/slashes.csv",
    "select",
    "unicode ✓ table",
]
COLUMNS = ["id", "content", "pk", "name", "state", "text1", "sortable", "value", "score", "tags"]
OPERATIONS = [
    "exact", "not", "contains", "endswith", "startswith", "gt", "gte", "lt", "lte", "like",
    "notlike", "glob", "in", "notin", "arraycontains", "arraynotcontains", "date", "isnull",
    "notnull", "isblank", "notblank", "bogus",
]
SPECIAL_KEYS = [
    "_sort", "_sort_desc", "_size", "_next", "_facet", "_facet_array", "_facet_date",
    "_facet_size", "_where", "_search", "_search_text1", "_searchmode", "_col", "_nocol",
    "_labels", "_label", "_shape", "_extra", "_through", "_timelimit", "_json", "_nl",
    "_trace", "_stream", "_dl", "_filter_column", "_filter_op", "_filter_value", "_hash",
    "_nofacet", "_nosuggest", "_nocount", "_sql", "sql", "_fts_table", "_fts_pk", "_context",
]

# Text that is awkward everywhere: quotes and brackets for identifiers, huge and negative
# numbers for integers, nested JSON, lone surrogates (sent percent-encoded as invalid UTF-8).
AWKWARD = st.sampled_from(
    [
        "", " ", "'", '"', "]", "[", "`", "%", "%00", "%ff", "~", "~2F", "\n", "\x00", "..",
        "-1", "0", "1e309", "9" * 30, "-" + "9" * 30, "18446744073709551616", "nan", "inf",
        "[" * 2000, '{"a":' * 300, "[1,2", '{"x": [1]}', "null", "true", "a" * 5000,
        "select 1", "select * from sqlite_master", "rowid", "id", "content", "name",
    ]
)
TEXT = st.one_of(AWKWARD, st.text(max_size=40))


def quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory, read_api_db_path):
    """A real server over a private, writable copy of the read-API fixtures."""
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "fixtures.db"
    shutil.copy(read_api_db_path, path)
    ds = Datasette(
        [str(path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        settings={"sql_time_limit_ms": 200, "max_returned_rows": 100},
    )
    with ServerThread(ds) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield ds, client
    ds.close()


def check(response: httpx.Response, wants_json: bool) -> None:
    """The three promises: no 5xx, no traceback, JSON errors for JSON requests (`.json`
    paths, and the write API's endpoints once a route matched)."""
    body = response.content
    assert response.status_code < 500, (response.request.url, response.status_code, body[:500])
    assert b"Traceback (most recent call last)" not in body, response.request.url
    if wants_json and response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json"), (
            response.request.url,
            response.headers["content-type"],
        )
        json.loads(body)


def query_string(pairs) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)


param_keys = st.one_of(
    st.sampled_from(SPECIAL_KEYS),
    st.builds(lambda c, op: f"{c}__{op}", st.sampled_from(COLUMNS), st.sampled_from(OPERATIONS)),
    st.sampled_from(COLUMNS),
    TEXT,
)
params = st.lists(st.tuples(param_keys, TEXT), max_size=6)


@given(table=st.sampled_from(TABLES), pairs=params, ext=st.sampled_from(["", ".json", ".csv"]))
def test_table_pages(fuzz_server, table, pairs, ext):
    ds, client = fuzz_server
    path = f"/fixtures/{quote(table)}{ext}?{query_string(pairs)}"
    check(client.get(path), ext == ".json")


@given(pairs=params, ext=st.sampled_from(["", ".json", ".csv"]))
def test_database_and_sql(fuzz_server, pairs, ext):
    ds, client = fuzz_server
    check(client.get(f"/fixtures{ext}?{query_string(pairs)}"), ext == ".json")


@given(
    table=st.sampled_from(TABLES),
    segments=st.lists(TEXT, min_size=1, max_size=3),
    ext=st.sampled_from(["", ".json"]),
    pairs=params,
)
def test_row_pages(fuzz_server, table, segments, ext, pairs):
    ds, client = fuzz_server
    pk = ",".join(quote(s) for s in segments)
    check(client.get(f"/fixtures/{quote(table)}/{pk}{ext}?{query_string(pairs)}"), ext == ".json")


@given(segments=st.lists(TEXT, min_size=1, max_size=4), ext=st.sampled_from(["", ".json"]))
def test_arbitrary_paths(fuzz_server, segments, ext):
    ds, client = fuzz_server
    path = "/" + "/".join(quote(s) for s in segments) + ext
    check(client.get(path), ext == ".json")


@given(
    page=st.sampled_from(
        ["/-/versions", "/-/settings", "/-/databases", "/-/threads", "/-/actor", "/-/plugins",
         "/-/metadata", "/-/config", "/-/permissions", "/-/allow-debug", "/-/messages",
         "/-/patterns", "/-/api", "/-/create-token", "/-/logout", "/-/auth-token"]
    ),
    pairs=params,
    ext=st.sampled_from(["", ".json"]),
)
def test_special_pages(fuzz_server, page, pairs, ext):
    ds, client = fuzz_server
    check(client.get(f"{page}{ext}?{query_string(pairs)}"), ext == ".json")


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        TEXT,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
write_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "row": st.dictionaries(st.sampled_from(COLUMNS + ["rowid", "x"]), json_values, max_size=4),
            "rows": st.lists(
                st.dictionaries(st.sampled_from(COLUMNS + ["rowid"]), json_values, max_size=3),
                max_size=3,
            ),
            "update": st.dictionaries(st.sampled_from(COLUMNS), json_values, max_size=3),
            "ignore": json_values,
            "replace": json_values,
            "return": json_values,
            "alter": json_values,
            "table": TEXT,
            "columns": json_values,
            "pk": json_values,
            "pks": json_values,
        },
    ),
)
WRITE_ACTIONS = ["insert", "upsert", "drop"]


@given(
    table=st.sampled_from(["simple_primary_key", "compound_primary_key", "no_primary_key", "select"]),
    action=st.sampled_from(WRITE_ACTIONS),
    body=write_bodies,
    raw=st.one_of(st.none(), st.binary(max_size=50), st.just(b"[" * 5000), st.just(b"\xff\xfe")),
)
def test_write_api_bodies(fuzz_server, table, action, body, raw):
    ds, client = fuzz_server
    token = ds.create_token("root")
    content = raw if raw is not None else json.dumps(body).encode()
    if action == "drop" and isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "confirm"}
        content = json.dumps(body).encode()
    response = client.post(
        f"/fixtures/{quote(table)}/-/{action}",
        content=content,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    check(response, response.status_code != 404)


@given(
    segments=st.lists(TEXT, min_size=1, max_size=2),
    action=st.sampled_from(["update", "delete"]),
    body=write_bodies,
)
def test_row_write_bodies(fuzz_server, segments, action, body):
    ds, client = fuzz_server
    token = ds.create_token("root")
    pk = ",".join(quote(s) for s in segments)
    response = client.post(
        f"/fixtures/simple_primary_key/{pk}/-/{action}",
        content=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    # A path no route matches is the ordinary (HTML) 404 page, as in 1.0a7.
    check(response, response.status_code != 404)


@given(body=write_bodies)
def test_create_table_bodies(fuzz_server, body):
    ds, client = fuzz_server
    token = ds.create_token("root")
    response = client.post(
        "/fixtures/-/create",
        content=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    check(response, True)


@given(payload=json_values, namespace=st.sampled_from(["actor", "token"]))
def test_signed_values_with_unexpected_content(fuzz_server, payload, namespace):
    """A valid signature over a payload we never wrote: anonymous, or 401/403, never a 500."""
    ds, client = fuzz_server
    signed = ds.sign(payload, namespace)
    if namespace == "actor":
        response = client.get("/-/actor.json", headers={"Cookie": f"ds_actor={signed}"})
        check(response, True)
        actor = response.json()["actor"]
        assert actor is None or isinstance(actor, dict)
    else:
        response = client.get(
            "/-/actor.json", headers={"Authorization": f"Bearer dstok_{signed}"}
        )
        check(response, True)
        if response.status_code == 200:
            actor = response.json()["actor"]
            assert actor is None or isinstance(actor, dict)


@given(
    actor=json_values,
    created=json_values,
    duration=json_values,
    restrictions=json_values,
)
def test_tokens_with_odd_fields(fuzz_server, actor, created, duration, restrictions):
    ds, client = fuzz_server
    token = "dstok_" + ds.sign({"a": actor, "t": created, "d": duration, "_r": restrictions}, "token")
    for path in ("/-/actor.json", "/fixtures/simple_primary_key.json"):
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        check(response, True)
    response = client.post(
        "/fixtures/simple_primary_key/-/insert",
        content=b'{"row": {"content": "x"}}',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    check(response, True)


# -- every other route family, with cookies and headers (issue 9, item 7) ----------------

ACTORS = [None, {"id": "root"}, {"id": "alice"}, {"id": ["root"]}, "root", {"id": 1, "_r": 5}]
HEADER_NAMES = [
    "Accept", "Authorization", "Content-Type", "Referer", "User-Agent", "X-Forwarded-For",
    "Cookie", "Origin", "If-None-Match", "Range", "Accept-Encoding",
]
# Values an HTTP client can send at all: printable ASCII, no surrounding whitespace.
header_values = st.one_of(
    AWKWARD,
    st.sampled_from(
        ["application/json", "text/csv", "Bearer dstok_", "Bearer dstok_abc.def", "Bearer x",
         "ds_actor=junk", "ds_messages=junk", "ds_csrftoken=junk", "gzip", "bytes=0-1",
         "bytes=9-1", "*/*"]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
).map(str.strip).filter(lambda v: all(32 <= ord(c) < 127 for c in v))
headers = st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=3)


def signed_cookie(ds, actor) -> dict:
    if actor is None:
        return {}
    return {"Cookie": "ds_actor=" + ds.sign({"a": actor}, "actor")}


@given(
    path=st.sampled_from(
        ["/", "/.json", "/fixtures", "/fixtures.json", "/fixtures/simple_primary_key",
         "/fixtures/simple_primary_key.json", "/fixtures/simple_primary_key/1.json",
         "/fixtures/neighborhood_search.json", "/fixtures/from_magic.json", "/-/actor.json",
         "/-/public", "/-/public.json", "/-/audit.json", "/-/audit.csv", "/-/jobs.json",
         "/-/messages", "/-/databases.json", "/-/threads.json", "/fixtures.db"]
    ),
    actor=st.sampled_from(ACTORS),
    sent=headers,
)
def test_headers_and_cookies(fuzz_server, path, actor, sent):
    ds, client = fuzz_server
    merged = {**signed_cookie(ds, actor), **sent}
    response = client.get(path, headers=merged)
    check(response, ".json" in path)


@given(
    query=st.sampled_from(["neighborhood_search", "from_magic", "pragma_cache_size"]),
    pairs=params,
    ext=st.sampled_from(["", ".json", ".csv"]),
)
def test_canned_queries(fuzz_server, query, pairs, ext):
    ds, client = fuzz_server
    check(client.get(f"/fixtures/{query}{ext}?{query_string(pairs)}"), ext == ".json")


@given(
    pairs=params,
    body=st.one_of(
        st.binary(max_size=60),
        json_values.map(json.dumps),
        st.dictionaries(st.sampled_from(["name", "state", "_json", "x"]), json_values).map(
            json.dumps
        ),
        params.map(query_string),
    ),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded"]),
)
def test_canned_write_query(fuzz_server, pairs, body, content_type):
    ds, client = fuzz_server
    content = body if isinstance(body, bytes) else body.encode()
    # A bearer token passes the CSRF check, so the body reaches the canned query.
    response = client.post(
        f"/fixtures/add_city?{query_string(pairs)}",
        content=content,
        headers={
            "Authorization": f"Bearer {ds.create_token('root')}",
            "Accept": "application/json",
            "Content-Type": content_type,
        },
    )
    assert response.status_code < 500, response.text[:300]
    assert b"Traceback (most recent call last)" not in response.content


@given(
    page=st.sampled_from(["/-/audit", "/-/jobs", "/-/public", "/-/litestream"]),
    ext=st.sampled_from(["", ".json"]),
    pairs=params,
    actor=st.sampled_from(ACTORS),
)
def test_activity_and_public_pages(fuzz_server, page, ext, pairs, actor):
    ds, client = fuzz_server
    response = client.get(f"{page}{ext}?{query_string(pairs)}", headers=signed_cookie(ds, actor))
    check(response, ext == ".json")


@given(body=st.one_of(json_values, st.fixed_dictionaries({}, optional={
    "database": TEXT, "table": TEXT, "query": TEXT, "public": json_values,
    "allow_sql": json_values,
})))
def test_public_changes(fuzz_server, body):
    ds, client = fuzz_server
    token = ds.create_token("root")
    response = client.post(
        "/-/public",
        content=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    check(response, True)


@given(
    table=st.sampled_from(TABLES),
    endpoint=st.sampled_from(["stats.json", "suggest.json", "form.json"]),
    pairs=params,
)
def test_stats_and_suggest(fuzz_server, table, endpoint, pairs):
    ds, client = fuzz_server
    response = client.get(f"/fixtures/{quote(table)}/-/{endpoint}?{query_string(pairs)}")
    check(response, response.status_code != 404)


@given(
    path=st.sampled_from(["/-/permissions", "/-/allow-debug", "/-/messages", "/-/logout",
                          "/-/create-token", "/-/auth-token"]),
    form=st.lists(st.tuples(TEXT, TEXT), max_size=5),
)
def test_form_posts(fuzz_server, path, form):
    ds, client = fuzz_server
    cookies = signed_cookie(ds, {"id": "root"})
    response = client.post(
        path,
        content=query_string(form).encode(),
        headers={**cookies, "Content-Type": "application/x-www-form-urlencoded"},
    )
    check(response, False)
