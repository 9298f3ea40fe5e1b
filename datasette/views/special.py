"""The `/-/` introspection pages: versions, settings, databases, threads, actor, plugins."""

from __future__ import annotations

import json
from typing import Any, Callable

from markupsafe import escape

from ..utils import add_cors_headers
from ..utils.asgi import Response
from .base import View
from ..renderer import json_dumps


def show_json_page(filename: str, data: Any) -> str:
    """An HTML page showing `data` as indented JSON (the page form of a `.json` endpoint)."""
    body = escape(json.dumps(data, indent=4, default=repr))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(filename)}</title>\n</head>\n<body class=\"show-json\">\n"
        f"<h1>{escape(filename)}</h1>\n<pre>{body}</pre>\n</body>\n</html>\n"
    )


class JsonDataView(View):
    """Serves one dict or list from `data_callback` as JSON (`.json`) or an HTML page."""

    name = "json_data"

    def __init__(
        self,
        datasette: Any,
        filename: str,
        data_callback: Callable[..., Any],
        needs_request: bool = False,
        permission: str = "view-instance",
    ):
        self.ds = datasette
        self.filename = filename
        self.data_callback = data_callback
        self.needs_request = needs_request
        self.permission = permission

    async def get(self, request: Any, datasette: Any) -> Response:
        if self.permission:
            await datasette.ensure_permissions(request.actor, [self.permission])
        if self.needs_request:
            data = self.data_callback(request)
        else:
            data = self.data_callback()
        headers: dict = {}
        if datasette.cors:
            add_cors_headers(headers)
        if request.url_vars.get("format") == "json":
            return Response(
                json_dumps(data),
                content_type="application/json; charset=utf-8",
                headers=headers,
            )
        return Response.html(
            await datasette.render_template(
                "show_json.html",
                {
                    "filename": f"{self.filename}.json",
                    "data_json": json.dumps(data, indent=4, default=repr),
                    "alternate_url_json": datasette.absolute_url(
                        request, datasette.urls.path(f"-/{self.filename}.json")
                    ),
                },
                request=request,
                view_name="json_data",
            ),
            headers=dict(
                headers,
                Link='{}; rel="alternate"; type="application/json+datasette"'.format(
                    datasette.absolute_url(request, datasette.urls.path(f"-/{self.filename}.json"))
                ),
            ),
        )
