"""Door for 1.0a7's internal-database helpers; the work lives in `datasette.internal.catalog`."""

from ..internal.catalog import init_internal_db, populate_schema_tables

__all__ = ["init_internal_db", "populate_schema_tables"]
