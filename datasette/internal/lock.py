"""An exclusive lock on an internal database file for the life of the process.

Two servers sharing one `--internal FILE` would both rebuild the catalog and write plugin
state. The lock is an `flock` on the database file itself, so every path that reaches the
file (symlinks, `..`, hard links) meets the same lock, and the kernel releases it when the
process ends, even after a crash. `flock` locks are separate from the POSIX record locks
SQLite uses, so the two never interfere. The holder's pid is written to `FILE.lock`
beside the real file, only so the refusal can name it.
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
    """Holds the database file exclusively until `release()` or process exit.

    Creates the file (mode 0600) when it does not exist yet.
    """

    def __init__(self, db_path: str):
        self.db_path = db_path
        self.pid_path = os.path.realpath(db_path) + ".lock"
        self._fd: Optional[int] = None

    def acquire(self) -> None:
        """Take the lock or raise `InternalDatabaseError` naming the process holding it."""
        if fcntl is None:  # pragma: no cover
            return
        fd = os.open(self.db_path, os.O_RDONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise InternalDatabaseError(
                f"Internal database {self.db_path} is in use by another Datasette "
                f"process{self._holder()}; stop it or pass a different --internal file"
            )
        self._fd = fd
        try:
            with open(self.pid_path, "w") as fp:
                fp.write(f"{os.getpid()}\n")
            os.chmod(self.pid_path, 0o600)
        except OSError:
            pass  # only used to name the holder in a refusal

    def release(self) -> None:
        """Let another process take the lock."""
        if self._fd is None:
            return
        try:
            os.close(self._fd)
        finally:
            self._fd = None

    def _holder(self) -> str:
        try:
            with open(self.pid_path) as fp:
                pid = fp.read(32).strip()
        except OSError:
            return ""
        return f" (pid {pid})" if pid.isdigit() else ""
