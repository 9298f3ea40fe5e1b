"""Copying a database's catalog rows straight from its file, on the internal write connection.

The catalog's usual way (`catalog.read_snapshot`) reads a database's tables, columns,
indexes and foreign keys on a read thread into Python tuples (about 10,000 for 2,000
tables), hands them to the write thread and binds them back into INSERTs: at start-up with
a new internal database that was most of the time spent before the port answered. Here the
write connection attaches the file read-only and copies the same rows, from the same pragma
functions, with `INSERT ... SELECT`: SQLite does all of it, and the GIL is free meanwhile.

It is only a faster way to the same rows. Whatever it cannot do raises `sqlite3.Error` for
that database alone (a virtual table whose module only the database's own connections load,
a file that cannot be attached), and the caller reads that one the usual way. Text that is
not UTF-8 is copied as it is; the internal connections decode it, replacing what is not
UTF-8, exactly as the usual way's fallback decodes it on the way in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from ..utils.sqlite import sqlite3, supports_table_xinfo
from .activity.progress import progress_bar

if TYPE_CHECKING:  # only for annotations: database.py is the room above this one
    from ..database import Database

# SQLite attaches at most 10 databases to a connection unless built otherwise; the
# databases are copied in groups of this many, one transaction each.
ATTACH_GROUP = 8

# Schema names the files are attached under while they are copied.
_SOURCE = "catalog_source_{}"


def details_sql(schema: Optional[str] = None) -> tuple:
    """The three statements giving every table's columns, indexes and foreign keys as
    catalog rows (the first parameter is the database name), of `schema` (default main).

    Pragma functions joined to the schema table, rather than three pragmas per table:
    under half the time for 2,000 tables. Indexes are asked for only of tables that can
    have one (an index in the schema table, or a WITHOUT ROWID primary key, which is not
    listed there) and foreign keys only of tables whose statement says REFERENCES: no
    other table has any.
    """
    master = f"{schema}.sqlite_master" if schema else "sqlite_master"
    of = f"m.name, '{schema}'" if schema else "m.name"
    xinfo = supports_table_xinfo()
    pragma, hidden = ("table_xinfo", "p.hidden") if xinfo else ("table_info", "0")
    return (
        f"select ?, m.name, p.cid, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, {hidden}"
        f" from {master} m join pragma_{pragma}({of}) p where m.type = 'table'",
        "select ?, m.name, p.seq, p.name, p.\"unique\", p.origin, p.partial"
        f" from {master} m join pragma_index_list({of}) p where m.type = 'table'"
        f" and (m.name in (select tbl_name from {master} where type = 'index')"
        " or m.sql like '%without%rowid%')",
        "select ?, m.name, p.id, p.seq, p.\"table\", p.\"from\", p.\"to\", p.on_update,"
        " p.on_delete, p.\"match\""
        f" from {master} m join pragma_foreign_key_list({of}) p where m.type = 'table'"
        " and m.sql like '%references%'",
    )


def source_uri(db: "Database") -> Optional[str]:
    """The read-only URI to attach `db`'s file by, or None when it cannot be copied here
    (a memory database, its own connection set-up or open mode: read it the usual way)."""
    if not db.path or db.is_memory or db.mode is not None or db.connection_setup is not None:
        return None
    return db.read_uri()


def copy_catalogs(conn: Any, sources: list, clear: Callable[[Any, str], None]) -> dict:
    """Fill the catalog rows of each `(name, path, uri)` source that has none from its file.

    Groups of `ATTACH_GROUP` files are attached, copied in one transaction (each in a
    savepoint of its own) and detached; `clear(conn, name)` deletes a database's rows.
    Returns `{name: (schema version, tables)}` for each copied database, `tables` as
    (name, rootpage, sql), and `{name: exception}` for the others. A database that has
    rows already is left out (not in the result): the usual way compares before it
    rewrites, so a restart does not write (and a replica upload) identical pages.
    """
    catalogued = {row[0] for row in conn.execute("select database_name from catalog_databases")}
    sources = [source for source in sources if source[0] not in catalogued]
    outcomes: dict = {}
    for start in range(0, len(sources), ATTACH_GROUP):
        group = sources[start:start + ATTACH_GROUP]
        attached = []
        try:
            for index, (name, path, uri) in enumerate(group):
                schema = _SOURCE.format(index)
                try:
                    conn.execute(f"ATTACH DATABASE ? AS {schema}", (uri,))
                except sqlite3.Error as e:
                    outcomes[name] = e
                    continue
                attached.append((name, path, schema))
            _copy_group(conn, attached, clear, outcomes)
        finally:
            for _, _, schema in attached:
                try:
                    conn.execute(f"DETACH DATABASE {schema}")
                except sqlite3.Error:
                    pass  # a connection that cannot detach is closed with its writer
    return outcomes


def _copy_group(conn: Any, attached: list, clear: Callable, outcomes: dict) -> None:
    """Copy the attached databases in one transaction; a failure undoes only its own."""
    if not attached:
        return
    conn.execute("BEGIN")
    try:
        for name, path, schema in attached:
            conn.execute("SAVEPOINT catalog_copy")
            try:
                outcomes[name] = _copy_one(conn, name, path, schema, clear)
            except sqlite3.Error as e:
                conn.execute("ROLLBACK TO catalog_copy")
                outcomes[name] = e
            conn.execute("RELEASE catalog_copy")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _copy_one(conn: Any, name: str, path: str, schema: str, clear: Callable) -> tuple:
    version = conn.execute(f"PRAGMA {schema}.schema_version").fetchone()[0]
    tables = [
        tuple(row) for row in conn.execute(
            f"select name, rootpage, sql from {schema}.sqlite_master where type = 'table'"
        )
    ]
    # The same bar the usual way shows (a terminal, hundreds of tables): all at once here.
    with progress_bar(f"Cataloguing {name}", len(tables)) as bar:
        _insert_rows_of(conn, name, path, schema, version, clear)
        bar.update(len(tables))
    return version, tables


def _insert_rows_of(
    conn: Any, name: str, path: str, schema: str, version: int, clear: Callable
) -> None:
    clear(conn, name)
    conn.execute(
        "INSERT INTO catalog_databases (database_name, path, is_memory, schema_version)"
        " VALUES (?, ?, 0, ?)",
        (name, path, version),
    )
    conn.execute(
        "INSERT OR REPLACE INTO catalog_tables"
        f" SELECT ?, name, rootpage, sql FROM {schema}.sqlite_master WHERE type = 'table'",
        (name,),
    )
    for table, sql in zip(
        ("catalog_columns", "catalog_indexes", "catalog_foreign_keys"), details_sql(schema)
    ):
        conn.execute(f"INSERT OR REPLACE INTO {table} {sql}", (name,))
