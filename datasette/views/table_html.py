"""The HTML table and view page (http-cli.md §10.4).

`render_table_html` turns a `TablePage` into the template context documented in
plugins-auth-config.md §8.4, renders `table-<db>-<table>.html` or `table.html` and sends
the alternate-JSON `Link` header with the cache and `rel="next"` headers it was given.

Every displayed cell goes through the `render_cell` hook first; on this page a falsy
winning result means the default rendering. Rows reach the template as `DisplayRow`s
(see `cells.py`).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from markupsafe import Markup, escape

from ..plugins import pm
from ..utils import (
    path_from_row_pks,
    path_with_format,
    path_with_replaced_args,
    to_css_class,
)
from ..utils.asgi import Response
from .cells import DisplayRow, default_cell, label_cell, plugin_cell, value_type
from .chrome import (
    DatabaseColor,
    action_links,
    custom_table_templates,
    render_page,
    with_inherited_metadata,
)
from .page_data import TablePage, display_column
from .renderers import table_renderers
from .table_extras import compute_extras

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database
    from ..utils.asgi import Request

# What the page needs from `compute_extras`.
HTML_EXTRAS = {
    "count",
    "facet_results",
    "facets_timed_out",
    "sorted_facet_results",
    "suggested_facets",
    "human_description_en",
    "table_definition",
    "view_definition",
    "expandable_columns",
    "form_hidden_args",
}

# Query-string keys the CSV export form sets itself (checkboxes) or must not inherit
# (`_next` with `_stream` is a 400, and an export starts at the first row).
_CSV_FORM_OWN_KEYS = ("_size", "_dl", "_stream", "_next", "_labels")

_LIMIT_RE = re.compile(r"\s+limit\s+\d+(\s+offset\s+\d+)?\s*$", re.IGNORECASE)

_LINK_COLUMN = {
    "name": "Link",
    "sortable": False,
    "is_pk": False,
    "type": "",
    "notnull": 0,
    "description": None,
    "is_special_link_column": True,
}


@dataclass
class _RowShape:
    """How the rows of a page are keyed and linked: shared by every cell of the page."""

    pks: list
    use_rowid: bool
    link_column: bool
    single_pk: Optional[str]
    fk_tables: dict
    units: dict
    truncate: int


async def _row_shape(datasette: Datasette, db: Database, page: TablePage) -> _RowShape:
    pks = list(page.pks)
    fk_tables = {}
    if not page.is_view:
        fk_tables = {
            fk["column"]: fk["other_table"] for fk in await db.foreign_keys_for_table(page.table)
        }
    return _RowShape(
        pks=pks,
        use_rowid=not page.is_view and not pks,
        link_column=not page.is_view,
        single_pk=pks[0] if len(pks) == 1 else None,
        fk_tables=fk_tables,
        units=(page.table_metadata or {}).get("units") or {},
        truncate=datasette.setting("truncate_cells_html"),
    )


def _display_columns(page: TablePage, details: dict, shape: _RowShape) -> list:
    """The header columns: the link column (or the single pk) first for tables."""
    metadata = page.table_metadata or {}
    sortable_setting = metadata.get("sortable_columns")
    descriptions = metadata.get("columns") or {}
    sortable = (
        set(sortable_setting)
        if sortable_setting is not None
        else set(page.all_columns) | ({"rowid"} if shape.use_rowid else set())
    )

    def column_info(name: str) -> dict:
        return display_column(
            name,
            details.get(name),
            sortable=name in sortable,
            is_pk=name in shape.pks or (shape.use_rowid and name == "rowid"),
            description=descriptions.get(name),
        )

    columns = []
    if shape.link_column:
        columns.append(
            column_info(shape.single_pk) if shape.single_pk is not None else dict(_LINK_COLUMN)
        )
    for name in page.columns:
        if shape.link_column and name == shape.single_pk:
            continue
        columns.append(column_info(name))
    return columns


def _link_cell(datasette: Datasette, page: TablePage, row: Any, shape: _RowShape) -> dict:
    """The first cell of a table row: a link to the row page, showing its key."""
    key_path = path_from_row_pks(row, shape.pks, shape.use_rowid)
    key_text = path_from_row_pks(row, shape.pks, shape.use_rowid, quote=False)
    href = datasette.urls.row(page.database, page.table, key_path)
    if shape.single_pk is not None:
        raw = row[shape.single_pk]
        raw = raw["value"] if isinstance(raw, dict) else raw
    else:
        raw = key_text
    return {
        "column": shape.single_pk if shape.single_pk is not None else "Link",
        "value": Markup('<a href="{}">{}</a>').format(href, key_text),
        "raw": raw,
        "value_type": "pk",
        "is_special_link_column": shape.single_pk is None,
    }


async def _value_cell(
    datasette: Datasette,
    request: Request,
    page: TablePage,
    row: Any,
    column: str,
    value: Any,
    shape: _RowShape,
) -> dict:
    """One data cell: the `render_cell` answer when truthy, else the default display."""
    raw = value["value"] if isinstance(value, dict) and "value" in value else value
    html = await plugin_cell(
        datasette, request, row=row, value=value, column=column, table=page.table,
        database=page.database,
    )
    if html:
        html = html if isinstance(html, Markup) else escape(str(html))
    elif isinstance(value, dict) and "value" in value:
        html = label_cell(datasette, page.database, value, shape.fk_tables.get(column))
    else:
        html = default_cell(
            datasette,
            value,
            column,
            blob_url=lambda: datasette.urls.row_blob(
                page.database,
                page.table,
                path_from_row_pks(row, shape.pks, shape.use_rowid),
                column,
            ),
            units=shape.units,
            truncate=shape.truncate,
        )
    return {"column": column, "value": html, "raw": raw, "value_type": value_type(raw)}


async def display_columns_and_rows(
    datasette: Datasette, request: Request, db: Database, page: TablePage
) -> tuple:
    """`(display_columns, display_rows)`: the link column first for tables."""
    details = {c.name: c for c in await db.table_column_details(page.table)}
    shape = await _row_shape(datasette, db, page)
    columns = _display_columns(page, details, shape)
    display_rows = []
    for row in page.rows:
        cells = [_link_cell(datasette, page, row, shape)] if shape.link_column else []
        for index, column in enumerate(page.columns):
            if shape.link_column and column == shape.single_pk:
                continue
            cells.append(
                await _value_cell(datasette, request, page, row, column, row[index], shape)
            )
        display_rows.append(DisplayRow(cells, row))
    return columns, display_rows


def append_querystring(url: str, querystring: str) -> str:
    """`url` with `querystring` added after `?` or `&` (a template function)."""
    return url + ("&" if "?" in url else "?") + querystring


def _query_pairs(request: Request) -> list:
    return urllib.parse.parse_qsl(request.query_string, keep_blank_values=False)


def csv_links(datasette: Datasette, request: Request, has_fks: bool) -> tuple:
    """`(CSV link, form action, hidden form fields)` for the export links and form."""
    pairs = [(k, v) for k, v in _query_pairs(request) if k != "_size"]
    link_pairs = list(pairs)
    if has_fks:
        link_pairs = [(k, v) for k, v in link_pairs if k != "_labels"] + [("_labels", "on")]
    link_pairs.append(("_size", "max"))
    link_path = request.path + "?" + urllib.parse.urlencode(link_pairs)
    url_csv = datasette.urls.path(path_with_format(path=link_path, format="csv"))
    action = path_with_format(path=request.path, format="csv")
    hidden = [(k, v) for k, v in pairs if k not in _CSV_FORM_OWN_KEYS]
    # A GET form drops its action's query string, so `_format=csv` becomes a field.
    if "?" in action:
        action, action_query = action.split("?", 1)
        hidden = urllib.parse.parse_qsl(action_query) + hidden
    hidden.append(("_size", "max"))
    return url_csv, datasette.urls.path(action), hidden


def sql_without_limit(page: TablePage) -> str:
    """The page SQL without its trailing `limit N [offset M]`, for editing."""
    return _LIMIT_RE.sub("", page.sql)


def edit_sql_url(datasette: Datasette, page: TablePage) -> str:
    """`/db?sql=<page SQL without its limit>&<params>`."""
    sql = sql_without_limit(page)
    pairs = [("sql", sql)] + [(k, "" if v is None else str(v)) for k, v in page.params.items()]
    return datasette.urls.database(page.database) + "?" + urllib.parse.urlencode(pairs)


def filter_columns(page: TablePage) -> list:
    """Columns offered by the filter form: result columns, then the table's others."""
    columns = list(page.columns)
    for name in page.all_columns:
        if name not in columns:
            columns.append(name)
    if not page.is_view and not page.pks and "rowid" not in columns:
        columns.insert(0, "rowid")
    return columns


