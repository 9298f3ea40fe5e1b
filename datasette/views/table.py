"""The table and view page `/db/table(.json|.csv)`: filters, sort, pages, facets, extras.

`TableView` checks access and dispatches on the format; `load_table_page` reads the
request into a `TableQuery` and runs it; `table_extras.py` computes the `_extra=` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..exceptions import BadRequest, DatasetteError, Forbidden, NotFound, QueryInterrupted, TableNotFound
from ..filters import Filters
from ..plugins import pm
from ..renderer import json_response, newline_delimited, rows_as_arrays, rows_as_objects
from ..table_query import TableQuery
from ..utils import (
    await_me_maybe,
    path_from_row_pks,
    path_with_replaced_args,
    tilde_decode,
)
from ..utils.asgi import Response
from ..utils.sqlite import sqlite3
from .base import View
from .query import interrupted_message
from .table_args import (
    extras_requested,
    label_columns,
    page_size,
    selected_columns,
    shape_of,
    sort_choice,
    timelimit_of,
)
from ..permissions import table_cascade

@dataclass
class TablePage:
    """One page of a table or view, with what the extras and renderers need."""

    database: str
    table: str
    is_view: bool
    query: TableQuery
    all_columns: list
    columns: list
    rows: list
    pks: list
    next_token: Optional[str]
    human_descriptions: list = field(default_factory=list)
    extra_context: dict = field(default_factory=dict)
    sql: str = ""
    params: dict = field(default_factory=dict)
    labels: list = field(default_factory=list)
    filters: Any = None
    table_metadata: dict = field(default_factory=dict)
    sort: Any = None
    human: list = field(default_factory=list)
    private: bool = False


def filter_pairs(request: Any) -> list:
    """Query-string pairs that are filters: not `_`-prefixed, or holding `__`."""
    pairs = []
    for key in request.args:
        if key.startswith("_") and "__" not in key:
            continue
        for value in request.args.getlist(key):
            pairs.append((key, value))
    return pairs


def redirect_for_form_params(datasette: Any, request: Any) -> Optional[Response]:
    """Turn `_filter_column*` form fields and `_sort_by_desc` into real parameters (302)."""
    args = request.args
    if not any(k.startswith("_filter_column") for k in args) and "_sort_by_desc" not in args:
        return None
    remove: list = []
    add: list = []
    for key in list(args):
        if not key.startswith("_filter_column"):
            continue
        suffix = key[len("_filter_column") :]
        column = args.get(key)
        op = args.get(f"_filter_op{suffix}") or "exact"
        value = args.get(f"_filter_value{suffix}", "")
        remove += [key, f"_filter_op{suffix}", f"_filter_value{suffix}"]
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
    from urllib.parse import urlencode

    query = urlencode(kept + add)
    location = datasette.urls.path(request.path) + (f"?{query}" if query else "")
    response = Response.redirect(location)
    response.headers["Link"] = f"<{location}>; rel=preload"
    return response


async def combined_filter_arguments(datasette: Any, request: Any, database: str, table: str) -> tuple:
    """Where clauses, params, descriptions and context from `filters_from_request` hooks."""
    clauses: list = []
    params: dict = {}
    descriptions: list = []
    context: dict = {}
    for result in pm.hook.filters_from_request(
        request=request, database=database, table=table, datasette=datasette
    ):
        arguments = await await_me_maybe(result)
        if arguments is None:
            continue
        clauses.extend(arguments.where_clauses or [])
        params.update(arguments.params or {})
        descriptions.extend(arguments.human_descriptions or [])
        context.update(arguments.extra_context or {})
    return clauses, params, descriptions, context


async def load_table_page(
    datasette: Any, request: Any, db: Any, table: str, is_view: bool, default_labels: bool
) -> tuple:
    """Parse the request and run the page query."""
    table_metadata = datasette.metadata(database=db.name, table=table, fallback=False) or {}
    details = await db.table_column_details(table)
    all_columns = [c.name for c in details if not c.hidden]
    column_types = {c.name: c.type for c in details}
    pks = [] if is_view else await db.primary_keys(table)
    use_rowid = not is_view and not pks
    key_columns = ["rowid"] if use_rowid else pks
    size = page_size(request, datasette, table_metadata)
    sort = sort_choice(request, table_metadata, all_columns, use_rowid, is_view)
    columns = selected_columns(request, all_columns, pks)

    units = table_metadata.get("units") or {}
    filters = Filters(
        filter_pairs(request), units=units, ureg=datasette.unit_registry() if units else None
    )
    where_clauses, params = filters.build_where_clauses(table)
    hook_clauses, hook_params, descriptions, context = await combined_filter_arguments(
        datasette, request, db.name, table
    )
    where_clauses += hook_clauses
    params.update(hook_params)

    query = TableQuery(
        table=table,
        is_view=is_view,
        pks=key_columns if not is_view else [],
        use_rowid=use_rowid,
        select_columns=columns,
        where_clauses=where_clauses,
        params=params,
        sort=sort.column,
        sort_desc=sort.desc,
        next_token=request.args.get("_next") or None,
        page_size=size,
        column_types=column_types,
    )
    sql, sql_params = query.page_sql_and_params()
    try:
        results = await db.execute(
            sql, sql_params, custom_time_limit=timelimit_of(request)
        )
    except QueryInterrupted:
        raise DatasetteError(
            interrupted_message(sql), title="SQL Interrupted", status=400, message_is_html=True
        )
    except sqlite3.Error as e:
        raise DatasetteError(str(e), title="Invalid SQL", status=400)
    rows = list(results.rows)
    next_token = None
    if len(rows) > size:
        rows = rows[:size]
        if size:
            offset = int(query.next_token or 0) + size if is_view else 0
            last = rows[-1]
            if sort.column and sort.column not in last.keys():
                last = await _row_with_sort_value(db, query, last)
            next_token = query.next_token_for(last, offset)
    result_columns = [d[0] for d in results.description or ()]

    fk_columns = [fk["column"] for fk in await db.foreign_keys_for_table(table)] if not is_view else []
    labels = label_columns(request, default_labels, fk_columns)
    if labels and rows:
        rows = await _expand_labels(datasette, request, db.name, table, labels, result_columns, rows)

    human = descriptions + [d for d in [filters.human_description_en()] if d]
    page = TablePage(
        database=db.name,
        table=table,
        is_view=is_view,
        query=query,
        all_columns=all_columns,
        columns=result_columns,
        rows=rows,
        pks=pks,
        next_token=next_token,
        human_descriptions=descriptions,
        extra_context=context,
        sql=sql,
        params=sql_params,
        labels=labels,
        filters=filters,
        table_metadata=table_metadata,
        sort=sort,
        human=human,
    )
    return page


async def _row_with_sort_value(db: Any, query: TableQuery, row: Any) -> dict:
    """The last row plus its sort column's value, read by key (the column was not selected)."""
    values = dict(zip(row.keys(), row))
    match = " and ".join(
        f"{'rowid' if pk == 'rowid' else '[' + pk + ']'} = :k{i}" for i, pk in enumerate(query.pks)
    )
    params = {f"k{i}": values[pk] for i, pk in enumerate(query.pks)}
    result = await db.execute(
        f"select [{query.sort}] from [{query.table}] where {match}", params
    )
    values[query.sort] = result.rows[0][0] if result.rows else None
    return values


