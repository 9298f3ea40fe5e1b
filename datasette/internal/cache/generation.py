"""Which state of a database a cached result belongs to.

A result may be reused only while its database is exactly as it was when the result was
computed. `Generations.identity(db)` names that state, or returns None when it cannot be
known (the result is then computed and not cached):

- An immutable file is named by its identity on disk (device, inode, size, mtime_ns).
  Nothing writes to it while it is served, so the name holds across restarts.
- A mutable file is named by its `Database` object's token (new in every process) and an
  epoch counted here. `PRAGMA data_version` changes on a connection when any *other*
  connection commits, so each mutable database gets one small watcher connection that
  never writes: every commit, by this server's writer (a connection of its own) or by
  another process, changes what the watcher reads, by the time the commit returns. The
  epoch moves on when the watcher's data version or the schema version changes, and when
  the watcher has to be reopened (a new connection's data versions are not comparable
  with the old one's).
- In-memory databases are not cached: they are small, and other connections in this
  process may change a named one without a file to watch.
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Tuple

from ...utils.sqlite import sqlite3, sqlite_file_uri

if TYPE_CHECKING:
    from ...database import Database


@dataclass
class _Watch:
    """One mutable database's watcher connection and the epoch it has counted."""

    conn: Any = None
    seen: Optional[Tuple[int, int]] = None
    epoch: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _open_watcher(path: str) -> Any:
    # timeout=0: a locked file answers at once (the caller then skips the cache) instead
    # of holding up the event loop; read-only, so it can never commit anything itself.
    conn = sqlite3.connect(
        sqlite_file_uri(path) + "?mode=ro", uri=True, check_same_thread=False, timeout=0
    )
    conn.isolation_level = None
    return conn


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # closing at garbage collection or shutdown: nothing to report
        pass


class Generations:
    """The current state name of each database, from watchers kept per `Database` object."""

    def __init__(self) -> None:
        # Weak keys: a removed database takes its watcher with it.
        self._watches: "weakref.WeakKeyDictionary[Database, _Watch]" = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def identity(self, db: Database) -> Optional[Tuple[str, str]]:
        """`(scope, state name)` for `db` as it is now, or None when it cannot be cached.

        `scope` is "immutable" (the name holds across restarts) or "mutable".
        """
        if db.is_memory or not db.path:
            return None
        if not db.is_mutable:
            try:
                st = os.stat(db.path)
            except OSError:
                return None
            return "immutable", f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
        epoch = self._epoch(db)
        if epoch is None:
            return None
        return "mutable", f"{db.token}:{epoch}"

    def _watch(self, db: Database) -> _Watch:
        with self._lock:
            watch = self._watches.get(db)
            if watch is None:
                watch = self._watches[db] = _Watch()
            return watch

    def _epoch(self, db: Database) -> Optional[int]:
        watch = self._watch(db)
        with watch.lock:
            try:
                if watch.conn is None:
                    watch.conn = _open_watcher(str(db.path))
                    weakref.finalize(db, _close_quietly, watch.conn)
                    watch.seen = None
                # One statement, so one read transaction (a third of two pragmas' cost);
                # fetchall() runs it to the end, so no read lock or WAL snapshot stays held.
                data_version, schema_version = watch.conn.execute(
                    "SELECT * FROM pragma_data_version(), pragma_schema_version()"
                ).fetchall()[0]
            except sqlite3.Error:
                # Busy or gone: unknown now, and the next connection's data versions start
                # afresh, so whatever it reads must not match an earlier epoch.
                if watch.conn is not None:
                    _close_quietly(watch.conn)
                    watch.conn = None
                watch.epoch += 1
                return None
            seen = (data_version, schema_version)
            if seen != watch.seen:
                watch.seen = seen
                watch.epoch += 1
            return watch.epoch

    def close(self) -> None:
        """Close every watcher connection."""
        with self._lock:
            watches = list(self._watches.values())
        for watch in watches:
            with watch.lock:
                if watch.conn is not None:
                    _close_quietly(watch.conn)
                    watch.conn = None
                    watch.epoch += 1
