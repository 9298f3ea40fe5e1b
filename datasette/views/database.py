"""The database page `/db(.json)`; with a non-blank `?sql=` it runs the query instead."""

from __future__ import annotations

from typing import Any

from ..exceptions import NotFound
from ..utils import add_cors_headers
from ..utils.asgi import Response
from .base import View
from ..renderer import json_dumps
from .query import run_query_view
from .special import show_json_page


async def database_data(datasette: Any, db: Any) -> dict:
    """The JSON document describing a database: its tables, views and columns."""
    table_counts = await db.table_counts(5)
    hidden = set(await db.hidden_table_names())
    all_fks = await db.get_all_foreign_keys()
    tables = []
    table_columns = {}
    for table in await db.table_names():
        columns = await db.table_columns(table)
        table_columns[table] = columns
        tables.append(
            {
                "name": table,
                "columns": columns,
                "primary_keys": await db.primary_keys(table),
                "count": table_counts.get(table),
                "hidden": table in hidden,
                "fts_table": await db.fts_table(table),
                "foreign_keys": all_fks.get(table, {"incoming": [], "outgoing": []}),
                "private": False,
            }
        )
    tables.sort(key=lambda t: (t["hidden"], t["name"]))
    views = [{"name": name, "private": False} for name in await db.view_names()]
    for view in views:
        table_columns[view["name"]] = []
    return {
        "database": db.name,
        "private": False,
        "path": datasette.urls.database(db.name),
        "size": db.size,
        "tables": tables,
        "hidden_count": len([t for t in tables if t["hidden"]]),
        "views": views,
        "queries": [],
        "allow_execute_sql": True,
        "table_columns": table_columns,
    }


class DatabaseView(View):
    """`/db`, `/db.json`, and `/db.json?sql=...` (arbitrary SQL)."""

    name = "database"

    async def get(self, request: Any, datasette: Any) -> Response:
        db = await datasette.resolve_database(request)
        format = request.url_vars.get("format")
        sql = (request.args.get("sql") or "").strip()
        if sql:
            return await run_query_view(datasette, request, db, sql, format)
        if format not in (None, "json"):
            raise NotFound(f"Invalid format: {format}")
        data = await database_data(datasette, db)
        if format == "json":
            headers: dict = {}
            if datasette.cors:
                add_cors_headers(headers)
            return Response(
                json_dumps(data),
                content_type="application/json; charset=utf-8",
                headers=headers,
            )
        return Response.html(show_json_page(db.name, data))
