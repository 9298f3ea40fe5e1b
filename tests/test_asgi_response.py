"""`Response`, the `asgi_send*` helpers and the streaming/lifespan classes (internals.md §1.6, §5.2)."""

import asyncio
import json

import pytest

from datasette.utils.asgi import (
    AsgiFileDownload,
    AsgiLifespan,
    AsgiRunOnFirstRequest,
    AsgiStream,
    Response,
    asgi_send,
    asgi_send_html,
    asgi_send_json,
    asgi_send_redirect,
    asgi_start,
)


class Collector:
    """A `send` callable that keeps every message."""

    def __init__(self):
        self.messages = []

    async def __call__(self, message):
        self.messages.append(message)

    @property
    def start(self):
        return self.messages[0]

    @property
    def headers(self):
        return [(k.decode(), v.decode()) for k, v in self.start["headers"]]

    @property
    def body(self):
        return b"".join(m.get("body", b"") for m in self.messages[1:])


def cookie_header(**kwargs):
    response = Response()
    response.set_cookie(**kwargs)
    return response._set_cookie_headers[0]


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        (
            {"key": "foo", "value": "bar", "max_age": 10, "httponly": True},
            "foo=bar; HttpOnly; Max-Age=10; Path=/; SameSite=lax",
        ),
        ({"key": "foo", "value": "bar"}, "foo=bar; Path=/; SameSite=lax"),
        ({"key": "foo"}, 'foo=""; Path=/; SameSite=lax'),
        (
            {
                "key": "a",
                "value": "b",
                "domain": "example.com",
                "secure": True,
                "samesite": "strict",
                "path": "/sub",
            },
            "a=b; Domain=example.com; Path=/sub; SameSite=strict; Secure",
        ),
        ({"key": "a", "value": "b", "samesite": "none"}, "a=b; Path=/; SameSite=none"),
    ],
)
def test_set_cookie_rendering(kwargs, expected):
    assert cookie_header(**kwargs) == expected


def test_set_cookie_rejects_unknown_samesite():
    with pytest.raises(AssertionError):
        Response().set_cookie("a", "b", samesite="sometimes")


@pytest.mark.asyncio
async def test_asgi_send_header_order_cookies_and_utf8_body():
    response = Response(
        "caf\xe9",
        status=201,
        headers={"X-First": "1", "X-Second": "2"},
        content_type="text/plain; charset=utf-8",
    )
    response.set_cookie("one", "1")
    response.set_cookie("two", "2", max_age=5)
    send = Collector()
    await response.asgi_send(send)
    assert send.start["type"] == "http.response.start"
    assert send.start["status"] == 201
    assert send.headers == [
        ("X-First", "1"),
        ("X-Second", "2"),
        ("content-type", "text/plain; charset=utf-8"),
        ("set-cookie", "one=1; Path=/; SameSite=lax"),
        ("set-cookie", "two=2; Max-Age=5; Path=/; SameSite=lax"),
    ]
    assert send.messages[1] == {"type": "http.response.body", "body": "caf\xe9".encode()}
    assert len(send.messages) == 2


@pytest.mark.asyncio
async def test_default_response_is_empty_text_plain():
    send = Collector()
    await Response().asgi_send(send)
    assert send.start["status"] == 200
    assert send.headers == [("content-type", "text/plain")]
    assert send.body == b""


@pytest.mark.asyncio
async def test_bytes_body_sent_as_is():
    send = Collector()
    await Response(b"\x00\xff", content_type="application/octet-stream").asgi_send(send)
    assert send.body == b"\x00\xff"


def test_html_text_json_classmethods():
    html = Response.html("<p>hi</p>", status=404, headers={"x": "y"})
    assert (html.body, html.status, html.headers, html.content_type) == (
        "<p>hi</p>",
        404,
        {"x": "y"},
        "text/html; charset=utf-8",
    )
    text = Response.text(123)
    assert (text.body, text.content_type) == ("123", "text/plain; charset=utf-8")
    js = Response.json({"a": [1, 2]}, status=400)
    assert js.body == '{"a": [1, 2]}'
    assert (js.status, js.content_type) == (400, "application/json; charset=utf-8")


def test_json_default_handles_unserialisable_values():
    response = Response.json({"s": {1}}, default=lambda value: sorted(value))
    assert json.loads(response.body) == {"s": [1]}
    with pytest.raises(TypeError):
        Response.json({"s": {1}})


@pytest.mark.asyncio
async def test_redirect_keeps_text_plain_content_type():
    headers = {"X-Extra": "1"}
    response = Response.redirect("/somewhere", headers=headers)
    assert headers == {"X-Extra": "1"}, "caller's dict must not be modified"
    send = Collector()
    await response.asgi_send(send)
    assert send.start["status"] == 302
    assert send.headers == [
        ("X-Extra", "1"),
        ("Location", "/somewhere"),
        ("content-type", "text/plain"),
    ]
    assert send.body == b""
    assert Response.redirect("/p", status=301).status == 301


