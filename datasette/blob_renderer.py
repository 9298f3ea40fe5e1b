"""Default plugin: the `.blob` output format, serving one binary cell as a download."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Optional

from .exceptions import BadRequest
from .hookspecs import hookimpl
from .utils import to_css_class
from .utils.asgi import Response

if TYPE_CHECKING:
    from .app import Datasette
    from .utils.asgi import Request

_EXPIRED = "Link has expired - the requested binary content has changed or could not be found."


def blob_filename(
    table: Optional[str], row_path: Optional[str], column: str, hash: Optional[str]
) -> str:
    """`<table css>-<row path>-<column css>-<hash6>.blob`, leaving out parts not given."""
    parts = []
    if table:
        parts.append(to_css_class(table))
    if row_path:
        parts.append(row_path)
    parts.append(to_css_class(column))
    if hash:
        parts.append(hash[:6])
    return "-".join(parts) + ".blob"


async def render_blob(
    datasette: Datasette,
    database: str,
    rows: list,
    columns: list,
    request: Request,
    table: Optional[str],
    view_name: str,
) -> Response:
    """The bytes of one cell of `rows` (the one whose hash matches, if given) as a download."""
    column = request.args.get("_blob_column")
    if not column:
        raise BadRequest("?_blob_column= is required")
    if column not in columns:
        raise BadRequest(f"{column} is not a valid column")
    wanted_hash = request.args.get("_blob_hash")
    value = None
    found = False
    for row in rows:
        candidate = row[column]
        if wanted_hash is None:
            value, found = candidate, True
            break
        if isinstance(candidate, bytes) and hashlib.sha256(candidate).hexdigest() == wanted_hash:
            value, found = candidate, True
            break
    if not found or value is None:
        raise BadRequest(_EXPIRED)
    if isinstance(value, str):
        value = value.encode("utf-8")
    row_path = None
    if view_name == "row":
        row_path = request.url_vars.get("pks")
    filename = blob_filename(table, row_path, column, wanted_hash)
    return Response(
        body=value,
        status=200,
        headers={
            "X-Content-Type-Options": "nosniff",
            "content-disposition": f'attachment; filename="{filename}"',
        },
        content_type="application/binary",
    )


@hookimpl
def register_output_renderer():
    return {
        "extension": "blob",
        "render": render_blob,
        "can_render": lambda: False,
    }
