"""The HTML index page."""

from __future__ import annotations

from typing import Any

from ..utils.asgi import Response
from .special import show_json_page


async def render_index_html(datasette: Any, request: Any, data: dict) -> Response:
    """The index page for `data` (what `/.json` returns, keyed by database name)."""
    return Response.html(show_json_page("Datasette", data))
