"""Reading and writing the column statistics tables of the internal database.

Every function takes a `sqlite3` connection to the internal database: the writers run on
its write thread (`execute_write_fn`), each in one transaction; the readers on a read
connection (`execute_fn`). The table layout is in `schema.py`.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from .. import clock

# Columns of `stats_columns` holding the statistics, in the order `compute` names them.
STAT_FIELDS = (
    "null_count",
    "distinct_count",
    "distinct_exact",
    "min_value",
    "max_value",
    "integer_count",
    "real_count",
    "text_count",
    "blob_count",
    "json_object_count",
    "json_array_count",
    "date_count",
    "avg_text_length",
    "max_text_length",
    "binary_collation",
)


def utc_now() -> str:
    """To the millisecond: a table indexed again within the same second must show a new
    `indexed_at`."""
    return clock.utc_now("milliseconds")


# -- the queue ----------------------------------------------------------------------------------


def sync_tables(conn: Any, database: str, tables: List[str]) -> None:
    """Queue tables of `database` not seen before; forget those that are gone."""
    with conn:
        known = {
            row[0]: row[1]
            for row in conn.execute(
                "select table_name, table_id from stats_tables where database_name = ?",
                (database,),
            )
        }
        for table in tables:
            if table not in known:
                conn.execute(
                    "insert into stats_tables (database_name, table_name) values (?, ?)",
                    (database, table),
                )
        gone = [table_id for name, table_id in known.items() if name not in set(tables)]
        for table_id in gone:
            _delete_columns(conn, table_id)
            conn.execute("delete from stats_tables where table_id = ?", (table_id,))


def forget_database(conn: Any, database: str) -> None:
    """Remove every statistic of `database` (it was detached or turned off)."""
    with conn:
        ids = [
            r[0]
            for r in conn.execute(
                "select table_id from stats_tables where database_name = ?", (database,)
            )
        ]
        for table_id in ids:
            _delete_columns(conn, table_id)
        conn.execute("delete from stats_tables where database_name = ?", (database,))


def next_table(conn: Any, databases: List[str]) -> Optional[dict]:
    """The next table to work on (a run in progress first), or None when all are done."""
    if not databases:
        return None
    marks = ", ".join("?" for _ in databases)
    row = conn.execute(
        "select table_id, database_name, table_name, state, position, partial, "
        "columns_signature, source_signature from stats_tables "
        f"where state in ('indexing', 'queued') and database_name in ({marks}) "
        "order by state = 'indexing' desc, table_id limit 1",
        databases,
    ).fetchone()
    if row is None:
        return None
    keys = (
        "table_id",
        "database",
        "table",
        "state",
        "position",
        "partial",
        "columns_signature",
        "source_signature",
    )
    return dict(zip(keys, row))


def start_run(conn: Any, table_id: int, columns: List[str], source_signature: str) -> None:
    """Mark a fresh run of a table: no position, no partial state yet."""
    with conn:
        conn.execute(
            "update stats_tables set state = 'indexing', position = null, partial = null, "
            "resumed_from = null, columns_signature = ?, source_signature = ?, "
            "started_at = ?, error = null where table_id = ?",
            (json.dumps(columns), source_signature, utc_now(), table_id),
        )


def note_resumed(conn: Any, table_id: int, position: Optional[str]) -> None:
    """Record the position a run resumed from after a restart."""
    with conn:
        conn.execute(
            "update stats_tables set resumed_from = ? where table_id = ?", (position, table_id)
        )


def checkpoint(conn: Any, table_id: int, position: Any, partial: dict) -> bool:
    """Save a run's position and running state together, in one transaction.

    False when the run is no longer wanted (its table changed and was queued again).
    """
    with conn:
        return conn.execute(
            "update stats_tables set position = ?, partial = ? "
            "where table_id = ? and state = 'indexing'",
            (json.dumps(position), json.dumps(partial), table_id),
        ).rowcount == 1


def record_error(conn: Any, table_id: int, message: str) -> None:
    """A table that cannot be indexed: keep the message, stop trying until it changes."""
    with conn:
        conn.execute(
            "update stats_tables set state = 'error', error = ?, position = null, "
            "partial = null where table_id = ?",
            (message, table_id),
        )


def mark_changed(conn: Any, database: str, tables: Optional[List[str]] = None) -> int:
    """Flag tables as stale and queue them again; a run in progress starts over.

    With `tables` None, every table of `database`. Returns how many were flagged.
    """
    with conn:
        return queue_again(conn, database, tables)


def queue_again(conn: Any, database: str, tables: Optional[List[str]] = None) -> int:
    """`mark_changed` in the caller's transaction."""
    sql = (
        "update stats_tables set stale = (state = 'done' or stale = 1), state = 'queued', "
        "position = null, partial = null where database_name = ?"
    )
    params: list = [database]
    if tables is not None:
        if not tables:
            return 0
        sql += " and table_name in ({})".format(", ".join("?" for _ in tables))
        params.extend(tables)
    return conn.execute(sql, params).rowcount


def source_signatures(conn: Any, database: str) -> Dict[str, Optional[str]]:
    """`{table: source signature}` of the finished tables of `database`."""
    return {
        row[0]: row[1]
        for row in conn.execute(
            "select table_name, source_signature from stats_tables "
            "where database_name = ? and state = 'done'",
            (database,),
        )
    }


