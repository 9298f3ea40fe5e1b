"""The HTML table and view page (http-cli.md §10.4).

`render_table_html` turns a `TablePage` into the template context documented in
plugins-auth-config.md §8.4, renders `table-<db>-<table>.html` or `table.html` and sends
the alternate-JSON `Link` header with the cache and `rel="next"` headers it was given.

Every displayed cell goes through the `render_cell` hook first; on this page a falsy
winning result means the default rendering. Rows reach the template as `DisplayRow`s:
iterate them for the cell dicts (`column`, `value`, `raw`, `value_type`), or use
`row["col"]` for the raw value and `row.display("col")` for the rendered HTML.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, Iterator, Optional

from markupsafe import Markup, escape

from ..plugins import pm
from ..utils import (
    await_me_maybe,
    format_bytes,
    is_url,
    path_from_row_pks,
    path_with_format,
    path_with_replaced_args,
    tilde_encode,
    to_css_class,
    truncate_url,
)
from ..utils.asgi import Response
from .query_html import output_renderers, plugin_cell, with_unit
from .index_html import DatabaseColor, render_page, with_inherited_metadata
from .table_extras import compute_extras

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


class DisplayRow:
    """One displayed row: iterable cells, `row["col"]` raw values, `row.display("col")` HTML."""

    def __init__(self, cells: list, row: Any = None):
        self.cells = cells
        self._row = row

    def __iter__(self) -> Iterator[dict]:
        return iter(self.cells)

    def __len__(self) -> int:
        return len(self.cells)

    def _cell(self, column: str) -> Optional[dict]:
        for cell in self.cells:
            if cell["column"] == column:
                return cell
        return None

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, slice)):
            return self.cells[key]
        cell = self._cell(key)
        if cell is not None:
            return cell["raw"]
        if self._row is not None:
            try:
                value = self._row[key]
            except (KeyError, IndexError, ValueError):
                raise KeyError(key)
            return value["value"] if isinstance(value, dict) else value
        raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        return self._cell(key) is not None

    def keys(self) -> list:
        return [cell["column"] for cell in self.cells]

    def display(self, key: str) -> Optional[Markup]:
        cell = self._cell(key)
        return cell["value"] if cell is not None else None

    def __repr__(self) -> str:
        return "<DisplayRow {}>".format({cell["column"]: cell["raw"] for cell in self.cells})


def _value_type(value: Any) -> str:
    return "none" if value is None else type(value).__name__


async def _plugin_cell(
    datasette: Any, request: Any, row: Any, value: Any, column: str, table: str, database: str
) -> Optional[Markup]:
    """The first non-None `render_cell` result, escaped unless Markup; None if falsy.

    On table pages a falsy winner means default rendering (query pages keep it).
    """
    candidate = await plugin_cell(
        datasette, request, row=row, value=value, column=column, table=table, database=database
    )
    if not candidate:
        return None
    if isinstance(candidate, Markup):
        return candidate
    return escape(str(candidate))


def default_cell(
    datasette: Any,
    database: str,
    table: str,
    row: Any,
    value: Any,
    column: str,
    *,
    pks: list,
    use_rowid: bool,
    fk_tables: dict,
    units: dict,
    truncate: int,
) -> Markup:
    """The display HTML of one cell without plugins."""
    if isinstance(value, dict) and "value" in value:
        raw = value["value"]
        label = value.get("label")
        other_table = fk_tables.get(column)
        if label is None or other_table is None:
            return escape(str(raw))
        href = datasette.urls.row(database, other_table, tilde_encode(str(raw)))
        if str(label) == str(raw):
            return Markup('<a href="{}">{}</a>').format(href, str(raw))
        return Markup('<a href="{}">{}</a>&nbsp;<em>{}</em>').format(
            href, str(label) or "-", str(raw)
        )
    if isinstance(value, bytes):
        size = len(value)
        human = format_bytes(size)
        href = datasette.urls.row_blob(
            database, table, path_from_row_pks(row, pks, use_rowid), column
        )
        title = Markup(' title="{}"').format(human) if size >= 1024 else ""
        return Markup(
            '<a class="blob-download" href="{}"{}>&lt;Binary:&nbsp;{}&nbsp;byte{}&gt;</a>'
        ).format(href, title, "{:,}".format(size), "" if size == 1 else "s")
    if value is None or value == "":
        return Markup("&nbsp;")
    if isinstance(value, str) and is_url(value.strip()):
        url = value.strip()
        return Markup('<a href="{}">{}</a>').format(url, truncate_url(url, truncate))
    if column in units and isinstance(value, (int, float)) and not isinstance(value, bool):
        return with_unit(datasette, value, units[column])
    text = str(value)
    if truncate and len(text) > truncate:
        text = text[:truncate] + "\u2026"
    return escape(text)


async def display_columns_and_rows(datasette: Any, request: Any, db: Any, page: Any) -> tuple:
    """`(display_columns, display_rows)`: the link column first for tables."""
    details = {c.name: c for c in await db.table_column_details(page.table)}
    metadata = page.table_metadata or {}
    sortable_setting = metadata.get("sortable_columns")
    descriptions = metadata.get("columns") or {}
    use_rowid = not page.is_view and not page.pks
    pks = list(page.pks)
    sortable = (
        set(sortable_setting)
        if sortable_setting is not None
        else set(page.all_columns) | ({"rowid"} if use_rowid else set())
    )

    def column_info(name: str) -> dict:
        detail = details.get(name)
        if detail is not None:
            type_, notnull = detail.type or "", int(bool(detail.notnull))
        elif name == "rowid":
            type_, notnull = "integer", 0
        else:
            type_, notnull = "", 0
        return {
            "name": name,
            "sortable": name in sortable,
            "is_pk": name in pks or (use_rowid and name == "rowid"),
            "type": type_,
            "notnull": notnull,
            "description": descriptions.get(name),
        }

    link_column = not page.is_view
    single_pk = pks[0] if len(pks) == 1 else None
    columns = []
    if link_column:
        if single_pk is not None:
            columns.append(column_info(single_pk))
        else:
            columns.append(
                {
                    "name": "Link",
                    "sortable": False,
                    "is_pk": False,
                    "type": "",
                    "notnull": 0,
                    "description": None,
                    "is_special_link_column": True,
                }
            )
    for name in page.columns:
        if link_column and name == single_pk:
            continue
        columns.append(column_info(name))

    fk_tables = {}
    if not page.is_view:
        fk_tables = {
            fk["column"]: fk["other_table"] for fk in await db.foreign_keys_for_table(page.table)
        }
    truncate = datasette.setting("truncate_cells_html")
    units = metadata.get("units") or {}
    display_rows = []
    for row in page.rows:
        cells = []
        if link_column:
            key_path = path_from_row_pks(row, pks, use_rowid)
            key_text = path_from_row_pks(row, pks, use_rowid, quote=False)
            href = datasette.urls.row(page.database, page.table, key_path)
            if single_pk is not None:
                raw = row[single_pk]
                raw = raw["value"] if isinstance(raw, dict) else raw
            else:
                raw = key_text
            cells.append(
                {
                    "column": single_pk if single_pk is not None else "Link",
                    "value": Markup('<a href="{}">{}</a>').format(href, key_text),
                    "raw": raw,
                    "value_type": "pk",
                    "is_special_link_column": single_pk is None,
                }
            )
        for index, column in enumerate(page.columns):
            if link_column and column == single_pk:
                continue
            value = row[index]
            raw = value["value"] if isinstance(value, dict) and "value" in value else value
            html = await _plugin_cell(
                datasette, request, row, value, column, page.table, page.database
            )
            if html is None:
                html = default_cell(
                    datasette,
                    page.database,
                    page.table,
                    row,
                    value,
                    column,
                    pks=pks,
                    use_rowid=use_rowid,
                    fk_tables=fk_tables,
                    units=units,
                    truncate=truncate,
                )
            cells.append(
                {
                    "column": column,
                    "value": html,
                    "raw": raw,
                    "value_type": _value_type(raw),
                }
            )
        display_rows.append(DisplayRow(cells, row))
    return columns, display_rows


async def renderers_for(datasette: Any, request: Any, page: Any) -> dict:
    """`{extension: url}`: JSON first, then plugin formats whose `can_render` agrees."""
    return await output_renderers(
        datasette,
        request,
        columns=page.columns,
        rows=page.rows,
        sql=page.sql,
        query_name=None,
        database=page.database,
        table=page.table,
        view_name="table",
    )


def append_querystring(url: str, querystring: str) -> str:
    return url + ("&" if "?" in url else "?") + querystring


def _query_pairs(request: Any) -> list:
    return urllib.parse.parse_qsl(request.query_string, keep_blank_values=False)


def csv_links(datasette: Any, request: Any, has_fks: bool) -> tuple:
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


def sql_without_limit(page: Any) -> str:
    return _LIMIT_RE.sub("", page.sql)


def edit_sql_url(datasette: Any, page: Any) -> str:
    """`/db?sql=<page SQL without its limit>&<params>`."""
    sql = sql_without_limit(page)
    pairs = [("sql", sql)] + [(k, "" if v is None else str(v)) for k, v in page.params.items()]
    return datasette.urls.database(page.database) + "?" + urllib.parse.urlencode(pairs)


def filter_columns(page: Any) -> list:
    """Columns offered by the filter form: result columns, then the table's others."""
    columns = list(page.columns)
    for name in page.all_columns:
        if name not in columns:
            columns.append(name)
    if not page.is_view and not page.pks and "rowid" not in columns:
        columns.insert(0, "rowid")
    return columns


