"""Timing of SQL queries and other work, shown with `?_trace=1` when `trace_debug` is on.

Code wraps work in `with trace("sql", database=..., sql=..., params=...)`. Nothing is
recorded unless a trace list is active for the current context: `capture_traces(list)`
activates one, and `AsgiTracer` does so for each request that asks for it. The active list
lives in a `ContextVar`, so tasks started inside a traced request (`asyncio.gather`,
`create_task`) inherit it, and concurrent requests never see each other's traces.

Independently of `?_trace=1`, `time_queries()` adds up how long each request's SQL took
(every `trace("sql", ...)` block) so the page footer can say so: `queries_ms()` reads the
sum. The app's catalog-refresh layer (`router.CatalogRefresh`) runs each request inside
it; `QueryTimer` is the same as a middleware of its own, for other ASGI apps.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
import traceback
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple

__all__ = [
    "AsgiTracer",
    "QueryTimer",
    "capture_traces",
    "get_task_id",
    "queries_ms",
    "time_queries",
    "trace",
    "trace_child_tasks",
]

TRACE_RESERVED_KEYS = frozenset({"type", "start", "end", "duration_ms", "traceback"})

# Bodies bigger than this are passed through untouched rather than buffered and rewritten.
MAX_TRACED_BODY_BYTES = 256 * 1024

Scope = Dict[str, Any]
Receive = Callable[[], Awaitable[Dict[str, Any]]]
Send = Callable[[Dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_active_traces: ContextVar[Optional[List[Dict[str, Any]]]] = ContextVar(
    "datasette_active_traces", default=None
)


class _QueryTotals:
    """The running sum of one request's SQL time; shared by the tasks the request starts."""

    __slots__ = ("count", "ms")

    def __init__(self) -> None:
        self.count = 0
        self.ms = 0.0


_query_totals: ContextVar[Optional[_QueryTotals]] = ContextVar(
    "datasette_query_totals", default=None
)


