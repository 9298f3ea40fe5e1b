"""The JSON write API: what its endpoints share, and the routes that reach them.

Endpoints (http-cli.md §8), each in its own module:

- `table_write.py`: `/db/t/-/insert`, `/db/t/-/upsert`, `/db/t/-/drop`
- `row_write.py`: `/db/t/<pk>/-/update`, `/db/t/<pk>/-/delete`
- `database_create.py`: `/db/-/create`

They answer POST only. Failures are `{"ok": false, "errors": [...]}` with the status the
contract gives; everything, errors and 405s included, carries the CORS headers under
`--cors`. Each request writes in one transaction on the database's write thread, so a
request that fails part way writes nothing.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Optional, Tuple

from ..renderer import json_response
from ..utils import add_cors_headers
from ..utils.asgi import Response
from ..utils.sqlite import sqlite3
from .base import View, method_not_allowed

# Route regexes, in the order they go in the route table (before the table and row
# routes). Database and table segments exclude `/` and `.`, as every core route does.
_DB = r"(?P<database>[^\/\.]+)"
_TABLE = r"(?P<table>[^\/\.]+)"
CREATE_ROUTE = rf"/{_DB}/-/create$"
INSERT_ROUTE = rf"/{_DB}/{_TABLE}/-/insert$"
UPSERT_ROUTE = rf"/{_DB}/{_TABLE}/-/upsert$"
DROP_ROUTE = rf"/{_DB}/{_TABLE}/-/drop$"
DELETE_ROUTE = r"/(?P<database>[^\/\.]+)/(?P<table>[^/]+?)/(?P<pks>[^/]+?)/-/delete$"
UPDATE_ROUTE = r"/(?P<database>[^\/\.]+)/(?P<table>[^/]+?)/(?P<pks>[^/]+?)/-/update$"

# SQLite's own failures, and values it cannot bind (integers past 64 bits).
SQL_ERRORS = (sqlite3.Error, OverflowError)


def write_routes() -> list:
    """`[(regex, View instance)]` for every write endpoint, in route-table order."""
    from .database_create import TableCreateView
    from .row_write import RowDeleteView, RowUpdateView
    from .table_write import TableDropView, TableInsertView, TableUpsertView

    return [
        (CREATE_ROUTE, TableCreateView()),
        (INSERT_ROUTE, TableInsertView()),
        (UPSERT_ROUTE, TableUpsertView()),
        (DROP_ROUTE, TableDropView()),
        (DELETE_ROUTE, RowDeleteView()),
        (UPDATE_ROUTE, RowUpdateView()),
    ]


class WriteView(View):
    """Base of the write endpoints: POST only (OPTIONS answers `ok`); every answer,
    405 included, carries the CORS headers under `--cors`."""

    async def options(self, request: Any, datasette: Any) -> Response:
        response = Response.text("ok")
        response.headers["allow"] = "POST"
        return response

    async def __call__(self, request: Any, datasette: Any) -> Response:
        if request.method in ("POST", "OPTIONS"):
            response = await super().__call__(request, datasette)
        else:
            response = method_not_allowed(request)
        if datasette.cors:
            add_cors_headers(response.headers)
        return response


def error(datasette: Any, messages: Iterable[str], status: int = 400) -> Response:
    """`{"ok": false, "errors": [...]}` with `status`."""
    return json_response(datasette, {"ok": False, "errors": list(messages)}, status=status)


def ok(datasette: Any, body: Optional[dict] = None, status: int = 200) -> Response:
    """`{"ok": true, ...}` with `status`."""
    return json_response(datasette, {"ok": True, **(body or {})}, status=status)


def parse_json(body: bytes) -> Tuple[Any, Optional[str]]:
    """`(data, None)`, or `(None, "Invalid JSON: <parser message>")`.

    Bytes that are not UTF-8 (or UTF-16/32) count as invalid JSON too.
    """
    try:
        return json.loads(body), None
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        return None, f"Invalid JSON: {e}"


def immutable_error(datasette: Any, db: Any) -> Optional[Response]:
    """403 `Database is immutable` for a database that cannot be written, else None."""
    if not db.is_mutable:
        return error(datasette, ["Database is immutable"], 403)
    return None


def in_transaction(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap `fn(conn)` so all it does is one transaction: committed, or rolled back.

    The explicit BEGIN also covers DDL, which Python's sqlite3 would otherwise commit
    on its own (CREATE TABLE followed by a failing INSERT would leave the table).
    """

    def run(conn: Any) -> Any:
        if conn.in_transaction:  # left open by someone else's failed work
            conn.rollback()
        conn.execute("BEGIN")
        try:
            result = fn(conn)
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        conn.commit()
        return result

    return run


def row_dicts(cursor: Any) -> list:
    """Every row of an executed cursor as a plain dict."""
    columns = [d[0] for d in cursor.description or ()]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def has_rowid(conn: Any, table: str) -> bool:
    """False for a WITHOUT ROWID table (its rows can only be found by key)."""
    from ..write_schema import quote_identifier

    try:
        conn.execute(f"SELECT rowid FROM {quote_identifier(table)} LIMIT 0")
    except sqlite3.OperationalError:
        return False
    return True
