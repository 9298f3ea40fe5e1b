"""SQL text for the JSON write API: quoting, CREATE TABLE statements, column types.

Everything here is pure: strings and values in, strings out. The views run the SQL on a
database's write thread.

The CREATE TABLE layout is part of the contract, because the create endpoint returns the
statement SQLite stores::

    CREATE TABLE [t] (
       [id] INTEGER PRIMARY KEY,
       [title] TEXT
    )

Identifiers are bracket-quoted, one column per line indented by three spaces; a single
key is marked on its column, a compound key is a last `PRIMARY KEY ([a], [b])` line.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional, Sequence

# Column types accepted by the create endpoint, and the SQL type each one becomes.
COLUMN_TYPES = {
    "text": "TEXT",
    "integer": "INTEGER",
    "float": "FLOAT",
    "blob": "BLOB",
}


def quote_identifier(name: str) -> str:
    """`[name]`; names holding `]` (which brackets cannot escape) become `"na""me"`."""
    if "]" in name:
        return '"' + name.replace('"', '""') + '"'
    return f"[{name}]"


def sql_value(value: Any) -> Any:
    """A JSON value ready to bind: lists and objects are stored as JSON text."""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def _type_of(value: Any) -> Optional[str]:
    """The SQL type one value calls for; None for null (it says nothing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "INTEGER"
    if isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float):
        return "FLOAT"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "BLOB"
    return "TEXT"


def column_type_for_values(values: Iterable[Any]) -> str:
    """The SQL type of a new column holding `values`.

    One kind of value gives its type (text, integer, float, blob); integers mixed with
    floats give FLOAT; nulls are ignored; a column of nulls or of mixed kinds is TEXT.
    """
    seen = {t for t in (_type_of(v) for v in values) if t is not None}
    if len(seen) == 1:
        return seen.pop()
    if seen == {"INTEGER", "FLOAT"}:
        return "FLOAT"
    return "TEXT"


def columns_from_rows(rows: Sequence[dict]) -> list:
    """`[(name, SQL type)]` for rows of data: names in order of first appearance."""
    names: list = []
    seen: set = set()
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                names.append(key)
    return [
        (name, column_type_for_values(row[name] for row in rows if name in row))
        for name in names
    ]


def with_key_columns(columns: list, pks: Sequence[str]) -> list:
    """`columns` with each key column it lacks added first, as INTEGER, in key order."""
    present = {name for name, _ in columns}
    missing = [(pk, "INTEGER") for pk in pks if pk not in present]
    return missing + list(columns)


def create_table_sql(table: str, columns: Sequence[tuple], pks: Sequence[str] = ()) -> str:
    """The CREATE TABLE statement for `columns` (`[(name, SQL type)]`) and key `pks`.

    Key columns missing from `columns` are added first as INTEGER. One key column is
    marked `PRIMARY KEY` on its own line (an INTEGER one is then SQLite's rowid);
    several make a last `PRIMARY KEY (...)` line. No key: a rowid table.
    """
    pks = list(pks)
    columns = with_key_columns(list(columns), pks)
    lines = []
    for name, sql_type in columns:
        line = f"   {quote_identifier(name)} {sql_type}"
        if len(pks) == 1 and name == pks[0]:
            line += " PRIMARY KEY"
        lines.append(line)
    if len(pks) > 1:
        lines.append(
            "   PRIMARY KEY ({})".format(", ".join(quote_identifier(pk) for pk in pks))
        )
    return "CREATE TABLE {} (\n{}\n)".format(quote_identifier(table), ",\n".join(lines))


def insert_sql(table: str, columns: Sequence[str], conflict: Optional[str] = None) -> str:
    """`INSERT [OR IGNORE|OR REPLACE] INTO [t] ([a], [b]) VALUES (?, ?)`.

    No columns gives `DEFAULT VALUES`, so an empty row still inserts one row.
    """
    verb = "INSERT OR {} INTO".format(conflict.upper()) if conflict else "INSERT INTO"
    if not columns:
        return f"{verb} {quote_identifier(table)} DEFAULT VALUES"
    return "{} {} ({}) VALUES ({})".format(
        verb,
        quote_identifier(table),
        ", ".join(quote_identifier(c) for c in columns),
        ", ".join("?" for _ in columns),
    )


def key_where(pks: Sequence[str]) -> str:
    """`[a] = ? AND [b] = ?` matching one row by its key columns."""
    return " AND ".join(f"{quote_identifier(pk)} = ?" for pk in pks)


def update_sql(table: str, columns: Sequence[str], pks: Sequence[str]) -> str:
    """`UPDATE [t] SET [c] = ?, ... WHERE <key>`: values first, then key values."""
    return "UPDATE {} SET {} WHERE {}".format(
        quote_identifier(table),
        ", ".join(f"{quote_identifier(c)} = ?" for c in columns),
        key_where(pks),
    )


def select_by_key_sql(table: str, pks: Sequence[str], with_rowid: bool = False) -> str:
    """`SELECT [rowid, ]* FROM [t] WHERE <key>`."""
    return "SELECT {}* FROM {} WHERE {}".format(
        "rowid, " if with_rowid else "", quote_identifier(table), key_where(pks)
    )