async def _expand_labels(
    datasette: Any, request: Any, database: str, table: str, labels: list, columns: list, rows: list
) -> list:
    """Replace foreign key values with `{"value", "label"}` dicts."""
    expanded_rows = [list(row) for row in rows]
    for column in labels:
        if column not in columns:
            continue
        index = columns.index(column)
        values = [row[index] for row in expanded_rows]
        labels_by_value = await datasette.expand_foreign_keys(
            request.actor, database, table, column, values
        )
        if not labels_by_value:
            continue
        for row in expanded_rows:
            value = row[index]
            if value is None:
                continue
            row[index] = {"value": value, "label": labels_by_value.get((column, value))}
    return [_LabelledRow(columns, row) for row in expanded_rows]


class _LabelledRow:
    """A row whose cells may be label dicts; indexable by position and by column name."""

    def __init__(self, columns: list, values: list):
        self._columns = columns
        self._values = values

    def keys(self) -> list:
        return list(self._columns)

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, slice)):
            return self._values[key]
        return self._values[self._columns.index(key)]


def cache_headers(datasette: Any, request: Any) -> dict:
    """`Cache-Control` and `Referrer-Policy` for table and row responses."""
    if not datasette.cache_headers:
        return {}
    ttl_arg = request.args.get("_ttl")
    ttl = int(ttl_arg) if ttl_arg and ttl_arg.isdigit() else datasette.setting("default_cache_ttl")
    return {
        "Cache-Control": f"max-age={ttl}" if ttl else "no-cache",
        "Referrer-Policy": "no-referrer",
    }


