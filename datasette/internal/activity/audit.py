"""The audit log: who did what to which database or resource, appended in batches.

`AuditLog.record` checks and stamps a row at the call site, then hands it to the internal
database's single writer without waiting: rows recorded while a batch is queued join that
batch, so a burst of write-API calls costs one internal transaction, not one each. A
batch that fails to write is logged with its rows (on the `datasette.activity` logger),
never raised into the request that recorded it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Optional

from ..batching import PendingRows
from ..clock import utc_now
from .actors import actor_id_of, actor_json

logger = logging.getLogger("datasette.activity")

_INSERT = (
    "INSERT INTO audit_log "
    "(created_at, actor_id, actor, action, database_name, resource, detail) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class AuditLog:
    """Appends audit rows to the internal database through its writer.

    :param internal_db: the internal `Database`
    """

    def __init__(self, internal_db: Any):
        self._db = internal_db
        self._pending = PendingRows(internal_db, self._write_pending)
        self._last_batch_at = 0.0
        self.batch_interval = 0.05
        """Least seconds between two audit commits (see `_write_pending`)."""
        self.enabled = True
        """False stops recording (the benchmarks compare both); `record` then does nothing."""

    async def record(
        self,
        action: str,
        *,
        actor: Optional[dict],
        database: Optional[str],
        resource: Optional[str],
        detail: Any,
    ) -> None:
        """Append one row. See `Datasette.audit`, the public door, for the meaning of each
        argument and their defaults; here every one must be given.

        Raises `TypeError` at once when `detail` cannot be stored as JSON; any later
        failure is logged, not raised.
        """
        if not isinstance(action, str) or not action:
            raise TypeError("audit action must be a non-empty string")
        try:
            detail_text = None if detail is None else json.dumps(detail)
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"audit detail for {action!r} must be JSON-serialisable: {e}"
            ) from None
        if not self.enabled:
            return
        row = (
            utc_now("microseconds"),
            actor_id_of(actor),
            actor_json(actor),
            action,
            database,
            None if resource is None else str(resource),
            detail_text,
        )
        try:
            await self._pending.add(row)
        except Exception:  # the user's request goes on; the row is in the log instead
            logger.exception("Could not queue audit row %r", row)

    def _write_pending(self, conn: Any) -> int:
        """Runs on the writer: insert every pending row in one transaction.

        Under steady traffic a batch waits until `batch_interval` has passed since the
        last one, gathering the rows recorded meanwhile: one durable commit then covers
        many requests instead of each paying for its own. A lone row goes at once.
        """
        wait = self.batch_interval - (time.monotonic() - self._last_batch_at)
        if wait > 0 and threading.current_thread().name.startswith("datasette-writer"):
            time.sleep(wait)  # on the writer thread only, never on an event loop
        rows = self._pending.take()
        self._last_batch_at = time.monotonic()
        if not rows:
            return 0
        try:
            with conn:
                conn.executemany(_INSERT, rows)
        except Exception:
            logger.exception("Could not write %d audit rows: %r", len(rows), rows)
            return 0
        return len(rows)

    async def flush(self) -> None:
        """Wait until every row recorded so far is written (or has failed and been logged)."""
        await self._pending.flush()

    @property
    def pending(self) -> int:
        """Rows recorded but not written yet."""
        return len(self._pending)
