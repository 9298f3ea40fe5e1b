"""The HTML index page: each visible database with a one-line summary of its tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..utils.asgi import Response
from .chrome import render_page

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request


def plural(count: Optional[int], singular: str, plural_form: Optional[str] = None) -> str:
    """`1 row`, `2 rows`, `1,234 rows` (thousands separated)."""
    count = count or 0
    word = singular if count == 1 else (plural_form or singular + "s")
    return "{:,} {}".format(count, word)


def database_summary_text(database: dict) -> str:
    """`2 rows in 1 table, 5 rows in 4 hidden tables, 1 view` for an index entry.

    Row totals only appear when every count is known. Parts with nothing in them are left
    out, except that an empty database still says `0 tables`.
    """
    show_counts = database.get("show_table_row_counts")
    tables_count = database.get("tables_count") or 0
    hidden_count = database.get("hidden_tables_count") or 0
    views_count = database.get("views_count") or 0
    parts = []
    if tables_count or not (hidden_count or views_count):
        text = plural(tables_count, "table")
        if show_counts:
            text = "{} in {}".format(plural(database.get("table_rows_sum"), "row"), text)
        parts.append(text)
    if hidden_count:
        text = plural(hidden_count, "hidden table")
        if show_counts:
            text = "{} in {}".format(plural(database.get("hidden_table_rows_sum"), "row"), text)
        parts.append(text)
    if views_count:
        parts.append(plural(views_count, "view"))
    return ", ".join(parts)


async def render_index_html(datasette: Datasette, request: Request, data: dict) -> Response:
    """The index page for `data` (what `/.json` returns, keyed by database name)."""
    databases = []
    for database in data.values():
        entry = dict(database)
        entry["summary"] = database_summary_text(database)
        entry["tables_and_views_truncated"] = [
            dict(
                item,
                count_title=(
                    plural(item["count"], "row") if item.get("count") is not None else None
                ),
            )
            for item in database.get("tables_and_views_truncated") or []
        ]
        databases.append(entry)
    context = {
        "databases": databases,
        "metadata": datasette.metadata(),
        "private": not await datasette.permission_allowed(
            None, "view-instance", default=True
        ),
    }
    return await render_page(
        datasette, request, ["index.html"], context, view_name="index"
    )
