"""`/db/t/<pk>/-/update` and `/db/t/<pk>/-/delete` (both 200).

The row is found first (404 `Record not found: ['<pk>']`), then the permission is
checked on the table, then the database must be mutable (quirk Q7: 403
`Database is immutable`).
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from ..exceptions import NotFound, RowNotFound
from ..utils.asgi import Response
from ..write_schema import (
    key_where,
    quote_identifier,
    select_by_key_sql,
    sql_value,
    update_sql,
)
from .write_api import (
    SQL_ERRORS,
    WriteView,
    error,
    immutable_error,
    in_transaction,
    ok,
    parse_json,
    row_dicts,
)


async def _resolve_row(
    datasette: Any, request: Any, action: str
) -> Tuple[Any, Optional[Response]]:
    """`(resolved row, None)` or `(None, error response)`: 404s, 403s, then immutability."""
    try:
        resolved_table = await datasette.resolve_table(request)
        if resolved_table.is_view:
            return None, error(datasette, [f"Table not found: {resolved_table.table}"], 404)
        resolved = await datasette.resolve_row(request)
    except RowNotFound as e:
        return None, error(datasette, [f"Record not found: {e.pk_values}"], 404)
    except NotFound as e:
        return None, error(datasette, [e.args[0]], 404)
    if not await datasette.permission_allowed(
        request.actor, action, (resolved.db.name, resolved.table)
    ):
        return None, error(datasette, ["Permission denied"], 403)
    failure = immutable_error(datasette, resolved.db)
    if failure is not None:
        return None, failure
    return resolved, None


class RowUpdateView(WriteView):
    """POST `{"update": {...}, "return": bool}`: only the given columns change."""

    name = "row-update"

    async def post(self, request: Any, datasette: Any) -> Response:
        resolved, failure = await _resolve_row(datasette, request, "update-row")
        if failure is not None:
            return failure
        data, problem = parse_json(await request.post_body())
        if problem:
            return error(datasette, [problem], 400)
        if not isinstance(data, dict):
            return error(datasette, ["JSON must be a dictionary"], 400)
        update = data.get("update")
        if not isinstance(update, dict):
            return error(datasette, ["JSON must contain an update dictionary"], 400)
        table, pks, pk_values = resolved.table, resolved.pks, list(resolved.pk_values)
        should_return = bool(data.get("return"))
        # Rowid tables are keyed by rowid, which `select *` leaves out.
        with_rowid = pks == ["rowid"]
        # After the update the row is found again by its key, as changed by the update.
        new_key = [update[pk] if pk in update else value for pk, value in zip(pks, pk_values)]

        def write(conn: Any) -> Optional[dict]:
            if update:
                columns = list(update)
                conn.execute(
                    update_sql(table, columns, pks),
                    [sql_value(update[c]) for c in columns] + pk_values,
                )
            if not should_return:
                return None
            rows = row_dicts(
                conn.execute(
                    select_by_key_sql(table, pks, with_rowid=with_rowid),
                    [sql_value(v) for v in new_key],
                )
            )
            return rows[0] if rows else None

        try:
            row = await resolved.db.execute_write_fn(in_transaction(write))
        except SQL_ERRORS as e:
            return error(datasette, [str(e)], 400)
        return ok(datasette, {"row": row} if should_return else None)


class RowDeleteView(WriteView):
    """POST with no body: the row goes. A failure SQLite reports is a 400 (not 1.0a7's 500)."""

    name = "row-delete"

    async def post(self, request: Any, datasette: Any) -> Response:
        resolved, failure = await _resolve_row(datasette, request, "delete-row")
        if failure is not None:
            return failure
        sql = "DELETE FROM {} WHERE {}".format(
            quote_identifier(resolved.table), key_where(resolved.pks)
        )
        pk_values = list(resolved.pk_values)

        def write(conn: Any) -> None:
            conn.execute(sql, pk_values)

        try:
            await resolved.db.execute_write_fn(in_transaction(write))
        except SQL_ERRORS as e:
            return error(datasette, [str(e)], 400)
        return ok(datasette)
