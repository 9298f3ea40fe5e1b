"""Which sqlite3 module the package uses, and what its SQLite library supports.

`pysqlite3` wins when it is importable (it usually bundles a newer SQLite); every row the
package produces is a `sqlite3.Row` of the module chosen here.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from typing import Any, Optional, Union

try:  # pragma: no cover - depends on the environment
    import pysqlite3 as sqlite3  # type: ignore

    using_pysqlite3 = True
except ImportError:
    import sqlite3  # type: ignore[no-redef]

    using_pysqlite3 = False

__all__ = [
    "sqlite3",
    "using_pysqlite3",
    "sqlite_version",
    "supports_table_xinfo",
    "supports_generated_columns",
    "sqlite_file_uri",
    "UNSAFE_FUNCTIONS",
    "refuse_unsafe_functions",
    "refused_function_message",
]


@functools.lru_cache(maxsize=None)
def sqlite_version() -> tuple:
    """The SQLite library version as a tuple of ints, e.g. ``(3, 45, 1)``."""
    conn = sqlite3.connect(":memory:")
    try:
        version = conn.execute("select sqlite_version()").fetchone()[0]
    finally:
        conn.close()
    return tuple(int(part) for part in version.split("."))


def supports_table_xinfo() -> bool:
    """`PRAGMA table_xinfo` (hidden columns) arrived in SQLite 3.26.0."""
    return sqlite_version() >= (3, 26, 0)


def supports_generated_columns() -> bool:
    """Generated columns arrived in SQLite 3.31.0."""
    return sqlite_version() >= (3, 31, 0)


def sqlite_file_uri(path: Union[str, "os.PathLike[str]"]) -> str:
    """The `file:` URI for a database path (no query string), escaping what URIs reserve.

    `%`, `?` and `#` in a file name would otherwise be read as escapes, the query string
    or a fragment, and the connection would open some other file.
    """
    escaped = Path(path).as_posix().replace("%", "%25").replace("?", "%3F").replace("#", "%23")
    if os.name == "nt":  # pragma: no cover - a drive letter needs a leading slash
        escaped = "/" + escaped
    return f"file:{escaped}"


# -- functions user SQL may not call ----------------------------------------------------

# Functions that hand out native pointers (`fts3_tokenizer`, `fts5`), load code
# (`load_extension`) or read and write files (the fileio extension's `readfile`,
# `writefile`, `edit`, `lsdir`, `fsdir`; SpatiaLite's import/export and blob-file helpers).
# Refused by name, in any letter case and with any number of arguments, whether or not
# this SQLite build has them: an extension loaded later must not open a hole. (Table-valued
# functions such as `fsdir` or `zipfile` cannot be told from user tables of the same name
# by the authorizer, so they are left to the operator who loads such an extension.)
UNSAFE_FUNCTIONS = frozenset(
    name.lower()
    for name in (
        "fts3_tokenizer", "fts5", "load_extension", "readfile", "writefile", "edit",
        "lsdir", "fsdir", "eval", "blobfromfile", "blobtofile", "xb_loadxml", "xb_storexml",
        "importshp", "exportshp", "importdbf", "exportdbf", "importdxf",
        "importdxfdirectory", "importgeojson", "exportgeojson", "exportgeojson2",
        "exportkml", "importwfs", "importxls", "importzipshp", "importzipdbf",
    )
)

# The name the authorizer last refused on this thread (read connections are per thread).
_refused = threading.local()


def _authorize(action: int, arg1: Any, arg2: Any, db_name: Any, trigger: Any) -> int:
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in UNSAFE_FUNCTIONS:
        _refused.name = arg2
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def refuse_unsafe_functions(conn: Any) -> None:
    """Install the authorizer that refuses `UNSAFE_FUNCTIONS` on a read connection.

    It replaces any authorizer set before it (a connection has one); a denial makes
    SQLite fail with "not authorized", which `refused_function_message` explains.
    """
    conn.set_authorizer(_authorize)


def refused_function_message(error: BaseException) -> Optional[str]:
    """A clear message for a "not authorized" error the authorizer above caused on this
    thread, or None for any other error. Reading it forgets the refusal."""
    name = getattr(_refused, "name", None)
    _refused.name = None
    # SQLite says "not authorized", or (3.37+) "not authorized to use function: X".
    if name is None or not error.args or not str(error.args[0]).startswith("not authorized"):
        return None
    return (
        f"{name}() is not allowed: it can expose memory addresses or the server's files"
    )
