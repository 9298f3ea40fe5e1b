"""The HTML query page: arbitrary SQL and canned queries.

Also home of the cell rendering shared with the row page: `render_cell` plugins first,
then the default display of empty values, URLs, binary values and long text.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from typing import Any, Optional

from markupsafe import Markup, escape

from ..exceptions import InvalidSql
from ..utils import (
    await_me_maybe,
    call_with_supported_arguments,
    format_bytes,
    is_url,
    path_with_added_args,
    path_with_format,
    path_with_removed_args,
    to_css_class,
    truncate_url,
    validate_sql_select,
)
from ..utils.asgi import Response
from .index_html import DatabaseColor, render_page, with_inherited_metadata
from ..permissions import query_cascade

NBSP = Markup("&nbsp;")


def with_unit(datasette: Any, value: Any, unit: str) -> Any:
    """A number shown in its column's unit (`5&nbsp;m`), scaled by Pint; else as text."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    try:
        quantity = round((value * datasette.unit_registry()(unit)).to_compact(), 6)
        text = "{:~P}".format(quantity)
    except Exception:
        # An unknown unit still shows the value with the unit's name.
        text = "{} {}".format(value, unit)
    return Markup(str(escape(text)).replace(" ", "&nbsp;"))


async def plugin_cell(
    datasette: Any,
    request: Any,
    *,
    row: Any,
    value: Any,
    column: str,
    table: Optional[str],
    database: str,
) -> Any:
    """The first non-None `render_cell` answer (after awaiting), or None."""
    from ..plugins import pm

    for candidate in pm.hook.render_cell(
        row=row,
        value=value,
        column=column,
        table=table,
        database=database,
        datasette=datasette,
        request=request,
    ):
        candidate = await await_me_maybe(candidate)
        if candidate is not None:
            return candidate
    return None


def binary_link(url: str, value: bytes) -> Markup:
    """`<Binary: N bytes>` linking to a `.blob` download (titled with its size from 1 KB)."""
    size = len(value)
    formatted = format_bytes(size)
    title = "" if formatted.endswith("bytes") else ' title="{}"'.format(escape(formatted))
    return Markup(
        '<a class="blob-download" href="{}"{}>&lt;Binary:&nbsp;{:,}&nbsp;byte{}&gt;</a>'.format(
            escape(url), title, size, "" if size == 1 else "s"
        )
    )


def url_link(value: str, truncate_at: int) -> Markup:
    """A link whose text is the URL, shortened to `truncate_at` characters."""
    url = value.strip()
    return Markup('<a href="{}">{}</a>'.format(escape(url), escape(truncate_url(url, truncate_at))))


def truncated_text(value: Any, truncate_at: int) -> str:
    """`str(value)`, cut to `truncate_at` characters plus an ellipsis (0 = never)."""
    text = str(value)
    if truncate_at and len(text) > truncate_at:
        return text[:truncate_at] + "\u2026"
    return text


async def query_cell(
    datasette: Any,
    request: Any,
    database: str,
    row: Any,
    column: str,
    value: Any,
    truncate_at: int,
) -> Any:
    """One result cell of a query page (`render_cell` with `table=None`)."""
    custom = await plugin_cell(
        datasette, request, row=row, value=value, column=column, table=None, database=database
    )
    if custom is not None:
        return custom
    if value is None or value == "":
        return NBSP
    if isinstance(value, bytes):
        blob_url = datasette.urls.path(
            path_with_format(
                request=request,
                format="blob",
                extra_qs={
                    "_blob_column": column,
                    "_blob_hash": hashlib.sha256(value).hexdigest(),
                },
            )
        )
        return binary_link(blob_url, value)
    if is_url(str(value).strip()):
        return url_link(str(value), truncate_at)
    return truncated_text(value, truncate_at)


async def output_renderers(
    datasette: Any,
    request: Any,
    *,
    columns: list,
    rows: list,
    sql: Optional[str],
    query_name: Optional[str],
    database: str,
    table: Optional[str],
    view_name: str,
) -> dict:
    """`{format: url}` for the export links: JSON, then plugin formats that can render."""
    renderers = {"json": datasette.urls.path(path_with_format(request=request, format="json"))}
    for extension, (_, can_render) in datasette.renderers.items():
        if extension == "json":
            continue
        try:
            allowed = await await_me_maybe(
                call_with_supported_arguments(
                    can_render,
                    datasette=datasette,
                    columns=columns,
                    rows=rows,
                    sql=sql,
                    query_name=query_name,
                    database=database,
                    table=table,
                    request=request,
                    view_name=view_name,
                )
            )
        except Exception:
            # A can_render that fails just hides that format's link.
            allowed = False
        if allowed:
            renderers[extension] = datasette.urls.path(
                path_with_format(request=request, format=extension)
            )
    return renderers


