"""The internal tables of the audit log and job ledger system, created by the internal migrations.

`STATEMENTS` is one migration step (see `datasette/internal/migrations.py`): it runs once,
in one transaction, when a file is brought to this system's schema version.
"""

STATEMENTS: tuple = ()
