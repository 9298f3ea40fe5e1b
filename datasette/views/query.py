"""Arbitrary read-only SQL: `/db.json?sql=...` and its HTML twin."""

from __future__ import annotations

import json
import math
from typing import Any, Optional

from markupsafe import escape

from ..exceptions import BadRequest, DatasetteError, InvalidSql, NotFound, QueryInterrupted
from ..utils import add_cors_headers, derive_named_parameters, validate_sql_select
from ..utils.asgi import Response
from ..utils.sqlite import sqlite3
from .errors import json_dumps
from .special import show_json_page

SHAPES = ("objects", "arrays", "array", "arrayfirst", "object")

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


def _json_value(value: Any, infinity: bool) -> Any:
    if isinstance(value, float) and math.isinf(value) and not infinity:
        return None
    return value


def shape_rows(
    columns: list, rows: list, shape: str, request: Any
) -> Any:
    """Rows as dicts or lists, with `_json=` columns decoded and infinities handled."""
    json_columns = set(request.args.getlist("_json"))
    infinity = request.args.get("_json_infinity") in ("on", "true", "1")

    def convert(column: str, value: Any) -> Any:
        if column in json_columns and isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return _json_value(value, infinity)

    if shape in ("arrays",):
        return [[convert(c, v) for c, v in zip(columns, row)] for row in rows]
    return [{c: convert(c, v) for c, v in zip(columns, row)} for row in rows]


def json_query_response(
    datasette: Any, request: Any, columns: list, rows: list, truncated: bool
) -> Response:
    """The JSON body of a query result in the requested `_shape`."""
    headers: dict = {}
    if datasette.cors:
        add_cors_headers(headers)
    shape = request.args.get("_shape") or "objects"
    if shape not in SHAPES:
        raise DatasetteError(f"Invalid _shape: {shape}", status=400)
    if shape == "object":
        return Response.json(
            {"ok": False, "error": "_shape=object is only available on tables"},
            headers=headers,
        )
    if shape == "arrayfirst":
        body: Any = [row[0] for row in rows]
    elif shape == "array":
        body = shape_rows(columns, rows, "objects", request)
        if request.args.get("_nl"):
            text = "\n".join(json_dumps(item) for item in body)
            return Response(text, content_type="text/plain; charset=utf-8", headers=headers)
    else:
        body = {"ok": True, "rows": shape_rows(columns, rows, shape, request)}
        if "columns" in _extras(request):
            body["columns"] = columns
        body["truncated"] = truncated
    return Response(
        json_dumps(body), content_type="application/json; charset=utf-8", headers=headers
    )


def _extras(request: Any) -> set:
    extras: set = set()
    for value in request.args.getlist("_extra"):
        extras.update(part.strip() for part in value.split(",") if part.strip())
    return extras


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
            headers: dict = {}
            if datasette.cors:
                add_cors_headers(headers)
            return Response.json(
                {"ok": False, "rows": [], "error": str(e), "truncated": False},
                status=400,
                headers=headers,
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
