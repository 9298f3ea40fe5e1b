"""Blocking schema introspection on an open sqlite3 connection.

Each function takes `(conn, table)` and is what the async `Database` methods run on a read
thread. Identifiers are always bracket-quoted or bound, never interpolated raw.
"""

from __future__ import annotations

import functools
import re
from collections import namedtuple
from typing import Any, Optional

from .sqlite import sqlite3, supports_table_xinfo
from .text import escape_sqlite

Column = namedtuple(
    "Column", ("cid", "name", "type", "notnull", "default_value", "is_pk", "hidden")
)


def schema_version(conn: Any) -> int:
    """SQLite's counter of schema changes for the connection's main database."""
    return conn.execute("PRAGMA schema_version").fetchone()[0]


def table_column_details(conn: Any, table: str) -> list:
    """`Column` tuples for every column, hidden ones included when SQLite can show them."""
    if supports_table_xinfo():
        rows = conn.execute(f"PRAGMA table_xinfo({escape_sqlite(table)})").fetchall()
        return [Column(*row) for row in rows]
    rows = conn.execute(f"PRAGMA table_info({escape_sqlite(table)})").fetchall()
    return [Column(*row, hidden=0) for row in rows]


def table_columns(conn: Any, table: str) -> list:
    """Names of every column of a table or view, in order, as `PRAGMA table_xinfo` lists
    them: generated columns and the hidden columns of virtual (full-text) tables too."""
    return [column.name for column in table_column_details(conn, table)]


def detect_primary_keys(conn: Any, table: str) -> list:
    """Primary key column names in key order; `[]` for rowid tables."""
    rows = conn.execute(f"PRAGMA table_info({escape_sqlite(table)})").fetchall()
    pk_rows = sorted((row for row in rows if row[5]), key=lambda row: row[5])
    return [row[1] for row in pk_rows]


def get_outbound_foreign_keys(conn: Any, table: str) -> list:
    """Single-column foreign keys of `table` as `{column, other_table, other_column}` dicts.

    Compound foreign keys are left out: label expansion and links work on one column.
    """
    rows = conn.execute(f"PRAGMA foreign_key_list({escape_sqlite(table)})").fetchall()
    by_id: dict = {}
    for row in rows:
        # id, seq, table, from, to, on_update, on_delete, match
        by_id.setdefault(row[0], []).append(row)
    fks = []
    for parts in by_id.values():
        if len(parts) != 1:
            continue
        _, _, other_table, column, other_column = parts[0][:5]
        if other_column is None:
            # REFERENCES other(table) with no column means its primary key
            pks = detect_primary_keys(conn, other_table)
            other_column = pks[0] if len(pks) == 1 else "rowid"
        fks.append(
            {"column": column, "other_table": other_table, "other_column": other_column}
        )
    return fks


def get_all_foreign_keys(conn: Any) -> dict:
    """`{table: {"incoming": [...], "outgoing": [...]}}` for every table in the database."""
    tables = [
        row[0]
        for row in conn.execute("select name from sqlite_master where type = 'table'")
    ]
    result: dict = {table: {"incoming": [], "outgoing": []} for table in tables}
    for table in tables:
        for fk in get_outbound_foreign_keys(conn, table):
            other = fk["other_table"]
            if other not in result:
                # A foreign key to a table that does not exist: keep it outgoing only
                result[table]["outgoing"].append(
                    {
                        "other_table": other,
                        "column": fk["column"],
                        "other_column": fk["other_column"],
                    }
                )
                continue
            result[other]["incoming"].append(
                {
                    "other_table": table,
                    "column": fk["other_column"],
                    "other_column": fk["column"],
                }
            )
            result[table]["outgoing"].append(
                {
                    "other_table": other,
                    "column": fk["column"],
                    "other_column": fk["other_column"],
                }
            )
    return result


def detect_spatialite(conn: Any) -> bool:
    """True when the database has SpatiaLite's `geometry_columns` table."""
    rows = conn.execute(
        "select 1 from sqlite_master where type = 'table' and name = 'geometry_columns'"
    ).fetchall()
    return len(rows) > 0


def detect_fts_sql(table: str) -> str:
    """SQL finding an FTS virtual table whose content is `table` (bind nothing: inlined safely)."""
    escaped = table.replace("'", "''")
    return r"""
        select name from sqlite_master
            where rootpage = 0
            and (
                sql like '%VIRTUAL TABLE%USING FTS%content="{table}"%'
                or sql like '%VIRTUAL TABLE%USING FTS%content=[{table}]%'
                or (
                    tbl_name = '{table}'
                    and sql like '%VIRTUAL TABLE%USING FTS%'
                )
            )
    """.format(table=escaped)


def detect_fts(conn: Any, table: str) -> Optional[str]:
    """Name of the FTS table that indexes `table`, or None."""
    rows = conn.execute(detect_fts_sql(table)).fetchall()
    return rows[0][0] if rows else None


def detect_json1(conn: Any = None) -> bool:
    """True when the JSON1 functions are available (on `conn`, or in the linked SQLite)."""
    if conn is None:
        return _library_has_json1()
    return _has_json1(conn)


@functools.lru_cache(maxsize=1)
def _library_has_json1() -> bool:
    # The linked SQLite library cannot change while the process runs, so one probe
    # answers for good; table pages ask on every request.
    conn = sqlite3.connect(":memory:")
    try:
        return _has_json1(conn)
    finally:
        conn.close()


def _has_json1(conn: Any) -> bool:
    try:
        conn.execute("select json('{}')")
        return True
    except Exception:
        return False


_virtual_table_re = re.compile(r"create\s+virtual\s+table", re.IGNORECASE)


def is_virtual_table_sql(sql: Optional[str]) -> bool:
    """True for the CREATE statement of a virtual table."""
    return bool(sql) and bool(_virtual_table_re.match(sql.strip()))


# Tables that SQLite or SpatiaLite create and that users rarely want listed.
_SPATIALITE_TABLES = (
    "ElementaryGeometries",
    "SpatialIndex",
    "geometry_columns",
    "spatial_ref_sys",
    "spatialite_history",
    "sql_statements_log",
    "sqlite_sequence",
    "views_geometry_columns",
    "virts_geometry_columns",
    "data_licenses",
    "KNN",
    "KNN2",
)

_STAT_TABLES = ("sqlite_stat1", "sqlite_stat2", "sqlite_stat3", "sqlite_stat4")


def hidden_tables(rows: list, tables_metadata: dict) -> list:
    """Tables to leave out of listings, from `(name, sql)` rows of `sqlite_master`.

    FTS virtual tables, SQLite's statistics, SpatiaLite's own tables (when the database
    has `geometry_columns`), tables whose metadata says `hidden`, and the shadow tables
    of any of those (`books_fts_data` for `books_fts`). Each name once, in that order.
    """
    all_tables = [row[0] for row in rows]
    hidden = [
        row[0]
        for row in rows
        if is_virtual_table_sql(row[1]) and "using fts" in (row[1] or "").lower()
    ]
    hidden += [name for name in all_tables if name in _STAT_TABLES]
    if "geometry_columns" in all_tables:
        hidden += [name for name in all_tables if name in _SPATIALITE_TABLES]
        hidden += [name for name in all_tables if name.startswith("idx_")]
    hidden += [name for name in all_tables if (tables_metadata.get(name) or {}).get("hidden")]
    prefixes = tuple(hidden)
    if prefixes:
        hidden += [name for name in all_tables if name not in hidden and name.startswith(prefixes)]
    seen: set = set()
    return [name for name in hidden if not (name in seen or seen.add(name))]