def save_result(conn: Any, table_id: int, row_count: int, columns: List[dict]) -> bool:
    """Replace a table's statistics with a finished run's, and mark it done.

    False (nothing saved) when the table changed while the run read it: `mark_changed`
    queued it again, and the run's rows may predate the change.
    """
    with conn:
        state = conn.execute(
            "select state from stats_tables where table_id = ?", (table_id,)
        ).fetchone()
        if state is None or state[0] != "indexing":
            return False
        _delete_columns(conn, table_id)
        for position, column in enumerate(columns):
            column_id = conn.execute(
                "insert into stats_columns (table_id, position, column_name, "
                + ", ".join(STAT_FIELDS)
                + ", values_kept) values (?, ?, ?, "
                + ", ".join("?" for _ in STAT_FIELDS)
                + ", ?)",
                [table_id, position, column["name"]]
                + [_field(column, name) for name in STAT_FIELDS]
                + [column["values"] is not None],
            ).lastrowid
            if column["values"]:
                _save_values(conn, column_id, column["values"])
        conn.execute(
            "update stats_tables set state = 'done', stale = 0, position = null, "
            "partial = null, row_count = ?, indexed_at = ? where table_id = ?",
            (row_count, utc_now(), table_id),
        )
        conn.execute(
            "delete from stats_value_ids where value_id not in "
            "(select value_id from stats_value_counts)"
        )
    return True


def _field(column: dict, name: str) -> Any:
    if name == "min_value":
        return column["min"]
    if name == "max_value":
        return column["max"]
    return column[name]


def _save_values(conn: Any, column_id: int, values: Dict[Any, int]) -> None:
    conn.executemany(
        "insert or ignore into stats_value_ids (value) values (?)", [(v,) for v in values]
    )
    conn.executemany(
        "insert into stats_value_counts (column_id, value_id, count) "
        "select ?, value_id, ? from stats_value_ids where value = ?",
        [(column_id, n, value) for value, n in values.items()],
    )


def _delete_columns(conn: Any, table_id: int) -> None:
    conn.execute(
        "delete from stats_value_counts where column_id in "
        "(select column_id from stats_columns where table_id = ?)",
        (table_id,),
    )
    conn.execute("delete from stats_columns where table_id = ?", (table_id,))


# -- reading --------------------------------------------------------------------------------------


def read_table(conn: Any, database: str, table: str) -> Optional[dict]:
    """The state and statistics of one table, or None if it is not known."""
    row = conn.execute(
        "select table_id, state, stale, row_count, indexed_at, error, updated_at "
        "from stats_tables where database_name = ? and table_name = ?",
        (database, table),
    ).fetchone()
    if row is None:
        return None
    table_id, state, stale, row_count, indexed_at, error, updated_at = row
    columns = []
    for column in conn.execute(
        "select column_id, column_name, " + ", ".join(STAT_FIELDS) + ", values_kept, "
        "stale_extremes from stats_columns where table_id = ? order by position",
        (table_id,),
    ).fetchall():
        entry = dict(
            zip(("column_id", "name") + STAT_FIELDS + ("values_kept", "stale_extremes"), column)
        )
        entry["distinct_exact"] = bool(entry["distinct_exact"])
        entry["binary_collation"] = bool(entry["binary_collation"])
        entry["values_kept"] = bool(entry["values_kept"])
        columns.append(entry)
    return {
        "table_id": table_id,
        "state": state,
        "stale": bool(stale),
        "row_count": row_count,
        "indexed_at": indexed_at,
        "updated_at": updated_at,
        "error": error,
        "columns": columns,
    }


def column_values(conn: Any, column_id: int) -> List[tuple]:
    """`[(value, count)]` kept for a column, most frequent first."""
    return conn.execute(
        "select v.value, c.count from stats_value_counts c "
        "join stats_value_ids v on v.value_id = c.value_id "
        "where c.column_id = ? order by c.count desc, v.value",
        (column_id,),
    ).fetchall()


def tables_state(conn: Any) -> List[dict]:
    """One summary per known table: for status pages and tests."""
    keys = ("database", "table", "state", "stale", "row_count", "indexed_at", "error")
    return [
        dict(zip(keys, row))
        for row in conn.execute(
            "select database_name, table_name, state, stale, row_count, indexed_at, error "
            "from stats_tables order by database_name, table_name"
        )
    ]


# -- stale extremes ---------------------------------------------------------------------------


def flagged_extremes(conn: Any, databases: List[str]) -> List[dict]:
    """Columns of finished tables whose min, max or longest text a write made doubtful."""
    if not databases:
        return []
    marks = ", ".join("?" for _ in databases)
    keys = ("column_id", "column", "flags", "table_id", "database", "table")
    return [
        dict(zip(keys, row))
        for row in conn.execute(
            "select c.column_id, c.column_name, c.stale_extremes, t.table_id, "
            "t.database_name, t.table_name from stats_columns c "
            "join stats_tables t on t.table_id = c.table_id "
            f"where c.stale_extremes != 0 and t.state = 'done' and t.database_name in ({marks}) "
            "order by t.table_id, c.position",
            databases,
        )
    ]


def save_extremes(conn: Any, column_id: int, flags: int, extremes: tuple) -> None:
    """Store recomputed `(min, max, max_text_length)` for the sides in `flags`; clear them."""
    low, high, longest = extremes
    with conn:
        conn.execute(
            "update stats_columns set "
            "min_value = case when :flags & 1 then :low else min_value end, "
            "max_value = case when :flags & 2 then :high else max_value end, "
            "max_text_length = case when :flags & 4 then :longest else max_text_length end, "
            "stale_extremes = stale_extremes & ~:flags where column_id = :id",
            {"flags": flags, "low": low, "high": high, "longest": longest, "id": column_id},
        )


def sign(conn: Any, database: str, signature: Optional[str]) -> None:
    """Record the finished, current tables of `database` as made from the file as it is
    (`signature`): tracked writes kept them current, so a restart need not index them.
    In the caller's transaction."""
    conn.execute(
        "update stats_tables set source_signature = ? "
        "where database_name = ? and state = 'done' and stale = 0",
        (signature, database),
    )
