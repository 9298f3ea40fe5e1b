"""Reading the audit log and the job ledger for the `/-/audit` and `/-/jobs` pages.

Filters arrive as query-string values; a bad one raises `BadRequest` with one message
naming the parameter. Pages are keyset-paginated on `id`, newest first: `_next` is the
last id of the page before, so a page never shifts when new rows arrive.
"""

from __future__ import annotations

import datetime
from typing import Any, NamedTuple, Optional

from ...exceptions import BadRequest
from ..clock import utc_now
from .jobs import STATUSES

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500  # below max_returned_rows, which would truncate

AUDIT_FILTERS = {
    "actor": "actor_id",
    "action": "action",
    "database": "database_name",
    "resource": "resource",
}
JOB_FILTERS = {
    "actor": "actor_id",
    "kind": "kind",
    "status": "status",
    "database": "database_name",
    "resource": "resource",
}


class Page(NamedTuple):
    """One page of rows, the filters that made it, and the `_next` token (None: last)."""

    rows: list
    filters: dict
    next: Optional[str]
    size: int


def parse_time(value: str) -> str:
    """A user's ISO 8601 time (a date alone, or with a time; naive is UTC) in the stored
    form of `created_at`, to compare with it as text.

    Raises `ValueError` for anything else.
    """
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    return utc_now("microseconds", datetime.datetime.fromisoformat(text))


def _int_arg(args: Any, name: str, default: Optional[int], low: int, high: int) -> Optional[int]:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return number


def parse_filters(args: Any, columns: dict) -> tuple:
    """`(where clauses, params, filters used)` from query-string `args` (a MultiParams)."""
    clauses, params, used = [], [], {}
    for name, column in columns.items():
        value = args.get(name)
        if value is None or value == "":
            continue
        if name == "status" and value not in STATUSES:
            raise BadRequest(
                f"status must be one of {', '.join(STATUSES)}, not {value!r}"
            )
        clauses.append(f"{column} = ?")
        params.append(value)
        used[name] = value
    for name, operator in (("since", ">="), ("until", "<")):
        value = args.get(name)
        if value is None or value == "":
            continue
        try:
            stored = parse_time(value)
        except ValueError:
            raise BadRequest(
                f"{name} must be an ISO 8601 date or time, like 2024-01-31 or "
                f"2024-01-31T12:00:00Z, not {value!r}"
            )
        clauses.append(f"created_at {operator} ?")
        params.append(stored)
        used[name] = value
    return clauses, params, used


async def search(db: Any, table: str, args: Any) -> Page:
    """A page of `audit_log` or `jobs` rows matching `args`, newest first."""
    columns = AUDIT_FILTERS if table == "audit_log" else JOB_FILTERS
    clauses, params, used = parse_filters(args, columns)
    size = _int_arg(args, "_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    after = _int_arg(args, "_next", None, 0, 2**63 - 1)
    if after is not None:
        clauses.append("id < ?")
        params.append(after)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    results = await db.execute(
        f"SELECT * FROM {table} {where} ORDER BY id DESC LIMIT ?",
        params + [size + 1],
    )
    rows = [dict(row) for row in results.rows]
    next_token = None
    if len(rows) > size:
        rows = rows[:size]
        next_token = str(rows[-1]["id"])
    return Page(rows, used, next_token, size)


async def walk(db: Any, table: str, args: Any, page_size: int = MAX_PAGE_SIZE) -> Any:
    """Every row matching `args`, newest first, read one keyset page at a time."""
    query = {key: args.get(key) for key in list(AUDIT_FILTERS) + list(JOB_FILTERS)}
    query.update({"since": args.get("since"), "until": args.get("until")})
    query = {key: value for key, value in query.items() if value}
    query["_size"] = str(page_size)
    if args.get("_next"):
        query["_next"] = args.get("_next")
    while True:
        page = await search(db, table, query)
        for row in page.rows:
            yield row
        if page.next is None:
            return
        query["_next"] = page.next
