"""One watcher per database: an epoch that moves on whenever the database has changed.

The result cache keys entries by it (`cache/generation.py`) and the column statistics
compare it with the epoch their indexer last accounted for (`stats/changes.py`). Both
used to keep a connection of their own per database and read `PRAGMA data_version` on
it, several times per page; now there is one connection, and on the request path one
read per database per request.

How a change is noticed: `PRAGMA data_version` changes on a connection when any *other*
connection commits. The watcher's connection never writes, so every commit, by this
server's writer (a connection of its own) or by another process, changes what it reads
by the time the commit returns. The epoch moves on when the watcher's data version or
schema version changes, and when the watcher has to be reopened (a new connection's data
versions are not comparable with the old one's). Callers only compare epochs for
equality, so whichever of them reads first after a commit moves the epoch for all.

Files are watched through a read-only connection, named in-memory databases through the
shared memory they live in (so the statistics of one still see writes), and anonymous
in-memory databases not at all (every connection to one is a database of its own), nor
followers' files (a connection left open stops Litestream's follower; their epoch is
unknown, so nothing is cached for them and their statistics are never called current).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Tuple

from .. import request_memo
from ..utils.sqlite import sqlite3

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database


@dataclass
class _Watch:
    """One database's watcher connection and the epoch counted for it."""

    conn: Any = None
    seen: Optional[Tuple[int, int]] = None
    epoch: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def watchable(db: Database) -> bool:
    """Whether `db` can be watched: a file, or a named in-memory database, that may keep
    a connection open (a follower's file may not: `Database.keeps_connections`)."""
    if not getattr(db, "keeps_connections", True):
        return False
    return bool(db.memory_name) or (not db.is_memory and bool(db.path))


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # closing at garbage collection or shutdown: nothing to report
        pass


class CommitWatch:
    """The epoch of each watched database, from one connection per `Database` object.

    Owned by the `Datasette` instance (`commit_watch(datasette)`); thread-safe, since the
    statistics also read it on a database's write thread.
    """

    def __init__(self) -> None:
        # Weak keys: a removed database takes its watcher with it.
        self._watches: "weakref.WeakKeyDictionary[Database, _Watch]" = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def epoch(self, db: Database) -> Optional[int]:
        """`db`'s epoch read now, or None when it cannot be known (busy, gone, or not
        `watchable`): treat None as "changed", and as matching nothing."""
        if not watchable(db):
            return None
        watch = self._watch(db)
        with watch.lock:
            try:
                if watch.conn is None:
                    watch.conn = db.open_probe_connection()
                    weakref.finalize(db, _close_quietly, watch.conn)
                    watch.seen = None
                # One statement, so one read transaction; fetchall() runs it to the end,
                # so no read lock or WAL snapshot stays held.
                seen = tuple(
                    watch.conn.execute(
                        "SELECT * FROM pragma_data_version(), pragma_schema_version()"
                    ).fetchall()[0]
                )
            except sqlite3.Error:
                # The next connection's data versions start afresh, so whatever it reads
                # must not match an earlier epoch.
                if watch.conn is not None:
                    _close_quietly(watch.conn)
                    watch.conn = None
                watch.epoch += 1
                return None
            if seen != watch.seen:
                watch.seen = seen  # type: ignore[assignment]
                watch.epoch += 1
            return watch.epoch

    def request_epoch(self, db: Database) -> Optional[int]:
        """`epoch(db)`, read once per request: later calls in the same request get the
        same answer, unless this process has written to `db` since (its own writes are
        seen at once). Outside a request, the same as `epoch(db)`.

        For answers on the request path only: a commit during the request may then be
        seen only by the next one, as if it had come a moment later.
        """
        memo = request_memo.current()
        if memo is None:
            return self.epoch(db)
        key = ("commit_watch", id(self), db.token)
        writes = getattr(db, "writes_finished", None)
        found = memo.get(key)
        if found is not None and found[0] == writes:
            return found[1]
        epoch = self.epoch(db)
        if epoch is not None:  # unknown is asked again: the next read may succeed
            memo[key] = (writes, epoch)
        return epoch

    def _watch(self, db: Database) -> _Watch:
        with self._lock:
            watch = self._watches.get(db)
            if watch is None:
                watch = self._watches[db] = _Watch()
            return watch

    def close(self) -> None:
        """Close every watcher connection (a later read opens it again, as a new epoch)."""
        with self._lock:
            watches = list(self._watches.values())
        for watch in watches:
            with watch.lock:
                if watch.conn is not None:
                    _close_quietly(watch.conn)
                    watch.conn = None
                    watch.epoch += 1


def commit_watch(datasette: Datasette) -> CommitWatch:
    """The instance's `CommitWatch`, created on first use."""
    watch = datasette.__dict__.get("_commit_watch")
    if watch is None:
        watch = datasette.__dict__["_commit_watch"] = CommitWatch()
    return watch
