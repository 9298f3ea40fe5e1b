"""Arbitrary read-only SQL: `/db.json?sql=...` and its HTML twin."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Optional

from markupsafe import escape

from ..exceptions import (
    BadRequest,
    DatasetteError,
    Forbidden,
    InvalidSql,
    NotFound,
    QueryInterrupted,
)
from ..renderer import json_response, newline_delimited, rows_as_arrays, rows_as_objects
from ..utils import await_me_maybe, derive_named_parameters, validate_sql_select
from ..utils.asgi import Response
from ..utils.sqlite import sqlite3
from .base import method_not_allowed
from .query_html import render_query_html
from .table_args import SHAPES, extras_requested
from ..permissions import query_cascade

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


_NAMED_PARAMETERS_CACHE_SIZE = 256


async def named_parameters(db: Any, sql: str) -> list:
    """`:name` parameters of `sql`, remembered per schema version (EXPLAIN costs a trip)."""
    cache = db._schema_cache.setdefault(("named_parameters",), {})
    if sql in cache:
        return list(cache[sql])
    names = list(await derive_named_parameters(db, sql))
    if len(cache) >= _NAMED_PARAMETERS_CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[sql] = list(names)
    return names


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
            datasette, {"ok": False, "error": "_shape=object is only available on tables"}, request=request)
    if shape == "arrayfirst":
        return json_response(datasette, [row[0] for row in rows], request=request)
    if shape == "array":
        objects = rows_as_objects(columns, rows, request)
        if request.args.get("_nl"):
            return newline_delimited(datasette, objects, request=request)
        return json_response(datasette, objects, request=request)
    convert = rows_as_arrays if shape == "arrays" else rows_as_objects
    body: dict = {"ok": True, "rows": convert(columns, rows, request)}
    if "columns" in extras_requested(request):
        body["columns"] = columns
    body["truncated"] = truncated
    return json_response(datasette, body, request=request)


async def run_query_view(
    datasette: Any, request: Any, db: Any, sql: str, format: Optional[str]
) -> Response:
    """Validate, run and render `sql` against `db` as JSON, CSV, a renderer or HTML."""
    if format not in (None, "json", "csv") and format not in datasette.renderers:
        raise NotFound(f"Invalid format: {format}")
    try:
        validate_sql_select(sql)
    except InvalidSql as e:
        raise DatasetteError(str(e), title="Invalid SQL", status=400)
    names = await named_parameters(db, sql)
    params = {
        name: request.args.get(name, "")
        for name in names
        if not name.startswith("_")
    }
    return await execute_and_render(datasette, request, db, sql, params, format)


async def execute_and_render(
    datasette: Any,
    request: Any,
    db: Any,
    sql: str,
    params: dict,
    format: Optional[str],
    query_name: Optional[str] = None,
    canned: Optional[dict] = None,
) -> Response:
    """Run a read query and render its result as JSON, CSV, a plugin format or HTML.

    A query past the time limit is a 400 `SQL Interrupted`; an SQLite error is a 400
    (JSON with `rows: []` for `.json`).
    """
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
                request=request,
            )
        if format is None:
            # The HTML page shows the error beside the SQL so it can be fixed (status 200).
            return await render_query_html(
                datasette, request, db, sql=sql, params=params, results=None, canned=canned,
                error=str(e),
            )
        raise BadRequest(str(e))
    if format == "json":
        return json_query_response(
            datasette, request, results.columns, results.rows, results.truncated
        )
    if format == "csv":
        from .csv import query_csv

        return await query_csv(datasette, request, db, results, name=query_name)
    if format is not None:
        from .renderers import render_output

        return await render_output(
            datasette,
            request,
            format,
            columns=results.columns,
            rows=results.rows,
            sql=sql,
            database=db.name,
            table=None,
            query_name=query_name,
            view_name="database",
            truncated=results.truncated,
        )
    return await render_query_html(
        datasette, request, db, sql=sql, params=params, results=results, canned=canned
    )


async def resolve_magic_parameters(datasette: Any, request: Any, names: list) -> dict:
    """Values for `_prefix_rest` parameters from `register_magic_parameters` functions."""
    from ..plugins import pm

    functions: dict = {}
    for pairs in pm.hook.register_magic_parameters(datasette=datasette):
        for prefix, fn in pairs or []:
            functions[prefix] = fn
    values: dict = {}
    for name in names:
        if not name.startswith("_") or name.count("_") < 2:
            continue
        prefix, _, rest = name[1:].partition("_")
        fn = functions.get(prefix)
        if fn is None:
            continue
        try:
            values[name] = await await_me_maybe(fn(rest, request))
        except KeyError:
            continue
    return values


async def canned_query_params(datasette: Any, request: Any, db: Any, canned: dict, supplied: dict) -> dict:
    """Parameters for a canned query: named ones from `supplied`, magic ones resolved."""
    names = canned.get("params") or await named_parameters(db, canned["sql"])
    params = {name: supplied.get(name, "") for name in names if not name.startswith("_")}
    params.update(await resolve_magic_parameters(datasette, request, names))
    return params


async def ensure_canned_query_visible(datasette: Any, request: Any, db: Any, canned: dict) -> bool:
    """Raise `Forbidden` unless the actor may view the query; returns whether it is private."""
    visible, private = await datasette.check_visibility(
        request.actor,
        permissions=query_cascade(db.name, canned["name"]),
    )
    if not visible:
        raise Forbidden("You do not have permission to view this query")
    return private


async def canned_query_view(
    datasette: Any, request: Any, db: Any, canned: dict, format: Optional[str]
) -> Response:
    """GET of a canned query: run a read query; a writable one is not run on GET."""
    await ensure_canned_query_visible(datasette, request, db, canned)
    if format not in (None, "json", "csv") and format not in datasette.renderers:
        raise NotFound(f"Invalid format: {format}")
    if canned.get("write"):
        if format == "json":
            return json_response(datasette, {"ok": True, "rows": [], "truncated": False}, request=request)
        supplied = {k: request.args.get(k) for k in request.args}
        names = canned.get("params") or await named_parameters(db, canned["sql"])
        return await render_query_html(
            datasette,
            request,
            db,
            sql=canned["sql"],
            params={n: supplied.get(n, "") for n in names if not n.startswith("_")},
            results=None,
            canned=canned,
        )
    params = await canned_query_params(
        datasette, request, db, canned, {k: request.args.get(k) for k in request.args}
    )
    return await execute_and_render(
        datasette,
        request,
        db,
        canned["sql"],
        params,
        format,
        query_name=canned["name"],
        canned=canned,
    )


async def canned_query_write(datasette: Any, request: Any, db: Any, canned: dict) -> Response:
    """POST to a writable canned query: check access, bind the body, write, report."""
    await ensure_canned_query_visible(datasette, request, db, canned)
    if not canned.get("write"):
        return method_not_allowed(request)
    if not db.is_mutable:
        raise Forbidden("Database is immutable")
    body = (await request.post_body()).decode("utf-8", "replace")
    stripped = body.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        try:
            supplied = {k: str(v) for k, v in json.loads(stripped).items()}
        except (ValueError, AttributeError):
            raise BadRequest("Invalid JSON body")
    else:
        supplied = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
    supplied.pop("csrftoken", None)
    wants_json = (
        request.headers.get("accept") == "application/json"
        or bool(request.args.get("_json"))
        or bool(supplied.pop("_json", None))
    )
    params = await canned_query_params(datasette, request, db, canned, supplied)
    ok = True
    redirect = None
    try:
        cursor = await db.execute_write(canned["sql"], params)
        if canned.get("on_success_message_sql"):
            try:
                message_result = await db.execute(canned["on_success_message_sql"], params)
                message = str(message_result.first()[0]) if message_result.first() else ""
                message_type = datasette.INFO
            except Exception as e:
                message = f"Error running on_success_message_sql: {e}"
                message_type = datasette.ERROR
        elif canned.get("on_success_message"):
            message = canned["on_success_message"]
            message_type = datasette.INFO
        else:
            count = cursor.rowcount
            message = "Query executed, {} row{} affected".format(count, "" if count == 1 else "s")
            message_type = datasette.INFO
        redirect = canned.get("on_success_redirect")
    except Exception as e:
        ok = False
        message = canned.get("on_error_message") or str(e)
        message_type = datasette.ERROR
        redirect = canned.get("on_error_redirect")
    if wants_json:
        return json_response(datasette, {"ok": ok, "message": message, "redirect": redirect}, request=request)
    datasette.add_message(request, message, message_type)
    return Response.redirect(redirect or datasette.urls.path(request.path))
