"""The HTML database page."""

from __future__ import annotations

from typing import Any

from ..utils import await_me_maybe, to_css_class
from ..utils.asgi import Response
from .index_html import DatabaseColor, render_page, with_inherited_metadata


def database_actions_function(datasette: Any, request: Any, database: str):
    """The async `database_actions()` template function: links from every plugin."""

    async def database_actions() -> list:
        from ..plugins import pm

        links: list = []
        for hook in pm.hook.database_actions(
            datasette=datasette,
            actor=request.actor,
            database=database,
            request=request,
        ):
            extra = await await_me_maybe(hook)
            if extra:
                links.extend(extra)
        return links

    return database_actions


async def can_download(datasette: Any, request: Any, db: Any) -> bool:
    """Whether the page should offer `/db.db`: the download view would serve it."""
    if db.is_memory or db.is_mutable or not db.path:
        return False
    if not datasette.setting("allow_download"):
        return False
    visible, _ = await datasette.check_visibility(
        request.actor,
        permissions=[
            ("view-database-download", db.name),
            ("view-database", db.name),
            "view-instance",
        ],
    )
    return bool(visible)


async def render_database_html(datasette: Any, request: Any, db: Any, data: dict) -> Response:
    """The database page for `data` (what `/db.json` returns)."""
    name = db.name
    attached = []
    if datasette.crossdb and db.is_memory:
        try:
            attached = [a.name for a in await db.attached_databases()]
        except Exception:
            attached = []
    context = dict(data)
    context.update(
        {
            "database": name,
            "database_color": DatabaseColor(db.color),
            "metadata": with_inherited_metadata(
                datasette, datasette.metadata(database=name, fallback=False)
            ),
            "show_hidden": bool(request.args.get("_show_hidden")),
            "editable": True,
            "allow_download": await can_download(datasette, request, db),
            "attached_databases": attached,
            "database_actions": database_actions_function(datasette, request, name),
        }
    )
    candidates = [f"database-{to_css_class(name)}.html", "database.html"]
    return await render_page(datasette, request, candidates, context, view_name="database")
