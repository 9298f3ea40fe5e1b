"""The SQL time limit, enforced through SQLite's progress handler."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def sqlite_timelimit(conn: Any, ms: float) -> Iterator[None]:
    """Interrupt any statement on `conn` that runs longer than `ms` milliseconds.

    SQLite calls the handler every N virtual-machine steps; a non-zero return aborts the
    statement with ``OperationalError("interrupted")``. Very short limits check on every
    step so they are honoured at all.
    """
    deadline = time.perf_counter() + (ms / 1000)
    n = 1 if ms <= 20 else 1000

    def handler() -> int:
        return 1 if time.perf_counter() >= deadline else 0

    conn.set_progress_handler(handler, n)
    try:
        yield
    finally:
        conn.set_progress_handler(None, n)
