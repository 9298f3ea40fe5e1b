"""Index intersection for table pages filtered by equality on several indexed columns.

`?state=CA&category_id=17` on a table with one index per column: SQLite walks one index
(say 20,000 entries for `category_id = 17`) and looks up every row to test the other
filters. When the whole filtered set is visited anyway (a sort on an unindexed column, a
facet, a count), intersecting the two indexes first is cheaper: for each entry of the
smaller index one seek in the other's (covering, no row read), then only the few rows in
both are looked up. The page SQL gains one redundant conjunct,

    rowid in (select n0.rowid from t as n0 cross join t as n1
              where n1.rowid = n0.rowid and n0.state = :p0 and n1.category_id = :p1)

which holds exactly for the rows that already satisfy the filters it repeats, so the
rows, their order and every count stay what the plain query gives.

It pays only when the other filters are selective (a handful of rows in common); when
every filter matches half the table it costs twice the plain plan. `plan_narrowing`
therefore decides from row estimates for the filters' values: the table's column
statistics (docs/column-statistics.md: the exact rows of the filter's value where the column's
values are all kept, so a skewed column's common value is not taken for a rare one) or SQLite's own
`sqlite_stat1` (an average per value); with neither it does nothing.

A page often runs several such queries (its rows, a count, facets, suggestions), and
each would intersect the indexes again. So the intersection is read once, as a list of
rowids, and the queries say `rowid in (3, 17, ...)` instead: a few hundred look-ups
each, and a page in key order can stop after its first rows. That list is only right
while the database is as it was when it was read: every query using it is followed by a
look at the instance's commit watcher (internal/watch.py), and if the database changed
in between, the query runs again with the intersection written out (`checked`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple

from .exceptions import QueryInterrupted
from .internal.stats import current_statistics, value_counts
from .internal.watch import commit_watch
from .utils import escape_sqlite
from .utils.sqlite import sqlite3

if TYPE_CHECKING:
    from .app import Datasette
    from .database import Database

# The driving index must hold at least this many rows for the value: below it the plain
# plan's row look-ups cost well under a millisecond and there is nothing to win.
MIN_DRIVING_ROWS = 1000
# A further filter joins the intersection only when its value is expected in at most
# this share of the table; measured on a 500,000-row table, a filter matching half the
# rows made the intersection twice as slow as the plain plan.
MAX_SHARE = 0.1
# Rowids read once for the whole page, at most (expected, then found). Reading them
# visits the whole intersection, while a page in key order without facets or a count
# could have stopped early: about even at a few hundred rows, twice as slow at 1,000.
MAX_IDS = 1000

# Anywhere in the CREATE statement: a false match only costs the optimisation.
_WITHOUT_ROWID = re.compile(r"without\s+rowid", re.IGNORECASE)


@dataclass(frozen=True)
class Narrowing:
    """An index intersection chosen for one table page.

    :param rowid: the name the table's rowid answers to (a column may take `rowid`)
    :param probes: `(column, parameter name, index)` of each equality filter
        intersected, the one expected to match fewest rows first (it drives the join)
    :param indexed: columns leading some index; a sort on one of them lets SQLite stop
        after a page instead of visiting every filtered row
    """

    rowid: str
    probes: Tuple[Tuple[str, str, str], ...]
    indexed: frozenset
    # The intersection's rowids, as SQL ("3, 17, 20"), when read once for the page.
    ids: Optional[str] = None
    # True while the database is as it was when `ids` were read.
    unchanged: Callable[[], bool] = field(default=lambda: True, compare=False)

    def clause(self, table: str) -> str:
        """The redundant `rowid in (...)` conjunct for `table`: the rowids read, or
        the intersection itself."""
        if self.ids is not None:
            return f"{self.rowid} in ({self.ids})"
        return self.intersection(table)

    def stale(self) -> bool:
        """Whether the rowids read may no longer be the intersection's."""
        return self.ids is not None and not self.unchanged()

    def without_ids(self) -> Narrowing:
        """The same narrowing, written out as the intersection in every query."""
        return replace(self, ids=None, unchanged=lambda: True)

    def intersection(self, table: str) -> str:
        """`rowid in (select ...)` intersecting the probes' indexes.

        `cross join` keeps the driver outermost; `indexed by` makes each later probe
        seek its index by `(value, rowid)` without reading the row: left to itself,
        SQLite may look the row up by rowid instead, which is what the plain plan does.
        """
        return f"{self.rowid} in ({self.select_sql(table)})"

    def select_sql(self, table: str) -> str:
        """`select n0.rowid ...`: the rowids in every probe's index."""
        quoted = escape_sqlite(table)
        sources = " cross join ".join(
            f"{quoted} as n{i} indexed by {escape_sqlite(index)}"
            for i, (_, _, index) in enumerate(self.probes)
        )
        joins = [f"n{i}.{self.rowid} = n0.{self.rowid}" for i in range(1, len(self.probes))]
        tests = [
            f"n{i}.{escape_sqlite(column)} = :{param}"
            for i, (column, param, _) in enumerate(self.probes)
        ]
        where = " and ".join(joins + tests)
        return f"select n0.{self.rowid} from {sources} where {where}"


