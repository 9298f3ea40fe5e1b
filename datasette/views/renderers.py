"""Output formats registered by plugins with `register_output_renderer`.

`render_output` answers a request for such a format; `output_renderers` lists the
formats a page links to. Both call plugin functions with the arguments they name, out
of the same set that describes the data: a `DataDescription`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ..exceptions import DatasetteError, NotFound
from ..utils import (
    await_me_maybe,
    call_with_supported_arguments,
    path_with_format,
)
from ..utils.asgi import Response

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request
    from .page_data import TablePage


@dataclass
class DataDescription:
    """How a page describes its data to output renderers: the arguments, by these names,
    that `render` and `can_render` functions may ask for besides `datasette` and
    `request`. `view_name` is `"table"`, `"row"` or `"database"` (a query)."""

    columns: Sequence[str]
    rows: Sequence[Any]
    sql: Optional[str]
    database: str
    table: Optional[str] = None
    query_name: Optional[str] = None
    view_name: str = "database"

    def arguments(self) -> dict:
        """The description as keyword arguments (not `asdict`: rows are not copied)."""
        return dict(vars(self))


async def output_renderers(
    datasette: Datasette,
    request: Request,
    described: DataDescription,
    extra_qs: Optional[dict] = None,
) -> dict:
    """`{format: url}` for the export links: JSON, then plugin formats that can render.

    `extra_qs` is added to every link's query string.
    """

    def link(format: str) -> str:
        return datasette.urls.path(
            path_with_format(request=request, format=format, extra_qs=extra_qs)
        )

    renderers = {"json": link("json")}
    for extension, (_, can_render) in datasette.renderers.items():
        if extension == "json":
            continue
        try:
            allowed = await await_me_maybe(
                call_with_supported_arguments(
                    can_render, datasette=datasette, request=request, **described.arguments()
                )
            )
        except Exception:
            # A can_render that fails just hides that format's link.
            allowed = False
        if allowed:
            renderers[extension] = link(extension)
    return renderers


def _table_description(page: TablePage) -> DataDescription:
    """How a table page describes its data to output renderers."""
    return DataDescription(
        page.columns, page.rows, page.sql, page.database, page.table, view_name="table"
    )


async def table_renderers(datasette: Datasette, request: Request, page: TablePage) -> dict:
    """`{extension: url}` of a table page: JSON first, then formats whose `can_render` agrees.

    On a table with foreign keys every link asks for `_labels=on`, so the exported rows
    carry the labels the HTML page shows.
    """
    extra_qs = None
    if not page.is_view and "_labels" not in request.args:
        db = datasette.get_database(page.database)
        if await db.foreign_keys_for_table(page.table):
            extra_qs = {"_labels": "on"}
    return await output_renderers(datasette, request, _table_description(page), extra_qs=extra_qs)


def _as_response(result: Any, format: str) -> Response:
    """A renderer's answer: a `Response`, or a dict with body, status, type and headers.

    Anything else is the plugin's mistake, reported as a 500 that says so.
    """
    if isinstance(result, Response):
        return result
    if not isinstance(result, dict):
        raise DatasetteError(
            f"The output renderer for .{format} returned {type(result).__name__}: "
            "it should return a dict or a Response",
            title="Output renderer error",
        )
    return Response(
        body=result.get("body"),
        status=result.get("status_code", 200),
        content_type=result.get("content_type", "text/plain"),
        headers=result.get("headers", {}),
    )


async def render_output(
    datasette: Datasette,
    request: Request,
    format: str,
    described: DataDescription,
    *,
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
        request=request,
        truncated=truncated,
        error=error,
        args=request.args,
        data=data or {"columns": described.columns, "rows": described.rows},
        **described.arguments(),
    )
    result = await await_me_maybe(result)
    if result is None:
        raise NotFound("No data")
    response = _as_response(result, format)
    for key, value in (headers or {}).items():
        response.headers.setdefault(key, value)
    return response


async def render_with_plugin(
    datasette: Datasette, request: Request, format: str, page: TablePage, headers: dict
) -> Response:
    """A table page rendered by a plugin's output renderer."""
    return await render_output(
        datasette, request, format, _table_description(page), headers=headers
    )
