"""CSRF protection for browser forms: a signed `ds_csrftoken` cookie echoed by each form.

The token is a random string signed with the instance secret (namespace `csrftoken`).
Templates call `csrftoken()` (put in the scope by this middleware) to embed it; calling
it sets the cookie when it is missing and adds `Vary: Cookie`. A state-changing request
passes when the first of these holds: the `x-csrftoken` header matches; it carries no
cookies at all (so it cannot be riding on a browser session); a `skip_csrf` hook says so
(by default: a JSON body); it authenticates with `Authorization: Bearer`; its
urlencoded or multipart body has a matching `csrftoken` field. Anything else is a 403.
"""

from __future__ import annotations

import hmac
import secrets
import string
import urllib.parse
from typing import TYPE_CHECKING, Callable, Optional

from itsdangerous import BadData, URLSafeSerializer

from .signing import Signatures
from .utils.asgi import parse_cookies

if TYPE_CHECKING:
    from .utils.asgi import ASGIApp, Receive, Scope, Send

COOKIE_NAME = "ds_csrftoken"
FORM_FIELD = "csrftoken"
HEADER = b"x-csrftoken"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
_ALPHABET = string.ascii_letters + string.digits


class CsrfMiddleware:
    """ASGI middleware enforcing the rules above around the router."""

    def __init__(self, app: "ASGIApp", secret: str, skip_if_scope: Callable[[dict], bool]):
        self.app = app
        self.serializer = URLSafeSerializer(secret, "csrftoken")
        self.skip_if_scope = skip_if_scope
        self._secret = secret
        # Every browser request carries the cookie: its HMAC is checked once per value.
        self._signatures = Signatures()

    def _valid(self, token: Optional[str]) -> bool:
        if not token:
            return False
        try:
            self._signatures.unsign(self._secret, token, "csrftoken")
        except BadData:  # a bad signature, or (BadPayload) a signed payload that is not JSON
            return False
        return True

    def _cookie_token(self, cookie_header: Optional[bytes]) -> Optional[str]:
        """The validly signed token of the `Cookie` header, or None."""
        if not cookie_header:
            return None
        cookie_token = parse_cookies(cookie_header.decode("latin-1")).get(COOKIE_NAME)
        return cookie_token if self._valid(cookie_token) else None

    async def __call__(self, scope: "Scope", receive: "Receive", send: "Send") -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A safe method passes whatever it carries: only the token pages embed in their
        # forms is needed, so its headers are not gathered into a dict.
        safe = scope["method"] in SAFE_METHODS
        headers = {} if safe else dict(scope.get("headers") or [])
        cookie_token = self._cookie_token(_last_cookie_header(scope))
        token = _RequestToken(self.serializer, cookie_token)
        scope = dict(scope, csrftoken=token.csrftoken)
        send_with_cookie = token.wrap_send(send)
        if safe or self._exempt(scope, headers, cookie_token):
            await self.app(scope, receive, send_with_cookie)
            return
        body = await _read_body(receive)
        problem = _body_problem(headers, body, cookie_token)
        if problem:
            await _forbidden(send, problem)
        else:
            await self.app(scope, _replay(body), send_with_cookie)

    def _exempt(self, scope: "Scope", headers: dict, cookie_token: Optional[str]) -> bool:
        """Whether a state-changing request passes without looking at its body (the first
        four rules above)."""
        return (
            _matches(headers.get(HEADER, b"").decode("latin-1"), cookie_token)
            or b"cookie" not in headers
            or self.skip_if_scope(scope)
            or headers.get(b"authorization", b"").startswith(b"Bearer ")
        )


class _RequestToken:
    """One request's token: the valid cookie's, or a fresh one made when a page asks.

    Most requests never ask, so most never make one. When a page did ask, the response
    varies by cookie and, if the request had no valid cookie, sets one.
    """

    def __init__(self, serializer: URLSafeSerializer, cookie_token: Optional[str]):
        self.serializer = serializer
        self.had_cookie = cookie_token is not None
        self.token = cookie_token
        self.called = False

    def csrftoken(self) -> str:
        self.called = True
        if self.token is None:
            self.token = self.serializer.dumps(
                "".join(secrets.choice(_ALPHABET) for _ in range(16))
            )
        return self.token

    def wrap_send(self, send: "Send") -> "Send":
        async def wrapped_send(message: dict) -> None:
            if message["type"] == "http.response.start" and self.called:
                response_headers = list(message.get("headers") or [])
                response_headers.append((b"vary", b"Cookie"))
                if not self.had_cookie:
                    cookie = f"{COOKIE_NAME}={self.token}; Path=/"
                    response_headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = dict(message, headers=response_headers)
            await send(message)

        return wrapped_send


def _body_problem(headers: dict, body: bytes, cookie_token: Optional[str]) -> Optional[str]:
    """Why a form body fails the check (the message for the 403), or None if it passes."""
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        submitted = urllib.parse.parse_qs(body.decode("latin-1")).get(FORM_FIELD, [""])[0]
        if _matches(submitted, cookie_token):
            return None
        return "form-urlencoded POST field did not match cookie"
    if media_type == "multipart/form-data":
        outcome = _multipart_token(content_type, body)
        if outcome == "file-first":
            return (
                "File encountered before csrftoken - make sure csrftoken is first in the HTML"
            )
        if _matches(outcome, cookie_token):
            return None
        return "multipart/form-data POST field did not match cookie"
    return "Unknown content-type"


def _last_cookie_header(scope: "Scope") -> Optional[bytes]:
    """The `cookie` header's value (the last one, as a dict of the headers keeps)."""
    found = None
    for key, value in scope.get("headers") or ():
        if key == b"cookie":
            found = value
    return found


def _matches(submitted: Optional[str], expected: Optional[str]) -> bool:
    if not submitted or not expected:
        return False
    return hmac.compare_digest(submitted.encode(), expected.encode())


async def _read_body(receive: "Receive") -> bytes:
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


def _replay(body: bytes) -> Callable:
    sent = {"done": False}

    async def receive() -> dict:
        if not sent["done"]:
            sent["done"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _multipart_token(content_type: str, body: bytes) -> Optional[str]:
    """The `csrftoken` field's value, "file-first" when a file part comes before it."""
    boundary = None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        return None
    delimiter = b"--" + boundary.encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, value = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        disposition = ""
        for line in head.split(b"\r\n"):
            name, _, rest = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-disposition":
                disposition = rest
        params = {}
        for item in disposition.split(";")[1:]:
            key, _, val = item.strip().partition("=")
            params[key.lower()] = val.strip('"')
        if "filename" in params:
            return "file-first"
        if params.get("name") == FORM_FIELD:
            return value.rstrip(b"\r\n").decode("latin-1")
    return None


async def _forbidden(send: "Send", message: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": message.encode("utf-8")})
