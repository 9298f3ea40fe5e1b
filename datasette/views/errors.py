"""The one error path: every exception a request raises becomes a response here.

`exception_response` is what the router calls. It translates SQLite's refusals into
`DatasetteError`s, then answers in one of three ways (the tree and when each class is
raised are drawn in `datasette/exceptions.py`):

- `WriteApiError`: the write API's `{"ok": false, "errors": [...]}` with its status.
  These are answers rather than failures: no hook sees them, as in 1.0a7.
- `Forbidden`: the first response a `forbidden` hook gives (the default is `forbidden.py`).
- anything else: the first response a `handle_exception` hook gives (the default,
  `handle_exception.py`, renders `error_response`).

Every answer carries the CORS headers under `--cors` ("exception-handler error responses").

Error pages are rendered straight from `<status>.html` or `error.html`, not through
`render_template`, so a failing plugin hook cannot also break the page reporting it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from markupsafe import Markup

from ..exceptions import DatasetteError, Forbidden, HttpError, InvalidSql, WriteApiError
from ..renderer import JSON_CONTENT_TYPE, json_dumps
from ..templating import crumb_items_function
from ..utils import add_cors_headers, await_me_maybe
from ..utils.asgi import Response
from ..utils.sqlite import sqlite3

if TYPE_CHECKING:
    from pluggy import HookRelay

    from ..app import Datasette
    from ..utils.asgi import Request


def translate_exception(exception: BaseException) -> BaseException:
    """SQL that SQLite (or the read-only check) refused becomes a 400 `Invalid SQL`,
    chained to the original; every other exception is returned as it is.

    Views let `sqlite3.Error` (and the `Database` boundary's subclasses of it) rise to
    here rather than catching it one by one.
    """
    if isinstance(exception, (sqlite3.Error, InvalidSql)):
        translated = DatasetteError(str(exception), title="Invalid SQL", status=400)
        translated.__cause__ = exception
        return translated
    return exception


def error_details(exception: BaseException) -> tuple:
    """`(status, message, title, error_dict, message_is_html)` for an exception."""
    if isinstance(exception, HttpError):
        return (
            exception.status,
            exception.message,
            exception.title,
            dict(exception.error_dict),
            exception.message_is_html,
        )
    return 500, str(exception), None, {}, False


def wants_json(request: Optional[Request]) -> bool:
    """Whether an error for this request is answered as JSON: its path ends `.json`.

    Only the path decides (http-cli.md §8.5): a JSON body posted to an unknown database's
    `/-/create` still gets the ordinary 404 page, as in 1.0a7. The write API answers its
    own refusals as JSON through `WriteApiError`.
    """
    return request is not None and request.path.split("?")[0].endswith(".json")


async def exception_response(
    datasette: Datasette, request: Request, exception: BaseException, hooks: HookRelay
) -> Response:
    """The response for any exception raised while answering `request`.

    `hooks` is the plugin manager's hook relay; it is passed in because the default
    plugins, which `datasette.plugins` loads, import this module.
    """
    exception = translate_exception(exception)
    response: Optional[Response] = None
    if isinstance(exception, WriteApiError):
        response = Response(
            json_dumps(exception.json_body()),
            status=exception.status,
            content_type=JSON_CONTENT_TYPE,
        )
    elif isinstance(exception, Forbidden):
        message = exception.args[0] if exception.args else ""
        response = await _first_response(
            hooks.forbidden(datasette=datasette, request=request, message=message)
        )
        if response is None:
            response = Response.text(message, status=403)
    else:
        response = await _first_response(
            hooks.handle_exception(datasette=datasette, request=request, exception=exception)
        )
        if response is None:
            response = Response.text(str(exception), status=500)
    if datasette.cors and hasattr(response, "headers"):
        add_cors_headers(response.headers)
    return response


async def _first_response(results: list) -> Optional[Response]:
    """The first hook result that resolves to a response, or None."""
    for result in results:
        response = await await_me_maybe(result)
        if response is not None:
            return response
    return None


async def error_response(
    datasette: Datasette,
    request: Optional[Request],
    status: int,
    message: str,
    title: Optional[str] = None,
    error_dict: Optional[dict] = None,
    message_is_html: bool = False,
) -> Response:
    """A JSON error for `.json` paths, else the HTML error page."""
    if wants_json(request):
        info = dict(error_dict or {})
        info.update({"ok": False, "error": message, "status": status, "title": title})
        return Response.json(info, status=status)
    template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])

    async def no_menu_links() -> list:
        return []

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
    return Response.html(html, status=status)
