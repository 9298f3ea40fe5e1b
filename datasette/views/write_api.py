"""The JSON write API: what its endpoints share.

Endpoints (http-cli.md §8), each in its own module, routed by `datasette/routes.py`:

- `table_write.py`: `/db/t/-/insert`, `/db/t/-/upsert`, `/db/t/-/drop`
- `row_write.py`: `/db/t/<pk>/-/update`, `/db/t/<pk>/-/delete`
- `database_create.py`: `/db/-/create`

They answer POST only. A refusal is raised as `WriteApiError`, which the error path
(`views/errors.py`) answers `{"ok": false, "errors": [...]}` with the status the contract
gives; every answer, errors and 405s included, carries the CORS headers under `--cors`
(the routes are marked for it). Each request writes in one transaction (a savepoint of a
group commit) on the database's write thread, so a request that fails part way writes
nothing, and is answered only once its rows are committed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from ..exceptions import NotFound, WriteApiError
from ..renderer import json_response
from ..utils.asgi import Response
from ..utils.bindable import MAX_JSON_DEPTH, json_body_problem, value_problem
from ..utils.sqlite import sqlite3
from ..write_schema import quote_identifier
from .base import View, method_not_allowed

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database
    from ..utils.asgi import Request

# SQLite's own failures, and values it cannot bind (integers past 64 bits, text with a
# lone surrogate) should `parse_json`'s checks ever miss one.
SQL_ERRORS = (sqlite3.Error, OverflowError, UnicodeEncodeError)


class WriteView(View):
    """Base of the write endpoints: POST only (OPTIONS answers `ok`)."""

    async def options(self, request: Request, datasette: Datasette) -> Response:
        response = Response.text("ok")
        response.headers["allow"] = "POST"
        return response

    async def __call__(self, request: Request, datasette: Datasette) -> Response:
        if request.method in ("POST", "OPTIONS"):
            return await super().__call__(request, datasette)
        return method_not_allowed(request)


def ok(datasette: Datasette, body: Optional[dict] = None, status: int = 200) -> Response:
    """`{"ok": true, ...}` with `status`."""
    return json_response(datasette, {"ok": True, **(body or {})}, status=status)


def parse_json(body: bytes) -> Any:
    """The decoded body; raises `WriteApiError` `Invalid JSON: <parser message>`.

    Bytes that are not UTF-8 (or UTF-16/32) count as invalid JSON too. A body SQLite
    could not take is refused with the reason (`utils/bindable.py`): nested more than
    `MAX_JSON_DEPTH` levels, an integer outside 64 bits, text with a lone surrogate.
    """
    text = _strict_utf8(body)
    try:
        value = json.loads(body if text is None else text)
    except RecursionError as e:
        raise WriteApiError(
            [f"Invalid JSON: nested more than {MAX_JSON_DEPTH} levels deep"]
        ) from e
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise WriteApiError([f"Invalid JSON: {e}"]) from e
    problem = value_problem(value) if text is None else json_body_problem(body, value)
    if problem:
        raise WriteApiError([problem])
    return value


def _strict_utf8(body: bytes) -> Optional[str]:
    """The body as text if it is plain UTF-8 (what `json.loads` would read it as, minus
    the encoded surrogates it lets through), else None: `json.loads` then decodes it."""
    if json.detect_encoding(body) != "utf-8":
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


async def require_permission(
    datasette: Datasette,
    request: Request,
    action: str,
    resource: Union[str, tuple],
    message: str = "Permission denied",
) -> None:
    """Raise a 403 `WriteApiError` with `message` unless the actor may do `action`."""
    if not await datasette.permission_allowed(request.actor, action, resource):
        raise WriteApiError([message], 403)


def ensure_mutable(db: Database) -> None:
    """Raise 403 `Database is immutable` for a database that cannot be written."""
    if not db.is_mutable:
        raise WriteApiError(["Database is immutable"], 403)


async def resolve_writable_table(datasette: Datasette, request: Request) -> Any:
    """The request's resolved table; a 404 `WriteApiError` for a missing one or a view."""
    try:
        resolved = await datasette.resolve_table(request)
    except NotFound as e:
        raise WriteApiError([e.args[0]], 404) from e
    if resolved.is_view:
        raise WriteApiError([f"Table not found: {resolved.table}"], 404)
    return resolved


async def write_in_transaction(db: Database, fn: Callable[[Any], Any]) -> Any:
    """Run `fn(conn)` as one transaction on the write thread; what SQLite refuses (a
    constraint, a trigger's RAISE, a value it cannot bind) is a 400 `WriteApiError`.

    `fn` neither begins nor commits: the write thread does, and may share the commit with
    other requests' writes queued at the same moment (group commit, `writer.py`). The
    explicit BEGIN also covers DDL, which Python's sqlite3 would otherwise commit on its
    own (CREATE TABLE followed by a failing INSERT leaves no table).
    """
    try:
        return await db.execute_write_transaction(fn)
    except SQL_ERRORS as e:
        raise WriteApiError([str(e)]) from e


def row_dicts(cursor: Any) -> list:
    """Every row of an executed cursor as a plain dict."""
    columns = [d[0] for d in cursor.description or ()]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def has_rowid(conn: Any, table: str) -> bool:
    """False for a WITHOUT ROWID table (its rows can only be found by key)."""
    try:
        conn.execute(f"SELECT rowid FROM {quote_identifier(table)} LIMIT 0")
    except sqlite3.OperationalError:
        return False
    return True
