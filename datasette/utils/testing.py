"""`TestClient`: synchronous requests against a `Datasette` instance, for tests.

Each call runs `await ds.invoke_startup()` and then `ds.client.request(...)` on a fresh
event loop (asgiref's `async_to_sync`), so it must be used from synchronous test code.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union
from urllib.parse import urlencode

from asgiref.sync import async_to_sync

if TYPE_CHECKING:  # only for annotations: app.py imports this package
    from ..app import Datasette

__all__ = ["TestClient", "TestResponse"]


def _parse_set_cookies(set_cookie_headers: List[str]) -> List[Any]:
    morsels = []
    for header in set_cookie_headers:
        cookie = SimpleCookie()
        try:
            cookie.load(header)
        except CookieError:
            continue
        morsels.extend(cookie.values())
    return morsels


def _is_deletion(morsel: Any) -> bool:
    # A server deletes a cookie by expiring it: Max-Age <= 0 or Expires in the past.
    max_age = str(morsel["max-age"])
    if max_age.lstrip("-").isdigit():
        return int(max_age) <= 0
    if morsel["expires"]:
        try:
            expires = parsedate_to_datetime(str(morsel["expires"]))
        except (TypeError, ValueError):
            return False
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        return expires <= datetime.now(timezone.utc)
    return False


def _from_httpx(attribute: str, doc: str) -> property:
    """A read-only property passing `attribute` of the wrapped httpx response through."""
    return property(lambda self: getattr(self.httpx_response, attribute), doc=doc)


class TestResponse:
    """A finished response, with the attribute names the upstream test suite reads."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, httpx_response: Any):
        self.httpx_response = httpx_response

    status = status_code = _from_httpx("status_code", "The HTTP status code.")
    headers = _from_httpx("headers", "The response headers.")
    body = content = _from_httpx("content", "The body as bytes.")
    text = _from_httpx("text", "The body decoded as text.")

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def cookies(self) -> Dict[str, str]:
        """Cookies this response sets (deleted ones excluded)."""
        return {
            morsel.key: morsel.value
            for morsel in self._set_cookie_morsels()
            if not _is_deletion(morsel)
        }

    def cookie_was_deleted(self, name: str) -> bool:
        """True if a `Set-Cookie` header expires the cookie called `name`."""
        return any(
            morsel.key == name and _is_deletion(morsel)
            for morsel in self._set_cookie_morsels()
        )

    def _set_cookie_morsels(self) -> List[Any]:
        return _parse_set_cookies(self.httpx_response.headers.get_list("set-cookie"))


class TestClient:
    """Synchronous client for a `Datasette` instance `ds`; follows 301/302 when asked."""

    __test__ = False  # not a pytest test class despite the name

    max_redirects = 5

    def __init__(self, ds: Datasette):
        self.ds = ds

    def actor_cookie(self, actor: Dict[str, Any]) -> str:
        """A signed `ds_actor` cookie value for `actor`."""
        return self.ds.client.actor_cookie(actor)

    @async_to_sync
    async def get(
        self,
        path: str,
        follow_redirects: bool = False,
        redirect_count: int = 0,
        method: str = "GET",
        cookies: Optional[Dict[str, str]] = None,
        if_none_match: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> TestResponse:
        options = dict(locals())  # the arguments, forwarded as they are
        del options["self"]
        return await self._request(**options)

    @async_to_sync
    async def post(
        self,
        path: str,
        post_data: Optional[Dict[str, Any]] = None,
        body: Optional[Union[str, bytes]] = None,
        follow_redirects: bool = False,
        redirect_count: int = 0,
        content_type: str = "application/x-www-form-urlencoded",
        cookies: Optional[Dict[str, str]] = None,
        headers: Optional[Dict[str, str]] = None,
        csrftoken_from: Optional[Union[bool, str]] = None,
    ) -> TestResponse:
        """POST `post_data` (form-encoded) or a raw `body`.

        `csrftoken_from=True` first GETs `path` (a string: that path) and sends back its
        `ds_csrftoken` cookie, both as a cookie and as the `csrftoken` form field.
        """
        assert not (post_data and body), "Provide one or other of body= or post_data="
        cookies = dict(cookies or {})
        post_data = dict(post_data or {})
        if csrftoken_from is not None:
            assert body is None, "body= is not compatible with csrftoken_from="
            token_path = path if csrftoken_from is True else csrftoken_from
            token_response = await self._request(token_path, cookies=cookies)
            token = token_response.cookies.get("ds_csrftoken") or cookies.get(
                "ds_csrftoken"
            )
            assert token, f"No ds_csrftoken cookie was set by {token_path}"
            cookies["ds_csrftoken"] = token
            post_data["csrftoken"] = token
        if post_data:
            body = urlencode(post_data, doseq=True)
        return await self._request(
            path=path,
            follow_redirects=follow_redirects,
            redirect_count=redirect_count,
            method="POST",
            cookies=cookies,
            headers=headers,
            post_body=body,
            content_type=content_type,
        )

    @async_to_sync
    async def request(self, path: str, **options: Any) -> TestResponse:
        """Any method; `options` are `_request`'s (`method`, `cookies`, `headers`,
        `post_body`, `content_type`, `if_none_match`, `follow_redirects` – on by default)."""
        return await self._request(path, **options)

    async def _request(
        self,
        path: str,
        follow_redirects: bool = True,
        redirect_count: int = 0,
        method: str = "GET",
        cookies: Optional[Dict[str, str]] = None,
        headers: Optional[Dict[str, str]] = None,
        post_body: Optional[Union[str, bytes]] = None,
        content_type: Optional[str] = None,
        if_none_match: Optional[str] = None,
    ) -> TestResponse:
        await self.ds.invoke_startup()
        headers = dict(headers or {})
        if content_type:
            headers["content-type"] = content_type
        if if_none_match:
            headers["if-none-match"] = if_none_match
        httpx_response = await self.ds.client.request(
            method,
            path,
            follow_redirects=False,
            avoid_path_rewrites=True,
            cookies=cookies,
            headers=headers,
            content=post_body,
        )
        response = TestResponse(httpx_response)
        if follow_redirects and response.status in (301, 302):
            assert (
                redirect_count < self.max_redirects
            ), f"Redirected {redirect_count} times, max_redirects={self.max_redirects}"
            return await self._request(
                response.headers["location"],
                follow_redirects=True,
                redirect_count=redirect_count + 1,
                cookies=self._cookies_after(cookies, response),
            )
        return response

    @staticmethod
    def _cookies_after(
        cookies: Optional[Dict[str, str]], response: TestResponse
    ) -> Dict[str, str]:
        # Like a browser: the redirect's own Set-Cookie headers apply to the next request.
        updated = dict(cookies or {})
        for morsel in response._set_cookie_morsels():
            if _is_deletion(morsel):
                updated.pop(morsel.key, None)
            else:
                updated[morsel.key] = morsel.value
        return updated
