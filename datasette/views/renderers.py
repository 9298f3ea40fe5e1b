"""Output formats registered by plugins with `register_output_renderer`."""

from __future__ import annotations

from typing import Any, Optional

from ..exceptions import NotFound
from ..utils import await_me_maybe, call_with_supported_arguments
from ..utils.asgi import Response


async def render_output(
    datasette: Any,
    request: Any,
    format: str,
    *,
    columns: list,
    rows: list,
    sql: Optional[str],
    database: str,
    table: Optional[str],
    query_name: Optional[str],
    view_name: str,
    truncated: bool = False,
    error: Optional[str] = None,
    data: Optional[dict] = None,
    headers: Optional[dict] = None,
) -> Response:
    """Call the renderer for `format` with the arguments it names and build a `Response`."""
    if format not in datasette.renderers:
        raise NotFound(f"Invalid format: {format}")
    render, _ = datasette.renderers[format]
    # A plain function may return its result directly; await it only if it is awaitable.
    result = call_with_supported_arguments(
        render,
        datasette=datasette,
        columns=columns,
        rows=rows,
        sql=sql,
        query_name=query_name,
        database=database,
        table=table,
        request=request,
        view_name=view_name,
        truncated=truncated,
        error=error,
        args=request.args,
        data=data or {"columns": columns, "rows": rows},
    )
    result = await await_me_maybe(result)
    if result is None:
        raise NotFound("No data")
    if isinstance(result, dict):
        response = Response(
            body=result.get("body"),
            status=result.get("status_code", 200),
            content_type=result.get("content_type", "text/plain"),
            headers=result.get("headers", {}),
        )
    else:
        response = result
    for key, value in (headers or {}).items():
        response.headers.setdefault(key, value)
    if datasette.cors:
        from ..utils import add_cors_headers

        add_cors_headers(response.headers)
    return response


async def render_with_plugin(
    datasette: Any, request: Any, format: str, page: Any, headers: dict
) -> Response:
    """A table page rendered by a plugin's output renderer."""
    return await render_output(
        datasette,
        request,
        format,
        columns=page.columns,
        rows=page.rows,
        sql=page.sql,
        database=page.database,
        table=page.table,
        query_name=None,
        view_name="table",
        headers=headers,
    )
