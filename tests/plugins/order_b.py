"""Test plugin for call order: loaded together with `order_a.py` from one plugins dir.

Files are registered in name order, and pluggy calls the last registered first, so
`order_b.py` is called before `order_a.py`.
"""

from datasette import hookimpl

NAME = "order_b"


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def wrapped(scope, receive, send):
            if scope["type"] == "http":
                scope = dict(scope)
                scope["hooks_wrap_order"] = list(scope.get("hooks_wrap_order", [])) + [NAME]

            async def wrapped_send(event):
                if event["type"] == "http.response.start":
                    event = dict(event)
                    event["headers"] = list(event.get("headers") or []) + [(b"x-order", NAME.encode())]
                await send(event)

            await app(scope, receive, wrapped_send)

        return wrapped

    return wrap


@hookimpl
def actor_from_request(request):
    if request.headers.get("x-order-actor"):
        return {"id": NAME}
    return None


@hookimpl
def permission_allowed(actor, action, resource):
    if not actor or actor.get("id") != "order-tester" or action != "view-table":
        return None
    if resource == ("sample", "tags"):
        return False
    if resource == ("sample", "authors"):
        return True
    return None
