"""Test plugin: hooks that act on requests.

actor_from_request, asgi_wrapper, register_routes, skip_csrf, handle_exception, forbidden.
Loaded by tests through `Datasette(plugins_dir=...)` (module name `hooks_request.py`).
Each hook only acts on requests that ask for it (a header, a path, a query argument), so
loading this file leaves every other page as it was.
"""

from datasette import Forbidden, NotFound, Response, hookimpl


class HooksError(Exception):
    """Raised by `/-/hooks/error/<kind>`; `kind` picks which `handle_exception` answers."""


# -- actor_from_request (AMM: value, async function) ------------------------------------


@hookimpl
def actor_from_request(datasette, request):
    value = request.headers.get("x-hooks-actor")
    if value:
        return {"id": value, "via": "sync"}
    return None


@hookimpl(specname="actor_from_request")
def actor_from_request_async(request):
    value = request.headers.get("x-hooks-async-actor")
    if not value:
        return None

    async def inner():
        return {"id": value, "via": "async"}

    return inner


@hookimpl(specname="actor_from_request", trylast=True)
def actor_from_request_last(request):
    # Runs after the default ds_actor / dstok readers: only used when they found nobody.
    value = request.headers.get("x-hooks-last-actor")
    if value:
        return {"id": value, "via": "last"}
    return None


# -- asgi_wrapper (not AMM: returns the wrapping function) -------------------------------


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def wrapped(scope, receive, send):
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            scope = dict(scope)
            scope["hooks_wrap_order"] = list(scope.get("hooks_wrap_order", [])) + ["hooks_request"]
            headers = dict(scope.get("headers") or [])
            scope_actor = headers.get(b"x-hooks-scope-actor")
            if scope_actor:
                scope["actor"] = {"id": scope_actor.decode("latin-1"), "via": "scope"}

            async def wrapped_send(event):
                if event["type"] == "http.response.start":
                    event = dict(event)
                    event["headers"] = list(event.get("headers") or []) + [
                        (b"x-hooks-wrapper", b"hooks_request")
                    ]
                await send(event)

            await app(scope, receive, wrapped_send)

        return wrapped

    return wrap


# -- register_routes ----------------------------------------------------------------------


async def hello(request):
    return Response.json(
        {"name": request.url_vars["name"], "actor": request.actor, "url_vars": request.url_vars}
    )


def sync_view(request):
    return Response.text("sync view " + request.args.get("q", ""))


class ClassView:
    """A class view: instantiated per request, its `__call__` gets injected arguments."""

    instances = 0

    def __init__(self):
        ClassView.instances += 1
        self.number = ClassView.instances

    async def __call__(self, request, datasette):
        return Response.json(
            {
                "class": type(self).__name__,
                "instance": self.number,
                "has_datasette": datasette is not None,
                "path": request.path,
            }
        )


async def inject(datasette, request, scope, send, receive):
    return Response.json(
        {
            "datasette": type(datasette).__name__,
            "request": type(request).__name__,
            "scope_type": scope["type"],
            "send": callable(send),
            "receive": callable(receive),
        }
    )


async def inject_some(scope):
    return Response.text("only scope: " + scope["path"])


async def bad_args(request, nonsense):
    # `nonsense` is not one of the injectable names: calling this view is an error.
    return Response.text("never")


async def raw_send(send):
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [(b"content-type", b"text/plain"), (b"x-hooks-raw", b"1")],
        }
    )
    await send({"type": "http.response.body", "body": b"sent directly"})
    return None


async def post_view(request):
    body = await request.post_vars()
    return Response.text("posted " + body.get("value", ""))


async def wrap_order(scope):
    return Response.json({"order": scope.get("hooks_wrap_order", [])})


async def forbidden_view(request):
    raise Forbidden("hooks says no")


async def not_found_view(request):
    raise NotFound("hooks: nothing here")


async def error_view(request):
    raise HooksError(request.url_vars["kind"])


async def hooks_database(request):
    return Response.text("plugin route for " + request.url_vars["database"])


@hookimpl
def register_routes(datasette):
    return [
        (r"^/-/hooks/hello/(?P<name>[^/]+)$", hello),
        (r"^/-/hooks/sync$", sync_view),
        (r"^/-/hooks/class$", ClassView),
        (r"^/-/hooks/inject$", inject),
        (r"^/-/hooks/inject-some$", inject_some),
        (r"^/-/hooks/send$", raw_send),
        (r"^/-/hooks/bad-args$", bad_args),
        (r"^/-/hooks/post$", post_view),
        (r"^/-/hooks/post-nocsrf$", post_view),
        (r"^/-/hooks/wrap-order$", wrap_order),
        (r"^/-/hooks/forbidden$", forbidden_view),
        (r"^/-/hooks/notfound$", not_found_view),
        (r"^/-/hooks/error/(?P<kind>\w+)$", error_view),
        # Would be a (missing) database for the core route: plugin routes come first.
        (r"^/(?P<database>hooksdb)$", hooks_database),
    ]


# -- skip_csrf (not AMM: sync bool) -------------------------------------------------------


@hookimpl
def skip_csrf(datasette, scope):
    return scope["path"] == "/-/hooks/post-nocsrf"


# -- handle_exception (AMM) ---------------------------------------------------------------


@hookimpl(specname="handle_exception", tryfirst=True)
def handle_exception_first(exception):
    # Always no opinion: the next implementation must still be asked.
    return None


@hookimpl
def handle_exception(datasette, request, exception):
    if isinstance(exception, HooksError) and exception.args[0] == "sync":
        return Response.text("handled sync: " + request.path, status=418)
    if isinstance(exception, NotFound) and request.args.get("_hooks_404"):
        return Response.text("hooks 404: " + str(exception), status=404)
    return None


@hookimpl(specname="handle_exception")
def handle_exception_async(request, exception):
    if not (isinstance(exception, HooksError) and exception.args[0] == "async"):
        return None

    async def inner():
        return Response.json({"handled": "async", "path": request.path}, status=409)

    return inner


# -- forbidden (AMM) ----------------------------------------------------------------------


@hookimpl
def forbidden(datasette, request, message):
    if request.args.get("_hooks_forbidden") == "sync":
        return Response.text("sync forbidden: " + message, status=403)
    return None


@hookimpl(specname="forbidden")
async def forbidden_async(request, message):
    # An async def hook: pluggy hands core a coroutine, which core awaits.
    if request.args.get("_hooks_forbidden") == "async":
        return Response.redirect("/-/hooks/hello/denied?message=" + message.replace(" ", "+"))
    return None

