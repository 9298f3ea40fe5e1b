"""The HTML query page: arbitrary SQL and canned queries."""

from __future__ import annotations

import hashlib
import urllib.parse
from typing import TYPE_CHECKING, Any, Optional

from markupsafe import Markup

from ..exceptions import InvalidSql
from ..permissions import query_cascade
from ..utils import (
    path_with_added_args,
    path_with_format,
    path_with_removed_args,
    to_css_class,
    validate_sql_select,
)
from ..utils.asgi import Response
from ..utils.sql_errors import error_position
from .cells import default_cell, plugin_cell, value_type
from .chrome import DatabaseColor, render_page, with_inherited_metadata
from .page_data import visible_tables
from .renderers import DataDescription, output_renderers

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database, Results
    from ..utils.asgi import Request


async def query_cell(
    datasette: Datasette,
    request: Request,
    database: str,
    row: Any,
    column: str,
    value: Any,
    truncate_at: int,
) -> Any:
    """One result cell of a query page (`render_cell` with `table=None`).

    Here any non-None plugin answer wins, even a falsy one (1.0a7 did the same).
    """
    custom = await plugin_cell(
        datasette, request, row=row, value=value, column=column, table=None, database=database
    )
    if custom is not None:
        return custom
    return default_cell(
        datasette,
        value,
        column,
        blob_url=lambda: datasette.urls.path(
            path_with_format(
                request=request,
                format="blob",
                extra_qs={
                    "_blob_column": column,
                    "_blob_hash": hashlib.sha256(value).hexdigest(),
                },
            )
        ),
        units={},
        truncate=truncate_at,
    )


def show_hide_state(request: Request, canned: Optional[dict]) -> tuple:
    """`(hide_sql, link, text, hidden_input)` for the SQL show/hide toggle.

    A canned query with `hide_sql` starts hidden and `?_show_sql=1` reveals it; anything
    else starts shown and `?_hide_sql=1` hides it. The hidden input keeps the choice when
    the form is submitted.
    """
    hidden_at_first = bool(canned and canned.get("hide_sql"))
    toggle = "_show_sql" if hidden_at_first else "_hide_sql"
    if request.args.get(toggle):
        hide = not hidden_at_first
        hidden_input = Markup('<input type="hidden" name="{}" value="1">'.format(toggle))
        link = path_with_removed_args(request, {toggle})
    else:
        hide = hidden_at_first
        hidden_input = Markup("")
        link = path_with_added_args(request, {toggle: 1})
    return hide, link, "show" if hide else "hide", hidden_input


def edit_sql_link(datasette: Datasette, database: str, sql: str, parameter_values: dict) -> Optional[str]:
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


async def _result_context(
    datasette: Datasette,
    request: Request,
    database: str,
    sql: str,
    results: Optional[Results],
    canned_name: Optional[str],
) -> dict:
    """The result table of the page and its export links (none without rows)."""
    truncate_at = datasette.setting("truncate_cells_html") or 0
    columns: list = []
    rows: list = []
    display_rows: list = []
    truncated = False
    if results is not None:
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
    renderers = {}
    url_csv = None
    if display_rows:
        renderers = await output_renderers(
            datasette,
            request,
            DataDescription(columns, rows, sql, database, query_name=canned_name),
        )
        url_csv = datasette.urls.path(
            path_with_format(request=request, format="csv", extra_qs={"_size": "max"})
        )
    return {
        "columns": columns,
        "rows": rows,
        "display_rows": display_rows,
        # `type-int` and friends per cell, as on the table page: numbers align right.
        "cell_types": [[value_type(value) for value in row] for row in rows],
        "truncated": truncated,
        "renderers": renderers,
        "url_csv": url_csv,
    }


async def editor_schema(datasette: Datasette, request: Request, db: Database) -> dict:
    """`{table or view: [columns]}` for the SQL editor's completion: what the actor can see."""
    schema: dict = {}
    names = await db.table_names() + await db.view_names()
    for name, _ in await visible_tables(datasette, request.actor, db.name, names):
        schema[name] = await db.table_columns(name)
    return schema


def _sql_context(
    datasette: Datasette, request: Request, canned: Optional[dict], form_action: str
) -> dict:
    """The SQL form: whether it is shown, editable, and where it posts."""
    hide_sql, show_hide_link, show_hide_text, show_hide_hidden = show_hide_state(request, canned)
    return {
        "hide_sql": hide_sql,
        "show_hide_link": datasette.urls.path(show_hide_link),
        "show_hide_text": show_hide_text,
        "show_hide_hidden": show_hide_hidden,
        "editable": not canned,
        "form_action": form_action,
    }


async def render_query_html(
    datasette: Datasette,
    request: Request,
    db: Database,
    *,
    sql: str,
    params: dict,
    results: Optional[Results],
    canned: Optional[dict],
    error: Optional[str] = None,
) -> Response:
    """The query page. `results` is None for a writable canned query shown before POST
    and when `error` holds an SQLite error message."""
    database = db.name
    canned_name = canned["name"] if canned else None
    private = False
    if canned:
        _, private = await datasette.check_visibility(
            request.actor, permissions=query_cascade(database, canned_name)
        )
    allow_execute_sql = bool(
        await datasette.permission_allowed(request.actor, "execute-sql", database)
    )
    named_parameter_values = {
        name: ("" if value is None else value)
        for name, value in (params or {}).items()
        if not name.startswith("_")
    }
    edit_sql_url = None
    if canned and allow_execute_sql:
        edit_sql_url = edit_sql_link(datasette, database, sql, named_parameter_values)
    form_action = (
        datasette.urls.query(database, canned_name) if canned else datasette.urls.database(database)
    )
    context = {
        "database": database,
        "database_color": DatabaseColor(db.color),
        "private": private,
        "metadata": with_inherited_metadata(datasette, canned or {}),
        "query": {"sql": sql, "params": params},
        "canned_query": canned_name,
        "canned_query_write": bool(canned and canned.get("write")),
        "db_is_immutable": not db.is_mutable,
        "allow_execute_sql": allow_execute_sql,
        "edit_sql_url": edit_sql_url,
        "named_parameter_values": named_parameter_values,
        "error": error,
        "error_position": error_position(sql, error) if error else None,
        "table_columns": (
            await editor_schema(datasette, request, db)
            if allow_execute_sql and not canned
            else {}
        ),
        **_sql_context(datasette, request, canned, form_action),
        **await _result_context(
            datasette, request, database, sql, None if error else results, canned_name
        ),
    }
    candidates = [f"query-{to_css_class(database)}.html", "query.html"]
    if canned:
        candidates.insert(0, f"query-{to_css_class(database)}-{to_css_class(canned_name)}.html")
    return await render_page(
        datasette, request, candidates, context, view_name="database"
    )