class TableView(View):
    """`/db/table` and its formats; a canned query of that name answers when no table has it."""

    name = "table"

    async def post(self, request: Any, datasette: Any) -> Response:
        """Only writable canned queries accept POST here."""
        from .query import canned_query_write

        db = await datasette.resolve_database(request)
        name = tilde_decode(request.url_vars["table"])
        if not await db.table_exists(name) and not await db.view_exists(name):
            canned = await datasette.get_canned_query(db.name, name, request.actor)
            if canned is not None:
                return await canned_query_write(datasette, request, db, canned)
        return await self.method_not_allowed(request)

    async def get(self, request: Any, datasette: Any) -> Response:
        db = await datasette.resolve_database(request)
        table = tilde_decode(request.url_vars["table"])
        format = request.url_vars.get("format")
        is_view = False
        if not await db.table_exists(table):
            is_view = await db.view_exists(table)
            if not is_view:
                from .query import canned_query_view

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
            if datasette.cors:
                from ..utils import add_cors_headers

                add_cors_headers(redirect.headers)
            return redirect
        if format not in ("json", "csv", None) and format not in datasette.renderers:
            raise NotFound(f"Invalid format: {format}")
        if not datasette.setting("allow_facet") and any(
            key.startswith("_facet") for key in request.args
        ):
            raise BadRequest("_facet= is not allowed")
        if format == "csv":
            from .csv import table_csv

            return await table_csv(datasette, request, db, table, is_view)
        page = await load_table_page(
            datasette, request, db, table, is_view, default_labels=format is None
        )
        page.private = private
        headers = cache_headers(datasette, request)
        next_url = None
        if page.next_token:
            # The sort is restated, so a default sort from metadata survives the link.
            sort_key = "_sort_desc" if page.sort and page.sort.desc else "_sort"
            replaced = {"_next": page.next_token, "_sort": None, "_sort_desc": None}
            if page.sort and page.sort.column:
                replaced[sort_key] = page.sort.column
            next_url = datasette.absolute_url(
                request, datasette.urls.path(path_with_replaced_args(request, replaced))
            )
            headers["link"] = f'<{next_url}>; rel="next"'
        if format is None:
            from .table_html import render_table_html

            return await render_table_html(datasette, request, page, next_url, headers)
        if format != "json":
            from .renderers import render_with_plugin

            return await render_with_plugin(datasette, request, format, page, headers)
        return await table_json(datasette, request, db, page, next_url, headers)


async def table_json(
    datasette: Any, request: Any, db: Any, page: TablePage, next_url: Optional[str], headers: dict
) -> Response:
    """The table page as JSON in the requested `_shape`, with requested extras."""
    from .table_extras import compute_extras

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
    if shape == "arrayfirst":
        return json_response(datasette, [row[0] for row in page.rows], headers=headers, request=request)
    if shape == "array":
        objects = rows_as_objects(page.columns, page.rows, request)
        if request.args.get("_nl"):
            return newline_delimited(datasette, objects, headers=headers, request=request)
        return json_response(datasette, objects, headers=headers, request=request)
    extras = extras_requested(request)
    if any(key.startswith("_facet") for key in request.args):
        extras.add("facet_results")
    body: dict = {"ok": True, "next": page.next_token}
    body.update(await compute_extras(datasette, request, db, page, extras, next_url))
    convert = rows_as_arrays if shape == "arrays" else rows_as_objects
    body["rows"] = convert(page.columns, page.rows, request)
    body["truncated"] = False
    return json_response(datasette, body, headers=headers, request=request)

