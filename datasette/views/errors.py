"""Turning an exception into a response: the JSON error object or the error page.

Error pages are rendered straight from `<status>.html` or `error.html`, not through
`render_template`, so a failing plugin hook cannot also break the page reporting it.
"""

from __future__ import annotations

from typing import Any, Optional

from markupsafe import Markup

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


def wants_json(request: Any) -> bool:
    return request is not None and request.path.split("?")[0].endswith(".json")


async def error_response(
    datasette: Any,
    request: Any,
    status: int,
    message: str,
    title: Optional[str] = None,
    error_dict: Optional[dict] = None,
    message_is_html: bool = False,
) -> Response:
    """A JSON error for `.json` paths, else the HTML error page."""
    headers: dict = {}
    if datasette.cors:
        add_cors_headers(headers)
    if wants_json(request):
        info = dict(error_dict or {})
        info.update({"ok": False, "error": message, "status": status, "title": title})
        return Response.json(info, status=status, headers=headers)
    template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])

    async def no_menu_links() -> list:
        return []

    from ..templating import crumb_items_function

    html = await template.render_async(
        {
            **(error_dict or {}),
            "ok": False,
            "error": Markup(message) if message_is_html else message,
            "status": status,
            "title": title,
            "urls": datasette.urls,
            "app_css_hash": datasette.app_css_hash(),
            "menu_links": no_menu_links,
            # The home link, so an error page still leads somewhere.
            "crumb_items": crumb_items_function(datasette, request),
            "request": request,
            "base_url": datasette.setting("base_url"),
        }
    )
    return Response.html(html, status=status, headers=headers)
