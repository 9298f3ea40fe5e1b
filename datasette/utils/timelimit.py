"""The SQL time limit, enforced through SQLite's progress handler."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator, Optional


@contextmanager
def sqlite_timelimit(conn: Any, ms: float, check_every: Optional[int] = None) -> Iterator[None]:
    """Interrupt any statement on `conn` that runs longer than `ms` milliseconds.

    SQLite calls the handler every `check_every` virtual-machine steps; a non-zero return
    aborts the statement with ``OperationalError("interrupted")``. By default very short
    limits check on every step, so they are honoured at all, and others every 1000.
    """
    deadline = time.perf_counter() + (ms / 1000)
    if check_every is None:
        check_every = 1 if ms <= 20 else 1000

    def handler() -> int:
        return 1 if time.perf_counter() >= deadline else 0

    conn.set_progress_handler(handler, check_every)
    try:
        yield
    finally:
        conn.set_progress_handler(None, check_every)