def get_task_id() -> Optional[int]:
    """An id for the running asyncio task, or None outside one."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return None
    return id(task) if task is not None else None


def _caller_stack() -> List[str]:
    # The few frames that led to the traced block, without this module and contextlib.
    frames = [
        frame
        for frame in traceback.extract_stack()
        if frame.filename != __file__ and not frame.filename.endswith("contextlib.py")
    ]
    return traceback.format_list(frames[-3:])


def trace(trace_type: str, **kwargs: Any) -> "_Trace":
    """Time the enclosed block and record it, with `kwargs`, if tracing is active.

    `with trace(...) as info:` gives `kwargs` so the block can add details it learns
    while running.
    """
    if not TRACE_RESERVED_KEYS.isdisjoint(kwargs):
        reserved = sorted(TRACE_RESERVED_KEYS.intersection(kwargs))
        raise AssertionError(f"These keys are reserved: {', '.join(reserved)}")
    return _Trace(trace_type, kwargs)


class _Trace:
    """What `trace()` returns. A class rather than a generator: every SQL query runs
    in one, and a generator-based context manager costs several times as much."""

    __slots__ = ("trace_type", "kwargs", "traces", "totals", "start")

    def __init__(self, trace_type: str, kwargs: Dict[str, Any]):
        self.trace_type = trace_type
        self.kwargs = kwargs

    def __enter__(self) -> Dict[str, Any]:
        self.traces = _active_traces.get()
        self.totals = _query_totals.get() if self.trace_type == "sql" else None
        self.start = time.perf_counter()
        return self.kwargs

    def __exit__(self, *exc_info: Any) -> None:
        traces, totals = self.traces, self.totals
        if traces is None and totals is None:
            return
        start = self.start
        end = time.perf_counter()
        if totals is not None:
            totals.count += 1
            totals.ms += (end - start) * 1000
        if traces is not None:
            traces.append(
                {
                    "type": self.trace_type,
                    "start": start,
                    "end": end,
                    "duration_ms": (end - start) * 1000,
                    "traceback": _caller_stack(),
                    **self.kwargs,
                }
            )


@contextmanager
def trace_child_tasks() -> Iterator[None]:
    """Let tasks started in the block record into the current trace list.

    Kept for plugins written against 1.0a7. Child tasks copy the current context when they
    are created, so they already share the active trace list; nothing else is needed.
    """
    yield


class time_queries:
    """Add up the SQL time of this context (and of tasks it starts) for `queries_ms()`.

    Queries that run concurrently are each counted in full: the sum says how much
    database work the page cost, which can exceed the wall time it waited. (A class, as
    it wraps every request: a generator-based context manager costs more.)
    """

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _query_totals.set(_QueryTotals())

    def __exit__(self, *exc_info: Any) -> None:
        _query_totals.reset(self._token)


def queries_ms() -> Optional[float]:
    """Milliseconds spent in SQL so far in the current `time_queries()` context.

    None outside one, or when no query has run yet.
    """
    totals = _query_totals.get()
    if totals is None or not totals.count:
        return None
    return totals.ms


@contextmanager
def capture_traces(tracer: List[Dict[str, Any]]) -> Iterator[None]:
    """Record every `trace()` in this context (and in tasks it starts) into `tracer`."""
    token = _active_traces.set(tracer)
    try:
        yield
    finally:
        _active_traces.reset(token)


def _header(headers: List[List[bytes]], name: bytes) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _set_header(headers: List[List[bytes]], name: bytes, value: str) -> List[List[bytes]]:
    # Replace in place so the other headers keep their order; append if it was absent.
    encoded = value.encode("latin-1")
    replaced = [[k, encoded if k.lower() == name else v] for k, v in headers]
    if not any(k.lower() == name for k, _ in headers):
        replaced.append([name, encoded])
    return replaced


def _trace_info(traces: List[Dict[str, Any]], request_start: float) -> Dict[str, Any]:
    return {
        "request_duration_ms": (time.perf_counter() - request_start) * 1000,
        "sum_trace_duration_ms": sum(t["duration_ms"] for t in traces),
        "num_traces": len(traces),
        "traces": traces,
    }


def _add_trace(
    body: bytes, content_type: str, path: str, info: Dict[str, Any]
) -> Optional[Tuple[bytes, str]]:
    """Return `(new_body, new_content_type)`, or None to leave the response alone."""
    dumped = json.dumps(info, indent=2, default=repr)
    if content_type.startswith("text/html"):
        index = body.rfind(b"</body>")
        if index == -1:
            return None
        pre = f"<pre>{html.escape(dumped)}</pre>".encode("utf-8")
        return body[:index] + pre + body[index:], content_type
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        data["_trace"] = info
        return json.dumps(data, default=repr).encode("utf-8"), content_type
    if path.endswith(".csv"):
        # A CSV view that did not wrap itself: show it in a page with the traces below.
        text = html.escape(body.decode("utf-8", "replace"))
        page = (
            "<html><head><title>CSV debug</title></head><body>"
            f'<textarea style="width: 90%; height: 70vh">{text}</textarea>'
            f"<pre>{html.escape(dumped)}</pre></body></html>"
        )
        return page.encode("utf-8"), "text/html; charset=utf-8"
    return None


class AsgiTracer:
    """ASGI middleware: for `?_trace=1` requests, add the collected traces to the response.

    JSON objects gain a `_trace` key, HTML gets a `<pre>` before `</body>`, CSV is shown in a
    `<textarea>` page. Bodies over 256 KB pass through unchanged.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query_parts = (scope.get("query_string") or b"").split(b"&")
        if scope.get("type") != "http" or b"_trace=1" not in query_parts:
            await self.app(scope, receive, send)
            return

        traces: List[Dict[str, Any]] = []
        request_start = time.perf_counter()
        start_message: Optional[Dict[str, Any]] = None
        chunks: List[bytes] = []
        size = 0
        passthrough = False

        async def traced_send(message: Dict[str, Any]) -> None:
            nonlocal start_message, size, passthrough
            if passthrough or message["type"] not in (
                "http.response.start",
                "http.response.body",
            ):
                await send(message)
                return
            if message["type"] == "http.response.start":
                start_message = message
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more_body = message.get("more_body", False)
            if size > MAX_TRACED_BODY_BYTES:
                passthrough = True
                await send(start_message)
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"".join(chunks),
                        "more_body": more_body,
                    }
                )
                return
            if more_body:
                return
            await self._send_traced(
                send, start_message, b"".join(chunks), scope, traces, request_start
            )

        with capture_traces(traces):
            await self.app(scope, receive, traced_send)

    async def _send_traced(
        self,
        send: Send,
        start_message: Dict[str, Any],
        body: bytes,
        scope: Scope,
        traces: List[Dict[str, Any]],
        start: float,
    ) -> None:
        headers = list(start_message.get("headers") or [])
        content_type = _header(headers, b"content-type")
        changed = _add_trace(
            body, content_type, scope.get("path", ""), _trace_info(traces, start)
        )
        if changed is not None:
            body, new_content_type = changed
            headers = _set_header(headers, b"content-type", new_content_type)
            headers = _set_header(headers, b"content-length", str(len(body)))
            start_message = {**start_message, "headers": headers}
        await send(start_message)
        await send({"type": "http.response.body", "body": body})


class QueryTimer:
    """ASGI middleware: every HTTP request runs inside `time_queries()`.

    Pages read the total with `queries_ms()` when they render (the footer's "Queries took").
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        with time_queries():
            await self.app(scope, receive, send)