@pytest.mark.asyncio
async def test_asgi_start_appends_content_type_without_mutating_headers():
    headers = {"a": "b"}
    send = Collector()
    await asgi_start(send, 418, headers, content_type="text/csv")
    assert headers == {"a": "b"}
    assert send.start == {
        "type": "http.response.start",
        "status": 418,
        "headers": [[b"a", b"b"], [b"content-type", b"text/csv"]],
    }


@pytest.mark.asyncio
async def test_asgi_send_helpers():
    send = Collector()
    await asgi_send(send, "hello", 200)
    assert send.headers == [("content-type", "text/plain")]
    assert send.body == b"hello"

    send = Collector()
    await asgi_send_json(send, {"ok": True}, status=400, headers={"x": "1"})
    assert send.start["status"] == 400
    assert send.headers == [("x", "1"), ("content-type", "application/json; charset=utf-8")]
    assert json.loads(send.body) == {"ok": True}

    send = Collector()
    await asgi_send_html(send, "<b>x</b>")
    assert send.headers == [("content-type", "text/html; charset=utf-8")]
    assert send.body == b"<b>x</b>"

    send = Collector()
    await asgi_send_redirect(send, "/elsewhere", status=301)
    assert send.start["status"] == 301
    assert ("Location", "/elsewhere") in send.headers
    assert send.body == b""


@pytest.mark.asyncio
async def test_asgi_stream_sends_each_write_then_closes():
    async def stream_fn(writer):
        await writer.write("a,b\r\n")
        await writer.write(b"1,2\r\n")

    send = Collector()
    await AsgiStream(stream_fn, status=200, headers={"x": "y"}, content_type="text/csv").asgi_send(send)
    assert send.headers == [("x", "y"), ("content-type", "text/csv")]
    assert send.messages[1:] == [
        {"type": "http.response.body", "body": b"a,b\r\n", "more_body": True},
        {"type": "http.response.body", "body": b"1,2\r\n", "more_body": True},
        {"type": "http.response.body", "body": b""},
    ]


@pytest.mark.asyncio
async def test_asgi_file_download(tmp_path):
    path = tmp_path / "data.db"
    path.write_bytes(b"x" * 10000)
    send = Collector()
    await AsgiFileDownload(path, filename="fixtures.db", headers={"x": "1"}).asgi_send(send)
    assert send.start["status"] == 200
    assert send.headers == [
        ("x", "1"),
        ("content-disposition", 'attachment; filename="fixtures.db"'),
        ("content-length", "10000"),
        ("content-type", "application/octet-stream"),
    ]
    assert send.body == b"x" * 10000
    # 10000 bytes in 4096-byte chunks: three body messages, only the last is final.
    assert [m.get("more_body") for m in send.messages[1:]] == [True, True, False]


@pytest.mark.asyncio
async def test_asgi_lifespan_runs_hooks_and_passes_other_scopes():
    events = []
    app_calls = []

    async def app(scope, receive, send):
        app_calls.append(scope["type"])

    async def async_hook():
        events.append("async-start")

    lifespan = AsgiLifespan(
        app,
        on_startup=[lambda: events.append("sync-start"), async_hook],
        on_shutdown=lambda: events.append("stop"),
    )
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive():
        return messages.pop(0)

    send = Collector()
    await lifespan({"type": "lifespan"}, receive, send)
    assert events == ["sync-start", "async-start", "stop"]
    assert send.messages == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
    await lifespan({"type": "http"}, None, send)
    assert app_calls == ["http"]


@pytest.mark.asyncio
async def test_asgi_lifespan_reports_failed_startup():
    def broken():
        raise ValueError("no database")

    async def receive():
        return {"type": "lifespan.startup"}

    send = Collector()
    await AsgiLifespan(None, on_startup=[broken])({"type": "lifespan"}, receive, send)
    assert send.messages == [{"type": "lifespan.startup.failed", "message": "no database"}]


@pytest.mark.asyncio
async def test_run_on_first_request_runs_once_even_when_concurrent():
    calls = []
    seen = []

    async def startup():
        calls.append(1)
        await asyncio.sleep(0.01)

    async def app(scope, receive, send):
        # Start-up must be finished before any request reaches the app.
        seen.append(len(calls))

    wrapped = AsgiRunOnFirstRequest(app, on_startup=[startup])
    await asyncio.gather(*(wrapped({"type": "http"}, None, None) for _ in range(3)))
    await wrapped({"type": "http"}, None, None)
    assert calls == [1]
    assert seen == [1, 1, 1, 1]
