"""`Activity`: the audit log, the job ledger and their retention, for one `Datasette`.

Retention runs as a background task of the event loop serving requests: it is (re)started
by `ensure_background()`, which `Datasette.invoke_startup` calls on every request, so it
follows the server's loop even when start-up first ran in another one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from typing import TYPE_CHECKING, Any, Callable, Optional

from .audit import AuditLog
from .jobs import JobLedger
from .retention import delete_batch

if TYPE_CHECKING:
    from ...app import Datasette


logger = logging.getLogger("datasette.activity")

RETENTION_SETTINGS = (
    ("audit_log", "audit_max_age_days", "audit_max_rows"),
    ("jobs", "jobs_max_age_days", "jobs_max_rows"),
)


class Activity:
    """Owns `audit` (an `AuditLog`) and `jobs` (a `JobLedger`) on the internal database.

    :param internal_db: the internal `Database`
    :param setting: `Datasette.setting`, read at each retention pass
    :param datasette: handed to job resume functions
    """

    retention_interval = 300.0
    """Seconds between two retention passes of the background task."""

    def __init__(self, internal_db: Any, setting: Callable[[str], Any], datasette: Datasette = None):
        self._db = internal_db
        self._setting = setting
        self.audit = AuditLog(internal_db)
        self.jobs = JobLedger(internal_db, datasette)
        self._background: Optional[asyncio.Task] = None
        self._warned: set = set()

    def _limits(self) -> list:
        """`[(table, max age in days, max rows)]` for each table with a limit set."""
        limits = []
        for table, age_name, rows_name in RETENTION_SETTINGS:
            max_age, max_rows = self._number(age_name), int(self._number(rows_name))
            if max_age or max_rows:
                limits.append((table, max_age, max_rows))
        return limits

    def _number(self, name: str) -> float:
        """A retention setting as a number; a value that is not one counts as no limit
        (logged), since settings from a config file are not type-checked."""
        value = self._setting(name) or 0
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if number < 0:
            if name not in self._warned:  # once, not at every request
                self._warned.add(name)
                logger.error(
                    "Setting %s must be a number of 0 or more, not %r: ignored", name, value
                )
            return 0.0
        return number

    async def enforce_retention(self, now: Any = None) -> dict:
        """Remove every row past the retention settings, batch by batch; counts by table."""
        await self.audit.flush()
        removed = {}
        for table, max_age, max_rows in self._limits():
            total = 0
            while True:
                count = await self._db.execute_write_fn(
                    functools.partial(
                        delete_batch, table=table, max_age_days=max_age, max_rows=max_rows,
                        now=now,
                    )
                )
                total += count
                if not count:
                    break
                await asyncio.sleep(0)  # let queued requests in between batches
            removed[table] = total
        return removed

    async def on_startup(self) -> None:
        """Recover jobs of dead processes and start the retention task."""
        await self.jobs.recover()
        self.ensure_background()

    def ensure_background(self) -> None:
        """Make sure the retention task runs in the current event loop (if limits are
        set), and that interrupted jobs get resumed there."""
        task = self._background
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.jobs.schedule_resumes()
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        if not self._limits():
            return
        self._background = loop.create_task(_retention_loop(weakref.ref(self)))


async def _retention_loop(activity_ref: Any) -> None:
    """Enforce retention now and every `retention_interval` seconds while the owner lives.

    Holds only a weak reference between passes, so an instance nobody uses any more is
    collected and the task ends.
    """
    while True:
        activity = activity_ref()
        if activity is None:
            return
        interval = activity.retention_interval
        try:
            await activity.enforce_retention()
        except Exception:
            logger.exception("Retention of the audit log and jobs failed")
        del activity
        await asyncio.sleep(interval)
