"""`/-/litestream` and `.json`: replication status for root or the `view-replication` action.

Per database: the replica URL with credentials hidden, the last successful sync and its
lag, the last error; the Litestream process; followers; Prometheus figures when
`metrics-addr` is set. The data comes from `internal/replication/status.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exceptions import Forbidden
from ..internal.replication.status import replication_status
from ..utils.asgi import Response
from .base import View

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request

ACTION = "view-replication"


class ReplicationView(View):
    """The replication status page."""

    name = "litestream"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        if not await datasette.permission_allowed(request.actor, ACTION, default=False):
            raise Forbidden(f"You need the {ACTION} permission to see this page")
        data = await replication_status(datasette)
        if request.url_vars.get("format") == "json":
            return Response.json(data)
        return await self.render_html(
            datasette,
            request,
            "litestream.html",
            {"status": data, "json_url": datasette.urls.path("-/litestream.json")},
        )
