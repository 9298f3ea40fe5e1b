"""The internal tables of the column statistics system, created by the internal migrations.

`STATEMENTS` is one migration step (see `datasette/internal/migrations.py`): it runs once,
in one transaction, when a file is brought to this system's schema version.

Each indexed table gets a compact `table_id` and each of its columns a `column_id`, so
names are written once; each distinct kept value is written once in `stats_value_ids`,
shared by every column that holds it, and the per-column counts point at it by id.
`stats_tables` is also the indexer's queue: `state`, `position` and `partial` are the
work in progress, checkpointed so that a restart resumes where the last one stopped.
"""

STATEMENTS: tuple = (
    """CREATE TABLE stats_tables (
    table_id INTEGER PRIMARY KEY,
    database_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',  -- queued | indexing | done | error
    stale INTEGER NOT NULL DEFAULT 0,      -- 1: the table changed since its stats were made
    position TEXT,                         -- JSON keyset position of the run in progress
    partial TEXT,                          -- JSON accumulators of the run in progress
    resumed_from TEXT,                     -- JSON position the last resumed run started at
    row_count INTEGER,
    columns_signature TEXT,                -- JSON column names the stats describe
    source_signature TEXT,                 -- file size and times when the run started
    started_at TEXT,
    indexed_at TEXT,
    error TEXT,
    UNIQUE (database_name, table_name)
)""",
    """CREATE TABLE stats_columns (
    column_id INTEGER PRIMARY KEY,
    table_id INTEGER NOT NULL REFERENCES stats_tables(table_id),
    position INTEGER NOT NULL,
    column_name TEXT NOT NULL,
    null_count INTEGER NOT NULL,
    distinct_count INTEGER NOT NULL,
    distinct_exact INTEGER NOT NULL,  -- 0: distinct_count is a lower bound ("at least")
    min_value,
    max_value,
    integer_count INTEGER NOT NULL,
    real_count INTEGER NOT NULL,
    text_count INTEGER NOT NULL,
    blob_count INTEGER NOT NULL,
    json_object_count INTEGER NOT NULL,
    json_array_count INTEGER NOT NULL,
    date_count INTEGER NOT NULL,
    avg_text_length REAL,
    max_text_length INTEGER,
    values_kept INTEGER NOT NULL,     -- 1: stats_value_counts lists every value
    binary_collation INTEGER NOT NULL, -- 0: the table declares a COLLATE somewhere
    UNIQUE (table_id, column_name)
)""",
    """CREATE TABLE stats_value_ids (
    value_id INTEGER PRIMARY KEY,
    value UNIQUE NOT NULL
)""",
    """CREATE TABLE stats_value_counts (
    column_id INTEGER NOT NULL REFERENCES stats_columns(column_id),
    value_id INTEGER NOT NULL REFERENCES stats_value_ids(value_id),
    count INTEGER NOT NULL,
    PRIMARY KEY (column_id, value_id)
) WITHOUT ROWID""",
    "CREATE INDEX stats_value_counts_by_count ON stats_value_counts (column_id, count DESC)",
    "CREATE INDEX stats_columns_by_table ON stats_columns (table_id, position)",
)

# Migration step 7: incremental updates from writes whose changed rows are known.
# `stale_extremes` flags a column whose min, max or longest text may no longer be
# right (a write removed the value it was): bit 1 min, 2 max, 4 max_text_length; the
# indexer recomputes them. `updated_at` is when a write's changes were last applied.
INCREMENTAL_STATEMENTS: tuple = (
    "ALTER TABLE stats_columns ADD COLUMN stale_extremes INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE stats_tables ADD COLUMN updated_at TEXT",
)
