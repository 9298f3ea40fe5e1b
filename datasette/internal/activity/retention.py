"""Retention of the audit log and of finished jobs, in bounded batches.

Each batch is one short write transaction of at most `BATCH` rows, so the internal
writer stays free for other work between batches. Running jobs are never removed.
A limit of 0 means no limit.
"""

from __future__ import annotations

import datetime
from typing import Any, Optional

from ..clock import utc_now

BATCH = 500


def _cutoff(max_age_days: float, now: Optional[datetime.datetime]) -> str:
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return utc_now("microseconds", now - datetime.timedelta(days=max_age_days))


def _victims(conn: Any, table: str, where: str, params: list, keep: int) -> list:
    """Ids of at most BATCH rows to remove: past the age cutoff, or beyond the newest `keep`."""
    ids: list = []
    if where:
        ids = [
            row[0]
            for row in conn.execute(
                f"SELECT id FROM {table} WHERE {where} ORDER BY id LIMIT {BATCH}", params
            )
        ]
    if keep and len(ids) < BATCH:
        base = "WHERE status != 'running'" if table == "jobs" else ""
        newest_kept = conn.execute(
            f"SELECT id FROM {table} {base} ORDER BY id DESC LIMIT 1 OFFSET ?", [keep - 1]
        ).fetchone()
        if newest_kept is not None:
            extra = "AND status != 'running'" if table == "jobs" else ""
            ids += [
                row[0]
                for row in conn.execute(
                    f"SELECT id FROM {table} WHERE id < ? {extra} ORDER BY id LIMIT ?",
                    [newest_kept[0], BATCH - len(ids)],
                )
            ]
    return sorted(set(ids))


def delete_batch(
    conn: Any,
    table: str,
    max_age_days: float,
    max_rows: int,
    now: Optional[datetime.datetime] = None,
) -> int:
    """Remove one batch of expired rows of `audit_log` or `jobs`; return how many went.

    Runs on the internal writer. For `jobs`, age counts from `finished_at` and only
    finished jobs count towards `max_rows`.
    """
    assert table in ("audit_log", "jobs")
    where, params = "", []
    if max_age_days:
        column = "finished_at" if table == "jobs" else "created_at"
        where = f"{column} < ?"
        if table == "jobs":
            where += " AND status != 'running'"
        params = [_cutoff(max_age_days, now)]
    if not where and not max_rows:
        return 0
    ids = _victims(conn, table, where, params, max_rows)
    if not ids:
        return 0
    with conn:
        conn.execute(
            f"DELETE FROM {table} WHERE id IN ({', '.join('?' for _ in ids)})", ids
        )
    return len(ids)