def show_hide_state(request: Any, canned: Optional[dict]) -> tuple:
    """`(hide_sql, link, text, hidden_input)` for the SQL show/hide toggle.

    A canned query with `hide_sql` starts hidden and `?_show_sql=1` reveals it; anything
    else starts shown and `?_hide_sql=1` hides it. The hidden input keeps the choice when
    the form is submitted.
    """
    if canned and canned.get("hide_sql"):
        if request.args.get("_show_sql"):
            return (
                False,
                path_with_removed_args(request, {"_show_sql"}),
                "hide",
                Markup('<input type="hidden" name="_show_sql" value="1">'),
            )
        return True, path_with_added_args(request, {"_show_sql": 1}), "show", Markup("")
    if request.args.get("_hide_sql"):
        return (
            True,
            path_with_removed_args(request, {"_hide_sql"}),
            "show",
            Markup('<input type="hidden" name="_hide_sql" value="1">'),
        )
    return False, path_with_added_args(request, {"_hide_sql": 1}), "hide", Markup("")


def edit_sql_link(datasette: Any, database: str, sql: str, parameter_values: dict) -> Optional[str]:
    """`/db?sql=...&params` for a canned query's SQL, when it would pass validation."""
    try:
        validate_sql_select(sql)
    except InvalidSql:
        return None
    if ":_" in sql:
        return None
    return "{}?{}".format(
        datasette.urls.database(database),
        urllib.parse.urlencode({"sql": sql, **parameter_values}),
    )


async def render_query_html(
    datasette: Any,
    request: Any,
    db: Any,
    *,
    sql: str,
    params: dict,
    results: Any,
    canned: Optional[dict],
    error: Optional[str] = None,
) -> Response:
    """The query page. `results` is None for a writable canned query shown before POST
    and when `error` holds an SQLite error message."""
    database = db.name
    actor = request.actor
    canned_name = canned["name"] if canned else None
    canned_write = bool(canned and canned.get("write"))
    private = False
    if canned:
        _, private = await datasette.check_visibility(
            actor,
            permissions=query_cascade(database, canned_name),
        )
    allow_execute_sql = bool(
        await datasette.permission_allowed(actor, "execute-sql", database)
    )
    named_parameter_values = {
        name: ("" if value is None else value)
        for name, value in (params or {}).items()
        if not name.startswith("_")
    }
    truncate_at = datasette.setting("truncate_cells_html") or 0
    columns: list = []
    rows: list = []
    display_rows: list = []
    truncated = False
    if results is not None and error is None:
        columns = list(results.columns)
        rows = list(results.rows)
        truncated = bool(results.truncated)
        for row in rows:
            display_rows.append(
                [
                    await query_cell(datasette, request, database, row, column, value, truncate_at)
                    for column, value in zip(columns, row)
                ]
            )
    hide_sql, show_hide_link, show_hide_text, show_hide_hidden = show_hide_state(request, canned)
    renderers = {}
    url_csv = None
    if display_rows:
        renderers = await output_renderers(
            datasette,
            request,
            columns=columns,
            rows=rows,
            sql=sql,
            query_name=canned_name,
            database=database,
            table=None,
            view_name="database",
        )
        url_csv = datasette.urls.path(
            path_with_format(request=request, format="csv", extra_qs={"_size": "max"})
        )
    edit_sql_url = None
    if canned and allow_execute_sql:
        edit_sql_url = edit_sql_link(datasette, database, sql, named_parameter_values)
    if canned:
        metadata = with_inherited_metadata(datasette, canned)
    else:
        metadata = with_inherited_metadata(datasette, {})
    context = {
        "database": database,
        "database_color": DatabaseColor(db.color),
        "private": private,
        "metadata": metadata,
        "query": {"sql": sql, "params": params},
        "canned_query": canned_name,
        "canned_query_write": canned_write,
        "db_is_immutable": not db.is_mutable,
        "hide_sql": hide_sql,
        "show_hide_link": datasette.urls.path(show_hide_link),
        "show_hide_text": show_hide_text,
        "show_hide_hidden": show_hide_hidden,
        "editable": not canned,
        "allow_execute_sql": allow_execute_sql,
        "edit_sql_url": edit_sql_url,
        "named_parameter_values": named_parameter_values,
        "columns": columns,
        "rows": rows,
        "display_rows": display_rows,
        "truncated": truncated,
        "renderers": renderers,
        "url_csv": url_csv,
        "error": error,
        "form_action": (
            datasette.urls.query(database, canned_name) if canned else datasette.urls.database(database)
        ),
    }
    candidates = [f"query-{to_css_class(database)}.html", "query.html"]
    if canned:
        candidates.insert(0, f"query-{to_css_class(database)}-{to_css_class(canned_name)}.html")
    return await render_page(
        datasette, request, candidates, context, view_name="database", cors=True
    )
