"""The index page `/` and `/.json`: every visible database with a summary of its tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..permissions import database_cascade
from ..renderer import json_response
from ..utils.asgi import Response
from .base import View
from .index_html import render_index_html
from .page_data import visible_tables

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database
    from ..utils.asgi import Request

TRUNCATE_AT = 5
COUNT_LIMIT_MS = 10
COUNT_SIZE_LIMIT = 100 * 1024 * 1024


async def database_summary(datasette: Datasette, request: Request, name: str, db: Database, private: bool) -> dict:
    """One database's entry on the index: counts and its first few tables and views."""
    hidden = set(await db.hidden_table_names())
    counts: dict = {}
    if not db.is_mutable or db.size < COUNT_SIZE_LIMIT:
        counts = await db.table_counts(COUNT_LIMIT_MS)
    show_counts = bool(counts) and all(v is not None for v in counts.values())
    sort_by_relationships = request.args.get("_sort") == "relationships" or not show_counts
    all_fks = await db.get_all_foreign_keys() if sort_by_relationships else {}
    tables = []
    for table, table_private in await visible_tables(
        datasette, request.actor, name, await db.table_names()
    ):
        fks = all_fks.get(table) or {"incoming": [], "outgoing": []}
        tables.append(
            {
                "name": table,
                "columns": await db.table_columns(table),
                "primary_keys": await db.primary_keys(table),
                "count": counts.get(table) if show_counts else None,
                "hidden": table in hidden,
                "fts_table": await db.fts_table(table),
                "num_relationships_for_sorting": len(fks["incoming"]) + len(fks["outgoing"]),
                "private": table_private,
            }
        )
    views = [
        {"name": view, "private": private}
        for view, private in await visible_tables(
            datasette, request.actor, name, await db.view_names()
        )
    ]
    listed_tables = [t for t in tables if not t["hidden"]]
    hidden_tables = [t for t in tables if t["hidden"]]
    listed_tables.sort(
        key=lambda t: (t["num_relationships_for_sorting"], t["count"] or 0, t["name"]),
        reverse=True,
    )
    truncated = (listed_tables + views)[:TRUNCATE_AT]
    return {
        "name": name,
        "hash": db.hash,
        "color": db.color,
        "path": datasette.urls.database(name),
        "tables_and_views_truncated": truncated,
        "tables_and_views_more": (len(listed_tables) + len(views)) > TRUNCATE_AT,
        "tables_count": len(listed_tables),
        "table_rows_sum": sum((t["count"] or 0) for t in listed_tables),
        "show_table_row_counts": show_counts,
        "hidden_table_rows_sum": sum((t["count"] or 0) for t in hidden_tables),
        "hidden_tables_count": len(hidden_tables),
        "views_count": len(views),
        "private": private,
    }


async def index_data(datasette: Datasette, request: Request) -> dict:
    """The `/.json` document, keyed by database name."""
    data = {}
    for name, db in datasette.databases.items():
        visible, private = await datasette.check_visibility(
            request.actor, permissions=database_cascade(name)
        )
        if visible:
            data[name] = await database_summary(datasette, request, name, db, private)
    return data


class IndexView(View):
    """`/` and `/.json`."""

    name = "index"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        """Every visible database, as HTML or JSON."""
        await datasette.ensure_permissions(request.actor, ["view-instance"])
        data = await index_data(datasette, request)
        if request.url_vars.get("format") in ("json", "jsono"):
            return json_response(datasette, data, request=request)
        return await render_index_html(datasette, request, data)
