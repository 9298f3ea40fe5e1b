"""Suggested facets decided from column statistics instead of one probe query per column.

`facets.py` asks these before probing: each answers from the table's current statistics
(`service.current_statistics`), or None when they do not cover the column, in which case
the facet class probes as it always did; once a table is indexed, the column facet's
remaining probes are made by one query for all columns (`suggested_column_facets`).

On a page showing every row of the table (its row count equals the table's), a column facet
is decided from the statistics alone, exactly as the probe would: more than one and at most
the facet size distinct values, one of them occurring twice. On a filtered page the rows
are a subset, whose values the statistics do not describe: they can only rule columns out
(a column with at most one distinct value, or with no value occurring twice in the whole
table, has neither in any subset), and the rest are probed. Date and array facets are
likewise only ruled out: a column without one date-like text (or one JSON array) cannot
qualify.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, List, Optional

from ...exceptions import QueryInterrupted
from ...utils import escape_sqlite
from ...utils.sqlite import sqlite3

# A failing measurement only means "suggest none of these", as a failing probe does.
_PROBE_ERRORS = (QueryInterrupted, sqlite3.OperationalError, sqlite3.DatabaseError)


def _column(stats: Optional[dict], column: str) -> Optional[dict]:
    if stats is None:
        return None
    return stats["columns"].get(column)


def column_facet_suggested(
    stats: Optional[dict], column: str, facet_size: int, page_rows: Optional[int]
) -> Optional[bool]:
    """Whether `column` makes a useful column facet for a page of `page_rows` rows;
    None when the statistics cannot say and the column must be probed."""
    entry = _column(stats, column)
    if entry is None or not entry["binary_collation"]:
        return None  # not indexed, or compared by a collation these counts do not follow
    if not entry["distinct_exact"]:
        # More values than the facet size in the table: too many, unless filtered.
        whole_table = page_rows == stats["row_count"]
        return False if whole_table and entry["distinct_count"] > facet_size else None
    non_null = stats["row_count"] - entry["null_count"]
    distinct = entry["distinct_count"]
    if distinct <= 1 or distinct >= non_null:
        return False  # true of every subset too: too few values, or none repeated
    if page_rows != stats["row_count"]:
        return None  # a filtered page: its own values decide
    return distinct <= facet_size


def may_be_date_facet(stats: Optional[dict], column: str) -> bool:
    """False when the statistics show `column` holds no date-like text at all."""
    entry = _column(stats, column)
    return entry is None or entry["date_count"] > 0


def may_be_array_facet(stats: Optional[dict], column: str) -> bool:
    """False when the statistics show `column` holds no JSON array at all."""
    entry = _column(stats, column)
    return entry is None or entry["json_array_count"] > 0


async def suggested_column_facets(
    stats: dict,
    columns: List[str],
    facet_size: int,
    page_rows: Optional[int],
    sql: str,
    probe: Callable[[str, int], Awaitable[Any]],
) -> List[str]:
    """The columns (in order) worth a column facet on a page of `page_rows` rows of `sql`.

    Columns the statistics decide cost nothing; the rest are measured together by one
    query over the page's rows, computed once (`probe(sql, columns measured)` runs it),
    which checks exactly what the per-column probes check: more than one and at most
    `facet_size` distinct non-null values, fewer than the rows, one of them twice.
    """
    decided = {c: column_facet_suggested(stats, c, facet_size, page_rows) for c in columns}
    undecided = [c for c in columns if decided[c] is None]
    if undecided:
        try:
            results = await probe(combined_probe_sql(sql, undecided, facet_size), len(undecided))
            measured = [json.loads(value) for value in results.rows[0]]
        except _PROBE_ERRORS:
            measured = [[0, None]] * len(undecided)
        rows = page_rows or 0
        for column, (distinct, largest) in zip(undecided, measured):
            decided[column] = 1 < distinct < rows and distinct <= facet_size and (largest or 0) > 1
    return [c for c in columns if decided[c]]


def combined_probe_sql(sql: str, columns: List[str], facet_size: int) -> str:
    """One query giving, per column, `[distinct values up to facet_size + 1, the largest
    count among them]` over the rows of `sql`, computed once and kept (materialized)."""
    parts = []
    kept = ", ".join(escape_sqlite(column) for column in columns)
    for column in columns:
        quoted = escape_sqlite(column)
        groups = (
            f"select count(*) as n from page_rows where {quoted} is not null "
            f"group by {quoted} limit {facet_size + 1}"
        )
        parts.append(f"(select json_array(count(*), max(n)) from ({groups}))")
    return f"with page_rows as materialized (select {kept} from ({sql})) select {', '.join(parts)}"


def all_json_arrays(stats: Optional[dict], column: str) -> bool:
    """True when every non-null value of `column` in the table is a JSON array: then so is
    every non-null value of any page of it, and the array facet's type probe is spared."""
    entry = _column(stats, column)
    if entry is None:
        return False
    non_null = stats["row_count"] - entry["null_count"]
    return non_null > 0 and entry["json_array_count"] == non_null
