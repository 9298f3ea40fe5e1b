"""The database page `/db(.json)`; with a non-blank `?sql=` it runs the query instead."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exceptions import Forbidden, NotFound
from ..permissions import database_cascade, query_cascade
from ..renderer import json_response
from ..utils.asgi import Response
from .base import View
from .database_html import render_database_html
from .page_data import visible_tables
from .query import run_query_view

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database
    from ..utils.asgi import Request

COUNT_LIMIT_MS = 5


async def database_data(datasette: Datasette, request: Request, db: Database, private: bool) -> dict:
    """The JSON document describing a database: its tables, views, queries and columns."""
    name = db.name
    table_counts = await db.table_counts(COUNT_LIMIT_MS)
    hidden = set(await db.hidden_table_names())
    all_fks = await db.get_all_foreign_keys()
    allow_execute_sql = await datasette.permission_allowed(
        request.actor, "execute-sql", name
    )
    tables = []
    table_columns: dict = {}
    for table, table_private in await visible_tables(
        datasette, request.actor, name, await db.table_names()
    ):
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
                "private": table_private,
            }
        )
    tables.sort(key=lambda t: (t["hidden"], t["name"]))
    views = []
    for view, view_private in await visible_tables(
        datasette, request.actor, name, await db.view_names()
    ):
        views.append({"name": view, "private": view_private})
        table_columns[view] = []
    queries = []
    for query in (await datasette.get_canned_queries(name, request.actor)).values():
        visible, query_private = await datasette.check_visibility(
            request.actor,
            permissions=query_cascade(name, query["name"]),
        )
        if visible:
            queries.append(dict(query, private=query_private))
    return {
        "database": name,
        "private": private,
        "path": datasette.urls.database(name),
        "size": db.size,
        "tables": tables,
        "hidden_count": len([t for t in tables if t["hidden"]]),
        "views": views,
        "queries": queries,
        "allow_execute_sql": bool(allow_execute_sql),
        "table_columns": table_columns if allow_execute_sql else {},
    }


class DatabaseView(View):
    """`/db`, `/db.json`, and `/db.json?sql=...` (arbitrary SQL)."""

    name = "database"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        """The database page or its JSON; with `?sql=` the query result instead."""
        db = await datasette.resolve_database(request)
        format = request.url_vars.get("format")
        visible, private = await datasette.check_visibility(
            request.actor, permissions=database_cascade(db.name)
        )
        if not visible:
            raise Forbidden("You do not have permission to view this database")
        sql = (request.args.get("sql") or "").strip()
        if sql:
            await datasette.ensure_permissions(request.actor, [("execute-sql", db.name)])
            return await run_query_view(datasette, request, db, sql, format)
        if format not in (None, "json"):
            raise NotFound(f"Invalid format: {format}")
        data = await database_data(datasette, request, db, private)
        if format == "json":
            return json_response(datasette, data, request=request)
        return await render_database_html(datasette, request, db, data)
