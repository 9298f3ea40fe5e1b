"""Dispatching a request: base URL, scheme, actor, route, and turning errors into responses.

`build_app` assembles the ASGI stack once, inside out: the router, the catalog refresh
(which also times the page's queries), CSRF, the first-request start-up with the lifespan
handler, then each plugin's `asgi_wrapper` (the last one outermost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import actor_auth_cookie, default_permissions, request_memo
from .csrf import CsrfMiddleware
from .custom_pages import render_page
from .database import schema_checked
from .exceptions import NotFound
from .plugins import pm
from .route_table import RouteTable
from .tracer import AsgiTracer, time_queries
from .utils import add_cors_headers, await_me_maybe
from .utils.asgi import ASGIApp, AsgiLifespan, Receive, Request, Response, Scope, Send
from .views.errors import exception_response

if TYPE_CHECKING:
    from .app import Datasette


class DatasetteRouter:
    """Finds the view for a path and runs it, handing failures to the plugin hooks."""

    def __init__(self, datasette: Datasette, routes: list):
        self.ds = datasette
        self.routes = routes
        self._table = RouteTable(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path")
        if raw_path:
            # raw_path keeps %2F distinct from /, so tilde-encoded names route correctly.
            path = raw_path.decode("latin-1").partition("?")[0]
        else:
            path = scope["path"]
        base_url = self.ds.setting("base_url")
        if base_url != "/" and path.startswith(base_url):
            # The prefix is stripped for routing only: views, custom pages and plugins
            # see the full path in `request.path`, as in 1.0a7 (`route_path` holds the
            # stripped one), and `datasette.urls` never adds the prefix twice.
            path = "/" + path[len(base_url) :]
            scope = dict(scope, route_path=path)
        if self.ds.setting("force_https_urls"):
            scope = dict(scope, scheme="https")
        # Metadata lookups and permission answers are worked out once per request.
        token = request_memo.open_memo()
        try:
            await self.route_path(scope, receive, send, path)
        finally:
            request_memo.close_memo(token)

    async def route_path(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        request = Request(scope, receive)
        # Most API requests carry no credentials: no hook to await then.
        actor = scope.get("actor") if no_credentials(request) else await self._actor(request)
        # One routed scope, actor and URL variables together: each copy of the scope
        # costs a few hundred nanoseconds on every request.
        found = self._table.match(path)
        if found is None:
            routed = dict(scope, actor=actor)
        else:
            url_vars = {k: v for k, v in found[1].groupdict().items() if v is not None}
            routed = dict(scope, actor=actor, url_route={"kwargs": url_vars})
        request = request.with_scope(routed)
        try:
            if found is None:
                raise NotFound("404")
            view = found[0]
            self._read_messages(request)
            response = await view(request, send)
            if response is not None:
                if self.ds.cors and wants_cors(view, request):
                    add_cors_headers(response.headers)
                self._write_messages(request, response)
                await response.asgi_send(send)
            return
        except NotFound as exception:
            response = await self.not_found_response(request, exception, path)
        except Exception as exception:
            response = await exception_response(self.ds, request, exception, pm.hook)
        await response.asgi_send(send)

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
            # Only what `add_message` writes: [text, level]; anything else in a validly
            # signed cookie is dropped rather than rendered.
            request._messages = [
                tuple(m)
                for m in messages
                if isinstance(m, list)
                and len(m) == 2
                and isinstance(m[0], str)
                and isinstance(m[1], int)
                and not isinstance(m[1], bool)
            ]

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
        """The first actor an `actor_from_request` hook finds, else the scope's."""
        for candidate in pm.hook.actor_from_request(datasette=self.ds, request=request):
            actor = await await_me_maybe(candidate)
            if actor:
                return actor
        return request.scope.get("actor")

    async def not_found_response(
        self, request: Request, exception: NotFound, path: str
    ) -> Response:
        """The contract's fallbacks when nothing answered (http-cli.md §0.3): redirect
        `%`-encoded paths and trailing slashes, then try a custom page, then the 404."""
        if "%" in path:
            # Percent-encoded names redirect to their tilde-encoded form.
            new_path = path.replace("~", "~7E").replace("%", "~").replace(".", "~2E")
            return self._redirect(request, new_path)
        if path.endswith("/") and path != "/":
            return self._redirect(request, path.rstrip("/") or "/")
        try:
            if not self.ds._startup_invoked:
                await self.ds.invoke_startup()
            response = await render_page(self.ds, request, path)
        except Exception as page_exception:
            # A template that called raise_404() replaces the original 404.
            return await exception_response(self.ds, request, page_exception, pm.hook)
        if response is None:
            return await exception_response(self.ds, request, exception, pm.hook)
        self._write_messages(request, response)
        return response

    def _redirect(self, request: Request, path: str) -> Response:
        location = self.ds.urls.path(path)
        if request.query_string:
            location += "?" + request.query_string
        return Response.redirect(location)


def no_credentials(request: Request) -> bool:
    """Whether no `actor_from_request` hook could find an actor: only the core ones are
    installed, and the request has neither of what they read (a cookie, an
    `Authorization` header). Most API clients send neither, and skip the hook call."""
    headers = request.headers
    if "cookie" in headers or "authorization" in headers:
        return False
    for impl in pm.hook.actor_from_request.get_hookimpls():
        if impl.function not in _CORE_ACTOR_HOOKS:
            return False
    return True


_CORE_ACTOR_HOOKS = frozenset(
    {actor_auth_cookie.actor_from_request, default_permissions.actor_from_signed_api_token}
)


def wants_cors(view: Any, request: Request) -> bool:
    """Whether the route's answers carry the CORS headers under `--cors`.

    `routes.py` marks each view with `cors`: True, or a function of the request (the
    database page sends them for its JSON and queries only).
    """
    policy = getattr(view, "cors", False)
    if callable(policy):
        return bool(policy(request))
    return bool(policy)


class StartupOnFirstRequest:
    """Awaits `datasette.invoke_startup()` (idempotent) before passing a scope on; answers
    `lifespan` scopes itself (`AsgiLifespan`), one frame fewer on every request."""

    def __init__(self, app: ASGIApp, datasette: Datasette):
        self.app = app
        self.ds = datasette
        self.lifespan = AsgiLifespan(app, on_startup=[datasette.invoke_startup])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.ds._startup_invoked:
            await self.ds.invoke_startup()
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class CatalogRefresh:
    """Refreshes the internal catalog before each request to a core page, then runs the
    request inside `time_queries()` (the footer reports the page's own queries, not the
    refresh's)."""

    # Static files do not need a current catalog (plugin routes and custom pages may
    # read it, so they get the refresh like core pages).
    _skip = ("/-/static/", "/-/static-plugins/")

    def __init__(self, app: ASGIApp, datasette: Datasette):
        self.app = app
        self.ds = datasette

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path", "").startswith(self._skip):
            with time_queries():
                await self.app(scope, receive, send)
            return
        self.ds.requests_started += 1
        # Schema versions read by the refresh vouch for schema caches for this request
        # only; reset after, since `datasette.client` runs apps in the caller's context.
        token = schema_checked.set(set())
        try:
            await self.ds.refresh_schemas()
            with time_queries():
                await self.app(scope, receive, send)
        finally:
            schema_checked.reset(token)


def build_app(datasette: Datasette) -> Any:
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
    app = StartupOnFirstRequest(app, datasette)
    for wrapper in pm.hook.asgi_wrapper(datasette=datasette):
        app = wrapper(app)
    return app

