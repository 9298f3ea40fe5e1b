"""A replicated internal database must not be rewritten at every start: Litestream
uploads every WAL frame. A restart over unchanged databases writes no frame; a changed
database rewrites its rows only; a database no longer served loses its rows."""

import os

import pytest

from datasette.app import Datasette
from datasette.utils.sqlite import sqlite3


def make(path, tables):
    conn = sqlite3.connect(str(path))
    for t in range(tables):
        conn.execute(f"create table t{t} (id integer primary key, name text)")
        conn.execute(f"create index t{t}_name on t{t}(name)")
    conn.commit()
    conn.close()
    return str(path)


def truncate_wal(internal):
    conn = sqlite3.connect(internal)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def wal_size(internal):
    path = internal + "-wal"
    return os.path.getsize(path) if os.path.exists(path) else 0


async def start(files, internal):
    ds = Datasette(files, internal=internal)
    await ds.invoke_startup()
    return ds


def catalog_names(internal):
    conn = sqlite3.connect(internal)
    try:
        return sorted(r[0] for r in conn.execute("select database_name from catalog_databases"))
    finally:
        conn.close()


@pytest.mark.asyncio
async def test_restart_with_unchanged_databases_writes_nothing(tmp_path):
    files = [make(tmp_path / "one.db", 5), make(tmp_path / "two.db", 5)]
    internal = str(tmp_path / "internal.db")
    ds = await start(files, internal)
    ds.close()
    truncate_wal(internal)
    ds = await start(files, internal)
    try:
        assert wal_size(internal) == 0
        tables = await ds.get_internal_database().execute(
            "select count(*) from catalog_tables"
        )
        assert tables.single_value() == 10
    finally:
        ds.close()


@pytest.mark.asyncio
async def test_changed_and_removed_databases_are_caught_up(tmp_path):
    one, two = make(tmp_path / "one.db", 2), make(tmp_path / "two.db", 2)
    internal = str(tmp_path / "internal.db")
    ds = await start([one, two], internal)
    ds.close()
    conn = sqlite3.connect(one)
    conn.execute("create table added (id integer primary key)")
    conn.close()
    truncate_wal(internal)
    ds = await start([one], internal)
    try:
        assert wal_size(internal) > 0
        rows = await ds.get_internal_database().execute(
            "select table_name from catalog_tables where database_name = 'one' order by 1"
        )
        assert [r[0] for r in rows.rows] == ["added", "t0", "t1"]
    finally:
        ds.close()
    assert catalog_names(internal) == ["one"]
