"""`/db/t/-/insert` (201), `/db/t/-/upsert` (200) and `/db/t/-/drop` (200).

Checks run in the contract's order (http-cli.md §8.1, §8.3): the table exists, the actor
may write to it, the database is mutable, then the body. Rows are written one statement
each, all in one transaction: a row SQLite rejects leaves the table as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Tuple

from ..exceptions import NotFound, WriteApiError
from ..internal.activity.events import rows_detail
from ..internal.stats.changes import track, write_tracked
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
    WriteView,
    ensure_mutable,
    has_rowid,
    ok,
    parse_json,
    require_permission,
    resolve_writable_table,
    row_dicts,
    write_in_transaction,
)

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request

# Keys a body may have besides "row" / "rows".
_OPTIONS = ("return", "ignore", "replace")


class _RowsWriteView(WriteView):
    """Insert and upsert: the same checks, then different writes."""

    upsert = False

    async def post(self, request: Request, datasette: Datasette) -> Response:
        resolved = await resolve_writable_table(datasette, request)
        db, table = resolved.db, resolved.table
        await self._check_permissions(datasette, request, (db.name, table))
        ensure_mutable(db)
        pks = await db.primary_keys(table)
        rows, options = await _rows_and_options(request, datasette)
        if options.get("replace"):
            # Replacing overwrites existing rows: that is an update as well as an insert.
            await _require_insert_and_update(datasette, request, (db.name, table))
        key_columns = list(pks) or ["rowid"]
        columns = set(await db.table_columns(table)) | set(key_columns)
        errors = _row_errors(rows, columns, key_columns if self.upsert else [])
        if errors:
            raise WriteApiError(errors)
        if self.upsert and (options.get("ignore") or options.get("replace")):
            raise WriteApiError(["Upsert does not support ignore or replace"])
        should_return = bool(options.get("return"))
        if self.upsert:
            write = _upsert_rows(table, key_columns, rows, should_return, with_rowid=not pks)
        else:
            conflict = "ignore" if options.get("ignore") else None
            if options.get("replace"):
                conflict = "replace"
            write = _insert_rows(table, pks, rows, conflict, should_return)
        # Column statistics carry plain inserts over row by row; upserts and replaces
        # overwrite rows they never read, so for those the table is re-indexed.
        tracked = None
        if not self.upsert and not options.get("replace"):
            tracked = await track(datasette, db, table, rows=rows)
        returned = await write_tracked(tracked, lambda fn: write_in_transaction(db, fn), write)
        await datasette.audit(
            "upsert-rows" if self.upsert else "insert-rows", actor=request.actor,
            database=db.name, resource=table,
            detail=rows_detail(
                rows, key_columns, ignore=options.get("ignore"), replace=options.get("replace")
            ),
        )
        body = {"rows": returned} if should_return else {}
        return ok(datasette, body, status=200 if self.upsert else 201)

    async def _check_permissions(
        self, datasette: Datasette, request: Request, resource: tuple
    ) -> None:
        if not self.upsert:
            await require_permission(datasette, request, "insert-row", resource)
            return
        await _require_insert_and_update(datasette, request, resource)


async def _require_insert_and_update(
    datasette: Datasette, request: Request, resource: tuple
) -> None:
    """403 unless the actor has both insert-row and update-row on the table (upsert, and
    insert with `"replace": true`); a token's restrictions apply to each."""
    # Both are checked on the table, registered defaults applying (quirk Q1).
    allowed = await datasette.permission_allowed(
        request.actor, "insert-row", resource
    ) and await datasette.permission_allowed(request.actor, "update-row", resource)
    if not allowed:
        raise WriteApiError(["Permission denied: need both insert-row and update-row"], 403)


async def _rows_and_options(request: Request, datasette: Datasette) -> Tuple[list, dict]:
    """`(rows, options)` from the body; the first problem, in the contract's order, is
    raised as a 400 `WriteApiError`."""
    if request.headers.get("content-type") != "application/json":
        raise WriteApiError(["Invalid content-type, must be application/json"])
    data = parse_json(await request.post_body())
    if not isinstance(data, dict):
        raise WriteApiError(["JSON must be a dictionary"])
    rows = _rows_of(data)
    max_rows = datasette.setting("max_insert_rows")
    if max_rows is not None and len(rows) > max_rows:
        raise WriteApiError([f"Too many rows, maximum allowed is {max_rows}"])
    options = {k: v for k, v in data.items() if k not in ("row", "rows")}
    invalid = sorted(k for k in options if k not in _OPTIONS)
    if invalid:
        raise WriteApiError(
            ["Invalid parameter: {}".format(", ".join(f'"{k}"' for k in invalid))]
        )
    if options.get("ignore") and options.get("replace"):
        raise WriteApiError(['Cannot use "ignore" and "replace" at the same time'])
    if "row" in data:
        # A single row is always returned.
        options["return"] = True
    return rows, options


