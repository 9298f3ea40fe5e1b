"""The per-request layers' short paths (router.py, csrf.py, utils/compression.py) answer
as the long ones did: a GET's CSRF token, the `Vary` added for clients that do not take
gzip, and lifespan messages answered by the first-request start-up layer."""

import pytest

from datasette.csrf import COOKIE_NAME, CsrfMiddleware
from datasette.utils.compression import _vary_added

JSON = (b"content-type", b"application/json; charset=utf-8")


def start(*headers, status=200):
    return {"type": "http.response.start", "status": status, "headers": list(headers)}


def test_vary_is_added_once_and_merged_into_an_existing_one():
    assert _vary_added(start(JSON))["headers"] == [JSON, (b"vary", b"Accept-Encoding")]
    merged = _vary_added(start((b"Vary", b"Cookie"), JSON))["headers"]
    assert merged == [(b"Vary", b"Cookie, Accept-Encoding"), JSON]
    already = start(JSON, (b"vary", b"accept-encoding"))
    assert _vary_added(already)["headers"] == already["headers"]


def test_vary_is_not_added_where_nothing_would_be_compressed():
    for message in (
        start((b"content-type", b"image/png")),
        start(JSON, status=206),
        start(JSON, status=101),
        start(),
    ):
        assert _vary_added(message) is message
    # The first Content-Type decides, as for clients that take gzip.
    assert _vary_added(start((b"content-type", b"image/png"), JSON))["headers"][-1][0] != b"vary"


async def run_csrf(method, headers, calls_token):
    seen = {}

    async def app(scope, receive, send):
        if calls_token:
            seen["token"] = scope["csrftoken"]()
        await send(start(JSON))
        await send({"type": "http.response.body", "body": b"{}"})

    middleware = CsrfMiddleware(app, "secret", skip_if_scope=lambda scope: False)
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/", "headers": headers}
    await middleware(scope, receive, send)
    return seen.get("token"), sent[0]["headers"], middleware


@pytest.mark.asyncio
async def test_a_get_that_embeds_the_token_sets_the_cookie_once():
    token, headers, middleware = await run_csrf("GET", [(b"host", b"x")], calls_token=True)
    assert (b"vary", b"Cookie") in headers
    assert (b"set-cookie", f"{COOKIE_NAME}={token}; Path=/".encode()) in headers
    # Sent back, the valid cookie's token is reused and not set again.
    cookie = (b"cookie", f"a=1; {COOKIE_NAME}={token}".encode())
    again, headers, _ = await run_csrf("GET", [cookie], calls_token=True)
    assert again == token
    assert (b"vary", b"Cookie") in headers
    assert not any(name == b"set-cookie" for name, _ in headers)
    # A cookie repeated: the last one counts, as for every other method.
    bad_then_good = [(b"cookie", f"{COOKIE_NAME}=forged".encode()), cookie]
    assert (await run_csrf("HEAD", bad_then_good, calls_token=True))[0] == token
    forged_last = [cookie, (b"cookie", f"{COOKIE_NAME}=forged".encode())]
    assert (await run_csrf("HEAD", forged_last, calls_token=True))[0] != token


@pytest.mark.asyncio
async def test_a_get_that_does_not_embed_the_token_passes_untouched():
    _, headers, _ = await run_csrf("GET", [(b"cookie", b"a=1")], calls_token=False)
    assert headers == [JSON]


@pytest.mark.asyncio
async def test_the_stack_answers_lifespan_messages(make_ds):
    ds = make_ds([])
    app = ds.app()
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message["type"])

    await app({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert ds._startup_invoked
