"""What `Database` is given and what it gives back (issue 16, part 3).

- It is handed a `DatabaseEnvironment` (limits, read pool, connection set-up) instead of
  reading `Datasette` as it goes; any object passed as `ds` yields one.
- sqlite3 errors leave `execute*` as typed `SQLError`s that are still the sqlite3 class
  plugins catch, chained to the original.
- The internal store builds the internal `Database`; the catalog helpers have one home.
- The default plugins load when the plugin manager is first used, not on import.
"""

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from datasette.database import Database, DatabaseEnvironment, environment_of
from datasette.exceptions import (
    InternalDatabaseError,
    SQLError,
    SQLIntegrityError,
    SQLOperationalError,
    SQLProgrammingError,
)
from datasette.internal import catalog
from datasette.internal.store import INTERNAL_DATABASE_NAME, InternalStore, directory_problem
from datasette.utils import internal_db
from datasette.utils.config import deep_merge
from datasette.utils.sqlite import sqlite3, sqlite_file_uri

REPO = Path(__file__).resolve().parent.parent


# -- typed SQL errors ------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("threads", [3, 0])
async def test_read_error_is_typed_and_still_the_sqlite3_class(make_ds, db_path, threads):
    ds = make_ds([str(db_path)], settings={"num_sql_threads": threads})
    db = ds.get_database("sample")
    with pytest.raises(sqlite3.OperationalError) as caught:
        await db.execute("select * from no_such_table")
    error = caught.value
    assert isinstance(error, SQLOperationalError)
    assert isinstance(error, SQLError)
    assert str(error) == "no such table: no_such_table"
    assert type(error.__cause__) is sqlite3.OperationalError
    assert error.args == error.__cause__.args
    if hasattr(error.__cause__, "sqlite_errorname"):
        assert error.sqlite_errorname == error.__cause__.sqlite_errorname == "SQLITE_ERROR"


@pytest.mark.asyncio
@pytest.mark.parametrize("threads", [3, 0])
async def test_write_errors_are_typed(make_ds, tmp_path, threads):
    path = tmp_path / "w.db"
    sqlite3.connect(str(path)).execute("create table t (id integer primary key)").connection.close()
    ds = make_ds([str(path)], settings={"num_sql_threads": threads})
    db = ds.get_database("w")
    await db.execute_write("insert into t (id) values (1)")
    with pytest.raises(sqlite3.IntegrityError) as caught:
        await db.execute_write("insert into t (id) values (1)")
    assert isinstance(caught.value, SQLIntegrityError)
    assert "UNIQUE constraint failed" in str(caught.value)
    with pytest.raises(SQLOperationalError):
        await db.execute_write_script("create table t (id);")
    with pytest.raises(SQLProgrammingError):
        await db.execute_write_many("insert into t (id) values (?)", [(2, 3)])
    # The failed statements changed nothing.
    assert (await db.execute("select id from t")).rows[0][0] == 1


@pytest.mark.asyncio
async def test_execute_fn_translates_and_leaves_other_errors_alone(make_ds, db_path):
    db = make_ds([str(db_path)]).get_database("sample")

    def bad_binding(conn):
        return conn.execute("select ?", (1, 2)).fetchall()

    with pytest.raises(SQLProgrammingError):
        await db.execute_fn(bad_binding)

    class PluginError(sqlite3.OperationalError):
        """A subclass a plugin made: translating it would break its own `except`."""

    def raise_plugin_error(conn):
        raise PluginError("mine")

    with pytest.raises(PluginError) as caught:
        await db.execute_fn(raise_plugin_error)
    assert not isinstance(caught.value, SQLError)

    def raise_value_error(conn):
        raise ValueError("not SQL")

    with pytest.raises(ValueError):
        await db.execute_fn(raise_value_error)


@pytest.mark.asyncio
async def test_sql_error_json_response_is_unchanged(make_ds, db_path):
    ds = make_ds([str(db_path)])
    response = await ds.client.get("/sample.json?sql=select+*+from+no_such_table")
    assert response.status_code == 400
    assert response.json()["error"] == "no such table: no_such_table"


# -- the environment a Database is given ------------------------------------------------------


def test_datasette_databases_share_one_environment(make_ds, db_path):
    ds = make_ds([str(db_path)], settings={"sql_time_limit_ms": 1234, "default_page_size": 7})
    env = ds.database_environment
    assert env.time_limit_ms == 1234
    assert env.page_size == 7
    assert env.executor is ds.executor
    assert ds.get_database("sample").environment is env
    assert ds.get_internal_database().environment is env
    assert Database(ds, memory_name="shared_env_probe").environment is env


@pytest.mark.asyncio
async def test_stand_in_ds_gets_an_environment_from_its_attributes(tmp_path):
    path = tmp_path / "plain.db"
    conn = sqlite3.connect(str(path))
    conn.executescript("create table t (x); insert into t values (1), (2), (3);")
    conn.close()
    prepared = []

    def prepare_connection(conn, name):
        prepared.append(name)
        conn.row_factory = sqlite3.Row

    stand_in = types.SimpleNamespace(
        executor=None,
        sql_time_limit_ms=1000,
        page_size=10,
        max_returned_rows=2,
        prepare_connection=prepare_connection,
    )
    env = environment_of(stand_in)
    assert isinstance(env, DatabaseEnvironment)
    assert (env.time_limit_ms, env.page_size, env.max_returned_rows) == (1000, 10, 2)
    db = Database(stand_in, path=str(path))
    db.name = "plain"
    try:
        results = await db.execute("select x from t order by x", truncate=True)
        assert [row["x"] for row in results.rows] == [1, 2]
        assert results.truncated
        assert prepared == ["plain"]
        assert await db.table_names() == ["t"]  # no metadata callback: nothing hidden
        assert await db.hidden_table_names() == []
    finally:
        db.close()


