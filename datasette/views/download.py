"""`/db.db`: download an immutable database file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..exceptions import Forbidden, NotFound
from ..utils import tilde_decode
from ..utils.asgi import AsgiFileDownload, Response
from .base import View

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request


class DatabaseDownload(View):
    """Streams the database file with its hash as ETag; only for immutable files."""

    name = "database_download"

    async def get(self, request: Request, datasette: Datasette) -> Any:
        """The file, or 304 when the client's `If-None-Match` is its hash."""
        database = tilde_decode(request.url_vars["database"])
        await datasette.ensure_permissions(
            request.actor,
            [("view-database-download", database), ("view-database", database), "view-instance"],
        )
        try:
            db = datasette.get_database(route=database)
        except KeyError:
            raise NotFound("Invalid database")
        if db.is_memory:
            raise NotFound("Cannot download in-memory databases")
        if not datasette.setting("allow_download") or db.is_mutable:
            raise Forbidden("Database download is forbidden")
        if not db.path:
            raise NotFound("Cannot download database")
        headers: dict = {}
        if db.hash:
            etag = f'"{db.hash}"'
            headers["Etag"] = etag
            if request.headers.get("if-none-match") == etag:
                return Response("", status=304)
        headers["Transfer-Encoding"] = "chunked"
        return AsgiFileDownload(
            db.path,
            filename=str(db.path).replace("\\", "/").split("/")[-1],
            content_type="application/octet-stream",
            headers=headers,
        )
