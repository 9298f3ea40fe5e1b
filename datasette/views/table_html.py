"""The HTML table page. Until the templated interface lands it shows the page's data."""

from __future__ import annotations

from typing import Any, Optional

from ..utils.asgi import Response
from .special import show_json_page


async def render_table_html(
    datasette: Any, request: Any, page: Any, next_url: Optional[str], headers: dict
) -> Response:
    data = {
        "database": page.database,
        "table": page.table,
        "columns": page.columns,
        "rows": [list(row) for row in page.rows],
        "next_url": next_url,
    }
    return Response.html(show_json_page(f"{page.database}: {page.table}", data), headers=headers)
