"""Read replicas: `litestream restore -f` keeps a local file up to date with a replica,
and the server reads it without ever holding it open between queries.

Why no pooled connections: Litestream's follow mode writes pages straight into the
file. A connection that stays open on a WAL-mode file holds a shared lock that makes
the follower wait forever, and its page cache never learns of pages written behind the
WAL index. So every read of a followed database opens a read-only connection (not
`immutable=1`: the file changes) and closes it afterwards; each query sees the latest
applied transaction and the schema cache is checked against the file every time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from ...database import Database
from ...utils.sqlite import sqlite3
from . import process as processes
from .config import ReplicationConfigError

if TYPE_CHECKING:
    from ...app import Datasette


REFUSED = "This server is a read replica: send writes to the primary at {}"
REFUSED_NO_URL = "This server is a read replica and does not accept writes"


def parse_follow(value: str) -> tuple:
    """`URL=DB_FILE` split at the last `=` (URLs may hold `=` in a query string)."""
    url, sep, path = value.rpartition("=")
    if not sep or not url or not path or "://" not in url:
        raise ReplicationConfigError(
            f"--follow {value!r}: expected REPLICA_URL=DB_FILE, e.g. file:///backups/db=db.db"
        )
    return url, os.path.abspath(path)


class Follower:
    """One `litestream restore -f -o PATH URL` child keeping PATH up to date."""

    def __init__(
        self,
        binary: str,
        url: str,
        path: str,
        interval: str = "1s",
        env: Optional[dict] = None,
    ):
        self.binary = binary
        self.url = url
        self.path = path
        self.interval = interval
        self.env = env or {}
        self.process: Optional[subprocess.Popen] = None
        self.lines: list = []
        self._reader: Optional[threading.Thread] = None

    def start(self, timeout: float = 60.0) -> None:
        """Start following and wait for the first restore to finish.

        A local copy Litestream cannot resume from (no `-txid` file, or one ahead of the
        replica) is a stale replica copy: it is removed and restored afresh, once.

        :raises ReplicationConfigError: the child exited or the file did not appear in time
        """
        try:
            self._start_once(timeout)
        except ReplicationConfigError as e:
            if "cannot resume follow mode" not in str(e):
                raise
            for suffix in ("", "-txid", "-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)
            self.lines = []
            self._start_once(timeout)

    def _start_once(self, timeout: float) -> None:
        args = [self.binary, "restore", "-f", "-follow-interval", self.interval]
        args += ["-o", self.path, self.url]
        self.process = processes.start_sync(
            args,
            env=self.env,
            death_signal=signal.SIGKILL,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(
            target=self._read, name="litestream-follow", daemon=True
        )
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.process.poll() is not None:
                self._reader.join(timeout=1)
                last = self.lines[-1] if self.lines else f"exit status {self.process.returncode}"
                raise ReplicationConfigError(f"Could not follow {self.url}: {last}")
            if time.monotonic() > deadline:
                self.stop()
                raise ReplicationConfigError(
                    f"Could not follow {self.url}: no restore after {timeout:g}s"
                )
            time.sleep(0.05)

    def ready(self) -> bool:
        """Whether the first restore is complete (Litestream writes PATH-txid then)."""
        return os.path.exists(self.path) and os.path.exists(self.path + "-txid")

    def applied_txid(self) -> Optional[str]:
        """The last transaction id applied to the local file, as Litestream records it."""
        try:
            with open(self.path + "-txid") as fp:
                return fp.read().strip() or None
        except OSError:
            return None

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            del self.lines[:-50]

    def stop(self) -> None:
        if self.process is not None:
            processes.stop_sync(self.process, grace=5.0)


class FollowerDatabase(Database):
    """A database file kept up to date by a `Follower`: read-only, one connection per read.

    `primary_url` is named in the refusal of writes sent here.
    """

    keeps_connections = False

    def __init__(self, ds: Datasette, path: str, primary_url: Optional[str] = None):
        super().__init__(ds, path=path, is_mutable=True, mode="ro")
        self.is_follower = True
        self.primary_url = primary_url

    def _read_connection(self) -> Any:
        return self.connect()

    def _inline_connection(self) -> Any:
        return self.connect()

    def _discard(self, conn: Any) -> None:
        with self._file_connections_lock:
            if conn in self._file_connections:
                self._file_connections.remove(conn)
        conn.close()

    async def execute_fn(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(conn)` on a fresh read-only connection, closed afterwards."""

        def once(conn: Any) -> Any:
            try:
                return fn(conn)
            finally:
                self._discard(conn)

        return await super().execute_fn(once)

    def read_blocking(self, fn: Callable[[Any], Any]) -> Any:
        """`fn(conn)` on a fresh read-only connection, closed afterwards: one left open
        would hold the shared lock that makes Litestream's follower wait (see above)."""
        conn = self.connect()
        try:
            return fn(conn)
        finally:
            self._discard(conn)

    def probe_schema_version(self) -> Optional[int]:
        # None sends the caller to `execute_fn`, whose fresh connection sees new pages.
        return None


def refusal_message(primary_url: Optional[str]) -> str:
    return REFUSED.format(primary_url) if primary_url else REFUSED_NO_URL


def check_follower_file(path: str) -> None:
    """Fail clearly if the restored file cannot be read."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            conn.execute("select count(*) from sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise ReplicationConfigError(f"Restored follower file {path} is not readable: {e}")
