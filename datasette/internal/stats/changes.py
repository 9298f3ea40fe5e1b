"""Statistics kept current by the write API's own writes, in the order they commit.

A write through the JSON write API (insert, update, delete of rows whose key it knows)
is *tracked*: on the database's write thread, inside its transaction, `TrackedWrite`
reads the rows it is about to remove and the rows it added, and checks that nothing
else changed (see "Accounting" below). It then appends an `Event`
to its database's queue, in write-thread order, which is commit order. The request,
once its write is acknowledged, marks the event committed (or, if the write failed or
the request was cancelled after the work was done, "unknown") and asks the internal
database's write thread to `apply_ready`: that takes the queue's settled events from the
front, in order, and applies them to the stored statistics (`deltas.py`) in one
transaction, a savepoint each. The response does not wait for that; an event the request could not settle
waits at the front, so nothing is applied out of order, and nothing is dropped: an
event whose outcome is unknown, or whose deltas do not add up, re-indexes its table.

Accounting: the indexer notices every commit through `PRAGMA data_version` and cannot
tell one writer from another. Each database keeps a *baseline*: the write connection's
own `data_version` (which moves only for commits by other connections, such as other
processes) and `total_changes` (every row any statement on it changed). A tracked write
that finds the baseline where the last one left it, and that changed exactly the rows it
read, moves the baseline on. When the indexer sees a commit it asks the write thread
whether the write connection is still at the baseline: if so, every commit since was a
tracked one whose event is queued ahead; if not (another process, `execute_write*`, a
writable canned query, a trigger touching other rows), the whole database is queued for
re-indexing as before. A database's first baseline is taken by a task of its own on the
write thread, queued by its first tracked write, and only when the indexer has settled
every commit up to that moment (`settled`: the epoch of the instance's commit watcher,
`internal/watch.py`, that the indexer last accounted for).

Races with the indexer: every event and every run's end of reading gets a tick from one
counter. An event is applied to a finished table only if that table's run stopped
reading before the event's write ran (older tick); a table being indexed, or indexed
since, is queued again instead (its run may or may not have seen the write). A run whose
table was queued again while it read saves nothing (`store.save_result`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from ...utils.sqlite import sqlite3
from ...write_schema import sql_value
from ..watch import CommitWatch, commit_watch, watchable
from . import compute, deltas, store
from .enabled import database_enabled, stats_enabled

if TYPE_CHECKING:
    from ...app import Datasette
    from ...database import Database

logger = logging.getLogger("datasette.stats")

# More rows than this in one write: re-index the table rather than carry them over.
MAX_TRACKED_ROWS = 1000
# What a tracked write read before its work, when that work failed (and was rolled back).
_FAILED = object()


@dataclass
class Event:
    """One settled-or-not change to a database's statistics."""

    tick: int
    table: Optional[str]  # None: every table of the database changed
    columns: List[str] = field(default_factory=list)
    removed: List[tuple] = field(default_factory=list)
    added: List[tuple] = field(default_factory=list)
    # None until settled: "committed", "unknown", "changed" (every table) or "signed"
    # (every finished table is current as of the file's `signature`)
    outcome: Optional[str] = None
    signature: Optional[str] = None


class DatabaseSync:
    """What the ledger knows about one database's writes (guarded by `lock`)."""

    def __init__(self, db: Database, watch: CommitWatch):
        self.db = db
        self.watch = watch
        self.lock = threading.Lock()
        self.settled: Optional[int] = None  # watcher epoch the indexer accounted for
        self.deciding = False  # the indexer is between noting a version and settling it
        self.baseline: Optional[Tuple[int, int, int]] = None
        self.taking = False  # a task taking the first baseline is queued
        # Write thread only: table -> (schema_version, TableShape, rowid names).
        self.shapes: Dict[str, tuple] = {}
        self.events: deque = deque()

    def probe_version(self) -> Optional[int]:
        """The commit watcher's epoch of the database read now; None (busy, gone)
        matches nothing, so it counts as "changed" (hold `lock`)."""
        return self.watch.epoch(self.db)


def writer_state(conn: Any) -> Tuple[int, int, int]:
    """Identity, `data_version` and `total_changes` of a write connection."""
    return id(conn), conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes


