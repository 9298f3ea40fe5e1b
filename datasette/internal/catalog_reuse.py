"""Reusing catalog rows a previous process wrote to a persistent `--internal` file.

Re-reading every table's columns, indexes and foreign keys is most of a start-up with
thousands of tables. When the internal file persisted, the rows it holds are still right
for a database whose schema table still says what it said when they were written, so they
are checked against that instead of being read again.

What is compared (the "outline"), and why it vouches for the rest:
- the database's path, kind and `PRAGMA schema_version` (SQLite counts every schema change);
- every table's name, root page and `CREATE` statement: a table's columns, its foreign keys
  and its constraint indexes are parsed from that statement;
- every index in the schema table, by table and name: `CREATE INDEX` indexes and
  UNIQUE/PRIMARY KEY constraint indexes are listed there (a WITHOUT ROWID table's primary
  key index is not, and is allowed as stored: it follows from the statement).
A database with a virtual table is always read again: its columns come from a module that
may or may not be loaded this time. Anything that differs means a full read and rewrite,
as before; a match only skips reading what would come out the same.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

from ..utils.schema import schema_version

Outline = tuple  # (schema version, frozenset of tables, frozenset of (table, index))


@contextlib.contextmanager
def plain_rows(conn: Any) -> Iterator[None]:
    """Tuples and strict UTF-8 strings from `conn` inside the block (restored after): no
    Python call per row or value. Text that is not UTF-8 raises `sqlite3.Error`."""
    factories = conn.row_factory, conn.text_factory
    conn.row_factory, conn.text_factory = None, str
    try:
        yield
    finally:
        conn.row_factory, conn.text_factory = factories


def read_outline(conn: Any) -> Optional[Outline]:
    """The outline of the database on `conn`; None when it has a virtual table."""
    with plain_rows(conn):
        return _read_outline(conn)


def _read_outline(conn: Any) -> Optional[Outline]:
    version = schema_version(conn)
    tables = []
    indexes = []
    for kind, name, table, rootpage, sql in conn.execute(
        "select type, name, tbl_name, rootpage, sql from sqlite_master"
        " where type in ('table', 'index')"
    ):
        if kind == "index":
            indexes.append((table, name))
        elif not rootpage:
            return None  # a virtual table: see the module docstring
        else:
            tables.append((name, rootpage, sql))
    return version, frozenset(tables), frozenset(indexes)


def read_stored(conn: Any) -> dict:
    """`{database name: (path, is_memory, schema version, tables, indexes)}` as stored.

    `tables` is a set of (name, rootpage, sql); `indexes` maps (table, index) to origin.
    """
    with plain_rows(conn):
        return _read_stored(conn)


def _read_stored(conn: Any) -> dict:
    stored: dict = {}
    for name, path, is_memory, version in conn.execute(
        "select database_name, path, is_memory, schema_version from catalog_databases"
    ):
        stored[name] = (path, bool(is_memory), version, set(), {})
    for name, table, rootpage, sql in conn.execute(
        "select database_name, table_name, rootpage, sql from catalog_tables"
    ):
        if name in stored:
            stored[name][3].add((table, rootpage, sql))
    for name, table, index, origin in conn.execute(
        "select database_name, table_name, name, origin from catalog_indexes"
    ):
        if name in stored:
            stored[name][4][(table, index)] = origin
    return stored


def still_current(stored: Optional[tuple], path: Optional[str], outline: Optional[Outline]) -> bool:
    """Whether a database's stored rows (`read_stored`'s value) match its outline now."""
    if stored is None or outline is None or path is None:
        return False
    stored_path, is_memory, stored_version, tables, indexes = stored
    version, current_tables, current_indexes = outline
    if (stored_path, is_memory, stored_version) != (path, False, version):
        return False
    if tables != current_tables:
        return False
    if not current_indexes <= indexes.keys():
        return False
    # Stored indexes the schema table does not list must be primary keys of WITHOUT ROWID
    # tables, which the (equal) CREATE statements account for.
    return all(
        indexes[key] == "pk" for key in indexes.keys() - current_indexes
    )
