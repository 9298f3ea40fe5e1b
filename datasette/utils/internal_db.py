"""Door for 1.0a7's internal-database helpers; the work lives in `datasette.internal`."""

from __future__ import annotations

from typing import Any

from ..internal.catalog import CATALOG_SCHEMA, read_snapshot, write_snapshot


async def init_internal_db(db: Any) -> None:
    """Create the catalog tables in `db` if they are missing."""
    await db.execute_write_script(";\n".join(CATALOG_SCHEMA) + ";")


async def populate_schema_tables(internal_db: Any, db: Any) -> None:
    """Replace `db`'s rows in the catalog of `internal_db`, in one transaction."""
    name = db.name
    path = None if db.is_memory or not db.path else str(db.path)
    snapshot = await db.execute_fn(lambda conn: read_snapshot(conn, name, path, db.is_memory))
    await internal_db.execute_write_fn(lambda conn: write_snapshot(conn, snapshot))