def sort_links(datasette: Datasette, request: Request, display_columns: list, sort: Any) -> dict:
    """`{column: href}` for each sortable header (clearing `_next`)."""
    links = {}
    for column in display_columns:
        if not column["sortable"]:
            continue
        name = column["name"]
        if name == sort:
            args = {"_sort_desc": name, "_sort": None, "_next": None}
        else:
            args = {"_sort": name, "_sort_desc": None, "_next": None}
        links[name] = datasette.urls.path(path_with_replaced_args(request, args))
    return links


def _sort_state(page: TablePage) -> dict:
    """Sort state shown by the headers and kept by the form.

    Unsorted single-pk and rowid tables read as ascending by their key in the headers;
    `current_sort*` is the real sort, for the form.
    """
    current_sort = page.sort.column if page.sort else None
    current_desc = bool(page.sort and page.sort.desc)
    sort = current_sort if current_sort and not current_desc else None
    if not current_sort and not page.is_view:
        if len(page.pks) == 1:
            sort = page.pks[0]
        elif not page.pks:
            sort = "rowid"
    return {
        "sort": sort,
        "sort_desc": current_sort if current_desc else None,
        "current_sort": current_sort,
        "current_sort_desc": current_desc,
    }


def _facet_context(datasette: Datasette, request: Request, extras: dict) -> dict:
    return {
        "facet_results": extras.get("facet_results") or {"results": {}, "timed_out": []},
        "sorted_facet_results": extras.get("sorted_facet_results") or [],
        "facets_timed_out": extras.get("facets_timed_out") or [],
        "facet_size_max_url": datasette.urls.path(
            path_with_replaced_args(request, {"_facet_size": "max"})
        ),
        "facet_size_at_max": request.args.get("_facet_size") == "max",
        "max_returned_rows": datasette.setting("max_returned_rows"),
        "suggested_facets": extras.get("suggested_facets") or [],
        "datasette_allow_facet": "true" if datasette.setting("allow_facet") else "false",
    }


