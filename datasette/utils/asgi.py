"""The ASGI layer: `Request`, `Response` and the small `send` helpers the views use.

A `Request` is a thin wrapper over an ASGI scope whose parsed parts (headers, cookies,
query arguments) are computed on first use and cached. A `Response` holds a body, a status
and headers until `await response.asgi_send(send)` writes it out. The remaining classes
(`AsgiStream`, `AsgiFileDownload`) share that `asgi_send(send)` shape, so the router can
send whatever a view returns the same way.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import os
import string
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Union
from urllib.parse import parse_qs, parse_qsl, quote, urlunparse

# Re-exported: the contract makes these importable from here.
from ..exceptions import (  # noqa: F401
    Base400,
    BadRequest,
    DatabaseNotFound,
    Forbidden,
    NotFound,
    RowNotFound,
    TableNotFound,
)
from .params import MultiParams  # noqa: F401

__all__ = [
    "AsgiFileDownload",
    "AsgiLifespan",
    "AsgiRunOnFirstRequest",
    "AsgiStream",
    "AsgiWriter",
    "Base400",
    "BadRequest",
    "DatabaseNotFound",
    "Forbidden",
    "MultiParams",
    "NotFound",
    "Request",
    "Response",
    "RowNotFound",
    "SAMESITE_VALUES",
    "TableNotFound",
    "asgi_send",
    "asgi_send_file",
    "asgi_send_html",
    "asgi_send_json",
    "asgi_send_redirect",
    "asgi_start",
    "asgi_static",
]

Scope = Dict[str, Any]
Message = Dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Body = Union[str, bytes, None]

SAMESITE_VALUES = ("strict", "lax", "none")

HTML_CONTENT_TYPE = "text/html; charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


def _encode_body(body: Body) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    return body


def _raw_headers(headers: Dict[str, Any], content_type: str) -> List[List[bytes]]:
    # A lower-case "content-type" in `headers` is replaced in place, as a dict update would.
    raw = []
    replaced = False
    for key, value in headers.items():
        if key == "content-type":
            value, replaced = content_type, True
        # Names and values may be any type (an int Content-Length, say): sent as text.
        raw.append([
            (key if type(key) is str else str(key)).encode("utf-8"),
            (value if type(value) is str else str(value)).encode("utf-8"),
        ])
    if not replaced:
        raw.append([b"content-type", content_type.encode("utf-8")])
    return raw


def parse_cookies(header: Optional[str]) -> Dict[str, str]:
    """`{name: value}` of a `Cookie` header; {} when it is missing or malformed."""
    if not header:
        return {}
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(header)
    except CookieError:
        # A malformed Cookie header from a client must not turn into a 500.
        return {}
    return {key: morsel.value for key, morsel in cookie.items()}


def _encode_raw_path(path: str) -> bytes:
    # Servers hand over raw paths and query strings as the bytes on the wire, where a
    # client has already percent-encoded anything outside ASCII (as UTF-8); do the same.
    return quote(path, safe=string.punctuation + " ").encode("ascii")


class Request:
    """An incoming HTTP request, wrapping an ASGI `scope` and its `receive` callable."""

    def __init__(self, scope: Scope, receive: Optional[Receive]):
        self._scope = scope
        self._cache: Dict[str, Any] = {}
        self.receive = receive

    @property
    def scope(self) -> Scope:
        return self._scope

    @scope.setter
    def scope(self, scope: Scope) -> None:
        # The router swaps in a routed scope; anything parsed from the old one is stale.
        self._scope = scope
        self._cache: Dict[str, Any] = {}

    def with_scope(self, scope: Scope) -> "Request":
        """A request for `scope`, a copy of this one's with other keys added (the actor,
        the route): what was parsed from the same headers and query string is reused."""
        request = Request(scope, self.receive)
        current = self._scope
        if scope.get("headers") is current.get("headers") and scope.get(
            "query_string"
        ) == current.get("query_string"):
            request._cache = self._cache
        return request

    def __repr__(self) -> str:
        return f'<asgi.Request method="{self.method}" url="{self.url}">'

    @property
    def method(self) -> str:
        return self._scope["method"]

    @property
    def scheme(self) -> str:
        return self._scope.get("scheme") or "http"

    @property
    def headers(self) -> Dict[str, str]:
        """Header names lower-cased; when a header repeats, the last value wins."""
        cache = self._cache
        headers = cache.get("headers")
        if headers is None:
            headers = cache["headers"] = {
                key.decode("latin-1").lower(): value.decode("latin-1")
                for key, value in self._scope.get("headers") or []
            }
        return headers

    @property
    def host(self) -> str:
        return self.headers.get("host") or "localhost"

    @property
    def path(self) -> str:
        raw_path = self._scope.get("raw_path")
        if raw_path is not None:
            return raw_path.decode("latin-1").partition("?")[0]
        return self._scope["path"]

    @property
    def query_string(self) -> str:
        return (self._scope.get("query_string") or b"").decode("latin-1")

    @property
    def full_path(self) -> str:
        query_string = self.query_string
        return f"{self.path}?{query_string}" if query_string else self.path

    @property
    def url(self) -> str:
        return urlunparse(
            (self.scheme, self.host, self.path, None, self.query_string, None)
        )

    @property
    def args(self) -> MultiParams:
        """The query string as a `MultiParams`; blank values are kept."""
        cache = self._cache
        if "args" not in cache:
            query_string = self.query_string
            cache["args"] = MultiParams(
                parse_qs(query_string, keep_blank_values=True) if query_string else {}
            )
        return cache["args"]

    @property
    def url_vars(self) -> Dict[str, Any]:
        return (self._scope.get("url_route") or {}).get("kwargs") or {}

    @property
    def cookies(self) -> Dict[str, str]:
        cache = self._cache
        cookies = cache.get("cookies")
        if cookies is None:
            cookies = cache["cookies"] = parse_cookies(self.headers.get("cookie"))
        return cookies

    @property
    def actor(self) -> Optional[dict]:
        return self._scope.get("actor")

    async def post_body(self) -> bytes:
        """The whole request body, read from `http.request` messages."""
        if self.receive is None:
            return b""
        chunks = []
        more_body = True
        while more_body:
            message = await self.receive()
            if message.get("type") == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            more_body = message.get("more_body", False)
        return b"".join(chunks)

    async def post_vars(self) -> Dict[str, str]:
        """The form-encoded body as a dict; for a repeated key the last value wins."""
        body = await self.post_body()
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))

    @classmethod
    def fake(
        cls,
        path_with_query_string: str,
        method: str = "GET",
        scheme: str = "http",
        url_vars: Optional[Dict[str, Any]] = None,
    ) -> "Request":
        """A request for `path_with_query_string` without a server, for tests and internal calls."""
        path, _, query_string = path_with_query_string.partition("?")
        scope: Scope = {
            "http_version": "1.1",
            "method": method,
            "path": path,
            "raw_path": _encode_raw_path(path_with_query_string),
            "query_string": _encode_raw_path(query_string),
            "scheme": scheme,
            "type": "http",
        }
        if url_vars:
            scope["url_route"] = {"kwargs": url_vars}
        return cls(scope, None)


class Response:
    """A complete HTTP response: body, status, headers, content type and cookies."""

    def __init__(
        self,
        body: Body = None,
        status: int = 200,
        headers: Optional[Dict[str, str]] = None,
        content_type: str = "text/plain",
    ):
        self.body = body
        self.status = status
        self.headers = headers or {}
        self.content_type = content_type
        self._set_cookie_headers: List[str] = []

    def __repr__(self) -> str:
        return f"<Response status={self.status} content_type={self.content_type!r}>"

    async def asgi_send(self, send: Send) -> None:
        """Send headers (then `content-type`, then one `set-cookie` per cookie) and the body."""
        headers = _raw_headers(self.headers, self.content_type)
        for cookie in self._set_cookie_headers:
            headers.append([b"set-cookie", cookie.encode("utf-8")])
        await send(
            {"type": "http.response.start", "status": self.status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": _encode_body(self.body)})

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: Optional[int] = None,
        expires: Optional[Union[int, str]] = None,
        path: Optional[str] = "/",
        domain: Optional[str] = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str = "lax",
    ) -> None:
        """Add a `Set-Cookie` header; calls accumulate. `samesite` is strict, lax or none."""
        assert samesite in SAMESITE_VALUES, "samesite should be one of {}".format(
            SAMESITE_VALUES
        )
        cookie = SimpleCookie()
        cookie[key] = value
        attributes = {
            "max-age": max_age,
            "expires": expires,
            "path": path,
            "domain": domain,
            "samesite": samesite,
        }
        for name, attribute_value in attributes.items():
            if attribute_value is not None:
                cookie[key][name] = attribute_value
        if secure:
            cookie[key]["secure"] = True
        if httponly:
            cookie[key]["httponly"] = True
        self._set_cookie_headers.append(cookie.output(header="").strip())

    @classmethod
    def html(
        cls, body: str, status: int = 200, headers: Optional[Dict[str, str]] = None
    ) -> "Response":
        return cls(body, status=status, headers=headers, content_type=HTML_CONTENT_TYPE)

    @classmethod
    def text(
        cls, body: Any, status: int = 200, headers: Optional[Dict[str, str]] = None
    ) -> "Response":
        return cls(
            str(body), status=status, headers=headers, content_type=TEXT_CONTENT_TYPE
        )

    @classmethod
    def json(
        cls,
        body: Any,
        status: int = 200,
        headers: Optional[Dict[str, str]] = None,
        default: Optional[Callable[[Any], Any]] = None,
    ) -> "Response":
        return cls(
            json.dumps(body, default=default),
            status=status,
            headers=headers,
            content_type=JSON_CONTENT_TYPE,
        )

    @classmethod
    def redirect(
        cls, path: str, status: int = 302, headers: Optional[Dict[str, str]] = None
    ) -> "Response":
        """An empty-bodied redirect; the content type stays `text/plain`, as in 1.0a7."""
        headers = dict(headers or {})
        headers["Location"] = path
        return cls("", status=status, headers=headers)


async def asgi_start(
    send: Send,
    status: int,
    headers: Optional[Dict[str, str]] = None,
    content_type: str = "text/plain",
) -> None:
    """Send `http.response.start` with `headers` followed by `content-type`."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": _raw_headers(headers or {}, content_type),
        }
    )


