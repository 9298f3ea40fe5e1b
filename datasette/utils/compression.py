"""Compressed responses: ASGI middleware that gzips text-like bodies the client accepts.

The `datasette-gzip` plugin's job done in core. A response is compressed when all hold:

- the request's `Accept-Encoding` allows `gzip` (a `q=0` refuses it);
- its `Content-Type` is text-like (HTML, JSON, CSV, JavaScript, CSS, XML, SVG, ...);
- it is not already encoded (`Content-Encoding` set), partial (206 / `Content-Range`),
  bodiless (HEAD, 1xx, 204, 304) or smaller than `MINIMUM_SIZE` bytes.

Streaming responses (more than one body message, such as `.csv?_stream=1`) are
compressed as they go: once `FLUSH_EVERY` bytes have gone in since the last flush, the
compressor is flushed with `Z_SYNC_FLUSH`, so a client sees rows while the export runs.
Flushing every message instead would cost a few bytes per CSV row and halve the ratio. Every compressible
response gets `Vary: Accept-Encoding`, compressed or not, so shared caches keep the two
representations apart.
"""

from __future__ import annotations

import functools
import zlib
from typing import Any, Awaitable, Callable, Optional

# Below this, gzip's ~20-byte header and the CPU cost outweigh what is saved.
MINIMUM_SIZE = 500
COMPRESSION_LEVEL = 6
FLUSH_EVERY = 16 * 1024

_COMPRESSIBLE_PREFIXES = ("text/",)
_COMPRESSIBLE_TYPES = {
    "application/json",
    "application/javascript",
    "application/xml",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/geo+json",
    "application/ld+json",
    "application/manifest+json",
    "image/svg+xml",
}
_NO_BODY_STATUSES = {204, 205, 304}

Send = Callable[[dict], Awaitable[None]]


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an `Accept-Encoding` header value allows gzip (explicitly or through `*`)."""
    allowed = {}
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        allowed[coding] = quality > 0
    if "gzip" in allowed:
        return allowed["gzip"]
    if "x-gzip" in allowed:
        return allowed["x-gzip"]
    return allowed.get("*", False)


def is_compressible_type(content_type: str) -> bool:
    """Whether a `Content-Type` value names a text-like body worth compressing."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type.startswith(_COMPRESSIBLE_PREFIXES):
        return True
    return media_type in _COMPRESSIBLE_TYPES or media_type.endswith("+json")


def enabled(value: Any) -> bool:
    """The `gzip_responses` setting as a bool (`-s settings.X off` arrives as a string)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "off", "false", "no", "")
    return value is None or bool(value)


def _header(headers: list, name: bytes) -> Optional[bytes]:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _with_vary(headers: list) -> list:
    """`headers` with `Accept-Encoding` added to `Vary` (once, merged into an existing one)."""
    out = []
    merged = False
    for key, value in headers:
        if key.lower() == b"vary" and not merged:
            tokens = [t.strip().lower() for t in value.split(b",")]
            if b"accept-encoding" not in tokens and b"*" not in tokens:
                value = value + b", Accept-Encoding"
            merged = True
        out.append((key, value))
    if not merged:
        out.append((b"vary", b"Accept-Encoding"))
    return out


class GzipMiddleware:
    """Wraps an ASGI app so eligible HTTP responses are gzip-encoded.

    `minimum_size` is the smallest body, in bytes, worth compressing; a streaming
    response is always compressed once it has more than one body message.
    """

    def __init__(self, app: Any, minimum_size: int = MINIMUM_SIZE, level: int = COMPRESSION_LEVEL):
        self.app = app
        self.minimum_size = minimum_size
        self.level = level

    async def __call__(self, scope: dict, receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accept = _header(scope.get("headers") or [], b"accept-encoding")
        if (
            not accept
            or scope.get("method") == "HEAD"
            or not accepts_gzip(accept.decode("latin-1"))
        ):
            # Nothing will be compressed: the response passes as it is, plus `Vary`.
            await self.app(scope, receive, _adding_vary(send))
            return
        responder = _GzipResponder(
            send, minimum_size=self.minimum_size, level=self.level
        )
        await self.app(scope, receive, responder.send)


def _adding_vary(send: Send) -> Send:
    """`send`, adding `Vary: Accept-Encoding` where a compressible response could have
    been compressed: `_GzipResponder`'s passthrough without its per-response state."""

    async def send_with_vary(message: dict) -> None:
        if message["type"] == "http.response.start":
            message = _vary_added(message)
        await send(message)

    return send_with_vary