class Ledger:
    """Per `Datasette`: each database's queue and baseline, ticks, run ends."""

    def __init__(self, datasette: Datasette):
        self.ds = datasette
        self._syncs: Dict[str, DatabaseSync] = {}
        self._lock = threading.Lock()
        self._ticks = itertools.count(1)
        # (database, table) -> tick at which its last run stopped reading.
        self.run_ends: Dict[Tuple[str, str], int] = {}
        # (database, table) -> events applied to it (a recheck started before one is void).
        self.applied: Dict[Tuple[str, str], int] = {}
        self.recheck_wanted = True
        self.events_applied = 0  # for tests and status: deltas carried over
        self._kick_queued = False

    def tick(self) -> int:
        """The next tick (thread-safe: `next` on a count holds the GIL)."""
        return next(self._ticks)

    def sync(self, db: Database) -> DatabaseSync:
        """The `DatabaseSync` of `db` (created on first use)."""
        with self._lock:
            found = self._syncs.get(db.name)
            if found is None or found.db is not db:
                found = self._syncs[db.name] = DatabaseSync(db, commit_watch(self.ds))
            return found

    # -- the indexer's side ---------------------------------------------------------------

    def note(self, db: Database) -> Optional[int]:
        """The watcher's epoch now; tracked writes wait to take a baseline until `settle`."""
        sync = self.sync(db)
        with sync.lock:
            sync.deciding = True
            return sync.probe_version()

    def settle(self, db: Database, version: Optional[int]) -> None:
        """Every commit up to watcher epoch `version` is accounted for (or queued)."""
        sync = self.sync(db)
        with sync.lock:
            sync.settled = version
            sync.deciding = False

    def is_current(self, db: Database) -> bool:
        """No queued event and no commit since the indexer last settled `db`.

        For the request path: the watcher is read once per request (`request_epoch`).
        """
        if not db.is_mutable:
            return True
        if not watchable(db):
            return False  # no way to tell what changed (a follower's file)
        sync = self.sync(db)
        with sync.lock:
            if sync.events:
                return False
            if sync.settled is None:
                return True  # the indexer has not looked at it: nothing to compare with
            return sync.watch.request_epoch(db) == sync.settled

    async def verify(self, db: Database, signature: Callable[[], str]) -> bool:
        """True when every commit since the baseline was a tracked write (their events
        are queued); otherwise the database is queued for re-indexing, in order.

        When true, finished tables are recorded as current for the file's `signature()`
        (read first: a commit after it shows in the writer state), so that a restart
        does not index them again.
        """
        sync = self.sync(db)
        if sync.baseline is None and not sync.events:
            return False

        def check(conn: Any) -> bool:
            signed = signature()
            state = writer_state(conn)
            with sync.lock:
                if sync.baseline == state:
                    if not conn.in_transaction:
                        event = Event(self.tick(), None, outcome="signed", signature=signed)
                        sync.events.append(event)
                    return True
                sync.baseline = state
                sync.events.append(Event(self.tick(), None, outcome="changed"))
                return False

        try:
            clean = await db.execute_write_fn(check)
        except Exception:
            logger.exception("Column statistics: could not ask the write thread")
            clean = False
        await self.apply_now()
        return clean

    async def take_baseline(self, db: Database) -> None:
        """Take `db`'s first baseline, if every commit so far has been settled by the
        indexer: a task of its own on the write thread, so no other write's uncommitted
        rows can be in it."""
        sync = self.sync(db)
        sync.taking = True

        def take(conn: Any) -> None:
            if conn.in_transaction:
                return
            state = writer_state(conn)
            with sync.lock:
                if (
                    sync.baseline is None
                    and not sync.deciding
                    and sync.settled is not None
                    and sync.probe_version() == sync.settled
                ):
                    sync.baseline = state

        try:
            await db.execute_write_fn(take)
        except Exception:  # without a baseline the write is re-indexed for: still right
            logger.exception("Column statistics: could not take a baseline")
        finally:
            sync.taking = False

    # -- applying -------------------------------------------------------------------------

    async def kick(self) -> None:
        """Have the internal database's write thread apply what is ready (not waiting).

        One queued application at a time: it takes every event settled by the time it
        runs, so a burst of writes costs one internal commit, not one each.
        """
        with self._lock:
            if self._kick_queued:
                return
            self._kick_queued = True
        internal = self.ds.get_internal_database()
        try:
            await internal.execute_write_fn(self.apply_ready, block=False)
        except Exception:  # applied by the next kick or the indexer's next look
            with self._lock:
                self._kick_queued = False
            logger.exception("Column statistics: could not queue deltas")

    async def apply_now(self) -> None:
        """Apply what is ready and wait for it."""
        await self.ds.get_internal_database().execute_write_fn(self.apply_ready)

    def apply_ready(self, conn: Any) -> int:
        """On the internal write thread: apply settled events, in order, per database.

        All of them in one transaction (one commit however many writes came in), each in
        a savepoint of its own: one that fails re-indexes its table instead.
        """
        with self._lock:
            syncs = list(self._syncs.values())
            self._kick_queued = False  # events settled from now on need another kick
        ready = []
        for sync in syncs:
            with sync.lock:
                events = list(itertools.takewhile(lambda e: e.outcome is not None, sync.events))
            if events:
                ready.append((sync, events))
        if not ready:
            return 0
        applied: Dict[Tuple[str, str], int] = {}
        conn.execute("SAVEPOINT stats_events")
        try:
            for sync, events in ready:
                for event in events:
                    self._apply(conn, sync.db.name, event, applied)
            conn.execute("RELEASE stats_events")
        except BaseException:
            conn.execute("ROLLBACK TO stats_events")
            conn.execute("RELEASE stats_events")
            raise
        for sync, events in ready:  # only now: until applied they keep is_current False
            with sync.lock:
                for _ in events:
                    sync.events.popleft()
        for key, n in applied.items():
            self.applied[key] = self.applied.get(key, 0) + n
            self.events_applied += n
        return sum(len(events) for _, events in ready)

    def _apply(self, conn: Any, database: str, event: Event, applied: dict) -> None:
        conn.execute("SAVEPOINT stats_event")
        try:
            if event.outcome == "signed":
                store.sign(conn, database, event.signature)
            elif event.table is None:
                store.queue_again(conn, database)
            elif event.outcome == "committed":
                self._apply_delta(conn, database, event, applied)
            else:
                store.queue_again(conn, database, [event.table])
        except Exception:
            conn.execute("ROLLBACK TO stats_event")
            if not isinstance(sys.exc_info()[1], (deltas.Mismatch, ValueError)):
                logger.exception("Column statistics: re-indexing %s after an error", database)
            store.queue_again(conn, database, [event.table] if event.table else None)
        finally:
            conn.execute("RELEASE stats_event")

    def _apply_delta(self, conn: Any, database: str, event: Event, applied: dict) -> None:
        row = conn.execute(
            "select table_id, state, stale from stats_tables "
            "where database_name = ? and table_name = ?",
            (database, event.table),
        ).fetchone()
        if row is None or row[1] == "queued":
            return  # not indexed yet: its run will read the rows as they are now
        key = (database, event.table)
        table_id, state, stale = row
        if state != "done" or stale or self.run_ends.get(key, 0) > event.tick:
            store.queue_again(conn, database, [event.table])
            return
        minus, plus = _row_states(conn, event, table_id)
        if deltas.apply_change(conn, table_id, event.columns, minus, plus):
            self.recheck_wanted = True
        applied[key] = applied.get(key, 0) + 1


