"""The HTML database page."""

from __future__ import annotations

from typing import Any

from ..utils.asgi import Response
from .special import show_json_page


async def render_database_html(datasette: Any, request: Any, db: Any, data: dict) -> Response:
    """The database page for `data` (what `/db.json` returns)."""
    return Response.html(show_json_page(db.name, data))