async def asgi_send(
    send: Send,
    content: Body,
    status: int,
    headers: Optional[Dict[str, str]] = None,
    content_type: str = "text/plain",
) -> None:
    """Send a complete response in one body message."""
    await asgi_start(send, status, headers, content_type)
    await send({"type": "http.response.body", "body": _encode_body(content)})


async def asgi_send_json(
    send: Send, info: Any, status: int = 200, headers: Optional[Dict[str, str]] = None
) -> None:
    await asgi_send(send, json.dumps(info), status, headers, JSON_CONTENT_TYPE)


async def asgi_send_html(
    send: Send, html: str, status: int = 200, headers: Optional[Dict[str, str]] = None
) -> None:
    await asgi_send(send, html, status, headers, HTML_CONTENT_TYPE)


async def asgi_send_redirect(send: Send, location: str, status: int = 302) -> None:
    await asgi_send(send, "", status, {"Location": location}, HTML_CONTENT_TYPE)


async def asgi_send_file(
    send: Send,
    filepath: Union[str, "os.PathLike[str]"],
    filename: Optional[str] = None,
    content_type: Optional[str] = None,
    chunk_size: int = 4096,
    headers: Optional[Dict[str, str]] = None,
) -> None:
    """Stream a file in `chunk_size` pieces; file I/O runs in a thread to keep the loop free.

    Raises `FileNotFoundError` (before anything is sent) when the file is missing.
    """
    headers = dict(headers or {})
    if filename:
        headers["content-disposition"] = f'attachment; filename="{filename}"'
    content_type = (
        content_type or mimetypes.guess_type(str(filepath))[0] or "text/plain"
    )
    fp = await asyncio.to_thread(open, filepath, "rb")
    try:
        size = (await asyncio.to_thread(os.fstat, fp.fileno())).st_size
        headers["content-length"] = str(size)
        await asgi_start(send, 200, headers, content_type)
        while True:
            chunk = await asyncio.to_thread(fp.read, chunk_size)
            more_body = len(chunk) == chunk_size
            await send(
                {"type": "http.response.body", "body": chunk, "more_body": more_body}
            )
            if not more_body:
                break
    finally:
        await asyncio.to_thread(fp.close)


