"""What `/-/versions.json` reports: Python, this package, uvicorn and SQLite."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ..version import __version__
from .sqlite import sqlite3, using_pysqlite3

if TYPE_CHECKING:  # only for annotations: app.py imports this module
    from ..app import Datasette


def _fts_versions(conn: Any) -> list:
    working = []
    for fts in ("FTS5", "FTS4", "FTS3"):
        try:
            conn.execute(f"CREATE VIRTUAL TABLE v{fts} USING {fts} (data)")
            working.append(fts)
            conn.execute(f"DROP TABLE v{fts}")
        except sqlite3.OperationalError:
            continue
    return working


def versions_info(datasette: Datasette) -> dict:
    """The `/-/versions` document for `datasette`."""
    conn = sqlite3.connect(":memory:")
    try:
        datasette.prepare_connection(conn, "_memory")
        sqlite_version = conn.execute("select sqlite_version()").fetchone()[0]
        extensions: dict = {}
        try:
            conn.execute("select json('{}')")
            extensions["json1"] = None
        except sqlite3.OperationalError:
            pass
        try:
            spatialite = conn.execute("select spatialite_version()").fetchone()[0]
            extensions["spatialite"] = {"version": spatialite}
        except Exception:
            pass
        compile_options = [
            row[0] for row in conn.execute("pragma compile_options").fetchall()
        ]
        fts_versions = _fts_versions(conn)
    finally:
        conn.close()
    datasette_info: dict = {"version": __version__}
    if datasette.version_note:
        datasette_info["note"] = datasette.version_note
    try:
        # Not at the top: only this page needs it, and the in-browser build has no server.
        import uvicorn

        uvicorn_version = uvicorn.__version__
    except ImportError:  # pragma: no cover
        uvicorn_version = None
    info = {
        "python": {"version": ".".join(map(str, sys.version_info[:3])), "full": sys.version},
        "datasette": datasette_info,
        "asgi": "3.0",
        "uvicorn": uvicorn_version,
        "sqlite": {
            "version": sqlite_version,
            "fts_versions": fts_versions,
            "extensions": extensions,
            "compile_options": compile_options,
        },
    }
    if using_pysqlite3:  # pragma: no cover
        # Only present when sqlite.py chose it.
        import pysqlite3  # type: ignore

        info["pysqlite3"] = getattr(pysqlite3, "__version__", None)
    return info