@pytest.mark.asyncio
async def test_file_names_with_uri_characters_open_the_right_file(make_ds, tmp_path):
    folder = tmp_path / "odd%20dir"
    folder.mkdir()
    path = folder / "a?b#c.db"
    conn = sqlite3.connect(str(path))
    conn.execute("create table here (x)")
    conn.close()
    assert sqlite_file_uri(path) == "file:" + path.as_posix().replace("%", "%25").replace(
        "?", "%3F"
    ).replace("#", "%23")
    ds = make_ds([str(path)])
    db = ds.get_database()
    assert await db.table_names() == ["here"]
    assert db.probe_schema_version() is not None
    assert not (folder / "a").exists()


# -- the internal database and its catalog -----------------------------------------------------


def test_store_builds_the_internal_database(make_ds, db_path):
    ds = make_ds([str(db_path)])
    internal = ds.get_internal_database()
    assert internal.name == INTERNAL_DATABASE_NAME
    assert internal.is_internal
    assert internal.connection_setup == InternalStore.setup_connection
    # The 1.0 private name still reads and writes the same attribute.
    assert internal._connection_setup == internal.connection_setup
    other = Database(ds, memory_name="setup_alias_probe")
    other._connection_setup = InternalStore.setup_connection
    assert other.connection_setup == InternalStore.setup_connection


def test_directory_refusal_is_one_message(tmp_path):
    assert directory_problem(None) is None
    assert directory_problem(str(tmp_path / "missing.db")) is None
    message = directory_problem(str(tmp_path))
    assert message == f"--internal {tmp_path} is a directory; give the path of a database file"
    with pytest.raises(InternalDatabaseError) as caught:
        InternalStore(str(tmp_path), "test").open()
    assert str(caught.value) == message


@pytest.mark.asyncio
async def test_utils_internal_db_is_a_door_to_the_catalog(make_ds, db_path, tmp_path):
    assert internal_db.populate_schema_tables is catalog.populate_schema_tables
    assert internal_db.init_internal_db is catalog.init_internal_db
    ds = make_ds([str(db_path)])
    target = Database(ds, path=str(tmp_path / "catalog.db"), mode="rwc")
    target.name = "catalog_copy"
    try:
        await internal_db.init_internal_db(target)
        await internal_db.populate_schema_tables(target, ds.get_database("sample"))
        rows = await target.execute(
            "select table_name from catalog_tables where database_name = 'sample'"
        )
        expected = await ds.get_database("sample").table_names()
        assert sorted(row[0] for row in rows) == sorted(expected)
    finally:
        target.close()


@pytest.mark.asyncio
async def test_catalog_reads_public_database_state(make_ds, db_path):
    ds = make_ds([str(db_path)])
    db = ds.get_database("sample")
    assert db.token == db._token
    await ds.refresh_schemas()
    assert db.schema_version_known
    assert db.schema_cache is db._schema_cache
    await db.execute_write("create table added (x)")
    assert not db.schema_version_known  # a write forgets the cached schema


# -- plugins load on first use ----------------------------------------------------------------


def _run(script):
    env = {k: v for k, v in os.environ.items() if k != "DATASETTE_LOAD_PLUGINS"}
    env["DATASETTE_LOAD_PLUGINS"] = ""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=str(REPO), env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_importing_plugins_loads_no_default_plugin_until_first_use():
    found = _run(
        "import json, sys\n"
        "from datasette.plugins import DEFAULT_PLUGINS, pm\n"
        "import datasette.permissions\n"
        "before = [n for n in DEFAULT_PLUGINS if pm._name2plugin.get(n)]\n"
        "pm.hook.register_permissions\n"
        "after = [n for n in DEFAULT_PLUGINS if pm.get_plugin(n) is not None]\n"
        "print(json.dumps({'before': before, 'after': after, 'n': len(DEFAULT_PLUGINS),\n"
        "  'pm_same': datasette.permissions.pm is pm}))\n"
    )
    assert found["before"] == []
    assert len(found["after"]) == found["n"] > 0
    assert found["pm_same"]


# -- small shared pieces --------------------------------------------------------------------


def test_deep_merge_merges_nested_dicts_in_place():
    base = {"a": {"b": 1, "c": {"d": 2}}, "e": [1]}
    merged = deep_merge(base, {"a": {"c": {"f": 3}}, "e": [2]})
    assert merged is base
    assert base == {"a": {"b": 1, "c": {"d": 2, "f": 3}}, "e": [2]}


@pytest.mark.asyncio
async def test_public_names_for_state_other_rooms_read(make_ds, db_path):
    ds = make_ds([str(db_path)])
    assert ds.startup_invoked is False
    await ds.invoke_startup()
    assert ds.startup_invoked is True
    assert ds.permission_checks is ds._permission_checks
    await ds.permission_allowed(None, "view-instance")
    assert ds.permission_checks[-1]["action"] == "view-instance"
    token = ds.root_token
    assert token == ds._root_token and len(token) == 64
    ds.expire_root_token()
    assert ds.root_token is None and ds._root_token is None
    assert ds.secret == ds._secret
    assert ds.versions_info()["datasette"] == ds._versions()["datasette"]
    assert [d["name"] for d in ds.connected_databases_info()] == ["sample"]
    assert ds.routes() and len(ds.routes()) == len(ds._routes())
    assert ds.show_messages(None) == []
