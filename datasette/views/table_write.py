"""`/db/t/-/insert` (201), `/db/t/-/upsert` (200) and `/db/t/-/drop` (200).

Checks run in the contract's order (http-cli.md §8.1, §8.3): the table exists, the actor
may write to it, the database is mutable, then the body. Rows are written one statement
each, all in one transaction: a row SQLite rejects leaves the table as it was.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from ..exceptions import NotFound
from ..utils import tilde_decode
from ..utils.asgi import Response
from ..write_schema import (
    insert_sql,
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
    has_rowid,
    immutable_error,
    in_transaction,
    ok,
    parse_json,
    row_dicts,
)

# Keys a body may have besides "row" / "rows".
_OPTIONS = ("return", "ignore", "replace")


async def _resolve_table(datasette: Any, request: Any) -> Tuple[Any, Any, Optional[Response]]:
    """`(db, table, None)`, or `(None, None, 404 response)`; views count as not found."""
    try:
        resolved = await datasette.resolve_table(request)
    except NotFound as e:
        return None, None, error(datasette, [e.args[0]], 404)
    if resolved.is_view:
        return None, None, error(datasette, [f"Table not found: {resolved.table}"], 404)
    return resolved.db, resolved.table, None


class _RowsWriteView(WriteView):
    """Insert and upsert: the same checks, then different writes."""

    upsert = False

    async def post(self, request: Any, datasette: Any) -> Response:
        db, table, failure = await _resolve_table(datasette, request)
        if failure is not None:
            return failure
        resource = (db.name, table)
        actor = request.actor
        if self.upsert:
            # Both are checked on the table, registered defaults applying (quirk Q1).
            allowed = await datasette.permission_allowed(
                actor, "insert-row", resource
            ) and await datasette.permission_allowed(actor, "update-row", resource)
            if not allowed:
                return error(
                    datasette, ["Permission denied: need both insert-row and update-row"], 403
                )
        elif not await datasette.permission_allowed(actor, "insert-row", resource):
            return error(datasette, ["Permission denied"], 403)
        failure = immutable_error(datasette, db)
        if failure is not None:
            return failure
        pks = await db.primary_keys(table)
        rows, options, errors = await self._validate(request, datasette, db, table, pks)
        if errors:
            return error(datasette, errors, 400)
        if self.upsert and (options.get("ignore") or options.get("replace")):
            return error(datasette, ["Upsert does not support ignore or replace"], 400)
        should_return = bool(options.get("return"))
        key_columns = list(pks) or ["rowid"]
        if self.upsert:
            write = _upsert_rows(table, key_columns, rows, should_return, with_rowid=not pks)
        else:
            conflict = "ignore" if options.get("ignore") else None
            if options.get("replace"):
                conflict = "replace"
            write = _insert_rows(table, pks, rows, conflict, should_return)
        try:
            returned = await db.execute_write_fn(in_transaction(write))
        except SQL_ERRORS as e:
            return error(datasette, [str(e)], 400)
        body = {"rows": returned} if should_return else {}
        return ok(datasette, body, status=200 if self.upsert else 201)

    async def _validate(
        self, request: Any, datasette: Any, db: Any, table: str, pks: list
    ) -> Tuple[list, dict, list]:
        """`(rows, options, errors)`: errors in the contract's order, row errors collected."""
        if request.headers.get("content-type") != "application/json":
            return [], {}, ["Invalid content-type, must be application/json"]
        data, problem = parse_json(await request.post_body())
        if problem:
            return [], {}, [problem]
        if not isinstance(data, dict):
            return [], {}, ["JSON must be a dictionary"]
        if "row" not in data and "rows" not in data:
            return [], {}, ['JSON must have one or other of "row" or "rows"']
        if "row" in data:
            if "rows" in data:
                return [], {}, ['Cannot use "row" and "rows" at the same time']
            if not isinstance(data["row"], dict):
                return [], {}, ['"row" must be a dictionary']
            rows = [data["row"]]
        else:
            rows = data["rows"]
            if not isinstance(rows, list):
                return [], {}, ['"rows" must be a list']
            if any(not isinstance(row, dict) for row in rows):
                return [], {}, ['"rows" must be a list of dictionaries']
        max_rows = datasette.setting("max_insert_rows")
        if max_rows is not None and len(rows) > max_rows:
            return [], {}, [f"Too many rows, maximum allowed is {max_rows}"]
        options = {k: v for k, v in data.items() if k not in ("row", "rows")}
        invalid = sorted(k for k in options if k not in _OPTIONS)
        if invalid:
            return [], {}, ["Invalid parameter: {}".format(", ".join(f'"{k}"' for k in invalid))]
        if options.get("ignore") and options.get("replace"):
            return [], {}, ['Cannot use "ignore" and "replace" at the same time']
        if "row" in data:
            # A single row is always returned.
            options["return"] = True
        key_columns = list(pks) or ["rowid"]
        columns = set(await db.table_columns(table)) | set(key_columns)
        errors = []
        for i, row in enumerate(rows):
            if self.upsert:
                missing = [pk for pk in key_columns if pk not in row]
                if missing:
                    errors.append(
                        "Row {} is missing primary key column(s): {}".format(
                            i, ", ".join(f'"{pk}"' for pk in missing)
                        )
                    )
            invalid_columns = sorted(set(row) - columns)
            if invalid_columns:
                errors.append(
                    "Row {} has invalid columns: {}".format(i, ", ".join(invalid_columns))
                )
        return rows, options, errors