@dataclass
class _IndexFacts:
    """What the planner reads from the database file itself."""

    leaders: Dict[str, str]  # column -> an index it leads
    pairs: set  # (first, second) columns of each multi-column index
    stat1: Dict[str, List[int]]  # index -> sqlite_stat1 numbers


def _index_facts(conn: Any, table: str) -> Optional[_IndexFacts]:
    """Indexes usable for equality probes on `table`; None for tables without a rowid.

    Partial indexes, expression indexes and indexes with an explicit COLLATE are left
    out: a plain `column = value` may not be able to use them. Derived from the schema
    alone, so kept in the database's schema cache; `stat1` is left empty (`_stat1`).
    """
    row = conn.execute(
        "select sql from sqlite_master where type = 'table' and name = ?", [table]
    ).fetchone()
    sql = (row[0] or "") if row else ""
    if not sql.lower().startswith("create table") or _WITHOUT_ROWID.search(sql):
        return None
    facts = _IndexFacts({}, set(), {})
    indexes = conn.execute(
        "select il.name, il.partial, m.sql from pragma_index_list(?) as il "
        "left join sqlite_master as m on m.type = 'index' and m.name = il.name",
        [table],
    ).fetchall()
    for name, partial, index_sql in indexes:
        if partial or "collate" in (index_sql or "").lower():
            continue
        columns = [
            r[0] for r in conn.execute(
                "select name from pragma_index_info(?) order by seqno", [name]
            )
        ]
        if not columns or columns[0] is None:
            continue
        facts.leaders.setdefault(columns[0], name)
        if len(columns) > 1:
            facts.pairs.add((columns[0], columns[1]))
    return facts


def _stat1(conn: Any, table: str) -> Dict[str, List[int]]:
    """`table`'s sqlite_stat1 numbers by index. Read at every plan: `ANALYZE` run again
    rewrites them without changing the schema version."""
    has_stat1 = conn.execute(
        "select 1 from sqlite_master where type = 'table' and name = 'sqlite_stat1'"
    ).fetchone()
    found: Dict[str, List[int]] = {}
    if has_stat1:
        stat1 = conn.execute("select idx, stat from sqlite_stat1 where tbl = ?", [table])
        for index, stat in stat1:
            numbers = [int(n) for n in (stat or "").split() if n.isdigit()]
            if index and len(numbers) >= 2:
                found[index] = numbers
    return found


def _estimates(
    facts: _IndexFacts, stats: Optional[dict], columns: Sequence[str], exact: Dict[str, int]
) -> Optional[Tuple[int, Dict[str, float]]]:
    """`(table rows, {column: rows expected for its filter's value})`, or None if unknown
    for any of `columns`.

    Column statistics win: `exact` holds the rows of the filter's very value where every
    value of the column is kept (which matters for skewed columns), else their average per
    value is exact and current; sqlite_stat1 may be stale and knows only the average, but
    is what SQLite's own planner trusts.
    """
    estimates: Dict[str, float] = {}
    total = None
    for column in columns:
        described = (stats or {}).get("columns", {}).get(column)
        if described and described.get("distinct_count"):
            total = stats["row_count"]  # type: ignore[index]
            non_null = total - (described.get("null_count") or 0)
            estimates[column] = exact.get(column, non_null / described["distinct_count"])
            continue
        numbers = facts.stat1.get(facts.leaders[column])
        if not numbers:
            return None
        total = total or numbers[0]
        estimates[column] = numbers[1]
    if not total:
        return None
    return total, estimates


