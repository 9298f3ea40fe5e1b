"""`Database` writes: the `execute_write*` family and the one write thread per database
(internals.md 3.3 and 3.5, internal-db.md point 2)."""

import asyncio
import logging
import threading
import uuid

import pytest

from datasette.database import Database
from datasette.utils.sqlite import sqlite3

# A hang in the write machinery must fail the test rather than block the suite.
HANG_GUARD_SECONDS = 30


async def count_rows(db, table):
    return (await db.execute(f"select count(*) from [{table}]")).single_value()


async def poll(predicate, attempts=400, delay=0.025):
    """Await `predicate()` until it is true, a bounded number of times."""
    for _ in range(attempts):
        if await predicate():
            return True
        await asyncio.sleep(delay)
    return False


# -- the execute_write family -----------------------------------------------------------


@pytest.mark.asyncio
async def test_execute_write_returns_cursor(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    cursor = await db.execute_write(
        "insert into authors (name) values (?)", ["Edsger"]
    )
    assert cursor.rowcount == 1
    assert cursor.lastrowid == 3
    row = (await db.execute("select name from authors where id = 3")).single_value()
    assert row == "Edsger"


@pytest.mark.asyncio
async def test_execute_write_dict_params_and_no_params(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    await db.execute_write(
        "update books set year = :year where id = :id", {"year": 1999, "id": 2}
    )
    await db.execute_write("delete from tags")
    assert (await db.execute("select year from books where id = 2")).single_value() == 1999
    assert await count_rows(db, "tags") == 0


@pytest.mark.asyncio
async def test_execute_write_script(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    await db.execute_write_script(
        """
        create table one (id integer primary key);
        create table two (id integer primary key);
        insert into one values (1), (2);
        """
    )
    assert await db.table_exists("one")
    assert await db.table_exists("two")
    assert await count_rows(db, "one") == 2


@pytest.mark.asyncio
async def test_execute_write_many(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    cursor = await db.execute_write_many(
        "insert into authors (name) values (?)", [["A"], ["B"], ["C"]]
    )
    assert cursor.rowcount == 3
    assert await count_rows(db, "authors") == 5


@pytest.mark.asyncio
async def test_execute_write_many_accepts_a_generator(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    await db.execute_write_many(
        "insert into authors (name) values (?)", ([f"n{i}"] for i in range(10))
    )
    assert await count_rows(db, "authors") == 12


@pytest.mark.asyncio
async def test_execute_write_fn_returns_result(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")

    def fn(conn):
        with conn:
            conn.execute("insert into authors (name) values ('Barbara')")
        return conn.execute("select count(*) from authors").fetchone()[0]

    assert await db.execute_write_fn(fn) == 3
    assert await count_rows(db, "authors") == 3


@pytest.mark.asyncio
async def test_execute_write_fn_reraises(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")

    class Boom(Exception):
        pass

    def fn(conn):
        raise Boom("inside the write thread")

    with pytest.raises(Boom, match="inside the write thread"):
        await db.execute_write_fn(fn)
    # The write thread survives a failing task.
    await db.execute_write("insert into authors (name) values ('After')")
    assert await count_rows(db, "authors") == 3


@pytest.mark.asyncio
async def test_execute_write_integrity_error(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        await db.execute_write("insert into authors (id, name) values (1, 'Dup')")
    assert (await db.execute("select name from authors where id = 1")).single_value() == (
        "Ada"
    )
    assert await count_rows(db, "authors") == 2


@pytest.mark.asyncio
async def test_execute_write_many_failure_writes_nothing(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute_write_many(
            "insert into authors (id, name) values (?, ?)",
            [(10, "ten"), (11, "eleven"), (1, "duplicate"), (12, "twelve")],
        )
    assert await count_rows(db, "authors") == 2


@pytest.mark.asyncio
async def test_execute_write_script_error_reraised(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    with pytest.raises(sqlite3.OperationalError, match="syntax"):
        await db.execute_write_script("create table ok (x); this is not sql;")


@pytest.mark.asyncio
async def test_write_to_immutable_database_raises(make_ds, db_path):
    db = make_ds(immutables=[str(db_path)]).get_database("sample")
    with pytest.raises(AssertionError):
        await asyncio.wait_for(
            db.execute_write("insert into authors (name) values ('x')"),
            HANG_GUARD_SECONDS,
        )


@pytest.mark.asyncio
async def test_mutable_size_follows_the_file(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    before = db.size
    await db.execute_write_many(
        "insert into authors (name) values (?)", ([("x" * 1000)] for _ in range(200))
    )
    assert db.size > before
    assert db.size == db_path.stat().st_size


# -- one write thread per database ------------------------------------------------------


@pytest.mark.asyncio
async def test_all_writes_run_on_one_thread(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    loop_thread = threading.get_ident()
    idents = [await db.execute_write_fn(lambda conn: threading.get_ident()) for _ in range(20)]
    assert len(set(idents)) == 1
    assert idents[0] != loop_thread
    assert db.write_thread is not None
    assert db.write_thread.ident == idents[0]


@pytest.mark.asyncio
async def test_concurrent_writes_run_on_one_thread(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")

    def fn(conn):
        with conn:
            conn.execute("insert into authors (name) values ('c')")
        return threading.get_ident()

    idents = await asyncio.gather(*(db.execute_write_fn(fn) for _ in range(20)))
    assert len(set(idents)) == 1
    assert idents[0] != threading.get_ident()
    assert await count_rows(db, "authors") == 22


@pytest.mark.asyncio
async def test_each_database_has_its_own_write_thread(make_ds, db_path, tmp_path):
    other_path = tmp_path / "other.db"
    other_path.write_bytes(db_path.read_bytes())
    ds = make_ds([db_path, other_path])
    first = await ds.get_database("sample").execute_write_fn(lambda c: threading.get_ident())
    second = await ds.get_database("other").execute_write_fn(lambda c: threading.get_ident())
    assert first != second


@pytest.mark.asyncio
async def test_writes_run_in_submission_order(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    await db.execute_write("create table log (id integer primary key, n integer)")
    for n in range(20):
        await db.execute_write("insert into log (n) values (?)", [n], block=False)
    ordered = await db.execute_write_fn(
        lambda conn: [row[0] for row in conn.execute("select n from log order by id")]
    )
    assert ordered == list(range(20))


# -- block=False --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_block_false_returns_uuid_and_write_happens(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    task_id = await db.execute_write(
        "insert into authors (name) values (?)", ["Later"], block=False
    )
    assert isinstance(task_id, uuid.UUID)

    async def written():
        return await count_rows(db, "authors") == 3

    assert await poll(written)


@pytest.mark.asyncio
async def test_block_false_ids_are_uuids_for_every_method(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    ids = [
        await db.execute_write_fn(lambda conn: 1, block=False),
        await db.execute_write_script("create table s (x);", block=False),
        await db.execute_write("insert into authors (name) values ('w')", block=False),
    ]
    assert all(isinstance(task_id, uuid.UUID) for task_id in ids)

    async def done():
        return await db.table_exists("s") and await count_rows(db, "authors") == 3

    assert await poll(done)


@pytest.mark.asyncio
async def test_execute_write_many_block_false_returns_uuid(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    task_id = await db.execute_write_many(
        "insert into authors (name) values (?)", [["x"], ["y"]], block=False
    )
    assert isinstance(task_id, uuid.UUID)

    async def written():
        return await count_rows(db, "authors") == 4

    assert await poll(written)


@pytest.mark.asyncio
async def test_block_false_failure_is_logged(make_ds, db_path, caplog):
    caplog.set_level(logging.ERROR, logger="datasette.writer")
    db = make_ds([db_path]).get_database("sample")
    task_id = await db.execute_write(
        "insert into authors (id, name) values (1, 'Dup')", block=False
    )
    assert isinstance(task_id, uuid.UUID)

    def failure_records():
        return [
            r
            for r in caplog.records
            if r.name == "datasette.writer" and r.levelno == logging.ERROR
        ]

    async def logged():
        return bool(failure_records())

    assert await poll(logged)
    record = failure_records()[0]
    message = record.getMessage()
    assert str(task_id) in message
    assert "UNIQUE" in message or (
        record.exc_info and isinstance(record.exc_info[1], sqlite3.IntegrityError)
    )
    assert await count_rows(db, "authors") == 2


# -- event loops, connection failures, shutdown -----------------------------------------


def test_writes_from_several_event_loops(make_ds, db_path):
    ds = make_ds([db_path])
    db = ds.get_database("sample")

    async def write_and_read(i):
        await db.execute_write("insert into authors (name) values (?)", [f"loop{i}"])
        await db.execute_write_fn(lambda conn: conn.execute("select 1").fetchone())
        return await count_rows(db, "authors")

    counts = [asyncio.run(write_and_read(i)) for i in range(3)]
    assert counts == [3, 4, 5]


def test_writes_from_two_event_loops_at_the_same_time(make_ds, db_path):
    ds = make_ds([db_path])
    db = ds.get_database("sample")
    errors = []

    def run_loop(tag):
        async def writes():
            for i in range(25):
                await db.execute_write(
                    "insert into authors (name) values (?)", [f"{tag}{i}"]
                )

        try:
            asyncio.run(writes())
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run_loop, args=(tag,)) for tag in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_GUARD_SECONDS)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert asyncio.run(count_rows(db, "authors")) == 52


@pytest.mark.asyncio
async def test_cancelled_caller_does_not_break_the_write_thread(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    gate = threading.Event()
    await db.execute_write_fn(lambda conn: gate.wait(HANG_GUARD_SECONDS), block=False)
    pending = asyncio.ensure_future(
        db.execute_write("insert into authors (name) values ('cancelled caller')")
    )
    await asyncio.sleep(0.05)
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    gate.set()
    # The queued write still runs, and the thread goes on serving new writes.
    await asyncio.wait_for(
        db.execute_write("insert into authors (name) values ('next')"), HANG_GUARD_SECONDS
    )
    names = [r[0] for r in await db.execute("select name from authors order by id")]
    assert names == ["Ada", "Grace", "cancelled caller", "next"]
    assert db.write_thread.is_alive()


@pytest.mark.asyncio
async def test_write_connection_error_returned_to_every_task(make_ds, db_path, monkeypatch):
    db = make_ds([db_path]).get_database("sample")
    original_connect = db.connect

    def connect(write=False):
        if write:
            raise sqlite3.OperationalError("write connection refused for test")
        return original_connect(write=write)

    monkeypatch.setattr(db, "connect", connect)
    for sql in ("insert into authors (name) values ('a')", "delete from authors"):
        with pytest.raises(sqlite3.OperationalError, match="refused for test"):
            await asyncio.wait_for(db.execute_write(sql), HANG_GUARD_SECONDS)
    with pytest.raises(sqlite3.OperationalError, match="refused for test"):
        await asyncio.wait_for(
            db.execute_write_fn(lambda conn: None), HANG_GUARD_SECONDS
        )
    assert await count_rows(db, "authors") == 2


@pytest.mark.asyncio
async def test_unopenable_database_file_errors_instead_of_hanging(make_ds, tmp_path):
    ds = make_ds()
    missing = tmp_path / "no_such_folder" / "gone.db"
    db = ds.add_database(Database(ds, path=str(missing)), name="gone")
    for _ in range(3):
        with pytest.raises(sqlite3.OperationalError):
            await asyncio.wait_for(
                db.execute_write("create table t (x)"), HANG_GUARD_SECONDS
            )


@pytest.mark.asyncio
async def test_close_stops_write_threads(make_ds, db_path):
    ds = make_ds([db_path])
    db = ds.get_database("sample")
    internal = ds.get_internal_database()
    await db.execute_write("insert into authors (name) values ('x')")
    await internal.execute_write("create table if not exists myplugin_x (id integer)")
    threads = [db.write_thread, internal.write_thread]
    assert all(t is not None and t.is_alive() for t in threads)
    ds.close()
    assert not any(t.is_alive() for t in threads)


@pytest.mark.asyncio
async def test_remove_database_stops_its_write_thread(make_ds, db_path):
    ds = make_ds([db_path])
    db = ds.get_database("sample")
    await db.execute_write("insert into authors (name) values ('x')")
    thread = db.write_thread
    assert thread.is_alive()
    ds.remove_database("sample")
    assert not thread.is_alive()
