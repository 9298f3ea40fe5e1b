"""`/db/-/create` (201): a table from a list of columns, or from rows of data.

Checks run in the contract's order (http-cli.md §8.2); the first failing one answers.
An unknown database is the ordinary 404 page, as in 1.0a7. Creating the table and
inserting its rows is one transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..exceptions import WriteApiError
from ..internal.activity.events import create_detail
from ..utils.asgi import Response
from ..utils.sqlite import sqlite3
from ..write_schema import (
    COLUMN_TYPES,
    columns_from_rows,
    create_table_sql,
    insert_sql,
    sql_value,
)
from .write_api import (
    WriteView,
    ensure_mutable,
    ok,
    parse_json,
    require_permission,
    write_in_transaction,
)

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database
    from ..utils.asgi import Request

VALID_KEYS = {"table", "columns", "pk", "pks", "row", "rows", "ignore", "replace"}


def _table_exists(conn: Any, table: str) -> bool:
    return (
        conn.execute(
            "select 1 from sqlite_master where type = 'table' and name = ?", [table]
        ).fetchone()
        is not None
    )


class TableCreateView(WriteView):
    """POST `{"table": ..., "columns": [...]}` or `{"table": ..., "rows": [...]}`.

    Each step below raises the first problem it finds as a `WriteApiError`; the steps
    run in the contract's order, permissions checked as soon as the body asks for them.
    """

    name = "table-create"

    async def post(self, request: Request, datasette: Datasette) -> Response:
        db = await datasette.resolve_database(request)  # unknown: the 404 page
        await require_permission(datasette, request, "create-table", db.name)
        ensure_mutable(db)
        data = _body_object(await request.post_body())
        if data.get("replace"):
            await require_permission(
                datasette, request, "update-row", db.name, "Permission denied - need update-row"
            )
        table = _table_name(data)
        if data.get("rows") or data.get("row"):
            await require_permission(
                datasette, request, "insert-row", db.name, "Permission denied - need insert-row"
            )
        column_types = _column_types(data)
        rows = _rows(data)
        pks = _requested_pks(data)
        await _check_existing_key(db, table, pks)
        conflict: Optional[str] = (
            "ignore" if data.get("ignore") else ("replace" if data.get("replace") else None)
        )
        schema = await write_in_transaction(db, _create(table, column_types, rows, pks, conflict))
        await datasette.audit(
            "create-table", actor=request.actor, database=db.name, resource=table,
            detail=create_detail(column_types, rows, pks),
        )
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


def _body_object(body: bytes) -> dict:
    """The body as a JSON object with known keys and consistent `ignore` / `replace`."""
    data = parse_json(body)
    if not isinstance(data, dict):
        raise WriteApiError(["JSON must be an object"])
    invalid_keys = sorted(set(data) - VALID_KEYS)
    if invalid_keys:
        raise WriteApiError(["Invalid keys: {}".format(", ".join(invalid_keys))])
    if data.get("ignore") and data.get("replace"):
        raise WriteApiError(["ignore and replace are mutually exclusive"])
    if "ignore" in data or "replace" in data:
        if not data.get("row") and not data.get("rows"):
            raise WriteApiError(["ignore and replace require row or rows"])
        if not data.get("pk") and not data.get("pks"):
            raise WriteApiError(["ignore and replace require pk or pks"])
    return data


def _table_name(data: dict) -> str:
    """The new table's name, which must be given; then `columns`, `rows` or `row` must be."""
    table = data.get("table")
    if not table:
        raise WriteApiError(["Table is required"])
    if not isinstance(table, str) or table.startswith("sqlite_") or "\n" in table:
        raise WriteApiError(["Invalid table name"])
    if not data.get("columns") and not data.get("rows") and not data.get("row"):
        raise WriteApiError(["columns, rows or row is required"])
    if data.get("rows") and data.get("row"):
        raise WriteApiError(["Cannot specify both rows and row"])
    return table


def _column_types(data: dict) -> list:
    """`[(name, SQL type)]` for a `columns` body; `[]` when the rows say what to create."""
    columns = data.get("columns")
    if not columns:
        return []
    if data.get("rows") or data.get("row"):
        raise WriteApiError(["Cannot specify columns with rows or row"])
    _check_columns(columns)
    return [(c["name"], COLUMN_TYPES[c.get("type") or "text"]) for c in columns]


def _rows(data: dict) -> list:
    """The rows to insert (`row` counts as one), each an object."""
    rows = [data["row"]] if data.get("row") else data.get("rows")
    if not rows:
        return []
    if not isinstance(rows, list):
        raise WriteApiError(["rows must be a list"])
    if any(not isinstance(r, dict) for r in rows):
        raise WriteApiError(["rows must be a list of objects"])
    return rows


def _requested_pks(data: dict) -> list:
    """The key columns asked for with `pk` (one) or `pks` (several); `[]` if neither."""
    pk, pks = data.get("pk"), data.get("pks")
    if pk and pks:
        raise WriteApiError(["Cannot specify both pk and pks"])
    if pk and not isinstance(pk, str):
        raise WriteApiError(["pk must be a string"])
    if pks:
        if not isinstance(pks, list):
            raise WriteApiError(["pks must be a list"])
        if any(not isinstance(p, str) for p in pks):
            raise WriteApiError(["pks must be a list of strings"])
    return [pk] if pk else list(pks or [])


async def _check_existing_key(db: Database, table: str, pks: list) -> None:
    """Rows may go into an existing table, but its key cannot be changed."""
    if not pks or not await db.table_exists(table):
        return
    actual_pks = list(await db.primary_keys(table)) or ["rowid"]
    if set(pks) != set(actual_pks):
        raise WriteApiError(["pk cannot be changed for existing table"])


def _check_columns(columns: Any) -> None:
    """Raise the first problem with a `columns` list."""
    if not isinstance(columns, list):
        raise WriteApiError(["columns must be a list"])
    for column in columns:
        if not isinstance(column, dict):
            raise WriteApiError(["columns must be a list of objects"])
        name = column.get("name")
        if not name or not isinstance(name, str):
            raise WriteApiError(["Column name is required"])
        column_type = column.get("type") or "text"
        if not isinstance(column_type, str) or column_type not in COLUMN_TYPES:
            raise WriteApiError([f"Unsupported column type: {column_type}"])
    seen: set = set()
    duplicates: list = []
    for column in columns:
        if column["name"] in seen and column["name"] not in duplicates:
            duplicates.append(column["name"])
        seen.add(column["name"])
    if duplicates:
        raise WriteApiError(["Duplicate column name: {}".format(", ".join(duplicates))])


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