def _vary_added(start: dict) -> dict:
    """`start` with `Vary: Accept-Encoding` if `_may_compress(start)`: every response of
    a client that does not accept gzip comes this way, so the headers are copied only to
    merge into an existing `Vary`."""
    if not _may_compress(start):
        return start
    headers = start.get("headers") or []
    if _header(headers, b"vary") is not None:
        return {**start, "headers": _with_vary(list(headers))}
    return {**start, "headers": [*headers, (b"vary", b"Accept-Encoding")]}


def _may_compress(start: dict) -> bool:
    """Whether a response with this `http.response.start` is compressed for a client
    that accepts gzip (size and encoding aside): text-like, not informational, not partial."""
    status = start.get("status", 200)
    if status < 200 or status == 206:
        return False
    return _compressible(_header(start.get("headers") or [], b"content-type") or b"")


@functools.lru_cache(maxsize=64)
def _compressible(content_type: bytes) -> bool:
    # A server sends a handful of distinct content types: each is parsed once.
    return is_compressible_type(content_type.decode("latin-1"))


class _GzipResponder:
    """Per-response state: holds `http.response.start` until the first body says what to do."""

    def __init__(self, send: Send, minimum_size: int, level: int):
        self._send = send
        self._minimum_size = minimum_size
        self._level = level
        self._start: Optional[dict] = None
        self._mode = "undecided"  # then "passthrough" or "gzip"
        self._compressor: Any = None
        self._unflushed = 0

    async def send(self, message: dict) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await self._on_start(message)
        elif kind == "http.response.body" and self._mode == "undecided":
            await self._on_first_body(message)
        elif kind == "http.response.body" and self._mode == "gzip":
            await self._send_compressed(message)
        else:
            await self._send(message)

    async def _on_start(self, message: dict) -> None:
        headers = list(message.get("headers") or [])
        status = message.get("status", 200)
        if not _may_compress(message):
            self._mode = "passthrough"
            await self._send(message)
            return
        headers = _with_vary(headers)
        message = {**message, "headers": headers}
        already_encoded = _header(headers, b"content-encoding") is not None
        partial = _header(headers, b"content-range") is not None
        length = _header(headers, b"content-length")
        too_small = length is not None and length.isdigit() and int(length) < self._minimum_size
        if already_encoded or partial or too_small or status in _NO_BODY_STATUSES:
            self._mode = "passthrough"
            await self._send(message)
            return
        self._start = message

    async def _on_first_body(self, message: dict) -> None:
        body = message.get("body", b"")
        more_body = message.get("more_body", False)
        start = self._start
        assert start is not None
        if not more_body and len(body) < self._minimum_size:
            self._mode = "passthrough"
            await self._send(start)
            await self._send(message)
            return
        self._mode = "gzip"
        # wbits 16 + MAX_WBITS writes the gzip container (header and CRC trailer).
        self._compressor = zlib.compressobj(self._level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        headers = [
            (k, v)
            for k, v in start["headers"]
            if k.lower() not in (b"content-length", b"content-encoding")
        ]
        headers.append((b"content-encoding", b"gzip"))
        if not more_body:
            data = self._compressor.compress(body) + self._compressor.flush(zlib.Z_FINISH)
            headers.append((b"content-length", str(len(data)).encode()))
            await self._send({**start, "headers": headers})
            await self._send({"type": "http.response.body", "body": data, "more_body": False})
            return
        await self._send({**start, "headers": headers})
        await self._send_compressed(message)

    async def _send_compressed(self, message: dict) -> None:
        body = message.get("body", b"")
        more_body = message.get("more_body", False)
        data = self._compressor.compress(body)
        self._unflushed += len(body)
        if not more_body:
            data += self._compressor.flush(zlib.Z_FINISH)
        elif self._unflushed >= FLUSH_EVERY:
            data += self._compressor.flush(zlib.Z_SYNC_FLUSH)
            self._unflushed = 0
        if data or not more_body:
            await self._send({"type": "http.response.body", "body": data, "more_body": more_body})