def _filter_context(datasette: Datasette, page: TablePage, extras: dict) -> dict:
    extra_wheres = [
        dict(item, remove_url=datasette.urls.path(item["remove_url"]))
        for item in page.extra_context.get("extra_wheres_for_ui") or []
    ]
    return {
        "count": extras.get("count"),
        "human_description_en": extras.get("human_description_en") or "",
        "filters": page.filters,
        "filter_columns": filter_columns(page),
        "form_hidden_args": extras.get("form_hidden_args") or [],
        "extra_wheres_for_ui": extra_wheres,
        "supports_search": bool(page.extra_context.get("supports_search")),
        "search": page.extra_context.get("search") or "",
    }


async def _export_context(
    datasette: Datasette, request: Request, page: TablePage, extras: dict
) -> dict:
    """Links to other formats, the CSV form, and the SQL behind the page."""
    expandable_columns = extras.get("expandable_columns") or []
    url_csv, url_csv_path, url_csv_hidden_args = csv_links(
        datasette, request, bool(expandable_columns)
    )
    allow_execute_sql = await datasette.permission_allowed(
        request.actor, "execute-sql", page.database
    )
    return {
        "renderers": await table_renderers(datasette, request, page),
        "url_csv": url_csv,
        "url_csv_path": url_csv_path,
        "url_csv_hidden_args": url_csv_hidden_args,
        "expandable_columns": expandable_columns,
        "allow_csv_stream": datasette.setting("allow_csv_stream"),
        "allow_execute_sql": allow_execute_sql,
        "edit_sql_url": edit_sql_url(datasette, page) if allow_execute_sql else None,
        "query": {"sql": page.sql, "params": page.params},
        "edit_sql": sql_without_limit(page),
        "table_definition": extras.get("table_definition"),
        "view_definition": extras.get("view_definition"),
    }


async def render_table_html(
    datasette: Datasette,
    request: Request,
    page: TablePage,
    next_url: Optional[str],
    headers: dict,
) -> Response:
    """The table page for `page`, with the headers (cache, `rel="next"`) it was given."""
    db = datasette.get_database(page.database)
    extras = await compute_extras(datasette, request, db, page, set(HTML_EXTRAS), next_url)
    display_columns, display_rows = await display_columns_and_rows(datasette, request, db, page)
    sort = _sort_state(page)
    # filters_from_request hooks may add to the page context; core keys are set after.
    context = dict(page.extra_context)
    context.update({
        "database": page.database,
        "database_color": DatabaseColor(db.color),
        "table": page.table,
        "is_view": page.is_view,
        "private": page.private,
        "metadata": with_inherited_metadata(datasette, page.table_metadata),
        "rows": page.rows,
        "columns": page.columns,
        "primary_keys": page.pks,
        "use_rowid": not page.is_view and not page.pks,
        "display_columns": display_columns,
        "display_rows": display_rows,
        "sort_links": sort_links(datasette, request, display_columns, sort["sort"]),
        "next_url": next_url,
        "table_actions": action_links(
            pm.hook.table_actions,
            datasette=datasette,
            actor=request.actor,
            database=page.database,
            table=page.table,
            request=request,
        ),
        "custom_table_templates": custom_table_templates(page.database, page.table, "table"),
        "append_querystring": append_querystring,
        "settings": datasette.settings_dict(),
    })
    context.update(sort)
    context.update(_filter_context(datasette, page, extras))
    context.update(_facet_context(datasette, request, extras))
    context.update(await _export_context(datasette, request, page, extras))
    candidates = [
        "table-{}-{}.html".format(to_css_class(page.database), to_css_class(page.table)),
        "table.html",
    ]
    return await render_page(
        datasette, request, candidates, context, view_name="table", headers=headers
    )
