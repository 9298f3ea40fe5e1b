"""The job ledger: long-running work with status, progress and a lease, kept across restarts.

A `Job` lives in the process that runs it and mirrors one `jobs` row. Progress is
coalesced: `advance()` writes at most once per `JobLedger.progress_interval` seconds per
job, and a write it skipped is made shortly after by a timer, so a tight loop never floods
the internal writer and the row never lags far behind. While a job runs, a heartbeat task
renews its lease (`lease_owner`, `lease_expires_at`).

At start-up (`JobLedger.recover`) a `running` row whose lease expired, or which belongs to
another process, becomes `interrupted`, keeping its last progress: the internal file is
locked to one process at a time (see `internal/lock.py`), so such a row's process is gone.
A job kind with a registered resume function is then picked up again.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from ..clock import utc_now
from .actors import actor_id_of, actor_json

if TYPE_CHECKING:
    from ...app import Datasette


logger = logging.getLogger("datasette.activity")

STATUSES = ("running", "done", "failed", "interrupted")
FINISHED_STATUSES = ("done", "failed", "interrupted")


def _lease_end(seconds: float) -> str:
    """The stored time `seconds` from now, when a lease taken now runs out."""
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return utc_now("microseconds", moment)


ResumeFunction = Callable[[Any, "Job"], Awaitable[Any]]


class JobLedger:
    """Starts, tracks and recovers jobs (`datasette.jobs`).

    :param internal_db: the internal `Database`
    :param datasette: handed to resume functions
    """

    progress_interval = 0.25
    """Least seconds between two progress writes of one job."""
    lease_seconds = 30.0
    """How long a lease lasts; the heartbeat renews it every third of that."""
    max_resumes = 3
    """A job resumed this many times is left `interrupted` (no endless crash loop)."""
    resume_delay = 0.2
    """Seconds after start-up before interrupted jobs are resumed (see `schedule_resumes`)."""

    def __init__(self, internal_db: Any, datasette: Datasette = None):
        self._db = internal_db
        self._datasette = datasette
        self.owner = uuid.uuid4().hex
        """This process's lease owner id."""
        self._resumers: dict = {}
        self._tasks: set = set()
        self._resume_loop: Any = None
        self._resumes_started = False
        self._resume_task: Optional[asyncio.Future] = None
        self.running: dict = {}
        """Jobs of this process still running, by id."""

    # -- starting --------------------------------------------------------------------

    async def start(
        self,
        kind: str,
        title: str,
        database: Optional[str] = None,
        resource: Optional[str] = None,
        total: Optional[int] = None,
        actor: Optional[dict] = None,
    ) -> "Job":
        """Record a new `running` job and return it (use it with `async with` or call
        `finish()`/`fail()` yourself).

        :param kind: what sort of job, e.g. `"csv-import"`; resume functions are per kind
        :param title: shown to people on `/-/jobs`
        :param total: the number of steps, if known (progress bars need it)
        """
        if not isinstance(kind, str) or not kind:
            raise TypeError("job kind must be a non-empty string")
        if total is not None and (not isinstance(total, int) or total < 0):
            raise TypeError("job total must be a non-negative integer or None")
        now = utc_now("microseconds")
        values = (
            kind, str(title), actor_id_of(actor), actor_json(actor), database,
            None if resource is None else str(resource), total, now, now, self.owner,
            _lease_end(self.lease_seconds),
        )

        def insert(conn: Any) -> int:
            with conn:
                cursor = conn.execute(
                    "INSERT INTO jobs (kind, title, status, actor_id, actor, database_name,"
                    " resource, total, created_at, updated_at, lease_owner,"
                    " lease_expires_at) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
                return cursor.lastrowid

        job_id = await self._db.execute_write_fn(insert)
        job = Job(self, job_id, kind, str(title), total=total)
        self._track(job)
        return job

    def _track(self, job: "Job") -> None:
        self.running[job.id] = job
        job._heartbeat = asyncio.ensure_future(job._heartbeat_loop())

    def _untrack(self, job: "Job") -> None:
        self.running.pop(job.id, None)
        heartbeat, job._heartbeat = job._heartbeat, None
        if heartbeat is not None and heartbeat is not asyncio.current_task():
            heartbeat.cancel()

    async def get(self, job_id: int) -> Optional[dict]:
        """The row of one job as a dict, or None."""
        results = await self._db.execute("select * from jobs where id = ?", [job_id])
        row = results.first()
        return None if row is None else dict(row)

    # -- writing ---------------------------------------------------------------------

    async def _write(self, job: "Job", status: Optional[str] = None) -> None:
        """Write the job's progress (and new status) and renew its lease."""
        now = utc_now("microseconds")
        values = {
            "done": job.done,
            "total": job.total,
            "message": job.message,
            "state": None if job.state is None else json.dumps(job.state),
            "updated_at": now,
            "lease_expires_at": _lease_end(self.lease_seconds),
            "id": job.id,
            "owner": self.owner,
        }
        sql = (
            "UPDATE jobs SET done = :done, total = :total, message = :message,"
            " state = :state, updated_at = :updated_at,"
            " lease_expires_at = :lease_expires_at"
        )
        if status is not None:
            sql += ", status = :status, finished_at = :finished_at, lease_owner = NULL"
            sql += ", lease_expires_at = NULL"
            values["status"] = status
            values["finished_at"] = now
        sql += " WHERE id = :id AND lease_owner = :owner"

        def update(conn: Any) -> None:
            with conn:
                conn.execute(sql, values)

        job._written_at = time.monotonic()
        job._dirty = False
        await self._db.execute_write_fn(update)

    # -- recovery --------------------------------------------------------------------

    def register_resume(self, kind: str, fn: ResumeFunction) -> None:
        """Let interrupted jobs of `kind` be resumed at start-up by `await fn(datasette, job)`.

        `job` arrives `running` again with its `done`, `total`, `message` and `state` as
        last written. When `fn` returns, a job still running is finished; if it raises,
        the job is failed with the error.
        """
        self._resumers[kind] = fn

    async def recover(self) -> list:
        """Mark jobs of dead processes `interrupted`, then resume interrupted jobs of
        registered kinds (each at most `max_resumes` times).

        Returns the ids marked interrupted. Reads first, so an instance with nothing to
        recover writes nothing.
        """
        results = await self._db.execute(
            "select id from jobs where status = 'running'"
            " and (lease_owner is null or lease_owner != ? or lease_expires_at < ?)",
            [self.owner, utc_now("microseconds")],
        )
        stale = [row["id"] for row in results.rows if row["id"] not in self.running]
        if stale:
            await self._mark_interrupted(stale)
        return stale

    async def _mark_interrupted(self, stale: list) -> None:
        placeholders = ", ".join("?" for _ in stale)
        now = utc_now("microseconds")

        def mark(conn: Any) -> None:
            with conn:
                conn.execute(
                    "UPDATE jobs SET status = 'interrupted', finished_at = ?, updated_at = ?,"
                    f" lease_owner = NULL, lease_expires_at = NULL WHERE id in ({placeholders})"
                    " AND status = 'running'",
                    [now, now, *stale],
                )

        await self._db.execute_write_fn(mark)
        for job_id in stale:
            logger.warning("Job %s was running when its process ended: interrupted", job_id)

    def schedule_resumes(self) -> None:
        """Resume interrupted jobs shortly, in the running event loop, once per process.

        Shortly, not now: `datasette serve` runs start-up in an event loop of its own that
        ends before the server's starts, and a job resumed there would be cancelled at
        once. A loop that ends first drops the timer, and the next loop schedules again.
        """
        if self._resumes_started:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._resume_loop is loop:
            return
        self._resume_loop = loop
        loop.call_later(self.resume_delay, self._start_resumes)

    def _start_resumes(self) -> None:
        if self._resumes_started:
            return
        self._resumes_started = True
        task = self._resume_task = asyncio.ensure_future(self._resume())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resume(self) -> None:
        """Pick up every interrupted job of a registered kind (crashed or cancelled)."""
        if not self._resumers:
            return
        kinds = list(self._resumers)
        results = await self._db.execute(
            "select * from jobs where status = 'interrupted' and resumed < ?"
            f" and kind in ({', '.join('?' for _ in kinds)}) order by id",
            [self.max_resumes, *kinds],
        )
        for row in results.rows:
            row = dict(row)
            fn = self._resumers[row["kind"]]
            job = await self._reclaim(row)
            task = asyncio.ensure_future(self._run_resumed(fn, job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _reclaim(self, row: dict) -> "Job":
        now = utc_now("microseconds")
        lease = _lease_end(self.lease_seconds)

        def claim(conn: Any) -> None:
            with conn:
                conn.execute(
                    "UPDATE jobs SET status = 'running', finished_at = NULL, updated_at = ?,"
                    " lease_owner = ?, lease_expires_at = ?, resumed = resumed + 1"
                    " WHERE id = ?",
                    [now, self.owner, lease, row["id"]],
                )

        await self._db.execute_write_fn(claim)
        job = Job(self, row["id"], row["kind"], row["title"], total=row["total"])
        job.done = row["done"]
        job.message = row["message"]
        job.state = json.loads(row["state"]) if row["state"] else None
        self._track(job)
        return job

    async def _run_resumed(self, fn: ResumeFunction, job: "Job") -> None:
        try:
            async with job:
                await fn(self._datasette, job)
        except Exception:
            logger.exception("Resuming job %s (%s) failed", job.id, job.kind)

    async def wait_for_resumed(self) -> None:
        """Wait until resuming has started and every resumed job has ended (for tests)."""
        while self._resume_loop is not None and not self._resumes_started:
            await asyncio.sleep(0.01)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class Job:
    """A running job of this process; mirrors its `jobs` row. Made by `JobLedger.start`."""

    def __init__(self, ledger: JobLedger, job_id: int, kind: str, title: str, total=None):
        self._ledger = ledger
        self.id = job_id
        self.kind = kind
        self.title = title
        self.total = total
        self.done = 0
        self.message: Optional[str] = None
        self.state: Any = None
        """JSON-able checkpoint written with progress; a resume function reads it back."""
        self.status = "running"
        self._dirty = False
        self._written_at = time.monotonic()
        self._flush_handle: Optional[asyncio.TimerHandle] = None
        self._heartbeat: Optional[asyncio.Future] = None

    async def advance(
        self, n: int = 1, message: Optional[str] = None, state: Any = None,
        total: Optional[int] = None,
    ) -> None:
        """Count `n` more steps done (and set a message, checkpoint or new total).

        The row is written at most a few times a second; skipped writes are caught up
        by a timer, and `finish`/`fail` always write.
        """
        self._check_running()
        if state is not None:
            json.dumps(state)  # a TypeError here, not later on the writer
            self.state = state
        self.done += n
        if message is not None:
            self.message = message
        if total is not None:
            self.total = total
        self._dirty = True
        wait = self._ledger.progress_interval - (time.monotonic() - self._written_at)
        if wait <= 0:
            await self._flush()
        elif self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(wait, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_handle = None
        if self._dirty and self.status == "running":
            task = asyncio.ensure_future(self._flush())
            self._ledger._tasks.add(task)
            task.add_done_callback(self._ledger._tasks.discard)

    async def _flush(self) -> None:
        try:
            await self._ledger._write(self)
        except Exception:
            logger.exception("Could not write progress of job %s", self.id)

    async def finish(self, message: Optional[str] = None) -> None:
        """Mark the job `done`."""
        await self._end("done", message)

    async def fail(self, message: str) -> None:
        """Mark the job `failed` with `message`."""
        await self._end("failed", message)

    async def _end(self, status: str, message: Optional[str]) -> None:
        self._check_running()
        if message is not None:
            self.message = message
        self.status = status
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._ledger._untrack(self)
        await self._ledger._write(self, status=status)

    def _check_running(self) -> None:
        if self.status != "running":
            raise RuntimeError(f"Job {self.id} is already {self.status}")

    async def _heartbeat_loop(self) -> None:
        """Renew the lease (and write skipped progress) until the job ends."""
        while self.status == "running":
            await asyncio.sleep(self._ledger.lease_seconds / 3)
            if self.status == "running":
                await self._flush()

    async def __aenter__(self) -> "Job":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if self.status != "running":
            return False
        if exc is None:
            await self.finish()
        elif isinstance(exc, asyncio.CancelledError):
            await self._end("interrupted", "cancelled: the process stopped the job")
        else:
            await self.fail(f"{exc_type.__name__}: {exc}")
        return False

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.status} {self.done}/{self.total}>"
