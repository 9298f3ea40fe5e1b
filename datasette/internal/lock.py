"""An exclusive lock on an internal database file for the life of the process.

Two servers sharing one `--internal FILE` would both rebuild the catalog and write plugin
state. The lock is an `flock` on a sidecar `FILE.lock` holding the owner's pid, so it is
released by the kernel when the process ends, even after a crash.
"""

from __future__ import annotations

import os
from typing import Optional

from ..exceptions import InternalDatabaseError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class InternalFileLock:
    """Holds `path + ".lock"` exclusively until `release()` or process exit."""

    def __init__(self, db_path: str):
        self.db_path = db_path
        self.lock_path = db_path + ".lock"
        self._fd: Optional[int] = None

    def acquire(self) -> None:
        """Take the lock or raise `InternalDatabaseError` naming the process holding it."""
        if fcntl is None:  # pragma: no cover
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            raise InternalDatabaseError(
                f"Internal database {self.db_path} is in use by another Datasette "
                f"process{holder}; stop it or pass a different --internal file"
            )
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let another process take the lock."""
        if self._fd is None:
            return
        try:
            os.close(self._fd)
        finally:
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        pid = os.read(fd, 32).decode().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
