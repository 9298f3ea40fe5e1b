"""Quiet states kept across restarts (internal/file_states.py).

A persistent `--internal` file remembers, per attached file, the stat the schema probe
trusted and the schema version it read. A restart that finds a file with that very stat
opens nothing of it: not the guard's look for a marker table, not the start-up check, not
the schema probe, not the catalog's outline. Anything else about the file (a write, a
schema change, a replacement, a marker table, another SQLite) means the full look again.
"""

import os
import sqlite3
import time

import pytest
from click.testing import CliRunner

from datasette import schema_probe
from datasette.cli import cli
from datasette.database import Database
from datasette.exceptions import InternalDatabaseError

RACY = 0.05


@pytest.fixture(autouse=True)
def short_racy_window(monkeypatch):
    # Files made by a test are milliseconds old; the probe trusts a stat once the file's
    # timestamps are RACY_SECONDS old, so a short window and `settle()` stand in for it.
    monkeypatch.setattr(schema_probe, "RACY_SECONDS", RACY)


def settle():
    """Let every file's timestamps fall older than RACY."""
    time.sleep(RACY * 3)


def execute(path, *statements):
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        conn.execute(statement)
    conn.close()


def make_db(path):
    execute(
        path,
        "create table items (id integer primary key, name text)",
        "create index items_name on items(name)",
        "insert into items values (1, 'one')",
    )
    return path


