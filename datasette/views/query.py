"""Arbitrary read-only SQL: `/db.json?sql=...` and its HTML twin."""

from __future__ import annotations

from typing import Any, Optional

from markupsafe import escape

from ..exceptions import BadRequest, DatasetteError, InvalidSql, NotFound, QueryInterrupted
from ..renderer import json_response, newline_delimited, rows_as_arrays, rows_as_objects
from ..utils import derive_named_parameters, validate_sql_select
from ..utils.asgi import Response
from ..utils.sqlite import sqlite3
from .special import show_json_page
from .table_args import SHAPES, extras_requested

SQL_TIME_LIMIT_DOCS = "https://docs.datasette.io/en/stable/settings.html#sql-time-limit-ms"


def interrupted_message(sql: str) -> str:
    """The HTML message shown when a query runs past the time limit."""
    return (
        "<p>SQL query took too long. The time limit is controlled by the\n"
        f'<a href="{SQL_TIME_LIMIT_DOCS}">sql_time_limit_ms</a>\n'
        "configuration option.</p>\n"
        f'<textarea style="width: 90%">{escape(sql)}</textarea>\n'
        "<script>\n"
        'let ta = document.querySelector("textarea");\n'
        'ta.style.height = ta.scrollHeight + "px";\n'
        "</script>"
    )


def parse_timelimit(request: Any) -> Optional[int]:
    """`?_timelimit=MS` as an int, or None when absent or not a number."""
    value = request.args.get("_timelimit")
    if value is not None and value.isdigit():
        return int(value)
    return None


def json_query_response(
    datasette: Any, request: Any, columns: list, rows: list, truncated: bool
) -> Response:
    """The JSON body of a query result in the requested `_shape`."""
    shape = request.args.get("_shape") or "objects"
    if shape not in SHAPES:
        raise DatasetteError(f"Invalid _shape: {shape}", status=400)
    if shape == "object":
        return json_response(
            datasette, {"ok": False, "error": "_shape=object is only available on tables"}
        )
    if shape == "arrayfirst":
        return json_response(datasette, [row[0] for row in rows])
    if shape == "array":
        objects = rows_as_objects(columns, rows, request)
        if request.args.get("_nl"):
            return newline_delimited(datasette, objects)
        return json_response(datasette, objects)
    convert = rows_as_arrays if shape == "arrays" else rows_as_objects
    body: dict = {"ok": True, "rows": convert(columns, rows, request)}
    if "columns" in extras_requested(request):
        body["columns"] = columns
    body["truncated"] = truncated
    return json_response(datasette, body)


async def run_query_view(
    datasette: Any, request: Any, db: Any, sql: str, format: Optional[str]
) -> Response:
    """Validate, run and render `sql` against `db` as JSON or a simple HTML page."""
    if format not in (None, "json"):
        raise NotFound(f"Invalid format: {format}")
    try:
        validate_sql_select(sql)
    except InvalidSql as e:
        raise DatasetteError(str(e), title="Invalid SQL", status=400)
    names = await derive_named_parameters(db, sql)
    params = {
        name: request.args.get(name, "")
        for name in names
        if not name.startswith("_")
    }
    try:
        results = await db.execute(
            sql, params, truncate=True, custom_time_limit=parse_timelimit(request)
        )
    except QueryInterrupted:
        raise DatasetteError(
            interrupted_message(sql),
            title="SQL Interrupted",
            status=400,
            message_is_html=True,
        )
    except sqlite3.Error as e:
        if format == "json":
            return json_response(
                datasette,
                {"ok": False, "rows": [], "error": str(e), "truncated": False},
                status=400,
            )
        raise BadRequest(str(e))
    if format == "json":
        return json_query_response(
            datasette, request, results.columns, results.rows, results.truncated
        )
    data = {
        "database": db.name,
        "sql": sql,
        "columns": results.columns,
        "rows": [list(row) for row in results.rows],
        "truncated": results.truncated,
    }
    return Response.html(show_json_page(f"{db.name}: {sql}", data))
