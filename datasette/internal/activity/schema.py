"""The internal tables of the audit log and job ledger system, created by the internal migrations.

`STATEMENTS` is one migration step (see `datasette/internal/migrations.py`): it runs once,
in one transaction, when a file is brought to this system's schema version.

Times are UTC text of one fixed shape (`2026-01-31T12:00:00.000000Z`), so comparing
them as strings orders them in time; the pages' `since`/`until` filters rely on that.
"""

STATEMENTS: tuple = (
    """CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    actor_id TEXT,
    actor TEXT,
    action TEXT NOT NULL,
    database_name TEXT,
    resource TEXT,
    detail TEXT
)""",
    "CREATE INDEX audit_log_created_at ON audit_log (created_at)",
    "CREATE INDEX audit_log_actor_id ON audit_log (actor_id, id)",
    "CREATE INDEX audit_log_action ON audit_log (action, id)",
    "CREATE INDEX audit_log_database ON audit_log (database_name, resource, id)",
    """CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    actor_id TEXT,
    actor TEXT,
    database_name TEXT,
    resource TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER,
    message TEXT,
    state TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    lease_owner TEXT,
    lease_expires_at TEXT,
    resumed INTEGER NOT NULL DEFAULT 0
)""",
    "CREATE INDEX jobs_status ON jobs (status, id)",
    "CREATE INDEX jobs_finished_at ON jobs (finished_at)",
)