def _rows_of(data: dict) -> list:
    """The rows of a body with `"row"` or `"rows"` (exactly one of them)."""
    if "row" not in data and "rows" not in data:
        raise WriteApiError(['JSON must have one or other of "row" or "rows"'])
    if "row" in data:
        if "rows" in data:
            raise WriteApiError(['Cannot use "row" and "rows" at the same time'])
        if not isinstance(data["row"], dict):
            raise WriteApiError(['"row" must be a dictionary'])
        return [data["row"]]
    rows = data["rows"]
    if not isinstance(rows, list):
        raise WriteApiError(['"rows" must be a list'])
    if any(not isinstance(row, dict) for row in rows):
        raise WriteApiError(['"rows" must be a list of dictionaries'])
    return rows


def _row_errors(rows: list, columns: set, required: list) -> list:
    """Every row's problems, in row order: missing `required` keys, unknown columns."""
    errors = []
    for i, row in enumerate(rows):
        if columns.issuperset(row) and all(pk in row for pk in required):
            continue  # the usual row, checked without building lists
        missing = [pk for pk in required if pk not in row]
        if missing:
            errors.append(
                "Row {} is missing primary key column(s): {}".format(
                    i, ", ".join(f'"{pk}"' for pk in missing)
                )
            )
        invalid_columns = sorted(set(row) - columns)
        if invalid_columns:
            errors.append("Row {} has invalid columns: {}".format(i, ", ".join(invalid_columns)))
    return errors


def _insert_rows(
    table: str, pks: list, rows: list, conflict: Optional[str], should_return: bool
) -> Any:
    """The write: insert each row; with `should_return`, read back the rows written.

    A row skipped by `ignore` returns the row already stored under its key (as 1.0a7
    did). Returned rows are read by rowid (by key for WITHOUT ROWID tables and skipped
    rows), in the order they were sent, with the table's columns.
    """
    key_columns = list(pks) or ["rowid"]

    def write(conn: Any) -> list:
        if not should_return:
            _insert_runs(conn, table, rows, conflict)
            return []
        written = []
        statements: dict = {}
        for row in rows:
            columns = tuple(row)
            sql = statements.get(columns)
            if sql is None:
                sql = statements[columns] = insert_sql(table, columns, conflict)
            cursor = conn.execute(sql, [sql_value(row[c]) for c in columns])
            written.append((cursor.lastrowid if cursor.rowcount == 1 else None, row))
        by_rowid = has_rowid(conn, table)
        rowid_sql = f"SELECT * FROM {quote_identifier(table)} WHERE rowid = ?"
        key_sql = select_by_key_sql(table, key_columns)
        returned = []
        for rowid, row in written:
            if rowid is not None and by_rowid:
                returned.extend(row_dicts(conn.execute(rowid_sql, [rowid])))
            elif all(column in row for column in key_columns):
                key = [sql_value(row[column]) for column in key_columns]
                returned.extend(row_dicts(conn.execute(key_sql, key)))
        return returned

    return write


def _insert_runs(conn: Any, table: str, rows: list, conflict: Optional[str]) -> None:
    """Insert `rows` in order, one `executemany` per run of rows with the same keys in
    the same order (usually all of them): one statement prepared, not one per row."""
    start = 0
    while start < len(rows):
        columns = tuple(rows[start])
        end = start + 1
        while end < len(rows) and tuple(rows[end]) == columns:
            end += 1
        conn.executemany(
            insert_sql(table, columns, conflict),
            ([sql_value(row[c]) for c in columns] for row in rows[start:end]),
        )
        start = end


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

    async def post(self, request: Request, datasette: Datasette) -> Response:
        try:
            db = await datasette.resolve_database(request)
        except NotFound as e:
            raise WriteApiError([e.args[0]], 404) from e
        table = tilde_decode(request.url_vars["table"])
        if not await db.table_exists(table):
            raise WriteApiError([f"Table not found: {table}"], 404)
        await require_permission(datasette, request, "drop-table", (db.name, table))
        ensure_mutable(db)
        if not _confirmed(await request.post_body()):
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

        await write_in_transaction(db, drop)
        await datasette.audit("drop-table", actor=request.actor, database=db.name, resource=table)
        return ok(datasette)


def _confirmed(body: bytes) -> bool:
    """Whether the body is a JSON object with a truthy "confirm"; any other body,
    invalid JSON included, only asks."""
    try:
        data = parse_json(body)
    except WriteApiError:
        return False
    return isinstance(data, dict) and bool(data.get("confirm"))
