"""Group commit on the write thread (datasette/writer.py, issue 15 lever 4).

Write-API requests queued at the same moment share one transaction, each in its own
savepoint, and one commit; each is answered only after that commit. A request that fails
is refused on its own and the others commit. Tasks that manage their own transactions
(`execute_write_fn`, `execute_write`, VACUUM) never join a group.

To make a group form for certain, the write thread is held busy by a task that waits on an
event while the requests queue up behind it (`Database.write_stats()["queued"]` says when
they are all there), then released.
"""

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

from datasette.internal.stats import get_indexer
from datasette.writer import WriteThread

from .conftest import free_port
from .test_column_stats_incremental import check_all, column_stats_jobs, make_db

SCHEMA = """
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, value REAL);
INSERT INTO items (name, value) VALUES ('taken', 0);
CREATE TABLE strict (id INTEGER PRIMARY KEY, name TEXT);
CREATE TRIGGER strict_no_bad BEFORE INSERT ON strict WHEN NEW.name = 'bad'
BEGIN SELECT RAISE(ROLLBACK, 'no bad names'); END;
CREATE TABLE parent (id INTEGER PRIMARY KEY);
INSERT INTO parent VALUES (1);
CREATE TABLE child (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED
);
"""
ROOT = {"id": "root"}
SECRET = "group-commit-secret"


@pytest.fixture
def data_path(tmp_path):
    path = tmp_path / "data.db"
    conn = sqlite3.connect(str(path))
    conn.executescript(SCHEMA)
    conn.close()
    return path


@pytest.fixture
def ds(make_ds, data_path):
    # Threads even under --no-threads: grouping happens on the write thread.
    return make_ds([str(data_path)], settings={"num_sql_threads": 3})


def on_disk(path, sql):
    """Rows read by a separate connection: what is committed."""
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def insert(ds, table, row):
    return await ds.client.post(
        f"/data/{table}/-/insert",
        json={"row": row},
        cookies={"ds_actor": ds.client.actor_cookie(ROOT)},
    )


class HeldWriter:
    """Keeps a database's write thread busy until `release()`, so tasks queue behind it."""

    def __init__(self, db):
        self.db = db
        self.started = threading.Event()
        self.gate = threading.Event()
        self.task = None

    async def __aenter__(self):
        def wait(conn):
            self.started.set()
            assert self.gate.wait(30), "held too long"

        self.task = asyncio.ensure_future(self.db.execute_write_fn(wait))
        while not self.started.is_set():
            await asyncio.sleep(0.005)
        return self

    async def until_queued(self, count):
        """Wait (up to 30 s) until `count` tasks wait behind the held one."""
        for _ in range(6000):
            if self.db.write_stats["queued"] >= count:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"only {self.db.write_stats['queued']} tasks queued")

    async def queue_in_order(self, works):
        """Start each awaitable once the one before it has queued its task, so they
        queue in the order given; their futures."""
        futures = []
        for work in works:
            futures.append(asyncio.ensure_future(work))
            await self.until_queued(len(futures))
        return futures

    def release(self):
        self.gate.set()

    async def __aexit__(self, *exc):
        self.gate.set()
        await self.task


@pytest.mark.asyncio
async def test_fifty_concurrent_inserts_land_in_one_commit(ds, data_path):
    db = ds.get_database("data")
    async with HeldWriter(db) as held:
        requests = [
            asyncio.ensure_future(insert(ds, "items", {"name": f"n{i}", "value": i}))
            for i in range(50)
        ]
        await held.until_queued(50)
        held.release()
        responses = await asyncio.gather(*requests)
    assert [r.status_code for r in responses] == [201] * 50
    assert sorted(r.json()["rows"][0]["name"] for r in responses) == sorted(
        f"n{i}" for i in range(50)
    )
    assert on_disk(data_path, "select count(*) from items") == [(51,)]
    stats = db.write_stats
    assert (stats["commits"], stats["tasks"], stats["largest"]) == (1, 50, 50)


@pytest.mark.asyncio
async def test_a_lone_write_is_its_own_group(ds, data_path):
    response = await insert(ds, "items", {"name": "alone"})
    assert response.status_code == 201
    assert on_disk(data_path, "select name from items where name = 'alone'") == [("alone",)]
    stats = ds.get_database("data").write_stats
    assert (stats["commits"], stats["tasks"], stats["largest"]) == (1, 1, 1)


@pytest.mark.asyncio
async def test_a_constraint_violation_is_refused_alone_and_the_others_commit(ds, data_path):
    db = ds.get_database("data")
    names = ["a", "b", "taken", "c", "d"]
    async with HeldWriter(db) as held:
        requests = await held.queue_in_order(insert(ds, "items", {"name": n}) for n in names)
        held.release()
        responses = await asyncio.gather(*requests)
    statuses = dict(zip(names, (r.status_code for r in responses)))
    assert statuses == {"a": 201, "b": 201, "taken": 400, "c": 201, "d": 201}
    assert responses[2].json() == {
        "ok": False,
        "errors": ["UNIQUE constraint failed: items.name"],
    }
    assert on_disk(data_path, "select name from items order by id") == [
        ("taken",), ("a",), ("b",), ("c",), ("d",)
    ]
    assert db.write_stats["largest"] == len(names)


