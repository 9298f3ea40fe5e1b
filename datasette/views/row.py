"""The row page `/db/table/pk(.json|.csv|.blob)`.

`RowView` resolves the row and checks access, then answers in the requested format:
JSON here, CSV through `csv.py`, plugin formats through `renderers.py`, HTML through
`row_html.py`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..database import Results
from ..exceptions import Forbidden, NotFound
from ..permissions import table_cascade
from ..renderer import json_response, list_shape_response, rows_as_arrays, rows_as_objects
from ..utils import path_from_row_pks
from ..utils.asgi import Response
from .base import View
from .csv import query_csv
from .page_data import cache_headers, foreign_key_tables
from .renderers import DataDescription, render_output
from .row_html import render_row_html
from .table_args import extras_requested, shape_of

if TYPE_CHECKING:
    from ..app import Datasette, ResolvedRow
    from ..utils.asgi import Request

ROOT_METADATA = ("source", "source_url", "license", "license_url")


def jsono_redirect(datasette: Datasette, request: Request) -> Response:
    """`.jsono` is the old spelling of `.json?_shape=objects`."""
    path = request.path.rsplit(".jsono", 1)[0] + ".json"
    query = request.query_string
    target = datasette.urls.path(path) + "?" + ((query + "&") if query else "") + "_shape=objects"
    return Response.redirect(target)


def requested_row_extras(request: Request) -> set:
    """Names from every `_extras=` (the row page's own, older spelling of `_extra=`)."""
    requested = set()
    for value in request.args.getlist("_extras"):
        requested.update(part.strip() for part in value.split(","))
    return requested


async def row_json_body(
    datasette: Datasette, request: Request, resolved: ResolvedRow, columns: list, shape: str,
    start: float,
) -> dict:
    """The default (`objects` or `arrays`) JSON document of a row."""
    db, table = resolved.db, resolved.table
    convert = rows_as_arrays if shape == "arrays" else rows_as_objects
    body: dict = {
        "database": db.name,
        "table": table,
        "rows": convert(columns, [resolved.row], request),
        "primary_keys": resolved.pks,
        "primary_key_values": resolved.pk_values,
        "units": (datasette.metadata("units", database=db.name, table=table, fallback=False) or {}),
        "query_ms": (time.perf_counter() - start) * 1000,
    }
    if "columns" in extras_requested(request):
        body["columns"] = columns
    if "foreign_key_tables" in requested_row_extras(request):
        body["foreign_key_tables"] = await foreign_key_tables(
            datasette, db, table, resolved.pk_values
        )
    for key in ROOT_METADATA:
        value = datasette.metadata(key)
        if value is not None:
            body[key] = value
    body["ok"] = True
    body["truncated"] = False
    return body


async def row_json(
    datasette: Datasette, request: Request, resolved: ResolvedRow, columns: list, headers: dict,
    start: float,
) -> Response:
    """The row as JSON in the requested `_shape`."""
    shape = shape_of(request)
    rows = [resolved.row]
    listed = list_shape_response(datasette, request, shape, columns, rows, headers)
    if listed is not None:
        return listed
    if shape == "object":
        objects = rows_as_objects(columns, rows, request)
        return json_response(
            datasette,
            {path_from_row_pks(row, resolved.pks, False): obj for row, obj in zip(rows, objects)},
            headers=headers, request=request)
    body = await row_json_body(datasette, request, resolved, columns, shape, start)
    return json_response(datasette, body, headers=headers, request=request)


class RowView(View):
    """One row of a table, by primary key (or rowid)."""

    name = "row"

    async def get(self, request: Request, datasette: Datasette) -> Any:
        """The row as HTML, JSON, CSV or a plugin format."""
        format = request.url_vars.get("format")
        if format == "jsono":
            return jsono_redirect(datasette, request)
        start = time.perf_counter()
        resolved = await datasette.resolve_row(request)
        db, table = resolved.db, resolved.table
        visible, private = await datasette.check_visibility(
            request.actor,
            permissions=table_cascade(db.name, table),
        )
        if not visible:
            raise Forbidden("You do not have permission to view this table")
        columns = list(resolved.row.keys())
        rows = [resolved.row]
        if format == "csv":
            results = Results(rows, False, [(c,) for c in columns])
            return await query_csv(datasette, request, db, results, name=table)
        headers = cache_headers(datasette, request)
        if format not in (None, "json"):
            if format not in datasette.renderers:
                raise NotFound(f"Invalid format: {format}")
            described = DataDescription(
                columns, rows, resolved.sql, db.name, table, view_name="row"
            )
            return await render_output(datasette, request, format, described, headers=headers)
        if format is None:
            return await render_row_html(
                datasette, request, db, table, resolved, columns, rows, private, headers
            )
        return await row_json(datasette, request, resolved, columns, headers, start)
