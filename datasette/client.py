"""`datasette.client`: in-process HTTP requests to the instance, with no network."""

from __future__ import annotations

from typing import Any

import httpx

from .utils import PrefixedUrlString


class DatasetteClient:
    """Sends requests straight to the instance's ASGI app and returns `httpx.Response`.

    Each call uses a fresh `httpx.AsyncClient` over `httpx.ASGITransport` (httpx 0.28
    removed `AsyncClient(app=...)`), so no cookies persist between calls.
    """

    def __init__(self, ds: Any):
        self.ds = ds
        self.app = ds.app()

    def actor_cookie(self, actor: dict) -> str:
        """A signed `ds_actor` cookie value for `actor`."""
        return self.ds.sign({"a": actor}, "actor")

    def _fix(self, path: str, avoid_path_rewrites: bool = False) -> str:
        if not isinstance(path, PrefixedUrlString) and not avoid_path_rewrites:
            path = self.ds.urls.path(path)
        if path.startswith("/"):
            path = f"http://localhost{path}"
        return path

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        avoid_path_rewrites = kwargs.pop("avoid_path_rewrites", False)
        cookies = kwargs.pop("cookies", None)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            cookies=cookies,
        ) as client:
            return await client.request(
                method, self._fix(path, avoid_path_rewrites), **kwargs
            )

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self._send("GET", path, **kwargs)

    async def options(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self._send("OPTIONS", path, **kwargs)

    async def head(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self._send("HEAD", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self._send("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self._send("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self._send("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self._send("DELETE", path, **kwargs)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self._send(method, path, **kwargs)
