"""The HTML query page: arbitrary SQL and canned queries."""

from __future__ import annotations

from typing import Any, Optional

from ..utils.asgi import Response
from .special import show_json_page


async def render_query_html(
    datasette: Any,
    request: Any,
    db: Any,
    *,
    sql: str,
    params: dict,
    results: Any,
    canned: Optional[dict],
    error: Optional[str] = None,
) -> Response:
    """The query page. `results` is None for a writable canned query shown before POST
    and when `error` holds an SQLite error message."""
    data = {"database": db.name, "sql": sql, "canned": canned}
    if results is not None:
        data.update(columns=results.columns, rows=[list(r) for r in results.rows])
    return Response.html(show_json_page(f"{db.name}: {sql}", data))
