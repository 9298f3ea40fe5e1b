"""The internal tables of the public-resources system, created by the internal migrations.

`STATEMENTS` is one migration step (see `datasette/internal/migrations.py`): it runs once,
in one transaction, when a file is brought to this system's schema version.

A public table is remembered with the b-tree root page and the `CREATE` statement it had
when it was last seen, so that a renamed table keeps its grant and a dropped one loses it
(see `store.py`, `reconcile`).
"""

STATEMENTS: tuple = (
    """CREATE TABLE public_databases (
    database_name TEXT PRIMARY KEY,
    allow_sql INTEGER NOT NULL DEFAULT 0,
    is_public INTEGER NOT NULL DEFAULT 1,
    changed_by TEXT,
    changed_at TEXT NOT NULL
)""",
    """CREATE TABLE public_tables (
    database_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    rootpage INTEGER,
    table_sql TEXT,
    changed_by TEXT,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (database_name, table_name)
)""",
    """CREATE TABLE public_queries (
    database_name TEXT NOT NULL,
    query_name TEXT NOT NULL,
    changed_by TEXT,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (database_name, query_name)
)""",
)
