"""The background indexer: one asyncio task that keeps every table's statistics current.

It works on one table at a time, one batch at a time. A batch runs on a worker thread with
a connection of its own (never one of the request read threads), its size adapted so it
takes about `column_stats_batch_ms`; after each batch the task sleeps as long as the batch
took, so at most half of one core goes to indexing and requests never queue behind it;
while requests are arriving it sleeps `BUSY_PAUSE_RATIO` times as long, so a busy server
gives indexing about a fifth of one core and still finishes.
Every `CHECKPOINT_SECONDS` the position and running state are saved in the internal
database, so a restart, even after SIGKILL, carries on from the last checkpoint.

Changes are noticed per database: `PRAGMA data_version` on the indexer's own connection
moves on any commit by another connection (this server's write thread included), and
`PRAGMA schema_version` on a schema change. A changed database's tables are flagged
stale and indexed again, so a min or max is never silently wrong; immutable databases are
indexed once. At start, a finished table whose file changed while the server was down
(size and modification times differ from those its run started with) is indexed again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from . import changes, compute, store
from .enabled import database_enabled, stats_enabled

if TYPE_CHECKING:
    from ...app import Datasette


logger = logging.getLogger("datasette.stats")

CHECKPOINT_SECONDS = 1.0
IDLE_POLL_SECONDS = 1.0
MAX_BATCH_ROWS = 50_000
FIRST_BATCH_ROWS = 500
# While requests arrive, sleep this many times longer after a batch (a fifth of a core).
BUSY_PAUSE_RATIO = 4.0


def batch_budget_ms(datasette: Datasette) -> float:
    """The `column_stats_batch_ms` setting (default 50)."""
    try:
        value = float(datasette.setting("column_stats_batch_ms"))
    except (KeyError, TypeError, ValueError):
        value = 50.0
    return max(value, 1.0)


@dataclass
class _Run:
    """The table being indexed."""

    table_id: int
    database: str
    table: str
    shape: compute.TableShape
    state: dict
    position: Any
    job: Any = None
    rows_done: int = 0
    rows_reported: int = 0  # rows already counted in the job ledger
    last_checkpoint: float = field(default_factory=time.monotonic)


class ColumnStatsIndexer:
    """Keeps the statistics of one `Datasette`'s databases; see the module docstring.

    `start()` launches the task on the running loop, `stop()` ends it; tests may call
    `run_until_idle()` to do all pending work in the current task instead.
    """

    def __init__(self, datasette: Datasette):
        self.ds = datasette
        self._task: Optional[asyncio.Task] = None
        # One thread of its own: connections are used by one thread at a time, and stop()
        # can wait for a batch in flight before closing them.
        self._executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._connections: Dict[str, Any] = {}
        self._data_versions: Dict[str, int] = {}
        self._schema_versions: Dict[str, int] = {}
        # Write tracking, and the commit watcher's epochs compared on the request path.
        self.ledger = changes.get_ledger(datasette)
        self._immutable_done: set = set()
        self._run: Optional[_Run] = None
        self._batch_rows = FIRST_BATCH_ROWS
        self._last_poll = 0.0
        self._discovered_at_start = False
        self.pause_ratio = 1.0  # sleep this many times the batch's duration after it
        self._requests_seen = 0  # datasette.requests_started at the last pause
        self.fixed_batch_rows: Optional[int] = None  # tests: cut batches at this size

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background task (once) if the `column_stats` setting is on."""
        if self._task is None and stats_enabled(self.ds):
            self._task = asyncio.get_running_loop().create_task(self._main())

    async def stop(self) -> None:
        """Cancel the task, wait for a batch in flight, close the indexer's connections."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown, True)
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def is_current(self, db: Any) -> bool:
        """False when `db` has had a commit the indexer has not accounted for yet, or a
        tracked write's changes are still to be applied.

        Between a write and the indexer's next look (about a second), statistics of the
        written tables may be out of date without being flagged stale yet; readers ask
        this so that they are never presented as current. Cheap: the instance's commit
        watcher (`internal/watch.py`), read once per request. True when the indexer has
        not looked at `db` at all (nothing to compare with) and for immutable databases.
        """
        return self.ledger.is_current(db)

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="datasette-stats"
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    async def _main(self) -> None:
        discovered = False
        while True:
            worked = False
            try:
                if not discovered:
                    await self.discover(at_start=True)
                    discovered = self._discovered_at_start = True
                worked = await self.step()
                if time.monotonic() - self._last_poll >= IDLE_POLL_SECONDS:
                    await self.poll_changes()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the server's indexer alive whatever one table does
                logger.exception("Column statistics: unexpected error")
                self._run = None
            if not worked:
                await asyncio.sleep(IDLE_POLL_SECONDS)

    async def run_until_idle(self) -> None:
        """Discover tables and index everything queued, then return (for tests and tools).

        The first call discovers as a server start does (tables whose file changed while
        no server watched are indexed again); later calls look for changes as it runs.
        """
        if not self._discovered_at_start:
            await self.discover(at_start=True)
            self._discovered_at_start = True
        while True:
            await self.poll_changes()
            if not await self.step(pause=False):
                return

    # -- finding work -----------------------------------------------------------------------

    def _databases(self) -> List[Any]:
        return [db for db in self.ds.databases.values() if database_enabled(self.ds, db)]

    def _connection(self, db: Any) -> Any:
        conn = self._connections.get(db.name)
        if conn is None:
            conn = db.connect()
            compute.prepare_connection(conn)
            self._connections[db.name] = conn
        return conn

    async def discover(self, at_start: bool = False) -> None:
        """Queue the tables of every indexed database; forget those of gone databases."""
        internal = self.ds.get_internal_database()
        names = []
        for db in self._databases():
            names.append(db.name)
            conn = self._connection(db)
            noted = self.ledger.note(db) if db.is_mutable else None
            try:
                tables, versions = await self._in_thread(_read_tables, conn)
                self._schema_versions[db.name] = versions[0]
                self._data_versions[db.name] = versions[1]
                await internal.execute_write_fn(
                    lambda c, n=db.name, t=tables: store.sync_tables(c, n, t)
                )
                if at_start and db.is_mutable:
                    await self._requeue_if_file_changed(db)
            finally:
                if db.is_mutable:
                    self.ledger.settle(db, noted)
        known = {row["database"] for row in await internal.execute_fn(store.tables_state)}
        for gone in known - set(names):
            await internal.execute_write_fn(lambda c, g=gone: store.forget_database(c, g))

    async def _requeue_if_file_changed(self, db: Any) -> None:
        internal = self.ds.get_internal_database()
        current = source_signature(db)
        signatures = await internal.execute_fn(lambda c: store.source_signatures(c, db.name))
        changed = [table for table, sig in signatures.items() if sig != current]
        if changed:
            await internal.execute_write_fn(lambda c: store.mark_changed(c, db.name, changed))

    async def poll_changes(self) -> None:
        """Flag the tables of databases changed since the last look; pick up new tables.

        A commit made by a tracked write (`changes.py`) is not a change to re-index for:
        its rows are applied as they are, and only untracked commits queue the database.
        """
        self._last_poll = time.monotonic()
        for db in self._databases():
            if db.is_mutable:
                await self._poll(db)
        await self.ledger.apply_now()

    async def _poll(self, db: Any) -> None:
        internal = self.ds.get_internal_database()
        conn = self._connection(db)
        # Noted before the indexer reads its own version: a commit in between then shows
        # as a change to `is_current`, never the other way round.
        noted = self.ledger.note(db)
        try:
            schema_version, data_version = await self._in_thread(_versions, conn)
            name = db.name
            if schema_version != self._schema_versions.get(name):
                await self.discover()
                changed = True
            elif data_version != self._data_versions.get(name):
                self._data_versions[name] = data_version
                changed = not await self.ledger.verify(db, lambda: source_signature(db))
            else:
                changed = False
            if changed:
                await internal.execute_write_fn(lambda c: store.mark_changed(c, name))
                self._drop_run_of(name)
        finally:
            self.ledger.settle(db, noted)

    def _drop_run_of(self, database: str) -> None:
        # The run's rows so far may predate the change: it starts over (mark_changed
        # already cleared its position), its job ends without a result.
        if self._run is not None and self._run.database == database:
            job, self._run = self._run.job, None
            if job is not None:
                asyncio.ensure_future(_quietly(job.fail("The table changed; indexing again")))

    # -- doing work -------------------------------------------------------------------------------

    async def step(self, pause: bool = True) -> bool:
        """Index one batch (or recheck doubtful extremes); False when there was nothing to do."""
        started = time.perf_counter()
        if await self._recheck_extremes():
            if pause:  # a recheck reads the whole table: leave as much time to requests
                await asyncio.sleep((time.perf_counter() - started) * self._pause_ratio_now())
            return True
        if self._run is None:
            self._run = await self._begin_next()
            if self._run is None:
                return False
        run = self._run
        db = self.ds.databases.get(run.database)
        if db is None:
            self._run = None
            return True
        conn = self._connection(db)
        started = time.perf_counter()
        try:
            position, rows, finished = await self._in_thread(
                compute.run_batch,
                conn,
                run.shape,
                run.state,
                run.position,
                self.fixed_batch_rows or self._batch_rows,
            )
        except Exception as e:
            await self._fail(run, f"{type(e).__name__}: {e}")
            return True
        elapsed = time.perf_counter() - started
        self._adapt_batch(elapsed)
        if self._run is not run:  # a change was noticed while the batch ran
            return True
        run.position, run.rows_done = position, run.rows_done + rows
        if finished:
            # Writes tracked from here on were not read by this run (changes.py).
            self.ledger.run_ends[(run.database, run.table)] = self.ledger.tick()
            await self._finish(run)
        elif time.monotonic() - run.last_checkpoint >= CHECKPOINT_SECONDS:
            await self._checkpoint(run, rows)
        if pause:
            await asyncio.sleep(elapsed * self._pause_ratio_now())
        return True

    def _pause_ratio_now(self) -> float:
        """`pause_ratio`, times `BUSY_PAUSE_RATIO` if requests arrived since the last pause:
        the indexer's Python work holds the GIL, which a busy server's requests need."""
        seen = getattr(self.ds, "requests_started", 0)
        busy, self._requests_seen = seen != self._requests_seen, seen
        return self.pause_ratio * (BUSY_PAUSE_RATIO if busy else 1.0)

    def _adapt_batch(self, elapsed: float) -> None:
        budget = batch_budget_ms(self.ds) / 1000
        if elapsed > budget:
            self._batch_rows = max(1, int(self._batch_rows * budget / elapsed * 0.8))
        elif elapsed < budget / 2:
            self._batch_rows = min(MAX_BATCH_ROWS, self._batch_rows * 2)

    async def _begin_next(self) -> Optional[_Run]:
        internal = self.ds.get_internal_database()
        names = [db.name for db in self._databases()]
        while True:
            entry = await internal.execute_fn(lambda c: store.next_table(c, names))
            if entry is None:
                return None
            db = self.ds.databases[entry["database"]]
            conn = self._connection(db)
            try:
                shape = await self._in_thread(compute.table_shape, conn, entry["table"])
            except Exception as e:
                message, table_id = f"{type(e).__name__}: {e}", entry["table_id"]
                await internal.execute_write_fn(
                    lambda c, t=table_id, m=message: store.record_error(c, t, m)
                )
                continue
            run = await self._resume_or_start(entry, db, shape)
            run.job = await self._start_job(run, conn)
            return run

    async def _resume_or_start(self, entry: dict, db: Any, shape: compute.TableShape) -> _Run:
        internal = self.ds.get_internal_database()
        table_id = entry["table_id"]
        if (
            entry["state"] == "indexing"
            and entry["partial"]
            and entry["columns_signature"] == json.dumps(shape.signature())
            and (not db.is_mutable or entry["source_signature"] == source_signature(db))
        ):
            state = json.loads(entry["partial"])
            position = json.loads(entry["position"])
            await internal.execute_write_fn(
                lambda c: store.note_resumed(c, table_id, entry["position"])
            )
            return _Run(
                table_id, db.name, shape.table, shape, state, position, rows_done=state["rows"]
            )
        signature = source_signature(db)
        await internal.execute_write_fn(
            lambda c: store.start_run(c, table_id, shape.signature(), signature)
        )
        return _Run(table_id, db.name, shape.table, shape, compute.new_state(shape), None)

    async def _start_job(self, run: _Run, conn: Any) -> Any:
        jobs = getattr(self.ds, "jobs", None)
        if jobs is None:
            return None
        try:
            total = await self._in_thread(_row_count, conn, run.table)
            job = await jobs.start(
                "column-stats",
                f"Column statistics: {run.database}/{run.table}",
                database=run.database,
                resource=run.table,
                total=total,
            )
            if run.rows_done:
                await job.advance(run.rows_done, message="Resumed after a restart")
                run.rows_reported = run.rows_done
            return job
        except Exception:  # the ledger is a report; indexing goes on without it
            logger.exception("Column statistics: could not start a job")
            return None

    async def _checkpoint(self, run: _Run, rows: int) -> None:
        internal = self.ds.get_internal_database()
        position, partial = run.position, json.loads(json.dumps(run.state))
        wanted = await internal.execute_write_fn(
            lambda c: store.checkpoint(c, run.table_id, position, partial)
        )
        if not wanted:  # a tracked write queued the table again while it was read
            self._drop_run_of(run.database)
            return
        run.last_checkpoint = time.monotonic()
        await _report(run)

    async def _finish(self, run: _Run) -> None:
        internal = self.ds.get_internal_database()
        row_count, columns = compute.finish(run.shape, run.state)
        saved = await internal.execute_write_fn(
            lambda c: store.save_result(c, run.table_id, row_count, columns)
        )
        if not saved:  # queued again while it was read: the next run starts over
            self._drop_run_of(run.database)
            return
        self._run = None
        await _report(run)
        if run.job is not None:
            await _quietly(run.job.finish())

    async def _recheck_extremes(self) -> bool:
        """Recompute one table's doubtful min, max and longest text; False if none."""
        ledger = self.ledger
        if not ledger.recheck_wanted:
            return False
        ledger.recheck_wanted = False  # before reading: a flag set meanwhile sets it again
        internal = self.ds.get_internal_database()
        names = [db.name for db in self._databases()]
        flagged = await internal.execute_fn(lambda c: store.flagged_extremes(c, names))
        if not flagged:
            return False
        ledger.recheck_wanted = True
        first = flagged[0]
        columns = [f for f in flagged if f["table_id"] == first["table_id"]]
        key = (first["database"], first["table"])
        applied = ledger.applied.get(key, 0)
        conn = self._connection(self.ds.databases[first["database"]])
        try:
            found = await self._in_thread(
                _extremes, conn, first["table"], [c["column"] for c in columns]
            )
        except Exception:
            logger.exception("Column statistics: could not recheck %s", first["table"])
            await internal.execute_write_fn(
                lambda c: store.mark_changed(c, key[0], [key[1]])
            )
            return True

        def save(c: Any) -> None:
            # A write applied since the query started may be missing from it: ask again.
            if ledger.applied.get(key, 0) == applied:
                for column, extremes in zip(columns, found):
                    store.save_extremes(c, column["column_id"], column["flags"], extremes)

        await internal.execute_write_fn(save)
        return True

    async def _fail(self, run: _Run, message: str) -> None:
        internal = self.ds.get_internal_database()
        await internal.execute_write_fn(lambda c: store.record_error(c, run.table_id, message))
        self._run = None
        if run.job is not None:
            await _quietly(run.job.fail(message))


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception:
        logger.exception("Column statistics: job ledger update failed")


