"""Remembering across restarts that an attached database file has not changed.

The schema probe (`schema_probe.py`) answers a file's schema version from memory while the
file's stat is the one it took just before its last `PRAGMA schema_version` read, when
that stat may be trusted: a rollback-journal file on a local filesystem whose timestamps
were two seconds old at the read. A persistent `--internal` file keeps that pair, the
"quiet state", for each attached file in `catalog_file_states`, so the next process starts
from it. While a file's stat is still the stored one its bytes are those the previous
process read, and so is everything derived from them:

- its schema version (the probe answers without opening the file);
- its catalog rows, stored for that version (adopted without re-reading the schema);
- the start-up check's verdict: states are only stored for files without virtual tables,
  whose check is that the file opens and its schema parses, as it did then.

A state is only used by the SQLite library version that stored it (an older one may not
parse a newer schema), and only for the path it was stored for. It is derived data like
the catalog: dropping the table costs one slower start, nothing else.
"""

from __future__ import annotations

from typing import Any, Optional

from ..utils.sqlite import sqlite3
from .guard import MARKER_TABLE

SCHEMA = """CREATE TABLE IF NOT EXISTS catalog_file_states (
    database_name TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    stat_key TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    sqlite_version TEXT NOT NULL
)"""

StatKey = tuple  # (st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns), as schema_probe keeps it


def encode_key(key: StatKey) -> str:
    return ":".join(str(part) for part in key)


def decode_key(text: str) -> Optional[StatKey]:
    try:
        key = tuple(int(part) for part in text.split(":"))
    except ValueError:
        return None
    return key if len(key) == 5 else None


def read_states(conn: Any) -> dict:
    """`{database name: (path, stat key, schema version)}` stored by this SQLite version,
    for the path and version the database's catalog rows are stored for, of files with no
    table named like the internal database's marker (so the guard may skip its look)."""
    states = {}
    for name, path, text, version in conn.execute(
        "select s.database_name, s.path, s.stat_key, s.schema_version"
        " from catalog_file_states s join catalog_databases d using (database_name)"
        " where s.sqlite_version = ? and s.path = d.path"
        " and s.schema_version = d.schema_version"
        " and not exists (select 1 from catalog_tables t"
        " where t.database_name = s.database_name and t.table_name = ?)",
        (sqlite3.sqlite_version, MARKER_TABLE),
    ):
        key = decode_key(text)
        if key is not None and isinstance(version, int):
            states[name] = (path, key, version)
    return states


def store_states(conn: Any, states: dict) -> dict:
    """Store `{database name: (path, stat key, schema version)}` in one transaction, each
    only when its catalog rows are stored for that path and version and it has no virtual
    table. Returns the states stored."""
    stored = {}
    with conn:
        for name, (path, key, version) in states.items():
            if not _catalog_vouches(conn, name, path, version):
                continue
            conn.execute(
                "insert or replace into catalog_file_states"
                " (database_name, path, stat_key, schema_version, sqlite_version)"
                " values (?, ?, ?, ?, ?)",
                (name, path, encode_key(key), version, sqlite3.sqlite_version),
            )
            stored[name] = (path, key, version)
    return stored


def _catalog_vouches(conn: Any, name: str, path: str, version: int) -> bool:
    row = conn.execute(
        "select path, schema_version from catalog_databases where database_name = ?", (name,)
    ).fetchone()
    if row is None or tuple(row) != (path, version):
        return False
    virtual = conn.execute(
        "select 1 from catalog_tables where database_name = ? and rootpage = 0 limit 1",
        (name,),
    ).fetchone()
    return virtual is None


def forget_states(conn: Any, names: list) -> None:
    """Delete the states of `names` (inside the caller's transaction)."""
    conn.executemany(
        "delete from catalog_file_states where database_name = ?", [(n,) for n in names]
    )
