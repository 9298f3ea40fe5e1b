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
from http.cookies import SimpleCookie
from typing import Any, Callable, Optional

from itsdangerous import BadSignature, URLSafeSerializer

COOKIE_NAME = "ds_csrftoken"
FORM_FIELD = "csrftoken"
HEADER = b"x-csrftoken"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
_ALPHABET = string.ascii_letters + string.digits


class CsrfMiddleware:
    """ASGI middleware enforcing the rules above around the router."""

    def __init__(self, app: Any, secret: str, skip_if_scope: Callable[[dict], bool]):
        self.app = app
        self.serializer = URLSafeSerializer(secret, "csrftoken")
        self.skip_if_scope = skip_if_scope

    def _valid(self, token: Optional[str]) -> bool:
        if not token:
            return False
        try:
            self.serializer.loads(token)
        except BadSignature:
            return False
        return True

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        cookies = _cookies(headers.get(b"cookie", b"").decode("latin-1"))
        cookie_token = cookies.get(COOKIE_NAME)
        has_valid_cookie = self._valid(cookie_token)
        # A fresh token is only made when a page asks for one (most requests never do).
        used: dict = {"called": False, "token": cookie_token if has_valid_cookie else None}

        def csrftoken() -> str:
            used["called"] = True
            if used["token"] is None:
                used["token"] = self.serializer.dumps(
                    "".join(secrets.choice(_ALPHABET) for _ in range(16))
                )
            return used["token"]

        scope = dict(scope, csrftoken=csrftoken)

        async def wrapped_send(message: dict) -> None:
            if message["type"] == "http.response.start" and used["called"]:
                response_headers = list(message.get("headers") or [])
                response_headers.append((b"vary", b"Cookie"))
                if not has_valid_cookie:
                    response_headers.append(
                        (
                            b"set-cookie",
                            f"{COOKIE_NAME}={used['token']}; Path=/".encode("latin-1"),
                        )
                    )
                message = dict(message, headers=response_headers)
            await send(message)

        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, wrapped_send)
            return
        if has_valid_cookie and _matches(headers.get(HEADER, b"").decode("latin-1"), cookie_token):
            await self.app(scope, receive, wrapped_send)
            return
        if b"cookie" not in headers:
            await self.app(scope, receive, wrapped_send)
            return
        if self.skip_if_scope(scope):
            await self.app(scope, receive, wrapped_send)
            return
        if headers.get(b"authorization", b"").startswith(b"Bearer "):
            await self.app(scope, receive, wrapped_send)
            return
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        media_type = content_type.split(";")[0].strip().lower()
        body = await _read_body(receive)
        replay = _replay(body)
        if media_type == "application/x-www-form-urlencoded":
            submitted = urllib.parse.parse_qs(body.decode("latin-1")).get(FORM_FIELD, [""])[0]
            if has_valid_cookie and _matches(submitted, cookie_token):
                await self.app(scope, replay, wrapped_send)
                return
            await _forbidden(send, "form-urlencoded POST field did not match cookie")
            return
        if media_type == "multipart/form-data":
            outcome = _multipart_token(content_type, body)
            if outcome == "file-first":
                await _forbidden(
                    send,
                    "File encountered before csrftoken - make sure csrftoken is first "
                    "in the HTML",
                )
                return
            if has_valid_cookie and _matches(outcome, cookie_token):
                await self.app(scope, replay, wrapped_send)
                return
            await _forbidden(send, "multipart/form-data POST field did not match cookie")
            return
        await _forbidden(send, "Unknown content-type")


def _matches(submitted: Optional[str], expected: Optional[str]) -> bool:
    if not submitted or not expected:
        return False
    return hmac.compare_digest(submitted.encode(), expected.encode())


def _cookies(header: str) -> dict:
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(header)
    except Exception:
        return {}
    return {key: morsel.value for key, morsel in cookie.items()}


async def _read_body(receive: Any) -> bytes:
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


async def _forbidden(send: Any, message: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": message.encode("utf-8")})
