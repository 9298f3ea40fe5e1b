"""Rows gathered from requests and written to the internal database in batches.

Systems that record something on a request's path (the audit log, the result cache) must
not make the request wait for a durable commit. They add rows here and the internal
writer writes them later: while one batch task is queued on the writer, rows added
meanwhile join it, so a burst of requests costs one transaction, not one each.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Hashable, Optional


class PendingRows:
    """Rows waiting for the writer, with at most one batch task queued at a time.

    :param db: the internal `Database`
    :param write_pending: the owner's function of the write connection that takes the rows
        (`take()`) and writes them; queued on the writer by `add` and `flush`
    """

    def __init__(self, db: Any, write_pending: Callable[[Any], Any]):
        self._db = db
        self._write_pending = write_pending
        self._lock = threading.Lock()
        self._rows: dict = {}
        self._queued = False
        self._serial = itertools.count()

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    async def add(self, row: Any, key: Optional[Hashable] = None) -> None:
        """Add `row` (replacing a pending row added with the same `key`) and make sure a
        batch task is queued. Raises what queueing raised; the row then stays pending
        and goes with the next batch."""
        with self._lock:
            self._rows[next(self._serial) if key is None else key] = row
            if self._queued:
                return
            self._queued = True
        try:
            await self._db.execute_write_fn(self._write_pending, block=False)
        except BaseException:
            with self._lock:
                self._queued = False
            raise

    def take(self) -> list:
        """The pending rows, oldest first, emptied; called by the batch task on the writer,
        after which a new row queues a new task."""
        with self._lock:
            rows, self._rows = list(self._rows.values()), {}
            self._queued = False
        return rows

    async def flush(self) -> None:
        """Wait until every row added so far is written (or has failed and been logged)."""
        await self._db.execute_write_fn(self._write_pending)
