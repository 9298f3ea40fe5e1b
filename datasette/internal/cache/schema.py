"""The internal table of the result cache, created by the internal migrations (step 6).

`STATEMENTS` is one migration step (see `datasette/internal/migrations.py`): it runs once,
in one transaction, when a file is brought to this system's schema version.

One row per cached query result. `cache_key` is a digest of everything the result depends
on: the database's identity and generation (see `generation.py`), the SQL and its
parameters. `id` grows with every write, so evicting the lowest ids drops the oldest
entries. `scope` says whether an entry may outlive the process: `immutable` entries are
keyed by the file's identity and stay valid across restarts; `mutable` entries carry the
writing process's token in `process` and are deleted by the next process.
"""

STATEMENTS: tuple = (
    """CREATE TABLE result_cache (
    id INTEGER PRIMARY KEY,
    cache_key TEXT NOT NULL UNIQUE,
    database_name TEXT NOT NULL,
    scope TEXT NOT NULL,     -- immutable | mutable
    process TEXT NOT NULL,   -- token of the process that wrote it
    rows TEXT NOT NULL,      -- JSON array of the result's rows
    created_at TEXT NOT NULL
)""",
    "CREATE INDEX result_cache_scope ON result_cache (scope, process)",
)
