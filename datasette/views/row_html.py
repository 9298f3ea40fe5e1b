"""The HTML row page: one row in `_table.html`, and the tables whose rows point at it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..utils import path_from_row_pks, to_css_class
from ..utils.asgi import Response
from .cells import DisplayRow, default_cell, plugin_cell, value_type
from .chrome import DatabaseColor, custom_table_templates, render_page, with_inherited_metadata
from .page_data import display_column, foreign_key_tables
from .renderers import DataDescription, output_renderers

if TYPE_CHECKING:
    from ..app import Datasette, ResolvedRow
    from ..database import Database
    from ..utils.asgi import Request


async def row_cells(
    datasette: Datasette,
    request: Request,
    db: Database,
    table: str,
    row: Any,
    columns: list,
    pks: list,
    use_rowid: bool,
    units: dict,
) -> DisplayRow:
    """The rendered cells of one row, as the row page shows them (no truncation)."""
    cells = []

    def blob_url(column: str) -> Callable[[], str]:
        # Built only for binary values: a rowid table's row may not carry its rowid.
        return lambda: datasette.urls.row_blob(
            db.name, table, path_from_row_pks(row, pks, use_rowid), column
        )

    for column in columns:
        value = row[column]
        display = await plugin_cell(
            datasette, request, row=row, value=value, column=column, table=table, database=db.name
        )
        if not display:
            display = default_cell(
                datasette,
                value,
                column,
                blob_url=blob_url(column),
                units=units,
                truncate=0,
            )
        cells.append(
            {
                "column": column,
                "value": display,
                "raw": value,
                # Typed by value, key columns too: the row page has no link column.
                "value_type": value_type(value),
            }
        )
    return DisplayRow(cells, row)


async def display_columns_for(
    db: Database, table: str, columns: list, pks: list, descriptions: dict
) -> list:
    """`display_columns` entries for the row page (never sortable)."""
    details = {c.name: c for c in await db.table_column_details(table)}
    return [
        dict(
            display_column(
                name,
                details.get(name),
                sortable=False,
                is_pk=name in pks,
                description=descriptions.get(name),
            ),
            # The row page never typed a rowid column.
            **({} if name in details else {"type": ""}),
        )
        for name in columns
    ]


async def render_row_html(
    datasette: Datasette,
    request: Request,
    db: Database,
    table: str,
    resolved: ResolvedRow,
    columns: list,
    rows: list,
    private: bool,
    headers: dict,
) -> Response:
    """The row page. `resolved` is the `ResolvedRow` (pks, pk_values, sql, params)."""
    database = db.name
    pks = list(resolved.pks)
    use_rowid = not await db.primary_keys(table)
    table_metadata = datasette.metadata(database=database, table=table, fallback=False) or {}
    units = table_metadata.get("units") or {}
    display_rows = [
        await row_cells(datasette, request, db, table, row, columns, pks, use_rowid, units)
        for row in rows
    ]
    display_columns = await display_columns_for(
        db, table, columns, pks, table_metadata.get("columns") or {}
    )
    renderers = await output_renderers(
        datasette,
        request,
        DataDescription(columns, rows, resolved.sql, database, table, view_name="row"),
    )
    context = {
        "database": database,
        "database_color": DatabaseColor(db.color),
        "table": table,
        "rows": rows,
        "columns": columns,
        "primary_keys": pks,
        "primary_key_values": [str(v) for v in resolved.pk_values],
        "display_columns": display_columns,
        "display_rows": display_rows,
        "foreign_key_tables": await foreign_key_tables(datasette, db, table, resolved.pk_values),
        "metadata": with_inherited_metadata(datasette, table_metadata),
        "private": private,
        "renderers": renderers,
        "units": units,
        "custom_table_templates": custom_table_templates(database, table, "row"),
        "sort": None,
        "sort_desc": None,
    }
    candidates = [f"row-{to_css_class(database)}-{to_css_class(table)}.html", "row.html"]
    return await render_page(
        datasette,
        request,
        candidates,
        context,
        view_name="row",
        headers=headers,
    )