def _rowid_name(columns: Sequence[str]) -> Optional[str]:
    """The first of SQLite's names for the rowid that no column has taken."""
    taken = {column.lower() for column in columns}
    return next((name for name in ("rowid", "_rowid_", "oid") if name not in taken), None)


async def plan_narrowing(
    datasette: Datasette,
    db: Database,
    table: str,
    columns: Sequence[str],
    equalities: Sequence[Tuple[str, str]],
    params: Dict[str, Any],
) -> Optional[Narrowing]:
    """The index intersection worth adding to `table`'s page SQL, or None; its rowids
    read once when they can be.

    :param columns: every column of the table
    :param equalities: `(column, parameter name)` of the page's `column = :param` filters
    :param params: the page's parameters (the probes' values among them)
    """
    by_column = {column: param for column, param in equalities if column in columns}
    rowid = _rowid_name(columns)
    if len(by_column) < 2 or rowid is None:
        return None
    facts = await db.schema_value(
        ("narrowing_indexes", table), lambda conn: _index_facts(conn, table)
    )
    if facts is None:
        return None
    candidates = [column for column in by_column if column in facts.leaders]
    if len(candidates) < 2 or any((a, b) in facts.pairs for a in by_column for b in by_column):
        # Fewer than two indexes to intersect, or one index already covers two filters.
        return None
    facts = replace(facts, stat1=await db.execute_fn(lambda conn: _stat1(conn, table)))
    stats = await current_statistics(datasette, db.name, table)
    exact = {}
    if stats is not None:
        wanted = {column: str(params.get(by_column[column])) for column in candidates}
        exact = await value_counts(datasette, db.name, table, wanted)
    estimated = _estimates(facts, stats, candidates, exact)
    if estimated is None:
        return None
    total, estimates = estimated
    ordered = sorted(candidates, key=lambda column: estimates[column])
    driver, others = ordered[0], ordered[1:]
    kept = [column for column in others if estimates[column] <= total * MAX_SHARE]
    if estimates[driver] < MIN_DRIVING_ROWS or not kept:
        return None
    probes = tuple(
        (column, by_column[column], facts.leaders[column]) for column in [driver, *kept]
    )
    narrowing = Narrowing(rowid, probes, frozenset(facts.leaders))
    expected = estimates[driver]
    for column in kept:
        expected *= estimates[column] / total
    if expected > MAX_IDS:
        return narrowing
    return await _read_ids(datasette, db, table, narrowing, params)


def _unchanged_check(datasette: Datasette, db: Database) -> Optional[Callable[[], bool]]:
    """A function telling whether `db` is still as it is now; None if that cannot be known."""
    if not db.is_mutable:
        return lambda: True  # immutable: nothing writes to it while it is served
    watch = commit_watch(datasette)
    first = watch.epoch(db)
    if first is None:
        return None
    return lambda: watch.epoch(db) == first


async def _read_ids(
    datasette: Datasette, db: Database, table: str, narrowing: Narrowing, params: Dict[str, Any]
) -> Narrowing:
    """`narrowing` with the intersection's rowids, or as it is when they cannot be read
    (too many, or no way to tell whether the database changes afterwards)."""
    # Read before the rowids, so a commit at any moment after shows as a change.
    unchanged = _unchanged_check(datasette, db)
    if unchanged is None:
        return narrowing
    names = {param for _, param, _ in narrowing.probes}
    try:
        results = await db.execute(
            f"{narrowing.select_sql(table)} limit {MAX_IDS + 1}",
            {name: value for name, value in params.items() if name in names},
        )
    except (QueryInterrupted, sqlite3.Error):
        # The page's own query meets, and reports, whatever stopped this one.
        return narrowing
    if len(results.rows) > MAX_IDS:
        return narrowing
    ids = ", ".join(str(int(row[0])) for row in results.rows)
    return replace(narrowing, ids=ids, unchanged=unchanged)
