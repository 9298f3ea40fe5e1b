"""The background indexer: resuming (in process, and after SIGKILL of a real server),
staying current after writes, immutable files, and progress in the job ledger."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from datasette.internal.stats import get_indexer, indexer as indexer_module, table_statistics
from datasette.internal.stats import store

from .conftest import free_port


def make_big_db(path, rows):
    conn = sqlite3.connect(str(path))
    conn.execute(
        "create table big (id integer primary key, category text, amount real, note text, day text)"
    )
    conn.executemany(
        "insert into big (category, amount, note, day) values (?, ?, ?, ?)",
        (
            (
                ["red", "green", "blue", None][i % 4],
                (i * 37) % 1009 / 4,
                f"note {i % 1500}" if i % 5 else None,
                f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
            )
            for i in range(rows)
        ),
    )
    conn.execute("create table small (id integer primary key, name text)")
    conn.executemany("insert into small (name) values (?)", [("a",), ("b",), ("b",)])
    conn.commit()
    conn.close()
    return path


def comparable(stats):
    """Statistics without the times that differ between runs."""
    return {k: v for k, v in stats.items() if k not in ("indexed_at",)}


async def uninterrupted(make_ds, path, table):
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    await get_indexer(ds).run_until_idle()
    return comparable(await table_statistics(ds, path.stem, table, top_values=10_000))


async def table_row(ds, table):
    internal = ds.get_internal_database()
    rows = await internal.execute_fn(store.tables_state)
    return {r["table"]: r for r in rows}[table]


@pytest.mark.asyncio
async def test_resume_from_checkpoint_gives_the_same_result(make_ds, tmp_path, monkeypatch):
    path = make_big_db(tmp_path / "data.db", 5000)
    internal = tmp_path / "internal.db"
    monkeypatch.setattr(indexer_module, "CHECKPOINT_SECONDS", 0)
    first = make_ds([str(path)], internal=str(internal))
    await first.invoke_startup()
    indexer = get_indexer(first)
    indexer.fixed_batch_rows = 300
    await indexer.discover(at_start=True)
    for _ in range(6):  # small (3 rows, done) is after big: big is part-way
        assert await indexer.step(pause=False)
    state = await table_row(first, "big")
    assert state["state"] == "indexing"
    first.close()

    second = make_ds([str(path)], internal=str(internal))
    await second.invoke_startup()
    again = get_indexer(second)
    again.fixed_batch_rows = 300
    await again.run_until_idle()
    internal_db = second.get_internal_database()
    resumed_from = await internal_db.execute_fn(
        lambda c: c.execute(
            "select resumed_from from stats_tables where table_name = 'big'"
        ).fetchone()[0]
    )
    # Six batches of 300 were checkpointed: the second run started at row 1800.
    assert json.loads(resumed_from) == [["n", 1800]]
    got = comparable(await table_statistics(second, "data", "big", top_values=10_000))
    assert got == await uninterrupted(make_ds, path, "big")


@pytest.mark.asyncio
async def test_writes_flag_stale_and_min_max_are_recomputed(make_ds, tmp_path):
    path = make_big_db(tmp_path / "data.db", 200)
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    indexer = get_indexer(ds)
    await indexer.run_until_idle()
    db = ds.get_database("data")
    before = await table_statistics(ds, "data", "small")
    assert before["columns"][1]["max_value"] == "b"
    # A write through this server (the write thread) deleting the current maximum.
    await db.execute_write("delete from small where name = 'b'")
    # Before the indexer has looked: already reported as stale, never as current.
    early = (await ds.client.get("/data/small/-/stats.json")).json()
    assert early["state"] == "done" and early["stale"] is True
    await indexer.poll_changes()
    flagged = (await ds.client.get("/data/small/-/stats.json")).json()
    assert flagged["stale"] is True and flagged["state"] == "queued"
    await indexer.run_until_idle()
    after = await table_statistics(ds, "data", "small")
    assert after["stale"] is False and after["row_count"] == 1
    assert after["columns"][1]["max_value"] == "a"
    # A write by another process is noticed too.
    conn = sqlite3.connect(str(path))
    conn.execute("insert into small (name) values ('zz')")
    conn.commit()
    conn.close()
    await indexer.run_until_idle()
    latest = await table_statistics(ds, "data", "small")
    assert latest["row_count"] == 2 and latest["columns"][1]["max_value"] == "zz"


@pytest.mark.asyncio
async def test_schema_changes_add_and_forget_tables(make_ds, tmp_path):
    path = make_big_db(tmp_path / "data.db", 10)
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    indexer = get_indexer(ds)
    await indexer.run_until_idle()
    db = ds.get_database("data")
    await db.execute_write_script(
        "create table fresh (x); insert into fresh values (1); drop table small;"
    )
    await indexer.run_until_idle()
    assert (await table_statistics(ds, "data", "fresh"))["row_count"] == 1
    assert await table_statistics(ds, "data", "small") is None


@pytest.mark.asyncio
async def test_immutable_indexed_once_mutable_again_if_changed_while_down(make_ds, tmp_path):
    frozen = make_big_db(tmp_path / "frozen.db", 20)
    live = make_big_db(tmp_path / "live.db", 20)
    internal = str(tmp_path / "internal.db")
    first = make_ds([str(live)], immutables=[str(frozen)], internal=internal)
    await first.invoke_startup()
    await get_indexer(first).run_until_idle()
    indexed = {
        (r["database"], r["table"]): r["indexed_at"]
        for r in await first.get_internal_database().execute_fn(store.tables_state)
    }
    assert len(indexed) == 4
    first.close()
    conn = sqlite3.connect(str(live))
    conn.execute("insert into small (name) values ('c')")
    conn.commit()
    conn.close()
    time.sleep(0.01)  # a distinct modification time for the changed file
    second = make_ds([str(live)], immutables=[str(frozen)], internal=internal)
    await second.invoke_startup()
    indexer = get_indexer(second)
    await indexer.discover(at_start=True)
    rows = {
        (r["database"], r["table"]): r
        for r in await second.get_internal_database().execute_fn(store.tables_state)
    }
    assert rows[("frozen", "big")]["state"] == "done"
    assert rows[("frozen", "small")]["state"] == "done"
    assert rows[("live", "small")]["state"] == "queued"
    assert rows[("live", "small")]["stale"] == 1
    await indexer.run_until_idle()
    rows = {
        (r["database"], r["table"]): r
        for r in await second.get_internal_database().execute_fn(store.tables_state)
    }
    assert rows[("frozen", "big")]["indexed_at"] == indexed[("frozen", "big")]
    assert rows[("live", "small")]["row_count"] == 4


@pytest.mark.asyncio
async def test_progress_is_a_job(make_ds, tmp_path):
    path = make_big_db(tmp_path / "data.db", 50)
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    if getattr(ds, "jobs", None) is None:
        pytest.skip("no job ledger in this build")
    await get_indexer(ds).run_until_idle()
    internal = ds.get_internal_database()
    jobs = await internal.execute_fn(
        lambda c: c.execute(
            "select resource, status, done, total from jobs where kind = 'column-stats' "
            "order by resource"
        ).fetchall()
    )
    assert [tuple(j) for j in jobs] == [("big", "done", 50, 50), ("small", "done", 3, 3)]


# -- a real server, killed -------------------------------------------------------------------

START_TIMEOUT = 30


class Server:
    """`python -m datasette serve` on a free port, output kept in files."""

    def __init__(self, tmp_path, db_path, internal, label):
        self.port = free_port()
        self.log = open(tmp_path / f"{label}.log", "wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "datasette",
                "serve",
                str(db_path),
                "--internal",
                str(internal),
                "--port",
                str(self.port),
                "-s",
                "settings.column_stats_batch_ms",
                "5",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=str(tmp_path),
        )

    def wait_until_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                url = f"http://127.0.0.1:{self.port}/-/versions.json"
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def get(self, path):
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=10)

    def kill(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()


def read_state(internal, table):
    conn = sqlite3.connect(f"file:{internal}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute(
            "select state, position, resumed_from from stats_tables where table_name = ?",
            (table,),
        ).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return row


def wait_for(condition, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


@pytest.mark.slow
@pytest.mark.asyncio
async def test_resumes_after_sigkill_with_the_same_result(make_ds, tmp_path):
    path = make_big_db(tmp_path / "data.db", 200_000)
    internal = tmp_path / "internal.db"
    first = Server(tmp_path, path, internal, "first")
    try:
        first.wait_until_ready()
        # Wait for a checkpoint part-way through the big table, then kill the server.
        row = wait_for(
            lambda: (lambda r: r if r and r[0] == "indexing" and r[1] else None)(
                read_state(internal, "big")
            )
        )
        checkpointed = json.loads(row[1])[0][1]
    finally:
        first.kill()
    assert first.process.returncode == -signal.SIGKILL
    state, position, _ = read_state(internal, "big")
    assert state == "indexing" and json.loads(position)[0][1] >= checkpointed

    second = Server(tmp_path, path, internal, "second")
    try:
        second.wait_until_ready()
        wait_for(lambda: second.get("/data/big/-/stats.json").json()["state"] == "done")
        served = second.get("/data/big/-/stats.json").json()
    finally:
        second.kill()
    state, _, resumed_from = read_state(internal, "big")
    assert state == "done"
    # It carried on from the last checkpoint, not from the start.
    assert json.loads(resumed_from)[0][1] >= checkpointed > 0

    # The same statistics as a run that was never interrupted.
    reference = await uninterrupted(make_ds, path, "big")
    assert served["row_count"] == reference["row_count"] == 200_000
    for got, expected in zip(served["columns"], reference["columns"]):
        assert got["name"] == expected["name"]
        assert got["null_count"] == expected["null_count"]
        assert got["distinct_count"] == expected["distinct_count"]
        assert got["distinct_exact"] == expected["distinct_exact"]
        assert got["min"] == expected["min_value"] and got["max"] == expected["max_value"]
        assert got["types"]["text"] == expected["text_count"]
        assert got["types"]["date"] == expected["date_count"]
        assert got["avg_text_length"] == pytest.approx(expected["avg_text_length"])
        assert got["max_text_length"] == expected["max_text_length"]
        if expected["values"] is None:
            assert got["values"] is None
        else:
            assert got["values"] == expected["values"][:10]
