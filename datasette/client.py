"""`datasette.client`: in-process HTTP requests to the instance, with no network."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from .utils import PrefixedUrlString

if TYPE_CHECKING:
    from .app import Datasette
    import httpx


def _sending(method: str) -> Callable[..., Awaitable[httpx.Response]]:
    """The client method that sends a `method` request, e.g. `client.get(path, **kwargs)`."""

    async def send(self: "DatasetteClient", path: str, **kwargs: Any) -> httpx.Response:
        return await self.request(method, path, **kwargs)

    send.__name__ = method.lower()
    send.__qualname__ = f"DatasetteClient.{send.__name__}"
    send.__doc__ = f"Send a {method} request for `path` (see `request`)."
    return send


class DatasetteClient:
    """Sends requests straight to the instance's ASGI app and returns `httpx.Response`.

    Each call uses a fresh `httpx.AsyncClient` over `httpx.ASGITransport` (httpx 0.28
    removed `AsyncClient(app=...)`), so no cookies persist between calls. Responses come
    uncompressed unless the call sends its own `Accept-Encoding`: in-process there are no
    bytes on a wire to save.
    """

    def __init__(self, ds: Datasette):
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

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a `method` request for `path`; keyword arguments go to httpx's `request`."""
        avoid_path_rewrites = kwargs.pop("avoid_path_rewrites", False)
        cookies = kwargs.pop("cookies", None)
        # Imported here, not at module level: httpx is ~0.8 s of `import datasette.app` under
        # Pyodide, and a page served in the browser build never needs it.
        import httpx

        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            cookies=cookies,
            headers={"accept-encoding": "identity"},
        ) as client:
            return await client.request(
                method, self._fix(path, avoid_path_rewrites), **kwargs
            )

    get = _sending("GET")
    options = _sending("OPTIONS")
    head = _sending("HEAD")
    post = _sending("POST")
    put = _sending("PUT")
    patch = _sending("PATCH")
    delete = _sending("DELETE")
