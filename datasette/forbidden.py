"""Default plugin: the 403 response when a view raises `Forbidden`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Coroutine

from .hookspecs import hookimpl
from .utils.asgi import Response
from .views.errors import error_response, wants_json

if TYPE_CHECKING:
    from .app import Datasette
    from .utils.asgi import Request


@hookimpl(trylast=True)
def forbidden(
    datasette: Datasette, request: Request, message: str
) -> Callable[[], Coroutine[Any, Any, Response]]:
    """`error.html` with title `Forbidden` through `render_template`; a JSON error for
    `.json` paths, and the bare error page before start-up (no templates to render yet)."""

    async def inner() -> Response:
        if wants_json(request) or not datasette._startup_invoked:
            return await error_response(datasette, request, 403, message, title="Forbidden")
        return Response.html(
            await datasette.render_template(
                "error.html",
                {"title": "Forbidden", "error": message},
                request=request,
            ),
            status=403,
        )

    return inner
