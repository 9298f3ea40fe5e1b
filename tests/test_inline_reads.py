"""Reads answered on the event loop (datasette/inline_reads.py): short ones stay there,
slow ones move to a read thread without losing their time limit, and a locked database
never holds the loop up."""

import asyncio
import sqlite3 as stdlib_sqlite3
import threading

import pytest

from datasette import inline_reads
from datasette.database import QueryInterrupted
from datasette.inline_reads import InlineReads

# Counts far past any budget: the same shape as test_database_reads.SLOW_SQL.
SLOW_SQL = """
with recursive counter(x) as (
    select 1 union all select x + 1 from counter where x < :n
)
select count(*), thread_name() from counter
"""


def add_thread_name(conn, database):
    """A SQL function naming the thread that runs the query."""
    conn.create_function("thread_name", 0, lambda: threading.current_thread().name)


@pytest.fixture
def numbers_db(make_ds, tmp_path):
    path = tmp_path / "numbers.db"
    conn = stdlib_sqlite3.connect(str(path))
    conn.executescript(
        "create table numbers (n integer);"
        + "".join(f"insert into numbers values ({i});" for i in range(1, 21))
    )
    conn.close()
    ds = make_ds([str(path)])
    db = ds.get_database("numbers")
    db.connection_setup = add_thread_name
    return db


@pytest.mark.asyncio
async def test_short_read_runs_on_the_event_loop_thread(numbers_db):
    results = await numbers_db.execute("select count(*), thread_name() from numbers")
    count, thread = results.first()
    assert count == 20
    assert thread == threading.current_thread().name


@pytest.mark.asyncio
async def test_slow_read_moves_to_a_read_thread_and_is_remembered(numbers_db):
    results = await numbers_db.execute(SLOW_SQL, {"n": 300_000})
    count, thread = results.first()
    assert count == 300_000
    assert thread != threading.current_thread().name
    # Remembered: the next runs of the same SQL go straight to a thread.
    assert not numbers_db._inline_reads.worth_trying(SLOW_SQL)
    again = await numbers_db.execute(SLOW_SQL, {"n": 10})
    assert again.first()[1] != threading.current_thread().name


@pytest.mark.asyncio
async def test_time_limit_still_interrupts_a_query_that_left_the_loop(numbers_db):
    with pytest.raises(QueryInterrupted):
        await numbers_db.execute(SLOW_SQL, {"n": 10**9}, custom_time_limit=50)


@pytest.mark.asyncio
async def test_time_limit_below_the_budget_interrupts_inline(numbers_db):
    limit = inline_reads.BUDGET_MS / 2
    with pytest.raises(QueryInterrupted):
        await numbers_db.execute(SLOW_SQL, {"n": 10**9}, custom_time_limit=limit)
    # A real interruption is not a reason to leave the loop next time.
    assert numbers_db._inline_reads.worth_trying(SLOW_SQL)


@pytest.mark.asyncio
async def test_sql_errors_inline_are_the_usual_typed_errors(numbers_db):
    with pytest.raises(Exception) as info:
        await numbers_db.execute("select * from no_such_table")
    assert "no such table" in str(info.value)


@pytest.mark.asyncio
async def test_a_locked_database_does_not_hold_up_the_event_loop(make_ds, tmp_path):
    path = tmp_path / "journal.db"
    setup = stdlib_sqlite3.connect(str(path))
    setup.executescript("create table t (n integer); insert into t values (1);")
    setup.close()
    db = make_ds([str(path)]).get_database("journal")
    assert (await db.execute("select count(*) from t")).single_value() == 1
    locker = stdlib_sqlite3.connect(str(path), isolation_level=None)
    locker.execute("begin exclusive")
    locker.execute("insert into t values (2)")
    try:
        read = asyncio.ensure_future(db.execute("select count(*) from t"))
        # The loop keeps running while the read waits for the lock on a thread.
        for _ in range(5):
            await asyncio.sleep(0.01)
        assert not read.done()
        locker.execute("commit")
        assert (await read).single_value() == 2
    finally:
        locker.close()


def test_slow_sql_is_tried_inline_again_after_a_while():
    reads = InlineReads(lambda: None)
    reads.remember_slow("select slow")
    skipped = 0
    while not reads.worth_trying("select slow"):
        skipped += 1
        assert skipped <= inline_reads.RETRY_AFTER
    assert skipped == inline_reads.RETRY_AFTER - 1
    assert reads.worth_trying("select slow")


def test_slow_memory_is_bounded():
    reads = InlineReads(lambda: None)
    for i in range(inline_reads.SLOW_MEMORY + 10):
        reads.remember_slow(f"select {i}")
    assert len(reads._slow) == inline_reads.SLOW_MEMORY
    assert reads.worth_trying("select 0")
    assert not reads.worth_trying(f"select {inline_reads.SLOW_MEMORY + 9}")


@pytest.mark.asyncio
async def test_a_follower_keeps_its_fresh_connection_per_read(make_ds, tmp_path):
    # A follower's file is replaced under it by Litestream: a connection kept open on the
    # event loop would go on reading the old file, so its reads never run inline.
    from datasette.internal.replication.follow import FollowerDatabase  # test-only

    path = tmp_path / "followed.db"
    conn = stdlib_sqlite3.connect(str(path))
    conn.execute("create table t (n integer)")
    conn.close()
    ds = make_ds([])
    db = ds.add_database(FollowerDatabase(ds, str(path)), name="followed")
    db.connection_setup = add_thread_name
    thread = (await db.execute("select thread_name()")).single_value()
    assert thread != threading.current_thread().name


@pytest.mark.asyncio
async def test_setting_zero_sends_every_read_to_a_thread(make_ds, tmp_path):
    path = tmp_path / "numbers.db"
    stdlib_sqlite3.connect(str(path)).close()
    ds = make_ds([str(path)], settings={"inline_read_budget_ms": 0})
    db = ds.get_database("numbers")
    db.connection_setup = add_thread_name
    (thread,) = (await db.execute("select thread_name()")).first()
    assert thread != threading.current_thread().name
