"""Recognising internal-database files, so that none is ever served by mistake.

A file is ours when its SQLite header carries our `application_id` or when it has a
`_datasette_internal` table of the marker's shape. Both are checked without writing to the
file: the header is read as bytes and tables are listed through a read-only connection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Union

from ..utils.sqlite import sqlite3, sqlite_file_uri

# "DSI1" as a big-endian 32-bit integer: SQLite's own file-type field in the header.
APPLICATION_ID = 0x44534931
MARKER_TABLE = "_datasette_internal"
MARKER_COLUMNS = ("id", "schema_version", "created_by", "created_at")

_SQLITE_MAGIC = b"SQLite format 3\x00"

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class FileReport:
    """What a look at a database file found.

    `is_sqlite` is False for files with another header (empty files count as SQLite);
    `application_id` is the header's value; `marker` is "ok" for a marker table of our
    shape, "lookalike" for a table of that name with other columns, None when absent.
    """

    is_sqlite: bool
    application_id: int
    marker: Optional[str]

    @property
    def is_internal(self) -> bool:
        """True when either tag says the file is an internal database."""
        return self.application_id == APPLICATION_ID or self.marker == "ok"


def read_header(path: PathLike) -> tuple:
    """`(is_sqlite, application_id)` from the first 100 bytes of the file."""
    with open(path, "rb") as fp:
        header = fp.read(100)
    if len(header) == 0:
        return True, 0
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        return False, 0
    return True, int.from_bytes(header[68:72], "big")


def marker_state(conn: "sqlite3.Connection") -> Optional[str]:
    """"ok", "lookalike" or None for the `_datasette_internal` table on `conn`."""
    row = conn.execute(
        "select 1 from sqlite_master where type = 'table' and name = ?", (MARKER_TABLE,)
    ).fetchone()
    if row is None:
        return None
    columns = tuple(r[1] for r in conn.execute(f"PRAGMA table_info([{MARKER_TABLE}])"))
    if columns != MARKER_COLUMNS:
        return "lookalike"
    rows = conn.execute(f"select schema_version from [{MARKER_TABLE}]").fetchall()
    if len(rows) != 1 or not isinstance(rows[0][0], int):
        return "lookalike"
    return "ok"


def open_read_only(path: PathLike) -> "sqlite3.Connection":
    """A read-only connection that never creates or changes the file."""
    uri = sqlite_file_uri(path) + "?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def inspect_file(path: PathLike, tables_known_clean: bool = False) -> FileReport:
    """Look at a database file without changing it.

    `tables_known_clean` says the caller knows the file has no table named like the
    marker (file_states.py: it is exactly as a process that read its tables left it), so
    only the header is read.
    """
    is_sqlite, application_id = read_header(path)
    if not is_sqlite:
        return FileReport(False, 0, None)
    if tables_known_clean:
        return FileReport(True, application_id, None)
    try:
        conn = open_read_only(path)
    except sqlite3.Error:
        return FileReport(True, application_id, None)
    try:
        marker = marker_state(conn)
    except sqlite3.Error:
        marker = None
    finally:
        conn.close()
    return FileReport(True, application_id, marker)


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when two paths name one file, through symlinks, `..` and hard links."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refusal_message(path: PathLike) -> str:
    """The one line `serve` prints when asked to publish an internal database."""
    return (
        f"Refusing to serve {path}: it is a Datasette internal database. "
        "Pass --unsafe-allow-internal to serve it anyway."
    )
