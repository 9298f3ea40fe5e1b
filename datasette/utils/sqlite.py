"""Which sqlite3 module the package uses, and what its SQLite library supports.

`pysqlite3` wins when it is importable (it usually bundles a newer SQLite); every row the
package produces is a `sqlite3.Row` of the module chosen here.
"""

from __future__ import annotations

import functools

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