def sort_links(datasette: Any, request: Any, display_columns: list, sort: Any) -> dict:
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


async def render_table_html(
    datasette: Any, request: Any, page: Any, next_url: Optional[str], headers: dict
) -> Response:
    db = datasette.get_database(page.database)
    extras = await compute_extras(datasette, request, db, page, set(HTML_EXTRAS), next_url)
    display_columns, display_rows = await display_columns_and_rows(datasette, request, db, page)

    actor = request.actor

    async def table_actions() -> list:
        links: list = []
        for hook in pm.hook.table_actions(
            datasette=datasette,
            actor=actor,
            database=page.database,
            table=page.table,
            request=request,
        ):
            extra_links = await await_me_maybe(hook)
            if extra_links:
                links.extend(extra_links)
        return links

    # Sort state shown by the headers: unsorted single-pk and rowid tables read as
    # ascending by their key. `current_sort*` is the real sort for the form.
    current_sort = page.sort.column if page.sort else None
    current_desc = bool(page.sort and page.sort.desc)
    sort = current_sort if current_sort and not current_desc else None
    sort_desc = current_sort if current_desc else None
    if not current_sort and not page.is_view:
        if len(page.pks) == 1:
            sort = page.pks[0]
        elif not page.pks:
            sort = "rowid"

    allow_execute_sql = await datasette.permission_allowed(
        request.actor, "execute-sql", page.database
    )
    renderers = await renderers_for(datasette, request, page)
    expandable_columns = extras.get("expandable_columns") or []
    url_csv, url_csv_path, url_csv_hidden_args = csv_links(
        datasette, request, bool(expandable_columns)
    )
    extra_wheres = [
        dict(item, remove_url=datasette.urls.path(item["remove_url"]))
        for item in page.extra_context.get("extra_wheres_for_ui") or []
    ]
    facet_size_arg = request.args.get("_facet_size")
    max_rows = datasette.setting("max_returned_rows")
    facet_results = extras.get("facet_results") or {"results": {}, "timed_out": []}

    # filters_from_request hooks may add to the page context; core keys are set after.
    context = {key: value for key, value in page.extra_context.items()}
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
        "count": extras.get("count"),
        "human_description_en": extras.get("human_description_en") or "",
        "filters": page.filters,
        "filter_columns": filter_columns(page),
        "form_hidden_args": extras.get("form_hidden_args") or [],
        "extra_wheres_for_ui": extra_wheres,
        "supports_search": bool(page.extra_context.get("supports_search")),
        "search": page.extra_context.get("search") or "",
        "sort": sort,
        "sort_desc": sort_desc,
        "current_sort": current_sort,
        "current_sort_desc": current_desc,
        "sort_links": sort_links(datasette, request, display_columns, sort),
        "next_url": next_url,
        "facet_results": facet_results,
        "sorted_facet_results": extras.get("sorted_facet_results") or [],
        "facets_timed_out": extras.get("facets_timed_out") or [],
        "facet_size_max_url": datasette.urls.path(
            path_with_replaced_args(request, {"_facet_size": "max"})
        ),
        "facet_size_at_max": facet_size_arg == "max",
        "max_returned_rows": max_rows,
        "suggested_facets": extras.get("suggested_facets") or [],
        "renderers": renderers,
        "url_csv": url_csv,
        "url_csv_path": url_csv_path,
        "url_csv_hidden_args": url_csv_hidden_args,
        "expandable_columns": expandable_columns,
        "allow_csv_stream": datasette.setting("allow_csv_stream"),
        "datasette_allow_facet": "true" if datasette.setting("allow_facet") else "false",
        "allow_execute_sql": allow_execute_sql,
        "edit_sql_url": edit_sql_url(datasette, page) if allow_execute_sql else None,
        "query": {"sql": page.sql, "params": page.params},
        "edit_sql": sql_without_limit(page),
        "table_definition": extras.get("table_definition"),
        "view_definition": extras.get("view_definition"),
        "table_actions": table_actions,
        "custom_table_templates": [
            "_table-{}-{}.html".format(to_css_class(page.database), to_css_class(page.table)),
            "_table-table-{}-{}.html".format(to_css_class(page.database), to_css_class(page.table)),
            "_table.html",
        ],
        "append_querystring": append_querystring,
        "settings": datasette.settings_dict(),
    })
    candidates = [
        "table-{}-{}.html".format(to_css_class(page.database), to_css_class(page.table)),
        "table.html",
    ]
    return await render_page(
        datasette,
        request,
        candidates,
        context,
        view_name="table",
        headers=headers,
        cors=True,
    )
