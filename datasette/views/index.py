"""The index page `/` and `/.json`: every database with a summary of its tables."""

from __future__ import annotations

from typing import Any

from ..utils import add_cors_headers
from ..utils.asgi import Response
from .base import View
from ..renderer import json_dumps
from .special import show_json_page

TRUNCATE_AT = 5


async def index_data(datasette: Any) -> dict:
    """The `/.json` document: per database, counts and its first few tables."""
    data = {}
    for name, db in datasette.databases.items():
        hidden = set(await db.hidden_table_names())
        counts = await db.table_counts(10) if (not db.is_mutable or db.size < 100 * 1024 * 1024) else {}
        tables = []
        for table in await db.table_names():
            tables.append(
                {
                    "name": table,
                    "columns": await db.table_columns(table),
                    "primary_keys": await db.primary_keys(table),
                    "count": counts.get(table),
                    "hidden": table in hidden,
                    "fts_table": await db.fts_table(table),
                    "num_relationships_for_sorting": 0,
                    "private": False,
                }
            )
        visible = [t for t in tables if not t["hidden"]]
        visible.sort(key=lambda t: (t["count"] or 0, t["name"]), reverse=True)
        views = await db.view_names()
        listed = visible[:TRUNCATE_AT]
        listed += [{"name": v, "private": False} for v in views][: TRUNCATE_AT - len(listed)]
        data[name] = {
            "name": name,
            "hash": db.hash,
            "color": db.color,
            "path": datasette.urls.database(name),
            "tables_and_views_truncated": listed,
            "tables_and_views_more": (len(visible) + len(views)) > TRUNCATE_AT,
            "tables_count": len(visible),
            "table_rows_sum": sum((t["count"] or 0) for t in visible),
            "show_table_row_counts": all(t["count"] is not None for t in visible),
            "hidden_table_rows_sum": sum(
                (t["count"] or 0) for t in tables if t["hidden"]
            ),
            "hidden_tables_count": len(tables) - len(visible),
            "views_count": len(views),
            "private": False,
        }
    return data


class IndexView(View):
    """`/` and `/.json`."""

    name = "index"

    async def get(self, request: Any, datasette: Any) -> Response:
        data = await index_data(datasette)
        headers: dict = {}
        if datasette.cors:
            add_cors_headers(headers)
        if request.url_vars.get("format") in ("json", "jsono"):
            return Response(
                json_dumps(data),
                content_type="application/json; charset=utf-8",
                headers=headers,
            )
        return Response.html(show_json_page("Datasette", data), headers=headers)