def _insert_rows(
    table: str, pks: list, rows: list, conflict: Optional[str], should_return: bool
) -> Any:
    """The write: insert each row; with `should_return`, read back the rows written.

    Rows skipped by `ignore` are not returned. Returned rows are read by rowid (by key
    for WITHOUT ROWID tables), in the order they were sent, with the table's columns.
    """

    def write(conn: Any) -> list:
        written = []
        for row in rows:
            columns = list(row)
            cursor = conn.execute(
                insert_sql(table, columns, conflict), [sql_value(row[c]) for c in columns]
            )
            if should_return and cursor.rowcount == 1:
                written.append((cursor.lastrowid, row))
        if not should_return:
            return []
        returned = []
        if has_rowid(conn, table):
            sql = f"SELECT * FROM {quote_identifier(table)} WHERE rowid = ?"
            for rowid, _ in written:
                returned.extend(row_dicts(conn.execute(sql, [rowid])))
        else:
            sql = select_by_key_sql(table, pks)
            for _, row in written:
                key = [sql_value(row.get(pk)) for pk in pks]
                returned.extend(row_dicts(conn.execute(sql, key)))
        return returned

    return write


def _upsert_rows(
    table: str, key_columns: list, rows: list, should_return: bool, with_rowid: bool
) -> Any:
    """The write: update the given columns of rows whose key exists, insert the rest.

    With `should_return`, each distinct key is read back once, in the order sent
    (`rowid` first for rowid tables).
    """
    exists_sql = "SELECT 1 FROM {} WHERE {}".format(
        quote_identifier(table), key_where(key_columns)
    )

    def write(conn: Any) -> list:
        keys = []
        for row in rows:
            key = [sql_value(row[pk]) for pk in key_columns]
            keys.append(key)
            if conn.execute(exists_sql, key).fetchone() is not None:
                others = [c for c in row if c not in key_columns]
                if others:
                    conn.execute(
                        update_sql(table, others, key_columns),
                        [sql_value(row[c]) for c in others] + key,
                    )
            else:
                columns = list(row)
                conn.execute(insert_sql(table, columns), [sql_value(row[c]) for c in columns])
        if not should_return:
            return []
        sql = select_by_key_sql(table, key_columns, with_rowid=with_rowid)
        returned, seen = [], set()
        for key in keys:
            marker = repr(key)
            if marker in seen:
                continue
            seen.add(marker)
            returned.extend(row_dicts(conn.execute(sql, key)))
        return returned

    return write


class TableInsertView(_RowsWriteView):
    """POST `/db/t/-/insert`: 201 `{"ok": true}`, with `return` also the rows."""

    name = "table-insert"
    upsert = False


class TableUpsertView(_RowsWriteView):
    """POST `/db/t/-/upsert`: 200; needs insert-row and update-row on the table."""

    name = "table-upsert"
    upsert = True


class TableDropView(WriteView):
    """POST `/db/t/-/drop`: without `"confirm": true` only reports what would go."""

    name = "table-drop"

    async def post(self, request: Any, datasette: Any) -> Response:
        try:
            db = await datasette.resolve_database(request)
        except NotFound as e:
            return error(datasette, [e.args[0]], 404)
        table = tilde_decode(request.url_vars["table"])
        if not await db.table_exists(table):
            return error(datasette, [f"Table not found: {table}"], 404)
        if not await datasette.permission_allowed(
            request.actor, "drop-table", (db.name, table)
        ):
            return error(datasette, ["Permission denied"], 403)
        failure = immutable_error(datasette, db)
        if failure is not None:
            return failure
        # Any body that is not a JSON object with a truthy "confirm" only asks.
        data, _ = parse_json(await request.post_body())
        confirm = isinstance(data, dict) and bool(data.get("confirm"))
        if not confirm:
            count = (
                await db.execute(f"select count(*) from {quote_identifier(table)}")
            ).single_value()
            return ok(
                datasette,
                {
                    "database": db.name,
                    "table": table,
                    "row_count": count,
                    "message": 'Pass "confirm": true to confirm',
                },
            )

        def drop(conn: Any) -> None:
            conn.execute(f"DROP TABLE {quote_identifier(table)}")

        try:
            await db.execute_write_fn(in_transaction(drop))
        except SQL_ERRORS as e:
            return error(datasette, [str(e)], 400)
        return ok(datasette)