@pytest.mark.asyncio
async def test_a_failure_that_rolls_back_the_transaction_does_not_lose_the_others(
    ds, data_path
):
    # RAISE(ROLLBACK) ends the whole shared transaction, undoing the writes before it:
    # those are run again, and only the bad one is refused.
    db = ds.get_database("data")
    names = ["one", "two", "bad", "three"]
    async with HeldWriter(db) as held:
        requests = await held.queue_in_order(insert(ds, "strict", {"name": n}) for n in names)
        held.release()
        responses = await asyncio.gather(*requests)
    assert [r.status_code for r in responses] == [201, 201, 400, 201]
    assert responses[2].json()["errors"] == ["no bad names"]
    assert [r.json()["rows"][0]["name"] for r in responses if r.status_code == 201] == [
        "one", "two", "three"
    ]
    assert on_disk(data_path, "select name from strict order by id") == [
        ("one",), ("two",), ("three",)
    ]


@pytest.mark.asyncio
async def test_a_deferred_foreign_key_fails_only_its_own_request(ds, data_path):
    # A deferred constraint is checked at COMMIT, which the group shares: each task is
    # then run again with its own commit, so only the one that broke it is refused.
    db = ds.get_database("data")
    await db.execute_write_fn(lambda conn: conn.execute("PRAGMA foreign_keys = ON"))
    parents = [1, 1, 99, 1]
    async with HeldWriter(db) as held:
        requests = await held.queue_in_order(
            insert(ds, "child", {"parent_id": p}) for p in parents
        )
        held.release()
        responses = await asyncio.gather(*requests)
    assert [r.status_code for r in responses] == [201, 201, 400, 201]
    assert responses[2].json()["errors"] == ["FOREIGN KEY constraint failed"]
    assert on_disk(data_path, "select count(*), min(parent_id), max(parent_id) from child") == [
        (3, 1, 1)
    ]


@pytest.mark.asyncio
async def test_tasks_that_manage_their_own_transaction_run_alone(ds, data_path):
    db = ds.get_database("data")
    seen = []

    def grouped(name):
        def fn(conn):
            conn.execute("insert into items (name) values (?)", [name])
            return name

        return fn

    def own_transaction(conn):
        # Not inside a group's transaction: it begins and commits its own.
        seen.append(conn.in_transaction)
        with conn:
            conn.execute("insert into items (name) values ('own')")
        return "own"

    async with HeldWriter(db) as held:
        submitted = await held.queue_in_order([
            db.execute_write_transaction(grouped("g1")),
            db.execute_write_transaction(grouped("g2")),
            db.execute_write("VACUUM"),  # refused by SQLite inside any transaction
            db.execute_write_fn(own_transaction),
            db.execute_write_transaction(grouped("g3")),
            db.execute_write_transaction(grouped("g4")),
        ])
        held.release()
        results = await asyncio.gather(*submitted)
    assert results[0:2] == ["g1", "g2"] and results[3:] == ["own", "g3", "g4"]
    assert seen == [False]
    # Submission order kept: the ungrouped tasks split the groups.
    assert on_disk(data_path, "select name from items where id > 1 order by id") == [
        ("g1",), ("g2",), ("own",), ("g3",), ("g4",)
    ]
    stats = db.write_stats
    assert (stats["commits"], stats["tasks"], stats["largest"]) == (2, 4, 2)


@pytest.mark.asyncio
async def test_a_failed_commit_fails_every_task_of_the_group_and_writes_nothing(
    ds, data_path
):
    db = ds.get_database("data")
    await db.execute_write_fn(lambda conn: conn.execute("PRAGMA busy_timeout = 50"))
    # Another process's open read keeps a rollback-journal database from committing.
    reader = sqlite3.connect(str(data_path), isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("select * from items").fetchall()
    try:
        async with HeldWriter(db) as held:
            requests = [
                asyncio.ensure_future(insert(ds, "items", {"name": f"x{i}"})) for i in range(3)
            ]
            await held.until_queued(3)
            held.release()
            responses = await asyncio.gather(*requests)
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    assert [r.status_code for r in responses] == [400] * 3
    assert all("locked" in r.json()["errors"][0] for r in responses)
    assert on_disk(data_path, "select count(*) from items") == [(1,)]
    # The thread carries on once the lock is gone.
    assert (await insert(ds, "items", {"name": "later"})).status_code == 201
    assert on_disk(data_path, "select count(*) from items") == [(2,)]


@pytest.mark.asyncio
async def test_without_threads_a_write_is_still_all_or_nothing(make_ds, data_path):
    ds = make_ds([str(data_path)], settings={"num_sql_threads": 0})
    ok = await insert(ds, "strict", {"name": "fine"})
    refused = await insert(ds, "strict", {"name": "bad"})
    assert (ok.status_code, refused.status_code) == (201, 400)
    assert on_disk(data_path, "select name from strict") == [("fine",)]


def _serve(path, port, log):
    return subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", str(path), "--port", str(port),
         "--secret", SECRET],
        stdout=log, stderr=subprocess.STDOUT, cwd=str(path.parent),
    )


