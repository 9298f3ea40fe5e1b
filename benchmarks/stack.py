"""Run a server on a chosen uvicorn HTTP stack: `auto` (httptools + uvloop when
installed, which is what `datasette serve` gets) or `pure` (h11 + asyncio).

Two uses, both for benchmarks only:

    python benchmarks/stack.py pure -m datasette serve big.db ...   # datasette on h11
    python benchmarks/stack.py auto --hello --port 8001             # the bare ASGI app

The bare ASGI app answers every request with the same small JSON body and does nothing
else: served by the same uvicorn with the same options as `datasette serve`, its
requests/s is the ceiling any page can reach on this stack ("the bare-ASGI limit").
"""

from __future__ import annotations

import runpy
import sys

STACKS = {"auto": {}, "pure": {"http": "h11", "loop": "asyncio"}}
HELLO_BODY = b'{"ok": true, "rows": [[1, "hello"]]}'


async def hello_app(scope, receive, send) -> None:
    """A fixed JSON body for every HTTP request; lifespan events acknowledged."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            kind = message["type"].rsplit(".", 1)[-1]
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                return
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(HELLO_BODY)).encode())],
    })
    await send({"type": "http.response.body", "body": HELLO_BODY})


def force_stack(stack: str) -> None:
    """Make every `uvicorn.Config` built from now on use `stack`'s http and loop."""
    forced = STACKS[stack]
    if not forced:
        # Nothing to force, so uvicorn is left to the server, as `datasette serve` run
        # directly does (it imports uvicorn when the server starts): importing
        # it here first would add its ~20 ms to ours' measured start-up.
        return
    import uvicorn.config  # deferred: only a forced stack patches it
    original = uvicorn.config.Config.__init__

    def init(self, *args, **kwargs):
        kwargs.update(forced)
        original(self, *args, **kwargs)

    uvicorn.config.Config.__init__ = init


def main(argv: list[str]) -> None:
    stack, rest = argv[0], argv[1:]
    force_stack(stack)
    if rest[:1] == ["--hello"]:
        import uvicorn

        port = int(rest[rest.index("--port") + 1])
        # The options `datasette serve` passes (cli._uvicorn_options), access log included.
        uvicorn.run(hello_app, host="127.0.0.1", port=port, log_level="info",
                    lifespan="on", workers=1)
        return
    if rest[:1] != ["-m"]:
        raise SystemExit("usage: stack.py auto|pure (-m module args... | --hello --port N)")
    sys.argv = [rest[1], *rest[2:]]
    runpy.run_module(rest[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
