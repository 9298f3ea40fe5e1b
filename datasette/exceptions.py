"""Every exception the package raises on purpose, in one tree.

    Exception
    ├── Base400 (status 400)            client mistakes, turned into 4xx responses
    │   ├── BadRequest (400)
    │   ├── Forbidden (403)
    │   └── NotFound (404)
    │       ├── DatabaseNotFound
    │       ├── TableNotFound
    │       └── RowNotFound
    ├── DatasetteError                  a view failure with its own status and title
    ├── QueryInterrupted                a read hit the SQL time limit
    ├── MultipleValues                  Results.single_value() on a non 1x1 result
    ├── InvalidSql                      SQL that is not a read-only SELECT
    ├── BadMetadataError                metadata that is neither JSON nor YAML
    ├── WriteLimitExceeded              a LimitedWriter went past its byte cap
    ├── ConnectionProblem               a database file failed its start-up probe
    │   └── SpatialiteConnectionProblem
    ├── SpatialiteNotFound              --load-extension=spatialite found no module
    └── StartupError                    the server cannot start as configured
        └── InternalDatabaseError       the internal database refuses a file

The contract re-exports these where Datasette 1.0a7 kept them: `datasette.utils.asgi`
(the 4xx family), `datasette.views.base` (`DatasetteError`), `datasette.database`
(`QueryInterrupted`, `MultipleValues`) and `datasette.utils` (the rest).
"""

from __future__ import annotations

from typing import Any, Optional


class Base400(Exception):
    """A client mistake; its first argument is the message shown to the client."""

    status = 400


class BadRequest(Base400):
    """Raised for malformed parameters (status 400)."""

    status = 400


class Forbidden(Base400):
    """Raised when the actor lacks a permission; the message reaches the `forbidden` hook."""

    status = 403


class NotFound(Base400):
    """Raised when a URL names nothing that exists (status 404)."""

    status = 404


class DatabaseNotFound(NotFound):
    """Raised when no database has the requested route."""

    def __init__(self, message: str, database_name: str):
        super().__init__(message)
        self.database_name = database_name


class TableNotFound(NotFound):
    """Raised when a database has no table or view of the requested name."""

    def __init__(self, message: str, database_name: str, table: str):
        super().__init__(message)
        self.database_name = database_name
        self.table = table


class RowNotFound(NotFound):
    """Raised when no row has the requested primary key values."""

    def __init__(self, message: str, database_name: str, table: str, pk_values: Any):
        super().__init__(message)
        self.database_name = database_name
        self.table_name = table
        # 1.0a7 documents `.table`; the code used `.table_name`. Both work here.
        self.table = table
        self.pk_values = pk_values


class DatasetteError(Exception):
    """A failure inside a view that carries its own status, title and extra JSON keys."""

    def __init__(
        self,
        message: str,
        title: Optional[str] = None,
        error_dict: Optional[dict] = None,
        status: int = 500,
        template: Optional[str] = None,
        message_is_html: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.title = title
        self.error_dict = error_dict or {}
        self.status = status
        self.template = template
        self.message_is_html = message_is_html


class QueryInterrupted(Exception):
    """Raised when a read query runs past its time limit."""

    def __init__(self, e: Exception, sql: str, params: Any):
        super().__init__(e, sql, params)
        self.e = e
        self.sql = sql
        self.params = params


class MultipleValues(Exception):
    """Raised by `Results.single_value()` unless the result is exactly one row of one column."""


class InvalidSql(Exception):
    """Raised when user SQL is not a read-only SELECT (or uses a disallowed PRAGMA)."""


class BadMetadataError(Exception):
    """Raised when metadata parses as neither JSON nor YAML."""


class WriteLimitExceeded(Exception):
    """Raised by `LimitedWriter` once more than its byte limit has been written."""


class ConnectionProblem(Exception):
    """Raised when a database file fails the start-up probe of every table."""


class SpatialiteConnectionProblem(ConnectionProblem):
    """Raised when a SpatiaLite database is opened without the SpatiaLite module."""


class SpatialiteNotFound(Exception):
    """Raised when `--load-extension=spatialite` cannot find the module on disk."""


class StartupError(Exception):
    """Raised when the server cannot start as configured; the message is one line for the user."""


class InternalDatabaseError(StartupError):
    """Raised when a file cannot be used as (or must not be served because it is) the internal database."""
