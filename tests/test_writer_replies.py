"""How the write thread answers its callers (datasette/writer.py): on the caller's own
loop, after the work is committed; a caller that gave up does not stop the thread."""

import asyncio
import sqlite3 as stdlib_sqlite3
import threading

import pytest


@pytest.fixture
def items_db(make_ds, tmp_path):
    path = tmp_path / "items.db"
    conn = stdlib_sqlite3.connect(str(path))
    conn.execute("create table items (n integer)")
    conn.close()
    return path, make_ds([str(path)]).get_database("items")


def count_on_disk(path):
    conn = stdlib_sqlite3.connect(str(path))
    try:
        return conn.execute("select count(*) from items").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.asyncio
async def test_an_acknowledged_write_is_committed(items_db):
    path, db = items_db
    for i in range(5):
        await db.execute_write("insert into items values (?)", [i])
        # Seen by a separate connection as soon as the write is acknowledged.
        assert count_on_disk(path) == i + 1


@pytest.mark.asyncio
async def test_concurrent_writes_each_get_their_own_answer(items_db):
    path, db = items_db

    def insert(n):
        def fn(conn):
            with conn:
                conn.execute("insert into items values (?)", [n])
            return n * 10

        return fn

    answers = await asyncio.gather(*(db.execute_write_fn(insert(n)) for n in range(20)))
    assert answers == [n * 10 for n in range(20)]
    assert count_on_disk(path) == 20


@pytest.mark.asyncio
async def test_errors_come_back_to_the_caller(items_db):
    _, db = items_db

    def fail(conn):
        raise ValueError("nope")

    with pytest.raises(ValueError, match="nope"):
        await db.execute_write_fn(fail)


@pytest.mark.asyncio
async def test_a_cancelled_caller_does_not_stop_later_writes(items_db):
    path, db = items_db
    release = threading.Event()

    def slow(conn):
        release.wait(10)
        with conn:
            conn.execute("insert into items values (1)")

    waiting = asyncio.ensure_future(db.execute_write_fn(slow))
    await asyncio.sleep(0.01)
    waiting.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await db.execute_write("insert into items values (2)")
    # The cancelled caller's write still ran, before the next one, and both are on disk.
    assert count_on_disk(path) == 2


def test_writes_from_two_event_loops_in_turn(items_db):
    path, db = items_db
    asyncio.run(db.execute_write("insert into items values (1)"))
    asyncio.run(db.execute_write("insert into items values (2)"))
    assert count_on_disk(path) == 2


@pytest.mark.asyncio
async def test_a_write_that_keeps_the_schema_keeps_the_schema_cache(items_db):
    _, db = items_db
    assert await db.table_columns("items") == ["n"]
    assert db.schema_version_known
    await db.execute_write("insert into items values (1)")
    assert db.schema_version_known
    await db.execute_write("alter table items add column m text")
    assert not db.schema_version_known
    assert await db.table_columns("items") == ["n", "m"]


@pytest.mark.asyncio
async def test_a_failed_write_forgets_the_schema_cache(items_db):
    _, db = items_db
    await db.table_names()
    assert db.schema_version_known

    def create_then_fail(conn):
        conn.execute("create table other (x)")
        raise ValueError("after the DDL")

    with pytest.raises(ValueError):
        await db.execute_write_fn(create_then_fail)
    assert not db.schema_version_known
    assert "other" in await db.table_names()
