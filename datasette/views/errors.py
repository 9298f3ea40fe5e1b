"""Turning an exception into a response body: the JSON error object or a minimal HTML page.

The HTML here is deliberately plain; the templated error pages replace it when present.
"""

from __future__ import annotations

from typing import Any, Optional

from markupsafe import Markup, escape

from ..exceptions import Base400, DatasetteError
from ..utils import add_cors_headers
from ..utils.asgi import Response


def error_details(exception: BaseException) -> tuple:
    """`(status, message, title, error_dict, message_is_html)` for an exception."""
    if isinstance(exception, Base400):
        message = exception.args[0] if exception.args else ""
        return exception.status, message, None, {}, False
    if isinstance(exception, DatasetteError):
        return (
            exception.status,
            exception.message,
            exception.title,
            exception.error_dict,
            exception.message_is_html,
        )
    return 500, str(exception), None, {}, False


def error_response(
    datasette: Any,
    request: Any,
    status: int,
    message: str,
    title: Optional[str] = None,
    error_dict: Optional[dict] = None,
    message_is_html: bool = False,
    force_html: bool = False,
) -> Response:
    """A JSON error for `.json` paths, else an HTML error page."""
    headers: dict = {}
    if datasette.cors:
        add_cors_headers(headers)
    path = request.path if request is not None else ""
    if path.split("?")[0].endswith(".json") and not force_html:
        info = dict(error_dict or {})
        info.update({"ok": False, "error": message, "status": status, "title": title})
        return Response.json(info, status=status, headers=headers)
    heading = title or f"Error {status}"
    body = Markup(message) if message_is_html else escape(message)
    html = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(heading)}</title>\n</head>\n<body class=\"error\">\n"
        f"<h1>{escape(heading)}</h1>\n"
        "<div style=\"padding: 1em; margin: 1em 0; border: 3px solid red;\">"
        f"{body}</div>\n</body>\n</html>\n"
    )
    return Response.html(html, status=status, headers=headers)

