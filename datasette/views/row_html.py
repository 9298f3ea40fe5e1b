"""The HTML row page."""

from __future__ import annotations

from typing import Any


from ..utils import is_url, path_from_row_pks, to_css_class
from ..utils.asgi import Response
from .index_html import DatabaseColor, render_page, with_inherited_metadata
from .query_html import NBSP, binary_link, output_renderers, plugin_cell, url_link, with_unit
from .row import foreign_key_tables


class DisplayRow:
    """One displayed row for `_table.html`.

    Iterating yields the cells (`{"column", "value", "raw", "value_type"}`, `value` being
    the rendered HTML); `row["col"]` is the raw value and `row.display("col")` the
    rendered one.
    """

    def __init__(self, cells: list):
        self.cells = cells

    def __iter__(self):
        return iter(self.cells)

    def __len__(self) -> int:
        return len(self.cells)

    def _cell(self, column: str) -> dict:
        for cell in self.cells:
            if cell["column"] == column:
                return cell
        raise KeyError(column)

    def __getitem__(self, column: str) -> Any:
        return self._cell(column)["raw"]

    def display(self, column: str) -> Any:
        return self._cell(column)["value"]

    def __str__(self) -> str:
        return str({cell["column"]: cell["raw"] for cell in self.cells})


def value_type(value: Any) -> str:
    """The `type-...` CSS suffix of a raw value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "int"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, bytes):
        return "bytes"
    return "str"


async def row_cells(
    datasette: Any,
    request: Any,
    db: Any,
    table: str,
    row: Any,
    columns: list,
    pks: list,
    use_rowid: bool,
    units: dict,
) -> DisplayRow:
    """The rendered cells of one row, as the row page shows them (no truncation)."""
    cells = []
    for column in columns:
        value = row[column]
        custom = await plugin_cell(
            datasette, request, row=row, value=value, column=column, table=table, database=db.name
        )
        display: Any
        if custom:
            display = custom
        elif isinstance(value, bytes):
            display = binary_link(
                datasette.urls.row_blob(
                    db.name, table, path_from_row_pks(row, pks, use_rowid), column
                ),
                value,
            )
        elif value is None or value == "":
            display = NBSP
        elif is_url(str(value).strip()):
            display = url_link(str(value), 0)
        elif column in units:
            display = with_unit(datasette, value, units[column])
        else:
            display = str(value)
        cells.append(
            {
                "column": column,
                "value": display,
                "raw": value,
                "value_type": "pk" if column in pks else value_type(value),
            }
        )
    return DisplayRow(cells)


async def display_columns_for(db: Any, table: str, columns: list, pks: list, descriptions: dict) -> list:
    """`display_columns` entries for the row page (never sortable)."""
    details = {c.name: c for c in await db.table_column_details(table)}
    result = []
    for name in columns:
        detail = details.get(name)
        result.append(
            {
                "name": name,
                "sortable": False,
                "is_pk": name in pks,
                "type": (detail.type if detail else "") or "",
                "notnull": int(bool(detail.notnull)) if detail else 0,
                "description": descriptions.get(name),
            }
        )
    return result


async def render_row_html(
    datasette: Any,
    request: Any,
    db: Any,
    table: str,
    resolved: Any,
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
        columns=columns,
        rows=rows,
        sql=resolved.sql,
        query_name=None,
        database=database,
        table=table,
        view_name="row",
    )
    db_css, table_css = to_css_class(database), to_css_class(table)
    custom_table_templates = [
        f"_table-{db_css}-{table_css}.html",
        f"_table-row-{db_css}-{table_css}.html",
        "_table.html",
    ]
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
        "custom_table_templates": custom_table_templates,
        "sort": None,
        "sort_desc": None,
    }
    candidates = [f"row-{db_css}-{table_css}.html", "row.html"]
    return await render_page(
        datasette,
        request,
        candidates,
        context,
        view_name="row",
        headers=headers,
        cors=True,
    )