def _token(cwd):
    done = subprocess.run(
        [sys.executable, "-m", "datasette", "create-token", "root", "--secret", SECRET],
        capture_output=True, text=True, timeout=60, cwd=str(cwd), check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _wait_ready(url, process):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url + "/-/versions.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server did not start")


async def _insert_concurrently(url, token, names):
    """POST each name as its own insert, all at once; the names acknowledged (201)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post("/data/items/-/insert", json={"row": {"name": n}}) for n in names)
        )
    return [n for n, r in zip(names, responses) if r.status_code == 201]


def test_acknowledged_inserts_survive_sigkill(data_path, tmp_path):
    port = free_port()
    token = _token(tmp_path)
    with open(tmp_path / "server.log", "wb") as log:
        process = _serve(data_path, port, log)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, process)
            acknowledged = []
            for burst in range(3):
                names = [f"b{burst}-{i}" for i in range(40)]
                acknowledged += asyncio.run(_insert_concurrently(url, token, names))
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    assert len(acknowledged) == 120, (tmp_path / "server.log").read_text()
    stored = {name for (name,) in on_disk(data_path, "select name from items")}
    assert set(acknowledged) <= stored


@pytest.mark.asyncio
async def test_column_statistics_count_a_rerun_write_once(make_ds, tmp_path):
    # Writes undone by another's RAISE(ROLLBACK) are run again: the column statistics
    # that follow the write API must count their rows once, and not wait on the undone run.
    path = make_db(tmp_path / "data.db")
    conn = sqlite3.connect(str(path))
    conn.execute(
        "CREATE TRIGGER items_no_bad BEFORE INSERT ON items WHEN NEW.name = 'bad' "
        "BEGIN SELECT RAISE(ROLLBACK, 'no bad names'); END"
    )
    conn.close()
    ds = make_ds([str(path)], settings={"column_stats": True, "num_sql_threads": 3})
    await ds.invoke_startup()
    indexer = get_indexer(ds)
    await indexer.run_until_idle()
    headers = {"Authorization": f"Bearer {ds.create_token('root')}"}
    jobs = await column_stats_jobs(ds)
    db = ds.get_database("data")
    names = ["one", "two", "bad", "three"]
    async with HeldWriter(db) as held:
        requests = await held.queue_in_order(
            ds.client.post("/data/items/-/insert", json={"row": {"name": n}}, headers=headers)
            for n in names
        )
        held.release()
        responses = await asyncio.gather(*requests)
    assert [r.status_code for r in responses] == [201, 201, 400, 201]
    await asyncio.wait_for(indexer.poll_changes(), 30)
    await check_all(ds, path, ("items",))
    await indexer.run_until_idle()
    await check_all(ds, path, ("items",), allow_flags=False)
    assert await column_stats_jobs(ds) == jobs


@pytest.mark.asyncio
async def test_a_group_commit_tells_the_schema_version_it_leaves(tmp_path):
    # While a group's COMMIT runs, readers of the file wait for it; the per-request
    # schema check takes the version that commit leaves instead of waiting with them.
    seen = []

    class Watched(sqlite3.Connection):
        def commit(self):
            seen.append(thread.committing_version)
            super().commit()

    path = tmp_path / "watched.db"
    thread = WriteThread(
        lambda: sqlite3.connect(path, factory=Watched, check_same_thread=False), "watched"
    )
    try:
        await thread.submit(lambda conn: conn.execute("create table t (x)"), grouped=True)
        await thread.submit(lambda conn: conn.execute("insert into t values (1)"), grouped=True)
        await thread.submit(lambda conn: conn.execute("create index tx on t(x)"), grouped=True)
    finally:
        thread.stop()
    assert seen == [1, 1, 2]
    assert thread.committing_version is None


@pytest.mark.asyncio
async def test_the_schema_check_during_a_commit_takes_what_the_commit_leaves(
    ds, data_path, monkeypatch
):
    db = ds.get_database("data")
    await insert(ds, "items", {"id": 900, "name": "x"})
    assert db.committing_schema_version() is None  # only while a commit runs
    version = on_disk(data_path, "pragma schema_version")[0][0]
    # Another connection holds the file as a commit does: the probe finds it busy, and a
    # read would wait. With this process's writer "committing", its version answers.
    blocker = sqlite3.connect(data_path, isolation_level=None)
    blocker.execute("begin exclusive")
    writer = db._get_writer()
    writer.committing_version = version

    waited = []
    monkeypatch.setattr(db, "current_schema_version", lambda: waited.append(1) or version)
    try:
        await ds.refresh_schemas()
        assert db.committing_schema_version() == version
    finally:
        writer.committing_version = None
        blocker.execute("rollback")
        blocker.close()
    assert waited == []
