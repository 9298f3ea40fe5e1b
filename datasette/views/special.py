"""The `/-/` introspection pages: versions, settings, databases, threads, actor, plugins."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from ..renderer import json_dumps
from ..utils import await_me_maybe
from ..utils.asgi import Response
from .base import View

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request


class JsonDataView(View):
    """Serves one dict or list from `data_callback` as JSON (`.json`) or an HTML page."""

    name = "json_data"

    def __init__(
        self,
        datasette: Datasette,
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

    async def get(self, request: Request, datasette: Datasette) -> Response:
        if self.permission:
            await datasette.ensure_permissions(request.actor, [self.permission])
        if self.needs_request:
            data = self.data_callback(request)
        else:
            data = self.data_callback()
        # A callback may be async (`/-/databases` checks permissions for each database).
        data = await await_me_maybe(data)
        if request.url_vars.get("format") == "json":
            return Response(json_dumps(data), content_type="application/json; charset=utf-8")
        json_url = datasette.absolute_url(request, datasette.urls.path(f"-/{self.filename}.json"))
        context = {
            "filename": f"{self.filename}.json",
            "data_json": json.dumps(data, indent=4, default=repr),
            "alternate_url_json": json_url,
        }
        link = f'{json_url}; rel="alternate"; type="application/json+datasette"'
        return await self.render_html(
            datasette, request, "show_json.html", context, headers={"Link": link}
        )