async def _report(run: _Run) -> None:
    # The ledger counts by increments: add the rows folded in since the last report.
    if run.job is not None and run.rows_done > run.rows_reported:
        await _quietly(
            run.job.advance(run.rows_done - run.rows_reported, message=f"{run.rows_done} rows")
        )
        run.rows_reported = run.rows_done


def _read_tables(conn: Any) -> tuple:
    """Tables to index (views and virtual-table shadows' parents included) and versions."""
    rows = conn.execute(
        "select name from sqlite_master where type = 'table' "
        "and name not like 'sqlite\\_%' escape '\\' order by name"
    ).fetchall()
    tables = [compute._text(row[0]) for row in rows]
    return tables, _versions(conn)


def _versions(conn: Any) -> tuple:
    return (
        conn.execute("PRAGMA schema_version").fetchone()[0],
        conn.execute("PRAGMA data_version").fetchone()[0],
    )


def _extremes(conn: Any, table: str, columns: List[str]) -> List[tuple]:
    """`(min, max, max_text_length)` of each column, as the indexer stores them: one
    statement, so one consistent read."""
    selects = []
    for name in columns:
        quoted = compute.quote(name)
        selects += [
            f"min({quoted} collate binary)",
            f"max({quoted} collate binary)",
            f"max(case when typeof({quoted}) = 'text' then length({quoted}) end)",
        ]
    row = conn.execute(f"select {', '.join(selects)} from {compute.quote(table)}").fetchone()
    return [
        (compute.stored_value(row[i]), compute.stored_value(row[i + 1]), row[i + 2])
        for i in range(0, len(row), 3)
    ]


def _row_count(conn: Any, table: str) -> int:
    return conn.execute(f"select count(*) from {compute.quote(table)}").fetchone()[0]


def source_signature(db: Any) -> str:
    """Size and modification time of a database file and its WAL: changes when it does.

    An empty or missing WAL counts as absent: readers create an empty one and the last
    connection removes it, neither of which changes the data.
    """
    if not db.path:
        return ""
    parts = []
    for path in (str(db.path), str(db.path) + "-wal"):
        try:
            stat = os.stat(path)
        except OSError:
            continue
        if stat.st_size:
            parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    return " ".join(parts)
