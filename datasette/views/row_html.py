"""The HTML row page."""

from __future__ import annotations

from typing import Any

from ..utils.asgi import Response
from .special import show_json_page


async def render_row_html(
    datasette: Any,
    request: Any,
    db: Any,
    table: str,
    resolved: Any,
    columns: list,
    rows: list,
    private: bool,
    headers: dict,
) -> Response:
    """The row page. `resolved` is the `ResolvedRow` (pks, pk_values, sql, params)."""
    data = {"database": db.name, "table": table, "columns": columns, "rows": [list(r) for r in rows]}
    return Response.html(show_json_page(f"{db.name}: {table}", data), headers=headers)
