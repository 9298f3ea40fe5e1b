"""Versions of the internal database's own schema, applied forward in one transaction.

Each step is a list of statements. A file records its version in the marker row of
`_datasette_internal`, and from version 2 on each applied step in
`_datasette_internal_migrations`. The catalog tables are not here: they are derived data,
recreated and refilled at every start (see `catalog.py`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .activity import schema as activity_schema
from .cache import schema as cache_schema
from .clock import utc_now
from .guard import APPLICATION_ID, MARKER_TABLE
from .public import schema as public_schema
from .stats import schema as stats_schema


class Migration(NamedTuple):
    """One step of the internal schema: the version it brings a file to."""

    version: int
    name: str
    statements: tuple


MIGRATIONS = (
    Migration(
        1,
        "marker",
        (
            f"CREATE TABLE [{MARKER_TABLE}] (\n"
            "    id INTEGER PRIMARY KEY CHECK (id = 1),\n"
            "    schema_version INTEGER NOT NULL,\n"
            "    created_by TEXT NOT NULL,\n"
            "    created_at TEXT NOT NULL\n"
            ")",
            f"PRAGMA application_id = {APPLICATION_ID}",
        ),
    ),
    Migration(
        2,
        "migration history",
        (
            "CREATE TABLE [_datasette_internal_migrations] (\n"
            "    version INTEGER PRIMARY KEY,\n"
            "    name TEXT NOT NULL,\n"
            "    applied_at TEXT NOT NULL,\n"
            "    applied_by TEXT NOT NULL\n"
            ")",
        ),
    ),
    # Each system on the internal database owns one step; its tables are defined beside it.
    Migration(3, "activity: audit log and jobs", activity_schema.STATEMENTS),
    Migration(4, "column statistics", stats_schema.STATEMENTS),
    Migration(5, "public resources", public_schema.STATEMENTS),
    Migration(6, "result cache", cache_schema.STATEMENTS),
    Migration(7, "column statistics: incremental updates", stats_schema.INCREMENTAL_STATEMENTS),
)

CURRENT_SCHEMA_VERSION = MIGRATIONS[-1].version


def stored_version(conn: Any) -> int:
    """The schema version in the marker row (0 for a file without a marker)."""
    row = conn.execute(
        "select 1 from sqlite_master where type = 'table' and name = ?", (MARKER_TABLE,)
    ).fetchone()
    if row is None:
        return 0
    return conn.execute(f"select schema_version from [{MARKER_TABLE}]").fetchone()[0]


def migrate(conn: Any, package_version: str, target: int = CURRENT_SCHEMA_VERSION) -> list:
    """Apply every step above the file's version up to `target`, in one transaction.

    Returns the steps applied. Any failure rolls the whole migration back, leaving the
    file as it was.
    """
    previous_isolation = conn.isolation_level
    conn.isolation_level = None  # we issue BEGIN/COMMIT ourselves
    applied = []
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = stored_version(conn)
            now = utc_now()
            for step in MIGRATIONS:
                if step.version <= current or step.version > target:
                    continue
                for statement in step.statements:
                    conn.execute(statement)
                if step.version == 1:
                    conn.execute(
                        f"INSERT INTO [{MARKER_TABLE}] "
                        "(id, schema_version, created_by, created_at) VALUES (1, 0, ?, ?)",
                        (package_version, now),
                    )
                conn.execute(
                    f"UPDATE [{MARKER_TABLE}] SET schema_version = ?", (step.version,)
                )
                applied.append(step)
            if applied and stored_version(conn) >= 2:
                conn.executemany(
                    "INSERT OR REPLACE INTO [_datasette_internal_migrations] "
                    "(version, name, applied_at, applied_by) VALUES (?, ?, ?, ?)",
                    [(s.version, s.name, now, package_version) for s in applied],
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.isolation_level = previous_isolation
    return applied
