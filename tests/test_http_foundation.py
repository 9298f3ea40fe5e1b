"""The HTTP surface of the foundation, through a real uvicorn server (http-cli.md §0, §2, §5, §9).

Each test builds its own instance (`make_ds`) over a small SQLite file (`db_path`) and talks
to it over the network with a synchronous `httpx` client.
"""

import json
import sqlite3

import httpx
import pytest

from datasette.app import SETTINGS
from datasette.utils.testing import TestClient

SQL_ERROR_KEYS = {"ok", "rows", "error", "truncated"}
SLOW_CTE = (
    "with recursive c(x) as (select 1 union all select x + 1 from c where x < 1000000000) "
    "select count(*) from c"
)


def get(server, path, **kwargs):
    return httpx.get(server.url + path, timeout=60, **kwargs)


def query(server, sql, db="sample", **params):
    return get(server, f"/{db}.json", params={"sql": sql, **params})


def assert_json(response, status=200):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


# -- /-/ introspection endpoints ------------------------------------------------------------


def test_versions_json(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)], version_note="hello-note")
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/-/versions.json"))
    assert set(data) >= {"python", "datasette", "asgi", "uvicorn", "sqlite"}
    assert data["datasette"] == {"version": "1.0a7", "note": "hello-note"}
    assert data["asgi"] == "3.0"
    assert set(data["python"]) == {"version", "full"}
    assert {"version", "fts_versions", "extensions", "compile_options"} <= set(data["sqlite"])
    assert data["sqlite"]["version"] == sqlite3.sqlite_version


def test_versions_without_note_has_no_note_key(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/-/versions.json"))
    assert data["datasette"] == {"version": "1.0a7"}


def test_settings_json_defaults_in_canonical_order(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/-/settings.json"))
    assert len(data) == 23
    assert list(data.items()) == [(s.name, s.default) for s in SETTINGS]
    assert data["base_url"] == "/"
    assert data["sql_time_limit_ms"] == 1000


def test_settings_json_reflects_overrides(make_ds, serve_ds):
    ds = make_ds(
        settings={"default_page_size": 7, "allow_facet": False},
        config={"settings": {"max_returned_rows": 12}},
    )
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/-/settings.json"))
    assert data["default_page_size"] == 7
    assert data["allow_facet"] is False
    assert data["max_returned_rows"] == 12
    assert data["sql_time_limit_ms"] == 1000
    assert list(data) == [s.name for s in SETTINGS]


def test_settings_argument_beats_config_settings(make_ds, serve_ds):
    ds = make_ds(
        settings={"default_page_size": 7},
        config={"settings": {"default_page_size": 99}},
    )
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/-/settings.json"))
    assert data["default_page_size"] == 7


def test_databases_json(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)], memory=True)
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/-/databases.json"))
    assert [d["name"] for d in data] == ["_memory", "sample"]
    for entry in data:
        assert list(entry) == ["name", "route", "path", "size", "is_mutable", "is_memory", "hash"]
    memory, sample = data
    assert memory["is_memory"] is True and memory["is_mutable"] is False
    assert memory["path"] is None
    assert sample["route"] == "sample"
    assert sample["path"] == str(db_path)
    assert sample["size"] == db_path.stat().st_size
    assert sample["is_mutable"] is True and sample["is_memory"] is False
    assert sample["hash"] is None
    # The internal database is never listed.
    text = json.dumps(data)
    assert "__INTERNAL__" not in text and "_internal" not in text