def asgi_static(
    root_path: Union[str, "os.PathLike[str]"],
    chunk_size: int = 4096,
    headers: Optional[Dict[str, str]] = None,
    content_type: Optional[str] = None,
) -> Callable[[Request, Send], Awaitable[None]]:
    """A view serving files below `root_path`; the file is the `path` URL variable."""
    root = Path(root_path).resolve()

    async def static_view(request: Request, send: Send) -> None:
        relative = request.url_vars.get("path", "")
        try:
            full_path = (root / relative).resolve()
        except (OSError, ValueError, RuntimeError):
            await asgi_send(send, "404: File not found", 404)
            return
        # Checked before is_dir() so nothing is revealed about paths outside the root.
        if full_path != root and root not in full_path.parents:
            await asgi_send(send, "404: Path not inside root path", 404)
            return
        try:
            is_dir = full_path.is_dir()
        except (OSError, ValueError):
            is_dir = False
        if is_dir:
            await asgi_send(send, "403: Directory listing is not allowed", 403)
            return
        try:
            await asgi_send_file(
                send,
                full_path,
                chunk_size=chunk_size,
                headers=headers,
                content_type=content_type,
            )
        except (FileNotFoundError, NotADirectoryError, ValueError):
            await asgi_send(send, "404: File not found", 404)

    return static_view