def _row_states(conn: Any, event: Event, table_id: int) -> tuple:
    # An insert into a column without a value list changes its distinct count only into
    # a lower bound, whatever the values: grouping them would be wasted work.
    uncounted: List[str] = []
    if not event.removed:
        uncounted = [
            row[0]
            for row in conn.execute(
                "select column_name from stats_columns where table_id = ? and values_kept = 0",
                (table_id,),
            )
        ]
    # Folded with text as stored bytes, as the indexer reads it; the stored statistics
    # are then read with the connection's usual text.
    previous = conn.text_factory
    conn.text_factory = compute.RawText
    try:
        minus = deltas.rows_state(conn, event.columns, event.removed)
        plus = deltas.rows_state(conn, event.columns, event.added, uncounted)
    finally:
        conn.text_factory = previous
    return minus, plus


class TrackedWrite:
    """One write API request's write, as seen by the statistics (see the module docstring).

    For an update or delete, `key` is `(key columns, values)` of the row it touches and
    `new_key` the key values after an update; for an insert, `rows` are the rows sent.
    `wrap(fn)` gives the function to run in the request's transaction; `finish(committed)`
    settles the event.
    """

    def __init__(
        self,
        ledger: Ledger,
        db: Database,
        table: str,
        key: Optional[Tuple[List[str], list]] = None,
        new_key: Optional[list] = None,
        rows: Optional[list] = None,
    ):
        self.ledger = ledger
        self.sync = ledger.sync(db)
        self.table = table
        self.key = key
        self.new_key = new_key
        self.rows = rows or []
        self._event: Optional[Event] = None
        self._abandoned = False

    def wrap(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """`fn` plus reading the rows before and after, for the write thread."""

        def run(conn: Any) -> Any:
            if self._event is not None:
                # Run again: group commit rolled the first run back (writer.py).
                with self.sync.lock:
                    self.sync.events.remove(self._event)
                self._event = None
            # At the baseline: same connection, no row changed since. Whether another
            # connection committed meanwhile is asked once, at the end (data_version).
            with self.sync.lock:
                baseline = self.sync.baseline
            start = (id(conn), baseline[1] if baseline else None, conn.total_changes)
            consistent = baseline is not None and baseline[::2] == start[::2]
            try:
                before = self._read(conn, *self.key) if self.key else self._insert_start(conn)
            except Exception:  # never fail the write for the statistics' sake
                logger.exception("Column statistics: could not read %s", self.table)
                before = None
            try:
                result = fn(conn)
            except BaseException:
                self._after(conn, start, consistent, _FAILED)  # rolled back: nothing to carry
                raise
            self._after(conn, start, consistent, before)
            return result

        return run

    def _after(self, conn: Any, start: tuple, consistent: bool, before: Any) -> None:
        end = writer_state(conn)
        changed = end[2] - start[2]
        ours = consistent and end[1] == start[1]
        event = None
        if ours and before is not _FAILED:
            try:
                event = self._event_for(conn, before, changed) if before else None
            except Exception:  # never fail the write: re-index instead
                logger.exception("Column statistics: could not read %s", self.table)
        sync = self.sync
        with sync.lock:
            sync.baseline = end if ours else None
            if not ours or before is _FAILED:
                return
            if event is None:  # other rows changed too (a trigger), or unreadable: all of them
                sync.events.append(Event(self.ledger.tick(), None, outcome="changed"))
                return
            event.tick = self.ledger.tick()
            if self._abandoned:
                event.outcome = "unknown"
            self._event = event
            sync.events.append(event)

    def _event_for(self, conn: Any, before: Any, changed: int) -> Optional[Event]:
        """The event for a write that changed `changed` rows, or None if they are not
        exactly the rows read."""
        if self.key is None:
            found = self._read_inserted(conn, before)
            if found is None:
                return None
            columns, added = found
            removed: list = []
            ok = len(added) == changed
        else:
            columns, removed = before
            added = []
            if self.new_key is not None:
                columns_after, added = self._read(conn, self.key[0], self.new_key)
                ok = len(added) == len(removed) and (not added or columns_after == columns)
            else:
                ok = True
            ok = ok and changed == len(removed)
        if not ok or len(added) + len(removed) > MAX_TRACKED_ROWS:
            return None
        return Event(0, self.table, columns, removed, added)

    # -- reading rows -----------------------------------------------------------------------

    def _insert_start(self, conn: Any) -> Any:
        """What finds the inserted rows again: for a rowid table the largest rowid before
        the insert (new rowids are above it unless given) and the given rowids; for a
        WITHOUT ROWID table the keys. Keys that exist already are noted: with `"ignore"`
        those rows are skipped, and must not be read back as new."""
        version = conn.execute("PRAGMA schema_version").fetchone()[0]
        cached = self.sync.shapes.get(self.table)
        if cached is None or cached[0] != version:
            shape = compute.table_shape(conn, self.table)
            names = _rowid_names(conn, self.table) if shape.rowid else set()
            keys = [name for name in shape.columns if compute.quote(name) in shape.key]
            cached = self.sync.shapes[self.table] = (version, shape, names, keys)
        _, shape, names, keys = cached
        table = compute.quote(self.table)
        if not shape.rowid:
            given = [[row.get(k) for k in keys] for row in self.rows]
            if not all(k in row for row in self.rows for k in keys):
                return None  # a key from a default: the row cannot be found again
            where = " and ".join(f"{compute.quote(k)} = ?" for k in keys)
            existing = [
                conn.execute(f"select 1 from {table} where {where}", [sql_value(v) for v in key])
                .fetchone() is not None
                for key in given
            ]
            return shape, keys, given, existing
        alias = shape.key[0]
        largest = conn.execute(f"select max({alias}) from {table}").fetchone()[0]
        given = [
            sql_value(value)
            for row in self.rows
            for name, value in row.items()
            if value is not None and name.lower() in names
        ]
        existing: list = []
        if given:
            marks = ", ".join("?" for _ in given)
            existing = [
                r[0] for r in conn.execute(f"select {alias} from {table} where {alias} in ({marks})", given)
            ]
        return shape, largest, given, existing

    def _read_inserted(self, conn: Any, start: Any) -> Optional[tuple]:
        if start is None:
            return None
        if not self.rows:
            return [], []
        shape = start[0]
        if not shape.rowid:
            _, keys, given, existing = start
            columns: list = []
            rows: list = []
            seen = set()
            for key, old in zip(given, existing):
                if old or repr(key) in seen:
                    continue  # skipped by "ignore" (or refused: then nothing commits)
                seen.add(repr(key))
                columns, found = self._read(conn, keys, key)
                rows.extend(found)
            return columns, rows
        _, largest, given, existing = start
        alias = shape.key[0]
        clauses, params = [], []
        if largest is not None:
            clauses.append(f"{alias} > ?")
            params.append(largest)
        if given:
            clauses.append(f"{alias} in ({', '.join('?' for _ in given)})")
            params.extend(given)
        where = "(" + " or ".join(clauses) + ")" if largest is not None else "1"
        if existing:
            where += f" and {alias} not in ({', '.join('?' for _ in existing)})"
            params.extend(existing)
        return self._select(conn, where, params)

    def _read(self, conn: Any, key_columns: List[str], values: list) -> tuple:
        where = " and ".join(f"{compute.quote(c)} = ?" for c in key_columns)
        return self._select(conn, where, [sql_value(v) for v in values])

    def _select(self, conn: Any, where: str, params: list) -> tuple:
        sql = f"select * from {compute.quote(self.table)} where {where}"
        try:
            cursor = conn.execute(sql, params)
            rows = cursor.fetchall()
        except sqlite3.OperationalError:
            # Text that is not UTF-8 (or another failure): read it again as stored
            # bytes, slower but unable to fail the write on a decode.
            previous = conn.text_factory
            conn.text_factory = compute.RawText
            try:
                cursor = conn.execute(sql, params)
                rows = cursor.fetchall()
            finally:
                conn.text_factory = previous
        return [d[0] for d in cursor.description], rows

    async def finish(self, committed: bool) -> None:
        """Settle the event: the request saw its write acknowledged (or not)."""
        sync = self.sync
        with sync.lock:
            if self._event is None:
                self._abandoned = True  # should the write still run, it settles itself
                return
            self._event.outcome = "committed" if committed else "unknown"
        await self.ledger.kick()


def get_ledger(datasette: Datasette) -> Ledger:
    """The instance's ledger, created on first use."""
    ledger = getattr(datasette, "_column_stats_ledger", None)
    if ledger is None:
        ledger = datasette._column_stats_ledger = Ledger(datasette)
    return ledger


def _rowid_names(conn: Any, table: str) -> set:
    """Lower-cased names a row may give its rowid under: the aliases the table leaves
    free and its INTEGER PRIMARY KEY column."""
    info = conn.execute(f"PRAGMA table_info({compute.quote(table)})").fetchall()
    names = {"rowid", "_rowid_", "oid"} - {str(row[1]).lower() for row in info}
    pks = [row for row in info if row[5]]
    if len(pks) == 1 and str(pks[0][2]).upper() == "INTEGER":
        names.add(str(pks[0][1]).lower())
    return names


async def track(
    datasette: Datasette,
    db: Database,
    table: str,
    key: Optional[Tuple[List[str], list]] = None,
    new_key: Optional[list] = None,
    rows: Optional[list] = None,
) -> Optional[TrackedWrite]:
    """A `TrackedWrite` for a write API request, or None when `db` has no statistics."""
    if not db.is_mutable or not stats_enabled(datasette) or not database_enabled(datasette, db):
        return None
    ledger = get_ledger(datasette)
    sync = ledger.sync(db)
    if sync.settled is None:
        return None  # the indexer has not looked at it: no statistics to keep current
    if sync.baseline is None and not sync.taking:
        # A take already queued runs before this write, which is queued after it.
        await ledger.take_baseline(db)
    return TrackedWrite(ledger, db, table, key, new_key, rows)


async def write_tracked(
    tracked: Optional[TrackedWrite], write: Callable[[Callable], Any], fn: Callable
) -> Any:
    """`await write(fn)` with `fn` tracked; settles the event however the write ends
    (a cancelled request included)."""
    if tracked is None:
        return await write(fn)
    try:
        result = await write(tracked.wrap(fn))
    except BaseException:
        await _settle(tracked, False)
        raise
    await _settle(tracked, True)
    return result


async def _settle(tracked: TrackedWrite, committed: bool) -> None:
    try:
        await tracked.finish(committed)
    except Exception:  # the event is settled; the next kick or look applies it
        logger.exception("Column statistics: could not queue a write's deltas")
