"""The table and view page `/db/table(.json|.csv)`: filters, sort, pages, facets, extras.

`TableView` checks access and dispatches on the format. `page_data.load_table_page` reads
the request into a `TableQuery` and runs it; `table_extras.py` computes the `_extra=`
values; `table_json` answers JSON here, while CSV and HTML have their own modules.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Optional

from ..exceptions import BadRequest, Forbidden, NotFound, TableNotFound
from ..permissions import table_cascade
from ..renderer import json_response, list_shape_response, rows_as_arrays, rows_as_objects
from ..utils import path_from_row_pks, path_with_replaced_args, tilde_decode
from ..utils.asgi import Response
from .base import View
from .csv import table_csv
from .page_data import TablePage, cache_headers, load_table_page
from .query import canned_query_view, canned_query_write
from .renderers import render_with_plugin
from .table_args import extras_requested, shape_of
from .table_extras import compute_extras
from .table_html import render_table_html

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database
    from ..utils.asgi import Request


# The filter form's own fields: never kept in a table URL.
_FILTER_FORM_PREFIXES = ("_filter_column", "_filter_op", "_filter_value")


def redirect_for_form_params(datasette: Datasette, request: Request) -> Optional[Response]:
    """Turn `_filter_*` form fields and `_sort_by_desc` into real parameters (302).

    Every `_filter_column*`, `_filter_op*` and `_filter_value*` field goes; a column
    with an operation becomes a filter, and an operation or value without a column is
    simply dropped.
    """
    args = request.args
    form_keys = [k for k in args if k.startswith(_FILTER_FORM_PREFIXES)]
    if not form_keys and "_sort_by_desc" not in args:
        return None
    remove: list = list(form_keys)
    add: list = []
    for key in form_keys:
        if not key.startswith("_filter_column"):
            continue
        suffix = key[len("_filter_column") :]
        column = args.get(key)
        op = args.get(f"_filter_op{suffix}") or "exact"
        value = args.get(f"_filter_value{suffix}", "")
        if not column:
            continue
        if "__" in op:
            op, value = op.rsplit("__", 1)
        add.append((f"{column}__{op}", value))
    if "_sort_by_desc" in args:
        remove.append("_sort_by_desc")
        sort = args.get("_sort")
        if sort:
            remove.append("_sort")
            add.append(("_sort_desc", sort))
    kept = [
        (k, v)
        for k in args
        if k not in remove
        for v in args.getlist(k)
        if v != ""
    ]
    query = urllib.parse.urlencode(kept + add)
    location = datasette.urls.path(request.path) + (f"?{query}" if query else "")
    response = Response.redirect(location)
    response.headers["Link"] = f"<{location}>; rel=preload"
    return response


def next_page_url(datasette: Datasette, request: Request, page: TablePage) -> Optional[str]:
    """The absolute URL of the next page, or None on the last one."""
    if not page.next_token:
        return None
    # The sort is restated, so a default sort from metadata survives the link.
    sort_key = "_sort_desc" if page.sort and page.sort.desc else "_sort"
    replaced = {"_next": page.next_token, "_sort": None, "_sort_desc": None}
    if page.sort and page.sort.column:
        replaced[sort_key] = page.sort.column
    return datasette.absolute_url(
        request, datasette.urls.path(path_with_replaced_args(request, replaced))
    )


class TableView(View):
    """`/db/table` and its formats; a canned query of that name answers when no table has it."""

    name = "table"

    async def post(self, request: Request, datasette: Datasette) -> Response:
        """Only writable canned queries accept POST here."""
        db = await datasette.resolve_database(request)
        name = tilde_decode(request.url_vars["table"])
        if not await db.table_exists(name) and not await db.view_exists(name):
            canned = await datasette.get_canned_query(db.name, name, request.actor)
            if canned is not None:
                return await canned_query_write(datasette, request, db, canned)
        return await self.method_not_allowed(request)

    async def get(self, request: Request, datasette: Datasette) -> Response:
        """The page as HTML, JSON, CSV or a plugin format; a canned query if no table."""
        db = await datasette.resolve_database(request)
        table = tilde_decode(request.url_vars["table"])
        format = request.url_vars.get("format")
        is_view = False
        if not await db.table_exists(table):
            is_view = await db.view_exists(table)
            if not is_view:
                canned = await datasette.get_canned_query(db.name, table, request.actor)
                if canned is not None:
                    return await canned_query_view(datasette, request, db, canned, format)
                raise TableNotFound(f"Table not found: {table}", db.name, table)
        visible, private = await datasette.check_visibility(
            request.actor,
            permissions=table_cascade(db.name, table),
        )
        if not visible:
            raise Forbidden("You do not have permission to view this table")
        redirect = redirect_for_form_params(datasette, request)
        if redirect is not None:
            return redirect
        if format not in ("json", "csv", None) and format not in datasette.renderers:
            raise NotFound(f"Invalid format: {format}")
        if not datasette.setting("allow_facet") and any(
            key.startswith("_facet") for key in request.args
        ):
            raise BadRequest("_facet= is not allowed")
        if format == "csv":
            return await table_csv(datasette, request, db, table, is_view)
        page = await load_table_page(
            datasette, request, db, table, is_view, default_labels=format is None
        )
        page.private = private
        headers = cache_headers(datasette, request)
        next_url = next_page_url(datasette, request, page)
        if next_url:
            headers["link"] = f'<{next_url}>; rel="next"'
        if format is None:
            return await render_table_html(datasette, request, page, next_url, headers)
        if format != "json":
            return await render_with_plugin(datasette, request, format, page, headers)
        return await table_json(datasette, request, db, page, next_url, headers)


async def table_json(
    datasette: Datasette,
    request: Request,
    db: Database,
    page: TablePage,
    next_url: Optional[str],
    headers: dict,
) -> Response:
    """The table page as JSON in the requested `_shape`, with requested extras."""
    shape = shape_of(request)
    if shape == "object":
        if page.is_view or not page.pks:
            return json_response(
                datasette,
                {"ok": False, "error": "_shape=object not available for tables with no primary keys"},
                headers=headers, request=request)
        objects = rows_as_objects(page.columns, page.rows, request)
        keyed = {
            path_from_row_pks(row, page.pks, False): obj
            for row, obj in zip(page.rows, objects)
        }
        return json_response(datasette, keyed, headers=headers, request=request)
    listed = list_shape_response(datasette, request, shape, page.columns, page.rows, headers)
    if listed is not None:
        return listed
    extras = extras_requested(request)
    if any(key.startswith("_facet") for key in request.args):
        extras.add("facet_results")
    body: dict = {"ok": True, "next": page.next_token}
    body.update(await compute_extras(datasette, request, db, page, extras, next_url))
    convert = rows_as_arrays if shape == "arrays" else rows_as_objects
    body["rows"] = convert(page.columns, page.rows, request)
    body["truncated"] = False
    return json_response(datasette, body, headers=headers, request=request)

