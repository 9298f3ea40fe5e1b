"""Keeping catalog rows already stored (a persistent `--internal` file's, from a previous
process) for a database whose file they still describe.

Re-reading every table's columns, indexes and foreign keys is most of a start-up with
thousands of tables. When the internal file persisted, the rows it holds are still right
for a database whose schema table still says what it said when they were written, so they
are checked against that instead of being read again. The check runs in SQL on the internal
write connection with the file attached read-only (`catalog_fill.py` attaches it), so no
row passes through Python.

What is compared, and why it vouches for the rest:
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


# One row: the stored schema version (NULL when the stored path or kind differs, or no
# rows are stored), then 1 for each way the file differs from the stored rows. `{src}` is
# the schema the file is attached as; `:name` the database's name, `:path` its file.
_DIFFERENCES = """
select
  (select schema_version from catalog_databases
   where database_name = :name and path = :path and is_memory = 0),
  exists (select 1 from {src}.sqlite_master where type = 'table' and rootpage = 0),
  exists (select name, rootpage, sql from {src}.sqlite_master where type = 'table'
          except select table_name, rootpage, sql from catalog_tables
          where database_name = :name),
  exists (select table_name, rootpage, sql from catalog_tables where database_name = :name
          except select name, rootpage, sql from {src}.sqlite_master where type = 'table'),
  exists (select tbl_name, name from {src}.sqlite_master where type = 'index'
          except select table_name, name from catalog_indexes where database_name = :name),
  exists (select 1 from catalog_indexes i
          where i.database_name = :name and i.origin is not 'pk' and not exists (
            select 1 from {src}.sqlite_master m
            where m.type = 'index' and m.tbl_name = i.table_name and m.name = i.name))
"""


def still_current(conn: Any, name: str, path: str, schema: str) -> Optional[int]:
    """The schema version of the file attached as `schema` when the rows stored for
    database `name` (at `path`) still describe it, else None."""
    version = conn.execute(f"PRAGMA {schema}.schema_version").fetchone()[0]
    stored_version, *differences = conn.execute(
        _DIFFERENCES.format(src=schema), {"name": name, "path": path}
    ).fetchone()
    if stored_version != version or any(differences):
        return None
    return version
