"""The HTML database page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..plugins import pm
from ..utils import to_css_class
from ..utils.asgi import Response
from .chrome import DatabaseColor, action_links, render_page, with_inherited_metadata

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database
    from ..utils.asgi import Request


async def can_download(datasette: Datasette, request: Request, db: Database) -> bool:
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


async def render_database_html(
    datasette: Datasette, request: Request, db: Database, data: dict
) -> Response:
    """The database page for `data` (what `/db.json` returns)."""
    name = db.name
    attached = []
    if datasette.crossdb and db.is_memory:
        try:
            attached = [a.name for a in await db.attached_databases()]
        except Exception:
            # The list is informational: a failing PRAGMA must not take the page down.
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
            "database_actions": action_links(
                pm.hook.database_actions,
                datasette=datasette,
                actor=request.actor,
                database=name,
                request=request,
            ),
        }
    )
    candidates = [f"database-{to_css_class(name)}.html", "database.html"]
    return await render_page(datasette, request, candidates, context, view_name="database")
