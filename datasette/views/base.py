"""The base of class-based views: dispatch on the HTTP method."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..exceptions import DatasetteError  # noqa: F401 - re-exported for plugins
from ..utils.asgi import Response

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request

_METHODS = ("head", "get", "post", "put", "patch", "delete")


def method_not_allowed(request: Request) -> Response:
    """405, as JSON for `.json` paths and JSON requests, else plain text."""
    if (
        request.path.endswith(".json")
        or request.headers.get("content-type") == "application/json"
    ):
        return Response.json({"ok": False, "error": "Method not allowed"}, status=405)
    return Response.text("Method not allowed", status=405)


class View:
    """A view whose methods are named after HTTP methods: `async def get(request, datasette)`.

    HEAD runs GET without a body; OPTIONS answers `ok` with an `allow` header; any other
    method gets 405, as JSON for `.json` paths and JSON requests.
    """

    async def head(self, request: Request, datasette: Datasette) -> Response:
        if not hasattr(self, "get"):
            return await self.method_not_allowed(request)
        response = await self.get(request, datasette)
        response.body = b""
        return response

    async def method_not_allowed(self, request: Request) -> Response:
        return method_not_allowed(request)

    async def options(self, request: Request, datasette: Datasette) -> Response:
        response = Response.text("ok")
        response.headers["allow"] = ", ".join(
            method.upper() for method in _METHODS if hasattr(self, method)
        )
        return response

    async def render_html(
        self,
        datasette: Datasette,
        request: Request,
        template: str,
        context: dict,
        headers: Optional[dict] = None,
    ) -> Response:
        """An HTML response: `template` rendered as this view (`view_name` is its `name`)."""
        html = await datasette.render_template(
            template, context, request=request, view_name=self.name  # type: ignore[attr-defined]
        )
        return Response.html(html, headers=headers)

    async def __call__(self, request: Request, datasette: Datasette) -> Response:
        handler: Optional[Any] = getattr(self, request.method.lower(), None)
        if handler is None:
            return await self.method_not_allowed(request)
        return await handler(request, datasette)


BaseView = View