class AsgiWriter:
    """Handed to an `AsgiStream` function: each `write()` sends one body chunk."""

    def __init__(self, send: Send):
        self.send = send

    async def write(self, chunk: Union[str, bytes]) -> None:
        await self.send(
            {
                "type": "http.response.body",
                "body": _encode_body(chunk),
                "more_body": True,
            }
        )


class AsgiStream:
    """A streamed response: `await stream_fn(writer)` produces the body."""

    def __init__(
        self,
        stream_fn: Callable[[AsgiWriter], Awaitable[Any]],
        status: int = 200,
        headers: Optional[Dict[str, str]] = None,
        content_type: str = "text/plain",
    ):
        self.stream_fn = stream_fn
        self.status = status
        self.headers = headers or {}
        self.content_type = content_type

    async def asgi_send(self, send: Send) -> None:
        await asgi_start(send, self.status, self.headers, self.content_type)
        await self.stream_fn(AsgiWriter(send))
        await send({"type": "http.response.body", "body": b""})


class AsgiFileDownload:
    """A response that streams a file from disk, optionally as a named attachment."""

    def __init__(
        self,
        filepath: Union[str, "os.PathLike[str]"],
        filename: Optional[str] = None,
        content_type: str = "application/octet-stream",
        headers: Optional[Dict[str, str]] = None,
    ):
        self.filepath = filepath
        self.filename = filename
        self.content_type = content_type
        self.headers = headers or {}

    async def asgi_send(self, send: Send) -> None:
        await asgi_send_file(
            send,
            self.filepath,
            filename=self.filename,
            content_type=self.content_type,
            headers=self.headers,
        )


Hook = Callable[[], Any]


def _as_hook_list(hooks: Union[None, Hook, Iterable[Hook]]) -> List[Hook]:
    if hooks is None:
        return []
    if callable(hooks):
        return [hooks]
    return list(hooks)


async def _run_hooks(hooks: List[Hook]) -> None:
    for hook in hooks:
        result = hook()
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            await result


class AsgiLifespan:
    """Answers ASGI `lifespan` messages by running the hooks; other scopes go to `app`."""

    def __init__(
        self,
        app: ASGIApp,
        on_startup: Union[None, Hook, Iterable[Hook]] = None,
        on_shutdown: Union[None, Hook, Iterable[Hook]] = None,
    ):
        self.app = app
        self.on_startup = _as_hook_list(on_startup)
        self.on_shutdown = _as_hook_list(on_shutdown)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await _run_hooks(self.on_startup)
                except Exception as ex:
                    # The server reports this and refuses to start.
                    await send({"type": "lifespan.startup.failed", "message": str(ex)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _run_hooks(self.on_shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return


class AsgiRunOnFirstRequest:
    """Runs the `on_startup` hooks once, before the first scope reaches `asgi`."""

    def __init__(self, asgi: ASGIApp, on_startup: List[Hook]):
        self.asgi = asgi
        self.on_startup = _as_hook_list(on_startup)
        self._started = False
        # Concurrent first requests must all wait for start-up, not race past it.
        self._lock = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._started:
            async with self._lock:
                if not self._started:
                    await _run_hooks(self.on_startup)
                    self._started = True
        await self.asgi(scope, receive, send)
