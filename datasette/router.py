"""Dispatching a request: base URL, scheme, actor, route, and turning errors into responses.

`build_app` assembles the ASGI stack once, inside out: the router, the lifespan handler,
the first-request start-up, then each plugin's `asgi_wrapper` (the last one outermost).
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, Optional

from .csrf import CsrfMiddleware
from .custom_pages import render_page
from .database import schema_checked
from .exceptions import Forbidden, NotFound
from .plugins import pm
from .tracer import AsgiTracer
from .utils import await_me_maybe
from .utils.asgi import AsgiLifespan, Request, Response


class DatasetteRouter:
    """Finds the view for a path and runs it, handing failures to the plugin hooks."""

    def __init__(self, datasette: Any, routes: list):
        self.ds = datasette
        self.routes = routes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        raw_path = scope.get("raw_path")
        if raw_path:
            # raw_path keeps %2F distinct from /, so tilde-encoded names route correctly.
            path = raw_path.decode("latin-1").partition("?")[0]
        else:
            path = scope["path"]
        base_url = self.ds.setting("base_url")
        if base_url != "/" and path.startswith(base_url):
            # Views see paths without the prefix; every URL they build goes through
            # `datasette.urls`, which adds it back exactly once.
            path = "/" + path[len(base_url) :]
            raw_query = scope.get("query_string", b"")
            scope = dict(
                scope,
                path=urllib.parse.unquote(path),
                raw_path=path.encode("latin-1"),
                route_path=path,
            )
            scope["query_string"] = raw_query
        if self.ds.setting("force_https_urls"):
            scope = dict(scope, scheme="https")
        await self.route_path(scope, receive, send, path)

    async def route_path(self, scope: dict, receive: Any, send: Any, path: str) -> None:
        request = Request(scope, receive)
        actor = await self._actor(request)
        scope = dict(scope, actor=actor)
        request = Request(scope, receive)
        try:
            for regex, view in self.routes:
                match = regex.match(path)
                if match is None:
                    continue
                url_vars = {k: v for k, v in match.groupdict().items() if v is not None}
                route_scope = dict(scope, url_route={"kwargs": url_vars})
                request = Request(route_scope, receive)
                self._read_messages(request)
                response = await view(request, send)
                if response is not None:
                    self._write_messages(request, response)
                    await response.asgi_send(send)
                return
            raise NotFound("404")
        except NotFound as exception:
            await self.handle_404(request, send, exception, path)
        except Forbidden as exception:
            await self.handle_forbidden(request, send, exception)
        except Exception as exception:
            await self.handle_exception(request, send, exception)

    def _read_messages(self, request: Request) -> None:
        """Load flash messages from the signed `ds_messages` cookie onto the request."""
        request._messages = []
        request._messages_changed = False
        cookie = request.cookies.get("ds_messages")
        if not cookie:
            return
        try:
            messages = self.ds.unsign(cookie, "messages")
        except Exception:
            request._messages_changed = True  # a bad cookie is dropped
            return
        if isinstance(messages, list):
            request._messages = [tuple(m) for m in messages if isinstance(m, list) and len(m) == 2]

    def _write_messages(self, request: Request, response: Response) -> None:
        """Send pending messages as `ds_messages`, or clear the cookie once shown."""
        if not getattr(request, "_messages_changed", False):
            return
        if not hasattr(response, "set_cookie"):
            return
        messages = getattr(request, "_messages", None)
        if messages:
            response.set_cookie(
                "ds_messages", self.ds.sign([list(m) for m in messages], "messages")
            )
        else:
            response.set_cookie("ds_messages", "", expires=0, max_age=0)

    async def _actor(self, request: Request) -> Optional[dict]:
        for candidate in pm.hook.actor_from_request(datasette=self.ds, request=request):
            actor = await await_me_maybe(candidate)
            if actor:
                return actor
        return request.scope.get("actor")

    async def handle_404(
        self, request: Request, send: Any, exception: NotFound, path: str
    ) -> None:
        if "%" in path:
            # Percent-encoded names redirect to their tilde-encoded form.
            new_path = path.replace("~", "~7E").replace("%", "~").replace(".", "~2E")
            await self._redirect(request, send, new_path)
            return
        if path.endswith("/") and path != "/":
            await self._redirect(request, send, path.rstrip("/") or "/")
            return
        try:
            if not self.ds._startup_invoked:
                await self.ds.invoke_startup()
            response = await render_page(self.ds, request, path)
        except NotFound as page_exception:
            exception = page_exception
            response = None
        except Exception as page_exception:
            await self.handle_exception(request, send, page_exception)
            return
        if response is not None:
            self._write_messages(request, response)
            await response.asgi_send(send)
            return
        await self.handle_exception(request, send, exception)

    async def _redirect(self, request: Request, send: Any, path: str) -> None:
        location = self.ds.urls.path(path)
        if request.query_string:
            location += "?" + request.query_string
        await Response.redirect(location).asgi_send(send)

    async def handle_forbidden(self, request: Request, send: Any, exception: Forbidden) -> None:
        message = exception.args[0] if exception.args else ""
        results = pm.hook.forbidden(datasette=self.ds, request=request, message=message)
        if not await self._send_first_response(results, send):
            await Response.text(message, status=403).asgi_send(send)

    async def handle_exception(self, request: Request, send: Any, exception: BaseException) -> None:
        results = pm.hook.handle_exception(
            datasette=self.ds, request=request, exception=exception
        )
        if not await self._send_first_response(results, send):
            await Response.text(str(exception), status=500).asgi_send(send)

    @staticmethod
    async def _send_first_response(results: list, send: Any) -> bool:
        """Send the first hook result that resolves to a response; False if none did."""
        for result in results:
            response = await await_me_maybe(result)
            if response is not None:
                await response.asgi_send(send)
                return True
        return False


class StartupOnFirstRequest:
    """Awaits `datasette.invoke_startup()` (idempotent) before passing a request on."""

    def __init__(self, app: Any, datasette: Any):
        self.app = app
        self.ds = datasette

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if not self.ds._startup_invoked:
            await self.ds.invoke_startup()
        await self.app(scope, receive, send)


class CatalogRefresh:
    """Refreshes the internal catalog before each request to a core page."""

    # Plugin routes, static files and custom pages do not need a current catalog.
    _skip = re.compile(r"^/-/(static|static-plugins)/")

    def __init__(self, app: Any, datasette: Any):
        self.app = app
        self.ds = datasette

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or self._skip.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        # Schema versions read by the refresh vouch for schema caches for this request
        # only; reset after, since `datasette.client` runs apps in the caller's context.
        token = schema_checked.set(set())
        try:
            await self.ds.refresh_schemas()
            await self.app(scope, receive, send)
        finally:
            schema_checked.reset(token)


def build_app(datasette: Any) -> Any:
    """The instance's ASGI application."""
    app: Any = DatasetteRouter(datasette, datasette._routes())
    app = CatalogRefresh(app, datasette)
    app = CsrfMiddleware(
        app,
        datasette._secret,
        skip_if_scope=lambda scope: any(
            pm.hook.skip_csrf(datasette=datasette, scope=scope)
        ),
    )
    if datasette.setting("trace_debug"):
        app = AsgiTracer(app)
    app = AsgiLifespan(app, on_startup=[datasette.invoke_startup])
    app = StartupOnFirstRequest(app, datasette)
    for wrapper in pm.hook.asgi_wrapper(datasette=datasette):
        app = wrapper(app)
    return app

