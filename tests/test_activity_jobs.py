"""The job ledger: status, coalesced progress, leases, recovery after a crash, resuming."""

import asyncio
import datetime
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from .conftest import free_port


async def job_row(ds, job_id):
    return await ds.jobs.get(job_id)


async def wait_for(predicate, timeout=20):
    """Poll `predicate` (async) until truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


# -- starting, progress and the end of a job -------------------------------------------------


@pytest.mark.asyncio
async def test_start_writes_a_running_row(make_ds):
    ds = make_ds()
    job = await ds.jobs.start(
        "import", "Import things", database="db", resource="t", total=10,
        actor={"id": "alice"},
    )
    row = await job_row(ds, job.id)
    assert row["status"] == "running"
    assert (row["kind"], row["title"], row["database_name"], row["resource"]) == (
        "import", "Import things", "db", "t",
    )
    assert (row["done"], row["total"], row["actor_id"]) == (0, 10, "alice")
    assert json.loads(row["actor"]) == {"id": "alice"}
    assert row["lease_owner"] == ds.jobs.owner
    assert row["lease_expires_at"] > row["created_at"]
    assert row["finished_at"] is None
    await job.finish()


@pytest.mark.asyncio
async def test_async_with_finishes_and_writes_final_progress(make_ds):
    ds = make_ds()
    async with await ds.jobs.start("count", "Counting", total=500) as job:
        for _ in range(500):
            await job.advance(message="counting")
    row = await job_row(ds, job.id)
    assert (row["status"], row["done"], row["message"]) == ("done", 500, "counting")
    assert row["finished_at"] is not None
    assert row["lease_owner"] is None


@pytest.mark.asyncio
async def test_exception_in_async_with_fails_the_job_and_propagates(make_ds):
    ds = make_ds()
    with pytest.raises(ValueError):
        async with await ds.jobs.start("count", "Counting") as job:
            await job.advance(2)
            raise ValueError("bad input on line 3")
    row = await job_row(ds, job.id)
    assert row["status"] == "failed"
    assert row["message"] == "ValueError: bad input on line 3"
    assert row["done"] == 2


@pytest.mark.asyncio
async def test_explicit_fail_and_no_second_ending(make_ds):
    ds = make_ds()
    job = await ds.jobs.start("count", "Counting")
    await job.fail("disk full")
    row = await job_row(ds, job.id)
    assert (row["status"], row["message"]) == ("failed", "disk full")
    with pytest.raises(RuntimeError):
        await job.finish()
    with pytest.raises(RuntimeError):
        await job.advance()


@pytest.mark.asyncio
async def test_bad_arguments_are_type_errors(make_ds):
    ds = make_ds()
    with pytest.raises(TypeError):
        await ds.jobs.start("", "no kind")
    with pytest.raises(TypeError):
        await ds.jobs.start("k", "t", total=-1)
    job = await ds.jobs.start("k", "t")
    with pytest.raises(TypeError):
        await job.advance(state={"f": object()})
    await job.finish()


async def count_job_updates(ds):
    """Count UPDATEs of `jobs` with a trigger in the internal database itself."""

    def install(conn):
        with conn:
            conn.execute("create table if not exists test_job_writes (n integer)")
            conn.execute(
                "create trigger if not exists test_count_job_writes after update on jobs "
                "begin insert into test_job_writes values (1); end"
            )

    await ds.get_internal_database().execute_write_fn(install)

    async def count():
        results = await ds.get_internal_database().execute(
            "select count(*) from test_job_writes"
        )
        return results.single_value()

    return count


@pytest.mark.asyncio
async def test_a_tight_loop_is_coalesced_into_few_writes(make_ds):
    ds = make_ds()
    writes = await count_job_updates(ds)
    ds.jobs.progress_interval = 3600  # nothing but the final write may happen
    async with await ds.jobs.start("tight", "Tight loop", total=5000) as job:
        for _ in range(5000):
            await job.advance()
    assert await writes() == 1
    assert (await job_row(ds, job.id))["done"] == 5000


@pytest.mark.asyncio
async def test_without_coalescing_every_advance_would_write(make_ds):
    # The counterpart of the test above: the trigger does count progress writes.
    ds = make_ds()
    writes = await count_job_updates(ds)
    ds.jobs.progress_interval = 0
    async with await ds.jobs.start("tight", "Tight loop") as job:
        for _ in range(20):
            await job.advance()
    assert await writes() == 21


@pytest.mark.asyncio
async def test_a_skipped_progress_write_is_caught_up_by_the_timer(make_ds):
    ds = make_ds()
    ds.jobs.progress_interval = 0.05
    job = await ds.jobs.start("slow", "Slow", total=3)
    await job.advance(message="first step")  # too soon after start: deferred

    async def written():
        row = await job_row(ds, job.id)
        return row["done"] == 1 and row["message"] == "first step"

    await wait_for(written)
    await job.finish()


@pytest.mark.asyncio
async def test_the_heartbeat_renews_the_lease(make_ds):
    ds = make_ds()
    ds.jobs.lease_seconds = 0.3
    job = await ds.jobs.start("idle", "Idle")
    first = (await job_row(ds, job.id))["lease_expires_at"]

    async def renewed():
        return (await job_row(ds, job.id))["lease_expires_at"] > first

    await wait_for(renewed)
    await job.finish()
    assert ds.jobs.running == {}


# -- recovery and resuming -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_job_left_running_by_another_process_is_interrupted(make_ds, tmp_path):
    internal = str(tmp_path / "internal.db")
    first = make_ds(internal=internal)
    first.jobs.progress_interval = 0
    job = await first.jobs.start("import", "Left behind", total=10)
    await job.advance(4, message="four done")
    first.close()  # its process "ends" without finishing the job

    second = make_ds(internal=internal)
    await second.invoke_startup()
    row = await job_row(second, job.id)
    assert row["status"] == "interrupted"
    assert (row["done"], row["total"], row["message"]) == (4, 10, "four done")
    assert row["finished_at"] is not None and row["lease_owner"] is None


@pytest.mark.asyncio
async def test_an_expired_lease_is_interrupted_but_a_live_one_is_not(make_ds):
    ds = make_ds()
    live = await ds.jobs.start("k", "live")
    past = "2000-01-01T00:00:00.000000Z"

    def expire(conn):
        with conn:
            conn.execute(
                "insert into jobs (kind, title, status, created_at, updated_at, lease_owner,"
                " lease_expires_at) values ('k', 'expired', 'running', ?, ?, ?, ?)",
                [past, past, ds.jobs.owner, past],
            )

    await ds.get_internal_database().execute_write_fn(expire)
    interrupted = await ds.jobs.recover()
    assert len(interrupted) == 1
    assert (await job_row(ds, interrupted[0]))["status"] == "interrupted"
    assert (await job_row(ds, live.id))["status"] == "running"
    await live.finish()


@pytest.mark.asyncio
async def test_a_registered_kind_resumes_from_its_checkpoint(make_ds, tmp_path):
    internal = str(tmp_path / "internal.db")
    first = make_ds(internal=internal)
    first.jobs.progress_interval = 0
    job = await first.jobs.start("resumable", "Resume me", total=6)
    await job.advance(2, state={"next_line": 3})
    first.close()

    seen = {}

    async def resume(datasette, job):
        seen["state"], seen["done"] = job.state, job.done
        while job.done < job.total:
            await job.advance()

    second = make_ds(internal=internal)
    second.jobs.register_resume("resumable", resume)
    await second.invoke_startup()
    await second.jobs.wait_for_resumed()
    row = await job_row(second, job.id)
    assert seen == {"state": {"next_line": 3}, "done": 2}
    assert (row["status"], row["done"], row["resumed"]) == ("done", 6, 1)


@pytest.mark.asyncio
async def test_a_resume_that_raises_fails_the_job(make_ds, tmp_path):
    internal = str(tmp_path / "internal.db")
    first = make_ds(internal=internal)
    job = await first.jobs.start("fragile", "Fragile")
    first.close()

    async def resume(datasette, job):
        raise RuntimeError("source file is gone")

    second = make_ds(internal=internal)
    second.jobs.register_resume("fragile", resume)
    await second.invoke_startup()
    await second.jobs.wait_for_resumed()
    row = await job_row(second, job.id)
    assert (row["status"], row["message"]) == ("failed", "RuntimeError: source file is gone")


@pytest.mark.asyncio
async def test_a_job_is_not_resumed_forever(make_ds, tmp_path):
    internal = str(tmp_path / "internal.db")
    first = make_ds(internal=internal)
    await first.jobs.start("crashy", "Crashes every time")
    first.close()
    calls = []

    async def resume(datasette, job):
        calls.append(job.id)
        await asyncio.Event().wait()  # never finishes: the "process" dies first

    for _ in range(5):
        ds = make_ds(internal=internal)
        ds.jobs.register_resume("crashy", resume)
        await ds.invoke_startup()

        async def resuming_done(ds=ds):
            return ds.jobs._resume_task is not None and ds.jobs._resume_task.done()

        await wait_for(resuming_done)
        await asyncio.sleep(0)  # let a resumed job's task reach its first await
        for task in list(ds.jobs._tasks):
            task.cancel()
        await asyncio.gather(*ds.jobs._tasks, return_exceptions=True)
        ds.close()
    assert len(calls) == ds.jobs.max_resumes


# -- retention of finished jobs --------------------------------------------------------------


@pytest.mark.asyncio
async def test_retention_removes_only_finished_jobs_past_the_limits(make_ds):
    ds = make_ds(settings={"jobs_max_age_days": 30, "jobs_max_rows": 3})
    old, recent = "2026-10-01T00:00:00.000000Z", "2026-12-06T00:00:00.000000Z"
    rows = [
        ("done", old), ("failed", old), ("running", old),  # old: 2 finished go, running stays
        ("done", recent), ("interrupted", recent), ("done", recent), ("failed", recent),
    ]

    def insert(conn):
        with conn:
            conn.executemany(
                "insert into jobs (kind, title, status, created_at, updated_at, finished_at)"
                " values ('k', ?, ?, ?, ?, ?)",
                [
                    (f"j{i}", status, when, when, None if status == "running" else when)
                    for i, (status, when) in enumerate(rows)
                ],
            )

    await ds.get_internal_database().execute_write_fn(insert)
    now = datetime.datetime(2026, 12, 7, tzinfo=datetime.timezone.utc)
    removed = await ds.activity.enforce_retention(now=now)
    left = await ds.get_internal_database().execute("select title from jobs order by id")
    # Age removes j0, j1; the row limit keeps the 3 newest finished (j4, j5, j6), so j3
    # goes too; the running j2 is never removed.
    assert [r["title"] for r in left.rows] == ["j2", "j4", "j5", "j6"]
    assert removed["jobs"] == 3


# -- a real server killed with SIGKILL -------------------------------------------------------

SLOW_JOBS_PLUGIN = textwrap.dedent(
    '''
    import asyncio
    from datasette import hookimpl, Response


    async def count_slowly(job, delay):
        while job.done < job.total:
            await job.advance(message=f"step {job.done + 1}")
            await asyncio.sleep(delay)


    async def resume_counting(datasette, job):
        await count_slowly(job, 0.01)


    @hookimpl
    def startup(datasette):
        datasette.jobs.progress_interval = 0.05
        datasette.jobs.register_resume("resumable-count", resume_counting)


    @hookimpl
    def permission_allowed(action):
        if action == "view-jobs":
            return True


    async def start(datasette, request):
        kind = request.args.get("kind")
        job = await datasette.jobs.start(kind, f"Counting ({kind})", total=100)

        async def run():
            async with job:
                await count_slowly(job, 0.2)

        datasette._test_task = asyncio.ensure_future(run())
        return Response.json({"id": job.id})


    @hookimpl
    def register_routes():
        return [(r"^/-/start-job$", start)]
    '''
)


class ServerProcess:
    """`python -m datasette serve --internal FILE` in a subprocess."""

    def __init__(self, tmp_path, internal, plugins_dir, label):
        self.port = free_port()
        self.log = open(tmp_path / f"{label}.log", "wb")
        self.log_path = tmp_path / f"{label}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "datasette", "serve", "--internal", str(internal),
             "--port", str(self.port), "--plugins-dir", str(plugins_dir)],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=str(tmp_path),
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_until_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(self.url + "/-/versions.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not start:\n" + self.log_path.read_text())

    def kill(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()


def jobs_json(server):
    response = httpx.get(server.url + "/-/jobs.json", timeout=5)
    assert response.status_code == 200, response.text
    return {row["id"]: row for row in response.json()["rows"]}


def poll(fn, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_mid_job_reads_interrupted_and_a_resumable_job_finishes(tmp_path):
    plugins_dir = tmp_path / "plugins"
    plugins_dir.mkdir()
    (plugins_dir / "slow_jobs.py").write_text(SLOW_JOBS_PLUGIN)
    internal = tmp_path / "internal.db"
    first = ServerProcess(tmp_path, internal, plugins_dir, "first")
    try:
        first.wait_until_ready()
        plain = httpx.get(first.url + "/-/start-job?kind=plain-count").json()["id"]
        resumable = httpx.get(first.url + "/-/start-job?kind=resumable-count").json()["id"]
        poll(lambda: all(jobs_json(first)[i]["done"] >= 3 for i in (plain, resumable)))
    finally:
        first.kill()
    killed_at = {i: row["done"] for i, row in jobs_json_after_restart(tmp_path).items()}

    second = ServerProcess(tmp_path, internal, plugins_dir, "second")
    try:
        second.wait_until_ready()
        rows = poll(lambda: (lambda r: r if r[resumable]["status"] == "done" else None)(
            jobs_json(second)
        ))
    finally:
        second.kill()
    assert rows[plain]["status"] == "interrupted"
    assert rows[plain]["done"] == killed_at[plain]
    assert 3 <= rows[plain]["done"] < 100
    assert rows[plain]["message"] == f"step {rows[plain]['done']}"
    assert rows[resumable]["done"] == 100
    assert rows[resumable]["resumed"] == 1


def jobs_json_after_restart(tmp_path):
    """The rows as the killed process left them, read straight from the file."""
    import sqlite3

    conn = sqlite3.connect(str(tmp_path / "internal.db"))
    conn.row_factory = sqlite3.Row
    try:
        rows = {row["id"]: dict(row) for row in conn.execute("select * from jobs")}
    finally:
        conn.close()
    assert all(row["status"] == "running" for row in rows.values())
    return rows
