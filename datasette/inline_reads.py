"""Short reads answered on the event loop's own thread, skipping the trip to a read thread.

A read sent to the thread pool costs two thread switches and a wake-up of the event loop,
about ten times what SQLite needs for a primary-key lookup or one page of a table. So
`Database.execute` first runs a query here, on a connection of this object's own, under
a small budget (`BUDGET_MS`): most queries finish well inside it and are answered
without leaving the loop. A query that runs past the budget is interrupted (the
statement is discarded; reads have no side effects) and sent to a read thread with the
full time limit; its SQL text is remembered, so it goes straight to the threads for
the next `RETRY_AFTER` runs before it is tried inline again (a query can overrun once
because the machine was busy, or get faster as the data changes). The cost of a wrong
guess is bounded by the budget, paid at most once per `RETRY_AFTER` runs of a SQL text.

The connection never waits for a lock (`busy_timeout` 0): a database a writer keeps
busy (rollback journal) is read on a thread instead, so the event loop is never held up.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Optional

# Milliseconds a read may run on the event loop before it is moved to a read thread.
BUDGET_MS = 2.0
# How many slow SQL texts are remembered (least recently seen forgotten first).
SLOW_MEMORY = 512
# Runs of a slow SQL text sent straight to the threads before it is tried inline again.
RETRY_AFTER = 64
# The inline budget is checked every this many SQLite virtual-machine steps (a few tens
# of microseconds): each check is a Python call that needs the GIL.
CHECK_EVERY = 500


class TooSlowInline(Exception):
    """The read ran past the inline budget or met a lock: run it on a read thread."""


class InlineReads:
    """One database's inline read connection and the SQL texts known to be slow."""

    def __init__(self, connect: Callable[[], Any]):
        self._connect = connect
        self._conn: Any = None
        self._slow: OrderedDict = OrderedDict()
        # The connection is made on whichever thread runs an event loop; the lock only
        # guards against two loops in two threads sharing one Database (tests, clients).
        self._lock = threading.Lock()

    def worth_trying(self, sql: str) -> bool:
        """False for SQL recently seen to run past the budget."""
        remaining = self._slow.get(sql)
        if remaining is None:
            return True
        if remaining <= 1:
            del self._slow[sql]
            return True
        self._slow[sql] = remaining - 1
        self._slow.move_to_end(sql)
        return False

    def remember_slow(self, sql: str) -> None:
        self._slow[sql] = RETRY_AFTER
        self._slow.move_to_end(sql)
        if len(self._slow) > SLOW_MEMORY:
            self._slow.popitem(last=False)

    def run(self, fn: Callable[[Any], Any]) -> Any:
        """`fn(conn)` on the inline connection, or raise `TooSlowInline`.

        `fn` sets the time limit itself (the budget, or less); it signals "interrupted"
        by raising `TooSlowInline` and any other error as usual. A lock met on the way
        also raises `TooSlowInline`.
        """
        if not self._lock.acquire(blocking=False):
            raise TooSlowInline()
        try:
            conn = self._connection()
            try:
                return fn(conn)
            except sqlite3.OperationalError as e:
                if is_busy(e):
                    raise TooSlowInline() from e
                raise
        finally:
            self._lock.release()

    def _connection(self) -> Any:
        if self._conn is None:
            conn = self._connect()
            conn.execute("PRAGMA busy_timeout = 0")
            self._conn = conn
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass


class budget_limit:
    """Interrupt the statement on `conn` once `ms` milliseconds have passed.

    `utils.timelimit.sqlite_timelimit`, but checking every `CHECK_EVERY` steps whatever
    the limit: the budget is a guess, not a promise, so checking less often costs little
    and keeps the check cheap for the queries that do fit. A class rather than a
    generator-based context manager: it wraps every inline read, and costs a third.
    """

    __slots__ = ("_conn", "_deadline")

    def __init__(self, conn: Any, ms: float):
        self._conn = conn
        self._deadline = time.perf_counter() + ms / 1000

    def _past_deadline(self) -> int:
        return 1 if time.perf_counter() >= self._deadline else 0

    def __enter__(self) -> None:
        self._conn.set_progress_handler(self._past_deadline, CHECK_EVERY)

    def __exit__(self, *exc_info: Any) -> None:
        self._conn.set_progress_handler(None, CHECK_EVERY)


def is_busy(error: sqlite3.Error) -> bool:
    """Whether SQLite refused because another connection holds a lock."""
    text = str(error)
    return "database is locked" in text or "database table is locked" in text


def inline_budget(time_limit_ms: Optional[float], budget_ms: float = BUDGET_MS) -> tuple[float, bool]:
    """(milliseconds to allow inline, whether running out means the real limit was hit)."""
    if time_limit_ms and time_limit_ms <= budget_ms:
        return time_limit_ms, True
    return budget_ms, False
