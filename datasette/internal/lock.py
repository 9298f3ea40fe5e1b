"""An exclusive lock on an internal database file for the life of the process.

Two servers sharing one `--internal FILE` would both rebuild the catalog and write plugin
state. The lock is an `flock` on the database file itself, so every path that reaches the
file (symlinks, `..`, hard links) meets the same lock, and the kernel releases it when the
process ends, even after a crash. `flock` locks are separate from the POSIX record locks
SQLite uses, so the two never interfere.

Once the file has been accepted, the holder's pid is written to `FILE.lock` beside the
real file, only so another process's refusal can name it; it is removed on release. A
refused file therefore gets nothing written beside it.

Within one process a second `Datasette` on the same file meets the first one's lock too
(`flock` locks belong to open file descriptions, not processes). Instances nobody holds
any more are collected and the lock taken again; a live one is named as this process.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from typing import Dict, Optional, Tuple

from ..exceptions import InternalDatabaseError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

# (device, inode) of each internal file this process holds locked.
_held_here: Dict[Tuple[int, int], int] = {}
_held_lock = threading.Lock()


class InternalFileLock:
    """Holds the database file exclusively until `release()` or process exit.

    Creates the file (mode 0600) when it does not exist yet.
    """

    def __init__(self, db_path: str):
        self.db_path = db_path
        self.pid_path = os.path.realpath(db_path) + ".lock"
        self._fd: Optional[int] = None
        self._key: Optional[Tuple[int, int]] = None
        self._wrote_pid = False

    def acquire(self) -> None:
        """Take the lock or raise `InternalDatabaseError` naming the holder."""
        if fcntl is None:  # pragma: no cover
            return
        fd = os.open(self.db_path, os.O_RDONLY | os.O_CREAT, 0o600)
        stat = os.fstat(fd)
        key = (stat.st_dev, stat.st_ino)
        if not _try_flock(fd) and not (key in _held_here and _collect_and_retry(fd)):
            os.close(fd)
            raise InternalDatabaseError(self._refusal(key))
        self._fd = fd
        self._key = key
        with _held_lock:
            _held_here[key] = _held_here.get(key, 0) + 1

    def record_holder(self) -> None:
        """Write this process's pid beside the file, once the file has been accepted."""
        if self._fd is None:
            return
        try:
            fd = os.open(self.pid_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fp:
                fp.write(f"{os.getpid()}\n")
            self._wrote_pid = True
        except OSError:
            pass  # only used to name the holder in a refusal

    def release(self) -> None:
        """Let another process (or instance) take the lock; remove the pid file."""
        if self._fd is None:
            return
        if self._wrote_pid:
            try:
                os.remove(self.pid_path)
            except OSError:
                pass
            self._wrote_pid = False
        with _held_lock:
            if self._key is not None and _held_here.get(self._key, 0) > 0:
                _held_here[self._key] -= 1
                if not _held_here[self._key]:
                    del _held_here[self._key]
        try:
            os.close(self._fd)
        finally:
            self._fd = None

    def _refusal(self, key: Tuple[int, int]) -> str:
        if key in _held_here:
            return (
                f"Internal database {self.db_path} is in use by another Datasette "
                f"instance in this process (pid {os.getpid()}); call close() on it "
                "first or pass a different internal file"
            )
        return (
            f"Internal database {self.db_path} is in use by another Datasette "
            f"process{self._holder()}; stop it or pass a different --internal file"
        )

    def _holder(self) -> str:
        try:
            with open(self.pid_path) as fp:
                pid = fp.read(32).strip()
        except OSError:
            return ""
        return f" (pid {pid})" if pid.isdigit() else ""


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _collect_and_retry(fd: int, attempts: int = 10, pause: float = 0.05) -> bool:
    """Collect unreachable instances (their finalizers release their locks), then retry.

    Retried for half a second: a write the dropped instance queued just before its
    event loop closed keeps it reachable from its write thread until that write ends.
    """
    for attempt in range(attempts):
        gc.collect()
        if _try_flock(fd):
            return True
        if attempt + 1 < attempts:
            time.sleep(pause)
    return False
