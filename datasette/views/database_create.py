"""`/db/-/create` (201): a table from a list of columns, or from rows of data.

Checks run in the contract's order (http-cli.md §8.2); the first failing one answers.
An unknown database is the ordinary 404 page, as in 1.0a7. Creating the table and
inserting its rows is one transaction.
"""

from __future__ import annotations

from typing import Any, Optional

from ..utils.asgi import Response
from ..write_schema import (
    COLUMN_TYPES,
    columns_from_rows,
    create_table_sql,
    insert_sql,
    sql_value,
)
from .write_api import (
    SQL_ERRORS,
    WriteView,
    error,
    immutable_error,
    in_transaction,
    ok,
    parse_json,
)
from ..utils.sqlite import sqlite3

VALID_KEYS = {"table", "columns", "pk", "pks", "row", "rows", "ignore", "replace"}


def _table_exists(conn: Any, table: str) -> bool:
    return (
        conn.execute(
            "select 1 from sqlite_master where type = 'table' and name = ?", [table]
        ).fetchone()
        is not None
    )


class TableCreateView(WriteView):
    """POST `{"table": ..., "columns": [...]}` or `{"table": ..., "rows": [...]}`."""

    name = "table-create"

    async def post(self, request: Any, datasette: Any) -> Response:
        db = await datasette.resolve_database(request)  # unknown: the 404 page
        actor = request.actor
        if not await datasette.permission_allowed(actor, "create-table", db.name):
            return error(datasette, ["Permission denied"], 403)
        failure = immutable_error(datasette, db)
        if failure is not None:
            return failure
        data, problem = parse_json(await request.post_body())
        if problem:
            return error(datasette, [problem])
        if not isinstance(data, dict):
            return error(datasette, ["JSON must be an object"])
        invalid_keys = sorted(set(data) - VALID_KEYS)
        if invalid_keys:
            return error(datasette, ["Invalid keys: {}".format(", ".join(invalid_keys))])
        ignore, replace = data.get("ignore"), data.get("replace")
        if ignore and replace:
            return error(datasette, ["ignore and replace are mutually exclusive"])
        if "ignore" in data or "replace" in data:
            if not data.get("row") and not data.get("rows"):
                return error(datasette, ["ignore and replace require row or rows"])
            if not data.get("pk") and not data.get("pks"):
                return error(datasette, ["ignore and replace require pk or pks"])
        if replace and not await datasette.permission_allowed(actor, "update-row", db.name):
            return error(datasette, ["Permission denied - need update-row"], 403)
        table = data.get("table")
        if not table:
            return error(datasette, ["Table is required"])
        if not isinstance(table, str) or table.startswith("sqlite_") or "\n" in table:
            return error(datasette, ["Invalid table name"])
        columns, rows, row = data.get("columns"), data.get("rows"), data.get("row")
        if not columns and not rows and not row:
            return error(datasette, ["columns, rows or row is required"])
        if rows and row:
            return error(datasette, ["Cannot specify both rows and row"])
        if (rows or row) and not await datasette.permission_allowed(
            actor, "insert-row", db.name
        ):
            return error(datasette, ["Permission denied - need insert-row"], 403)
        column_types: list = []
        if columns:
            if rows or row:
                return error(datasette, ["Cannot specify columns with rows or row"])
            problem = _check_columns(columns)
            if problem:
                return error(datasette, [problem])
            column_types = [
                (c["name"], COLUMN_TYPES[c.get("type") or "text"]) for c in columns
            ]
        if row:
            rows = [row]
        if rows:
            if not isinstance(rows, list):
                return error(datasette, ["rows must be a list"])
            if any(not isinstance(r, dict) for r in rows):
                return error(datasette, ["rows must be a list of objects"])
        pk, pks = data.get("pk"), data.get("pks")
        if pk and pks:
            return error(datasette, ["Cannot specify both pk and pks"])
        if pk and not isinstance(pk, str):
            return error(datasette, ["pk must be a string"])
        if pks:
            if not isinstance(pks, list):
                return error(datasette, ["pks must be a list"])
            if any(not isinstance(p, str) for p in pks):
                return error(datasette, ["pks must be a list of strings"])
        requested_pks = [pk] if pk else list(pks or [])
        if await db.table_exists(table):
            actual_pks = list(await db.primary_keys(table)) or ["rowid"]
            if requested_pks and set(requested_pks) != set(actual_pks):
                return error(datasette, ["pk cannot be changed for existing table"])
        conflict: Optional[str] = "ignore" if ignore else ("replace" if replace else None)
        write = _create(table, column_types, rows or [], requested_pks, conflict)
        try:
            schema = await db.execute_write_fn(in_transaction(write))
        except SQL_ERRORS as e:
            return error(datasette, [str(e)])
        body = {
            "database": db.name,
            "table": table,
            "table_url": datasette.absolute_url(request, datasette.urls.table(db.name, table)),
            "table_api_url": datasette.absolute_url(
                request, datasette.urls.table(db.name, table, format="json")
            ),
            "schema": schema,
        }
        if rows:
            body["row_count"] = len(rows)
        return ok(datasette, body, status=201)


def _check_columns(columns: Any) -> Optional[str]:
    """The first problem with a `columns` list, or None."""
    if not isinstance(columns, list):
        return "columns must be a list"
    for column in columns:
        if not isinstance(column, dict):
            return "columns must be a list of objects"
        name = column.get("name")
        if not name or not isinstance(name, str):
            return "Column name is required"
        column_type = column.get("type") or "text"
        if not isinstance(column_type, str) or column_type not in COLUMN_TYPES:
            return f"Unsupported column type: {column_type}"
    seen: set = set()
    duplicates: list = []
    for column in columns:
        if column["name"] in seen and column["name"] not in duplicates:
            duplicates.append(column["name"])
        seen.add(column["name"])
    if duplicates:
        return "Duplicate column name: {}".format(", ".join(duplicates))
    return None


def _create(
    table: str, column_types: list, rows: list, pks: list, conflict: Optional[str]
) -> Any:
    """The write: create the table (from columns, or from the rows when it is new),
    insert the rows, and return the CREATE statement SQLite stored."""

    def write(conn: Any) -> str:
        exists = _table_exists(conn, table)
        if not rows:
            if exists:
                raise sqlite3.OperationalError(f'table "{table}" already exists')
            conn.execute(create_table_sql(table, column_types, pks))
        else:
            if not exists:
                conn.execute(create_table_sql(table, columns_from_rows(rows), pks))
            for row in rows:
                names = list(row)
                conn.execute(
                    insert_sql(table, names, conflict), [sql_value(row[n]) for n in names]
                )
        return conn.execute(
            "select sql from sqlite_master where type = 'table' and name = ?", [table]
        ).fetchone()[0]

    return write
