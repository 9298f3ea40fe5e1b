"""`/db/t/<pk>/-/update` and `/db/t/<pk>/-/delete` (both 200).

The row is found first (404 `Record not found: ['<pk>']`), then the permission is
checked on the table, then the database must be mutable (quirk Q7: 403
`Database is immutable`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..exceptions import NotFound, RowNotFound, WriteApiError
from ..internal.activity.events import row_detail
from ..internal.stats.changes import track, write_tracked
from ..utils.asgi import Response
from ..write_schema import key_where, quote_identifier, select_by_key_sql, sql_value, update_sql
from .write_api import WriteView, ensure_mutable, ok, parse_json, require_permission
from .write_api import resolve_writable_table, row_dicts, write_in_transaction

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request


async def _resolve_row(datasette: Datasette, request: Request, action: str) -> Any:
    """The request's resolved row; 404s, then 403s, then immutability, as `WriteApiError`."""
    await resolve_writable_table(datasette, request)
    try:
        resolved = await datasette.resolve_row(request)
    except RowNotFound as e:
        raise WriteApiError([f"Record not found: {e.pk_values}"], 404) from e
    except NotFound as e:
        raise WriteApiError([e.args[0]], 404) from e
    await require_permission(datasette, request, action, (resolved.db.name, resolved.table))
    ensure_mutable(resolved.db)
    return resolved


class RowUpdateView(WriteView):
    """POST `{"update": {...}, "return": bool}`: only the given columns change."""

    name = "row-update"

    async def post(self, request: Request, datasette: Datasette) -> Response:
        resolved = await _resolve_row(datasette, request, "update-row")
        data = parse_json(await request.post_body())
        if not isinstance(data, dict):
            raise WriteApiError(["JSON must be a dictionary"])
        update = data.get("update")
        if not isinstance(update, dict):
            raise WriteApiError(["JSON must contain an update dictionary"])
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

        # Column statistics carry the row's old and new values over (an empty update
        # writes nothing, so there is nothing to carry).
        tracked = None
        if update:
            key = (pks, pk_values)
            tracked = await track(datasette, resolved.db, table, key=key, new_key=new_key)
        row = await write_tracked(
            tracked, lambda fn: write_in_transaction(resolved.db, fn), write
        )
        await datasette.audit(
            "update-row", actor=request.actor, database=resolved.db.name, resource=table,
            detail=row_detail(pk_values, columns=update),
        )
        return ok(datasette, {"row": row} if should_return else None)


class RowDeleteView(WriteView):
    """POST with no body: the row goes. A failure SQLite reports is a 400 (not 1.0a7's 500)."""

    name = "row-delete"

    async def post(self, request: Request, datasette: Datasette) -> Response:
        resolved = await _resolve_row(datasette, request, "delete-row")
        sql = "DELETE FROM {} WHERE {}".format(
            quote_identifier(resolved.table), key_where(resolved.pks)
        )
        pk_values = list(resolved.pk_values)

        def write(conn: Any) -> None:
            conn.execute(sql, pk_values)

        tracked = await track(
            datasette, resolved.db, resolved.table, key=(resolved.pks, pk_values)
        )
        await write_tracked(tracked, lambda fn: write_in_transaction(resolved.db, fn), write)
        await datasette.audit(
            "delete-row", actor=request.actor, database=resolved.db.name,
            resource=resolved.table, detail=row_detail(pk_values),
        )
        return ok(datasette)
