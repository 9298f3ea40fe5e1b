"""Arbitrary read-only SQL: `/db.json?sql=...` and its HTML twin; canned queries."""

from __future__ import annotations

import json
import urllib.parse
from typing import TYPE_CHECKING, Optional

from ..exceptions import (
    BadRequest,
    DatasetteError,
    Forbidden,
    NotFound,
    QueryInterrupted,
)
from ..permissions import query_cascade
from ..plugins import pm
from ..renderer import json_response, list_shape_response, rows_as_arrays, rows_as_objects
from ..utils import await_me_maybe, derive_named_parameters, validate_sql_select
from ..utils.asgi import Response
from ..utils.sqlite import sqlite3
from .base import method_not_allowed
from .csv import query_csv
from .page_data import interrupted_error
from .query_html import render_query_html
from .renderers import DataDescription, render_output
from .table_args import SHAPES, extras_requested

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database
    from ..utils.asgi import Request

_NAMED_PARAMETERS_CACHE_SIZE = 256


async def named_parameters(db: Database, sql: str) -> list:
    """`:name` parameters of `sql`, remembered per schema version (EXPLAIN costs a trip)."""
    cache = db._schema_cache.setdefault(("named_parameters",), {})
    if sql in cache:
        return list(cache[sql])
    names = list(await derive_named_parameters(db, sql))
    if len(cache) >= _NAMED_PARAMETERS_CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[sql] = list(names)
    return names


def parse_timelimit(request: Request) -> Optional[int]:
    """`?_timelimit=MS` as an int, or None when absent or not a number."""
    value = request.args.get("_timelimit")
    if value is not None and value.isdigit():
        return int(value)
    return None


def json_query_response(
    datasette: Datasette, request: Request, columns: list, rows: list, truncated: bool
) -> Response:
    """The JSON body of a query result in the requested `_shape`."""
    shape = request.args.get("_shape") or "objects"
    if shape not in SHAPES:
        raise DatasetteError(f"Invalid _shape: {shape}", status=400)
    if shape == "object":
        return json_response(
            datasette, {"ok": False, "error": "_shape=object is only available on tables"}, request=request)
    listed = list_shape_response(datasette, request, shape, columns, rows)
    if listed is not None:
        return listed
    convert = rows_as_arrays if shape == "arrays" else rows_as_objects
    body: dict = {"ok": True, "rows": convert(columns, rows, request)}
    if "columns" in extras_requested(request):
        body["columns"] = columns
    body["truncated"] = truncated
    return json_response(datasette, body, request=request)


async def run_query_view(
    datasette: Datasette, request: Request, db: Database, sql: str, format: Optional[str]
) -> Response:
    """Validate, run and render `sql` against `db` as JSON, CSV, a renderer or HTML."""
    if format not in (None, "json", "csv") and format not in datasette.renderers:
        raise NotFound(f"Invalid format: {format}")
    # An `InvalidSql` reaches the one error handler: a 400 `Invalid SQL`.
    validate_sql_select(sql)
    names = await named_parameters(db, sql)
    params = {
        name: request.args.get(name, "")
        for name in names
        if not name.startswith("_")
    }
    return await execute_and_render(datasette, request, db, sql, params, format)


async def execute_and_render(
    datasette: Datasette,
    request: Request,
    db: Database,
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
        raise interrupted_error(sql)
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
        return await query_csv(datasette, request, db, results, name=query_name)
    if format is not None:
        described = DataDescription(
            results.columns, results.rows, sql, db.name, query_name=query_name
        )
        return await render_output(
            datasette, request, format, described, truncated=results.truncated
        )
    return await render_query_html(
        datasette, request, db, sql=sql, params=params, results=results, canned=canned
    )


async def resolve_magic_parameters(datasette: Datasette, request: Request, names: list) -> dict:
    """Values for `_prefix_rest` parameters from `register_magic_parameters` functions."""
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


async def canned_query_params(datasette: Datasette, request: Request, db: Database, canned: dict, supplied: dict) -> dict:
    """Parameters for a canned query: named ones from `supplied`, magic ones resolved."""
    names = canned.get("params") or await named_parameters(db, canned["sql"])
    params = {name: supplied.get(name, "") for name in names if not name.startswith("_")}
    params.update(await resolve_magic_parameters(datasette, request, names))
    return params


async def ensure_canned_query_visible(datasette: Datasette, request: Request, db: Database, canned: dict) -> bool:
    """Raise `Forbidden` unless the actor may view the query; returns whether it is private."""
    visible, private = await datasette.check_visibility(
        request.actor,
        permissions=query_cascade(db.name, canned["name"]),
    )
    if not visible:
        raise Forbidden("You do not have permission to view this query")
    return private


async def canned_query_view(
    datasette: Datasette, request: Request, db: Database, canned: dict, format: Optional[str]
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


async def _success_message(
    datasette: Datasette, db: Database, canned: dict, params: dict, rowcount: int
) -> tuple:
    """`(message, type)` after a successful canned write, as its options ask."""
    if canned.get("on_success_message_sql"):
        try:
            result = await db.execute(canned["on_success_message_sql"], params)
            return (str(result.first()[0]) if result.first() else ""), datasette.INFO
        except Exception as e:
            # The write has happened: a broken message query is reported, not raised.
            return f"Error running on_success_message_sql: {e}", datasette.ERROR
    if canned.get("on_success_message"):
        return canned["on_success_message"], datasette.INFO
    plural = "" if rowcount == 1 else "s"
    return "Query executed, {} row{} affected".format(rowcount, plural), datasette.INFO


async def run_canned_write(datasette: Datasette, db: Database, canned: dict, params: dict) -> tuple:
    """Run a writable canned query: `(ok, message, message type, redirect)`.

    Any failure of the write is the query's answer (its `on_error_*` options), not a 500.
    """
    try:
        cursor = await db.execute_write(canned["sql"], params)
    except Exception as e:
        message = canned.get("on_error_message") or str(e)
        return False, message, datasette.ERROR, canned.get("on_error_redirect")
    message, message_type = await _success_message(datasette, db, canned, params, cursor.rowcount)
    return True, message, message_type, canned.get("on_success_redirect")


async def canned_query_write(datasette: Datasette, request: Request, db: Database, canned: dict) -> Response:
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
        except (ValueError, AttributeError, RecursionError):  # RecursionError: too deep
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
    ok, message, message_type, redirect = await run_canned_write(datasette, db, canned, params)
    if ok:  # the parameters' names only: their values are the user's data
        await datasette.audit(
            "execute-write-query", actor=request.actor, database=db.name,
            resource=canned["name"], detail={"params": sorted(params)},
        )
    if wants_json:
        return json_response(datasette, {"ok": ok, "message": message, "redirect": redirect}, request=request)
    datasette.add_message(request, message, message_type)
    return Response.redirect(redirect or datasette.urls.path(request.path))
