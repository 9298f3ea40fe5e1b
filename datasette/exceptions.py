"""Every exception the package raises on purpose, in one tree.

    Exception
    ├── HttpError (status 500)          becomes an HTTP response; carries status and message
    │   ├── Base400 (status 400)        client mistakes; the first argument is the message
    │   │   ├── BadRequest (400)        malformed parameters
    │   │   ├── Forbidden (403)         the actor lacks a permission: the `forbidden` hook answers
    │   │   └── NotFound (404)          the URL names nothing that exists
    │   │       ├── DatabaseNotFound
    │   │       ├── TableNotFound
    │   │       └── RowNotFound
    │   ├── DatasetteError              a view failure with its own status, title and extra keys
    │   └── WriteApiError               a write API refusal: `{"ok": false, "errors": [...]}`
    ├── SQLError                        SQLite refused, seen at the `Database` boundary; each
    │   │                               subclass is also the sqlite3 class it stands for
    │   ├── SQLDatabaseError, SQLOperationalError, SQLIntegrityError
    │   └── SQLProgrammingError, SQLDataError
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

Views raise; `datasette.views.errors.exception_response` is the one place that turns any
exception into a response. An `HttpError` answers with its own status and message; a
`Forbidden` goes to the `forbidden` hook; a `WriteApiError` is answered directly (the
write API's refusals are answers, not failures, so no hook sees them, as in 1.0a7); any
other exception goes to the `handle_exception` hook, as a 500 unless a hook says otherwise.
A `sqlite3.Error` (an `SQLError` included) or `InvalidSql` that reaches it becomes a 400
`Invalid SQL`, chained to the original.

The contract re-exports these where Datasette 1.0a7 kept them: `datasette.utils.asgi`
(the 4xx family), `datasette.views.base` (`DatasetteError`), `datasette.database`
(`QueryInterrupted`, `MultipleValues`) and `datasette.utils` (the rest).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterable, List, Mapping, Optional


class HttpError(Exception):
    """The base of every exception that becomes an HTTP response.

    It carries what the response needs: `status`, `message` (its first argument),
    `title`, `error_dict` (extra keys for the JSON body and the error page),
    `message_is_html`, and `errors`, a list of messages for the write API's shape.
    """

    status: int = 500
    title: Optional[str] = None
    message_is_html: bool = False
    error_dict: Mapping[str, Any] = MappingProxyType({})
    errors: Optional[List[str]] = None

    @property
    def message(self) -> Any:
        """The message shown to the client: the first argument, or `""`."""
        if "_message" in self.__dict__:
            return self.__dict__["_message"]
        return self.args[0] if self.args else ""

    @message.setter
    def message(self, value: Any) -> None:
        self.__dict__["_message"] = value

    def json_body(self) -> dict:
        """The JSON error object: `{"ok": false, "errors": [...]}` when `errors` is set,
        else the extra keys, then `ok`, `error`, `status` and `title`."""
        if self.errors is not None:
            return {"ok": False, "errors": list(self.errors)}
        body = dict(self.error_dict)
        body.update(
            {"ok": False, "error": self.message, "status": self.status, "title": self.title}
        )
        return body


class Base400(HttpError):
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


class DatasetteError(HttpError):
    """A failure inside a view that carries its own status (default 500), title and extra
    JSON keys; `message_is_html` marks a message the error page shows unescaped."""

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
        self.title = title
        self.error_dict = error_dict or {}
        self.status = status
        self.template = template
        self.message_is_html = message_is_html


class WriteApiError(HttpError):
    """Raised by the JSON write API to refuse a request: answered as
    `{"ok": false, "errors": [...]}` with `status` (400 unless given), on every path."""

    def __init__(self, errors: Iterable[str], status: int = 400):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))
        self.status = status


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


# -- SQLite errors met at the `Database` boundary -----------------------------------------
# `Database.execute*` raise these (`from` the original). Each also subclasses the sqlite3
# class it replaces, because plugins catch `sqlite3.OperationalError` and friends.

try:  # pragma: no cover - the same choice utils/sqlite.py makes; utils imports this module
    import pysqlite3 as _sqlite3  # type: ignore
except ImportError:
    import sqlite3 as _sqlite3  # type: ignore[no-redef]


class SQLError(Exception):
    """Base of the SQLite errors a `Database` raises; `str()` is SQLite's message."""


class SQLDatabaseError(SQLError, _sqlite3.DatabaseError):
    """Raised for a `sqlite3.DatabaseError` (e.g. a file that is not a database)."""


class SQLOperationalError(SQLError, _sqlite3.OperationalError):
    """Raised for a `sqlite3.OperationalError` (no such table, syntax error, locked...)."""


class SQLIntegrityError(SQLError, _sqlite3.IntegrityError):
    """Raised for a `sqlite3.IntegrityError` (a constraint failed)."""


class SQLProgrammingError(SQLError, _sqlite3.ProgrammingError):
    """Raised for a `sqlite3.ProgrammingError` (wrong parameters, closed connection...)."""


class SQLDataError(SQLError, _sqlite3.DataError):
    """Raised for a `sqlite3.DataError` (a value too big for SQLite)."""