def schema_version(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("pragma schema_version").fetchone()[0]
    finally:
        conn.close()


def open_descriptors(path):
    """How many of this process's file descriptors are open on `path`."""
    target = os.path.realpath(path)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                count += 1
        except OSError:
            pass
    return count


def states(internal):
    conn = sqlite3.connect(internal)
    try:
        return {
            row[0]: row[1:]
            for row in conn.execute(
                "select database_name, path, schema_version, sqlite_version"
                " from catalog_file_states"
            )
        }
    finally:
        conn.close()


async def start(make_ds, files, internal=None):
    kwargs = {"internal": str(internal)} if internal else {}
    ds = make_ds([str(f) for f in files], **kwargs)
    await ds.invoke_startup()
    return ds


async def served_once(make_ds, tmp_path):
    """`a.db`, quiet, and an internal file that a closed server of it left: `(a, internal)`."""
    a = make_db(tmp_path / "a.db")
    internal = tmp_path / "internal.db"
    settle()
    (await start(make_ds, [a], internal)).close()
    return a, internal


async def table_names(ds, name):
    result = await ds.get_internal_database().execute(
        "select table_name from catalog_tables where database_name = ?", [name]
    )
    return sorted(row[0] for row in result.rows)


@pytest.mark.asyncio
async def test_an_unchanged_restart_opens_no_served_file(make_ds, tmp_path):
    a = make_db(tmp_path / "a.db")
    internal = tmp_path / "internal.db"
    settle()
    first = await start(make_ds, [a], internal)
    assert states(internal) == {"a": (str(a), schema_version(a), sqlite3.sqlite_version)}
    first.close()

    second = await start(make_ds, [a], internal)
    db = second.databases["a"]
    assert db.schema_probe.unchanged_since_seed()
    assert open_descriptors(a) == 0
    assert await table_names(second, "a") == ["items"]
    # The first request opens it as usual, and sees the data.
    response = await second.client.get("/a/items.json?_shape=array")
    assert response.json() == [{"id": 1, "name": "one"}]
    assert open_descriptors(a) > 0


@pytest.mark.asyncio
async def test_a_schema_change_while_down_is_read_and_stored_again(make_ds, tmp_path):
    a, internal = await served_once(make_ds, tmp_path)
    execute(a, "create table extra (x)")
    settle()

    second = await start(make_ds, [a], internal)
    assert not second.databases["a"].schema_probe.unchanged_since_seed()
    assert await table_names(second, "a") == ["extra", "items"]
    assert states(internal)["a"][1] == schema_version(a)  # the new version's state
    second.close()
    third = await start(make_ds, [a], internal)
    assert third.databases["a"].schema_probe.unchanged_since_seed()
    assert await table_names(third, "a") == ["extra", "items"]


@pytest.mark.asyncio
async def test_a_data_write_while_down_is_not_taken_for_unchanged(make_ds, tmp_path):
    a, internal = await served_once(make_ds, tmp_path)
    execute(a, "insert into items values (2, 'two')")

    second = await start(make_ds, [a], internal)
    assert not second.databases["a"].schema_probe.unchanged_since_seed()
    response = await second.client.get("/a/items.json?_shape=array")
    assert [row["id"] for row in response.json()] == [1, 2]


@pytest.mark.asyncio
async def test_a_marker_table_added_while_down_is_refused(make_ds, tmp_path):
    a, internal = await served_once(make_ds, tmp_path)
    # What a dump of an internal database loaded into this file would leave: the marker
    # table and its row, without the header's application_id.
    execute(
        a,
        "create table _datasette_internal (id integer primary key, schema_version integer,"
        " created_by text, created_at text)",
        "insert into _datasette_internal values (1, 7, 'x', 'y')",
    )
    settle()
    with pytest.raises(InternalDatabaseError, match="Refusing to serve"):
        make_ds([str(a)], internal=str(internal))


@pytest.mark.asyncio
async def test_a_file_with_a_marker_named_table_never_skips_the_guard(make_ds, tmp_path):
    a = make_db(tmp_path / "a.db")
    execute(a, "create table _datasette_internal (something_else)")
    internal = tmp_path / "internal.db"
    settle()
    first = await start(make_ds, [a], internal)
    assert any("_datasette_internal" in w for w in first.startup_warnings)
    first.close()
    second = make_ds([str(a)], internal=str(internal))
    assert not second.databases["a"].schema_probe.unchanged_since_seed()
    assert any("_datasette_internal" in w for w in second.startup_warnings)


def test_a_file_replaced_while_down_is_checked_again(tmp_path):
    a = make_db(tmp_path / "a.db")
    internal = tmp_path / "internal.db"
    settle()
    runner = CliRunner()
    args = ["serve", str(a), "--internal", str(internal), "--get", "/a/items.json?_shape=array"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "a" in states(internal)
    a.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84 + b"not a database" * 100)
    settle()
    second = runner.invoke(cli, args)
    assert second.exit_code == 1
    assert "failed check" in second.output
    assert "Traceback" not in second.output


@pytest.mark.asyncio
async def test_no_state_for_wal_files_or_virtual_tables(make_ds, tmp_path):
    plain = make_db(tmp_path / "plain.db")
    wal = make_db(tmp_path / "wal.db")
    execute(wal, "pragma journal_mode = wal")
    search = make_db(tmp_path / "search.db")
    execute(search, "create virtual table docs using fts5(body)")
    internal = tmp_path / "internal.db"
    settle()
    (await start(make_ds, [plain, wal, search], internal)).close()
    assert set(states(internal)) == {"plain"}


@pytest.mark.asyncio
async def test_a_state_stored_by_another_sqlite_is_not_used(make_ds, tmp_path):
    a, internal = await served_once(make_ds, tmp_path)
    execute(internal, "update catalog_file_states set sqlite_version = '3.0.0'")

    second = await start(make_ds, [a], internal)
    assert not second.databases["a"].schema_probe.unchanged_since_seed()
    assert await table_names(second, "a") == ["items"]
    assert states(internal)["a"][2] == sqlite3.sqlite_version


@pytest.mark.asyncio
async def test_a_detached_database_loses_its_state(make_ds, tmp_path):
    a, b = make_db(tmp_path / "a.db"), make_db(tmp_path / "b.db")
    internal = tmp_path / "internal.db"
    settle()
    (await start(make_ds, [a, b], internal)).close()
    assert set(states(internal)) == {"a", "b"}
    (await start(make_ds, [a], internal)).close()
    assert set(states(internal)) == {"a"}


@pytest.mark.asyncio
async def test_a_state_noticed_after_start_up_is_stored(make_ds, tmp_path):
    # A modification time in the future is never quiet, so nothing is stored at start-up;
    # once the file is written and quiet, the next request's probe read trusts its stat
    # and its state is stored.
    a = make_db(tmp_path / "a.db")
    future = time.time() + 3600
    os.utime(a, (future, future))
    internal = tmp_path / "internal.db"
    ds = await start(make_ds, [a], internal)
    assert states(internal) == {}
    execute(a, "insert into items values (2, 'two')")
    os.utime(a, (time.time() - 60, time.time() - 60))
    settle()
    await ds.client.get("/a/items.json")
    assert set(states(internal)) == {"a"}


@pytest.mark.asyncio
async def test_a_temporary_internal_database_stores_no_states(make_ds, tmp_path):
    a = make_db(tmp_path / "a.db")
    settle()
    ds = await start(make_ds, [a])
    result = await ds.get_internal_database().execute("select count(*) from catalog_file_states")
    assert result.rows[0][0] == 0


@pytest.mark.asyncio
async def test_a_state_not_stored_never_seeds_a_database_added_later(make_ds, tmp_path):
    # A file with a virtual table gets no state; re-adding it under its name must not
    # find one either (its start-up checks are never skipped).
    search = make_db(tmp_path / "search.db")
    execute(search, "create virtual table docs using fts5(body)")
    internal = tmp_path / "internal.db"
    settle()
    ds = await start(make_ds, [search], internal)
    ds.remove_database("search")
    added = ds.add_database(Database(ds, path=str(search)), name="search")
    assert not added.schema_probe.unchanged_since_seed()
    assert states(internal) == {}