def test_databases_json_immutable_has_hash(make_ds, serve_ds, db_path):
    ds = make_ds(immutables=[str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/-/databases.json"))
    assert len(data) == 1
    assert data[0]["is_mutable"] is False
    assert isinstance(data[0]["hash"], str) and len(data[0]["hash"]) == 64


def test_threads_json(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/-/threads.json"))
    assert list(data) == ["num_threads", "threads", "num_tasks", "tasks"]
    assert data["num_threads"] == len(data["threads"]) >= 1
    for thread in data["threads"]:
        assert set(thread) == {"name", "ident", "daemon"}
    assert data["num_tasks"] == len(data["tasks"])
    assert all(isinstance(task, str) for task in data["tasks"])


def test_threads_json_without_sql_threads(make_ds, serve_ds):
    ds = make_ds(settings={"num_sql_threads": 0})
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/-/threads.json"))
    assert data == {"num_threads": 0, "threads": []}


def test_actor_json_anonymous(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/-/actor.json"))
    assert data == {"actor": None}


def test_actor_json_with_signed_cookie(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        cookie = ds.client.actor_cookie({"id": "root"})
        data = assert_json(get(server, "/-/actor.json", cookies={"ds_actor": cookie}))
    assert data == {"actor": {"id": "root"}}


def test_config_json_redirects_to_settings(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        response = get(server, "/-/config.json")
        html = get(server, "/-/config")
    assert response.status_code == 301
    assert response.headers["location"] == "/-/settings.json"
    assert html.status_code == 301
    assert html.headers["location"] == "/-/settings"


def test_introspection_html_page(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        response = get(server, "/-/settings")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "settings.json" in response.text
    assert "default_page_size" in response.text


# -- /db.json?sql= shapes -------------------------------------------------------------------

BOOKS_SQL = "select id, title from books order by id"


def test_query_default_shape(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(query(server, BOOKS_SQL))
    assert data == {
        "ok": True,
        "rows": [
            {"id": 1, "title": "Engines"},
            {"id": 2, "title": "Compilers"},
            {"id": 3, "title": "Cobol"},
        ],
        "truncated": False,
    }
    assert list(data) == ["ok", "rows", "truncated"]


def test_query_shape_objects_is_default(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        explicit = assert_json(query(server, BOOKS_SQL, _shape="objects"))
        default = assert_json(query(server, BOOKS_SQL))
    assert explicit == default
    assert explicit["rows"][0] == {"id": 1, "title": "Engines"}


def test_query_shape_arrays(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(query(server, BOOKS_SQL, _shape="arrays"))
    assert data == {
        "ok": True,
        "rows": [[1, "Engines"], [2, "Compilers"], [3, "Cobol"]],
        "truncated": False,
    }


def test_query_shape_array(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(query(server, BOOKS_SQL, _shape="array"))
    assert data == [
        {"id": 1, "title": "Engines"},
        {"id": 2, "title": "Compilers"},
        {"id": 3, "title": "Cobol"},
    ]


def test_query_shape_arrayfirst(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(query(server, BOOKS_SQL, _shape="arrayfirst"))
    assert data == [1, 2, 3]


def test_query_shape_array_newline_delimited(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        response = query(server, BOOKS_SQL, _shape="array", _nl="on")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == (
        '{"id": 1, "title": "Engines"}\n'
        '{"id": 2, "title": "Compilers"}\n'
        '{"id": 3, "title": "Cobol"}'
    )
    assert [json.loads(line) for line in response.text.split("\n")][2] == {
        "id": 3,
        "title": "Cobol",
    }


def test_query_shape_object_is_a_200_error(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(query(server, BOOKS_SQL, _shape="object"), status=200)
    assert data == {"ok": False, "error": "_shape=object is only available on tables"}


def test_query_invalid_shape(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(query(server, BOOKS_SQL, _shape="nope"), status=400)
    assert data == {"ok": False, "error": "Invalid _shape: nope", "status": 400, "title": None}


def test_query_extra_columns(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(query(server, BOOKS_SQL, _extra="columns"))
    assert data["columns"] == ["id", "title"]
    assert len(data["rows"]) == 3
    assert data["ok"] is True and data["truncated"] is False


def test_query_named_parameter(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/sample.json?sql=select+:name&name=x"))
        filtered = assert_json(
            query(server, "select title from books where id = :id", id="2")
        )
        missing = assert_json(query(server, "select :absent as v"))
    assert data["rows"] == [{":name": "x"}]
    # Values are always strings; SQLite's affinity still matches the integer key.
    assert filtered["rows"] == [{"title": "Compilers"}]
    # A parameter missing from the query string is bound as "".
    assert missing["rows"] == [{"v": ""}]


def test_query_underscore_parameter_left_unbound(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(query(server, "select :_secret", _secret="x"), status=400)
    assert data["ok"] is False
    assert data["rows"] == []
    assert data["error"].startswith("You did not supply a value for binding")


def test_query_truncated_by_max_returned_rows(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)], settings={"max_returned_rows": 2})
    with serve_ds(ds) as server:
        truncated = assert_json(query(server, BOOKS_SQL))
        exact = assert_json(query(server, "select id from books where id < 3"))
    assert truncated["truncated"] is True
    assert truncated["rows"] == [{"id": 1, "title": "Engines"}, {"id": 2, "title": "Compilers"}]
    assert exact["truncated"] is False
    assert len(exact["rows"]) == 2


# -- SQL validation and errors --------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "update books set title = 'changed'",
        "insert into books (title) values ('new')",
        "delete from books",
        "pragma user_version=1",
        "attach database 'other.db' as other",
        "  -- a comment\ndrop table books",
    ],
)
def test_write_statements_are_refused(make_ds, serve_ds, db_path, sql):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(query(server, sql), status=400)
    assert data == {
        "ok": False,
        "error": "Statement must be a SELECT",
        "status": 400,
        "title": "Invalid SQL",
    }
    conn = sqlite3.connect(str(db_path))
    try:
        assert conn.execute("select id, title from books order by id").fetchall() == [
            (1, "Engines"),
            (2, "Compilers"),
            (3, "Cobol"),
        ]
        assert conn.execute("pragma user_version").fetchone()[0] == 0
    finally:
        conn.close()


def test_disallowed_pragma(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(query(server, "select * from pragma_user_version()"), status=400)
        allowed = assert_json(query(server, "select name from pragma_table_info('authors')"))
    assert data["title"] == "Invalid SQL"
    assert data["error"] == (
        "Statement contained a disallowed PRAGMA. Allowed pragma functions are "
        "pragma_database_list(), pragma_foreign_key_list(), pragma_function_list(), "
        "pragma_index_info(), pragma_index_list(), pragma_index_xinfo(), "
        "pragma_page_count(), pragma_max_page_count(), pragma_page_size(), "
        "pragma_schema_version(), pragma_table_info(), pragma_table_xinfo()"
    )
    assert allowed["rows"] == [{"name": "id"}, {"name": "name"}]


def test_sqlite_error_is_400_json(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(query(server, "select * from nope"), status=400)
    assert set(data) == SQL_ERROR_KEYS
    assert data["ok"] is False
    assert data["rows"] == []
    assert data["truncated"] is False
    assert data["error"] == "no such table: nope"


def test_query_over_time_limit_is_interrupted(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)], settings={"sql_time_limit_ms": 20})
    with serve_ds(ds) as server:
        data = assert_json(query(server, SLOW_CTE), status=400)
    assert data["ok"] is False
    assert data["status"] == 400
    assert data["title"] == "SQL Interrupted"
    assert "sql_time_limit_ms" in data["error"]
    assert "https://docs.datasette.io/en/stable/settings.html#sql-time-limit-ms" in data["error"]
    assert '<textarea style="width: 90%">' in data["error"]


def test_timelimit_parameter_lowers_the_limit(make_ds, serve_ds, db_path):
    # The instance limit is a minute: only `_timelimit=` can stop this query quickly.
    ds = make_ds([str(db_path)], settings={"sql_time_limit_ms": 60_000})
    with serve_ds(ds) as server:
        data = assert_json(query(server, SLOW_CTE, _timelimit="20"), status=400)
    assert data["title"] == "SQL Interrupted"


def test_timelimit_parameter_cannot_raise_the_limit(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)], settings={"sql_time_limit_ms": 20})
    with serve_ds(ds) as server:
        data = assert_json(query(server, SLOW_CTE, _timelimit="600000"), status=400)
    assert data["title"] == "SQL Interrupted"


# -- 404s, methods, CORS ---------------------------------------------------------------------


def test_unknown_database_is_404_json(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/nope.json"), status=404)
        html = get(server, "/nope")
    assert data == {"ok": False, "error": "Database not found: nope", "status": 404, "title": None}
    assert html.status_code == 404
    assert html.headers["content-type"] == "text/html; charset=utf-8"


def test_unknown_format_is_404(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        plain = get(server, "/sample.xyz")
        with_sql = get(server, "/sample.xyz", params={"sql": "select 1"})
    assert plain.status_code == 404
    assert with_sql.status_code == 404


def test_head_request(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        response = httpx.head(server.url + "/-/versions.json", timeout=60)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.content == b""


@pytest.mark.asyncio
async def test_head_request_body_is_empty_in_process(make_ds):
    # A real server may drop a HEAD body itself; in-process we see what the app sends.
    ds = make_ds()
    get_response = await ds.client.get("/-/versions.json")
    head_response = await ds.client.head("/-/versions.json")
    assert get_response.content != b""
    assert head_response.status_code == 200
    assert head_response.content == b""


def test_post_to_json_page_is_405_json(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        response = httpx.post(server.url + "/-/versions.json", timeout=60)
        html = httpx.post(server.url + "/-/versions", timeout=60)
    assert response.status_code == 405
    assert response.json() == {"ok": False, "error": "Method not allowed"}
    assert html.status_code == 405
    assert html.text == "Method not allowed"


def test_405_is_json_for_json_requests(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        response = httpx.post(
            server.url + "/-/settings",
            content=b"{}",
            headers={"content-type": "application/json"},
            timeout=60,
        )
        database = httpx.post(server.url + "/sample.json", timeout=60)
    assert response.status_code == 405
    assert response.json() == {"ok": False, "error": "Method not allowed"}
    assert database.status_code == 405
    assert database.json() == {"ok": False, "error": "Method not allowed"}


def test_options_request(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        response = httpx.options(server.url + "/-/versions.json", timeout=60)
        database = httpx.options(server.url + "/sample", timeout=60)
    assert response.status_code == 200
    assert response.text == "ok"
    assert database.status_code == 200
    assert database.text == "ok"
    assert database.headers["allow"] == "HEAD, GET"


@pytest.mark.parametrize(
    "path",
    ["/-/versions.json", "/-/settings.json", "/.json", "/sample.json", "/sample.json?sql=select+1"],
)
def test_cors_headers(make_ds, serve_ds, db_path, path):
    ds = make_ds([str(db_path)], cors=True)
    plain = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        response = get(server, path)
    with serve_ds(plain) as server:
        without = get(server, path)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-headers"] == "Authorization, Content-Type"
    assert response.headers["access-control-expose-headers"] == "Link"
    assert response.headers["access-control-allow-methods"] == "GET, POST, HEAD, OPTIONS"
    assert response.headers["access-control-max-age"] == "3600"
    assert without.status_code == 200
    assert "access-control-allow-origin" not in without.headers


def test_cors_headers_on_query_errors(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)], cors=True)
    with serve_ds(ds) as server:
        sqlite_error = query(server, "select * from nope")
        invalid = query(server, "update books set title = 1")
    assert sqlite_error.status_code == 400
    assert sqlite_error.headers["access-control-allow-origin"] == "*"
    assert invalid.status_code == 400
    assert invalid.headers["access-control-allow-origin"] == "*"


# -- base_url, redirects --------------------------------------------------------------------


def test_base_url_prefix(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)], settings={"base_url": "/prefix/"})
    assert ds.urls.database("sample") == "/prefix/sample"
    assert ds.urls.instance() == "/prefix/"
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/prefix/-/versions.json"))
        rows = assert_json(get(server, "/prefix/sample.json?sql=select+1+as+one"))
        databases = assert_json(get(server, "/prefix/-/databases.json"))
    assert data["datasette"]["version"] == "1.0a7"
    assert rows["rows"] == [{"one": 1}]
    assert databases[0]["name"] == "sample"


def test_base_url_redirects_are_prefixed(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)], settings={"base_url": "/prefix/"})
    with serve_ds(ds) as server:
        response = get(server, "/prefix/sample/")
    assert response.status_code == 302
    assert response.headers["location"] == "/prefix/sample"


def test_percent_encoded_path_redirects_to_tilde_form(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        response = get(server, "/foo%2Fbar.json?sql=select+1")
    assert response.status_code == 302
    assert response.headers["location"] == "/foo~2Fbar~2Ejson?sql=select+1"


def test_tilde_encoded_database_route(make_ds, serve_ds, tmp_path):
    from .fixtures import make_sample_db

    path = make_sample_db(tmp_path / "my.data.db")
    ds = make_ds([str(path)])
    assert list(ds.databases) == ["my.data"]
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/my~2Edata.json?sql=select+count(*)+as+n+from+books"))
    assert data["rows"] == [{"n": 3}]


def test_trailing_slash_redirects(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        response = get(server, "/sample/?sql=select+1")
        versions = get(server, "/-/versions.json/")
    assert response.status_code == 302
    assert response.headers["location"] == "/sample?sql=select+1"
    assert versions.status_code == 302
    assert versions.headers["location"] == "/-/versions.json"


# -- the internal database is never served ---------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path", ["/__INTERNAL__.json", "/__INTERNAL__", "/_internal.json", "/__INTERNAL__.json?sql=select+1"]
)
async def test_internal_database_not_reachable_through_client(make_ds, db_path, path):
    ds = make_ds([str(db_path)])
    response = await ds.client.get(path)
    assert response.status_code == 404
    assert ds.get_internal_database() is not None


def test_internal_database_not_reachable_over_http(make_ds, serve_ds, db_path):
    ds = make_ds([str(db_path)])
    with serve_ds(ds) as server:
        response = get(server, "/__INTERNAL__.json", params={"sql": "select 1"})
    assert response.status_code == 404
    assert response.json()["error"] == "Database not found: __INTERNAL__"


# -- TestClient ------------------------------------------------------------------------------


def test_through_testing_client(make_ds, db_path):
    ds = make_ds([str(db_path)])
    client = TestClient(ds)
    response = client.get("/sample.json?sql=select+count(*)+as+n+from+books")
    assert response.status == 200
    assert response.json == {"ok": True, "rows": [{"n": 3}], "truncated": False}
    redirect = client.get("/-/config.json")
    assert redirect.status == 301
    assert redirect.headers["location"] == "/-/settings.json"
    followed = client.get("/-/config.json", follow_redirects=True)
    assert followed.status == 200
    assert list(followed.json) == [s.name for s in SETTINGS]
