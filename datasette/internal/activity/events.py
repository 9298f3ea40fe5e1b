"""What core's own audit rows say: action names and small, secret-free details.

Details carry counts, column names and at most `MAX_KEYS` primary keys, never row
contents or parameter values, so the audit log never becomes a copy of the data.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

MAX_KEYS = 5


def row_keys(rows: Iterable[dict], pks: list) -> list:
    """The primary keys of the first `MAX_KEYS` rows that carry all of them.

    Each key is a list of values (one per key column); rows without their keys (an
    insert left to SQLite's rowid) are skipped.
    """
    if not pks:
        return []
    keys = []
    for row in rows:
        if all(pk in row for pk in pks):
            keys.append([row[pk] for pk in pks])
            if len(keys) == MAX_KEYS:
                break
    return keys


def rows_detail(rows: list, pks: list, **extra: Any) -> dict:
    """`{"rows": count, "pks": [...]}` plus any options worth keeping (`ignore` etc.)."""
    detail: dict = {"rows": len(rows), "pks": row_keys(rows, pks)}
    detail.update({key: value for key, value in extra.items() if value})
    return detail


def row_detail(pk_values: list, columns: Optional[Iterable[str]] = None) -> dict:
    """A single row's key (and the names of the columns changed)."""
    detail: dict = {"pks": [list(pk_values)]}
    if columns is not None:
        detail["columns"] = sorted(columns)
    return detail


def create_detail(column_types: list, rows: list, pks: list) -> dict:
    """A new table's column names (given, or read off the rows), rows inserted, keys."""
    columns = [name for name, _ in column_types] or list(
        dict.fromkeys(key for row in rows for key in row)
    )
    return {"columns": columns, "rows": len(rows), "pks": row_keys(rows, pks)}
