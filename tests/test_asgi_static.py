"""`asgi_static` and `asgi_send_file` (internals.md §1.6, http-cli.md §1 static rules)."""

import os

import httpx
import pytest

from datasette.utils.asgi import Request, asgi_send_file, asgi_static


class Collector:
    def __init__(self):
        self.messages = []

    async def __call__(self, message):
        self.messages.append(message)

    @property
    def status(self):
        return self.messages[0]["status"]

    @property
    def headers(self):
        return {k.decode(): v.decode() for k, v in self.messages[0]["headers"]}

    @property
    def body(self):
        return b"".join(m.get("body", b"") for m in self.messages[1:])


@pytest.fixture
def root(tmp_path):
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "app.css").write_text("body { color: red; }")
    (static / "data.json").write_text('{"a": 1}')
    (static / "big.bin").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "secret.txt").write_text("top secret")
    (tmp_path / "outside").mkdir()
    return static


async def serve(root, path, **kwargs):
    view = asgi_static(root, **kwargs)
    send = Collector()
    await view(Request.fake(f"/static/{path}", url_vars={"path": path}), send)
    return send


@pytest.mark.asyncio
async def test_serves_file_with_guessed_type_and_length(root):
    send = await serve(root, "css/app.css")
    assert send.status == 200
    assert send.headers["content-type"] == "text/css"
    assert send.headers["content-length"] == str(len("body { color: red; }"))
    assert send.body == b"body { color: red; }"


@pytest.mark.asyncio
async def test_streams_in_chunks_of_chunk_size(root):
    send = await serve(root, "big.bin", chunk_size=1000)
    assert send.body == bytes(range(256)) * 40
    body_messages = send.messages[1:]
    assert [len(m["body"]) for m in body_messages] == [1000] * 10 + [240]
    assert body_messages[-1]["more_body"] is False
    assert all(m["more_body"] for m in body_messages[:-1])


@pytest.mark.asyncio
async def test_missing_file_is_404(root):
    send = await serve(root, "nope.css")
    assert send.status == 404
    assert send.body == b"404: File not found"
    assert send.headers["content-type"] == "text/plain"


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["../secret.txt", "css/../../secret.txt", "../outside"])
async def test_path_traversal_is_404_not_inside_root(root, path):
    send = await serve(root, path)
    assert send.status == 404
    assert send.body == b"404: Path not inside root path"


@pytest.mark.asyncio
async def test_absolute_path_outside_root_is_refused(root, tmp_path):
    send = await serve(root, str(tmp_path / "secret.txt"))
    assert send.status == 404
    assert send.body == b"404: Path not inside root path"


@pytest.mark.asyncio
async def test_symlink_escaping_root_is_refused(root, tmp_path):
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    send = await serve(root, "link.txt")
    assert send.body == b"404: Path not inside root path"


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["css", "css/", ""])
async def test_directory_is_403(root, path):
    send = await serve(root, path)
    assert send.status == 403
    assert send.body == b"403: Directory listing is not allowed"


@pytest.mark.asyncio
async def test_headers_and_content_type_override(root):
    send = await serve(
        root,
        "data.json",
        headers={"cache-control": "max-age=3600"},
        content_type="text/plain; charset=utf-8",
    )
    assert send.headers["cache-control"] == "max-age=3600"
    assert send.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.asyncio
async def test_send_file_missing_raises_before_sending(tmp_path):
    send = Collector()
    with pytest.raises(FileNotFoundError):
        await asgi_send_file(send, tmp_path / "missing.txt")
    assert send.messages == []


@pytest.mark.asyncio
async def test_send_empty_file_sends_one_final_body(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    send = Collector()
    await asgi_send_file(send, path)
    assert send.headers["content-length"] == "0"
    assert send.messages[1:] == [
        {"type": "http.response.body", "body": b"", "more_body": False}
    ]


@pytest.mark.asyncio
async def test_static_view_over_http(root):
    view = asgi_static(root)

    async def app(scope, receive, send):
        # A one-route router, as Datasette's mounts `/-/static/(?P<path>.*)`.
        prefix = "/-/static/"
        path = scope["path"][len(prefix):]
        scope = dict(scope, url_route={"kwargs": {"path": path}})
        await view(Request(scope, receive), send)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        ok = await client.get("/-/static/data.json")
        missing = await client.get("/-/static/missing.js")
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/json"
    assert ok.headers["content-length"] == "8"
    assert ok.json() == {"a": 1}
    assert (missing.status_code, missing.text) == (404, "404: File not found")
