"""`TestClient` / `TestResponse` (internals.md §1.8), driven against a stand-in `ds`."""

import json

import httpx
import pytest

from datasette.utils.asgi import Request, Response
from datasette.utils.testing import TestClient, TestResponse


async def app(scope, receive, send):
    """A tiny ASGI app with just the routes these tests need."""
    request = Request(scope, receive)
    path = request.path
    if path == "/echo":
        body = await request.post_body()
        response = Response.json(
            {
                "method": request.method,
                "cookies": request.cookies,
                "headers": request.headers,
                "body": body.decode("utf-8"),
                "args": request.args._data,
            }
        )
    elif path == "/redirect":
        response = Response.redirect("/echo?from=redirect")
    elif path == "/redirect-with-cookie":
        response = Response.redirect("/echo", status=301)
        response.set_cookie("ds_messages", "hello")
        response.set_cookie("gone", "", max_age=0)
    elif path.startswith("/loop"):
        response = Response.redirect(path + "x")
    elif path == "/form":
        if request.method == "GET":
            response = Response.html("<form>")
            if "ds_csrftoken" not in request.cookies:
                response.set_cookie("ds_csrftoken", "token123")
        else:
            form = await request.post_vars()
            ok = form.get("csrftoken") == request.cookies.get("ds_csrftoken") == "token123"
            response = Response.json({"ok": ok, "form": form}, status=200 if ok else 403)
    elif path == "/logout":
        response = Response.text("bye")
        response.set_cookie("ds_actor", "", expires=0, max_age=0)
        response.set_cookie("kept", "1")
    else:
        response = Response.text("Not found", status=404)
    await response.asgi_send(send)


class StandInClient:
    """What `ds.client` offers TestClient: an async `request()` and `actor_cookie()`."""

    def __init__(self):
        self.calls = []

    async def request(self, method, path, **kwargs):
        self.calls.append((method, path, dict(kwargs)))
        assert kwargs.pop("avoid_path_rewrites") is True
        cookies = kwargs.pop("cookies") or {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost", cookies=cookies
        ) as client:
            return await client.request(method, path, **kwargs)

    def actor_cookie(self, actor):
        return "signed:" + json.dumps(actor)


class StandInDatasette:
    def __init__(self):
        self.client = StandInClient()
        self.startups = 0

    async def invoke_startup(self):
        self.startups += 1


@pytest.fixture
def ds():
    return StandInDatasette()


@pytest.fixture
def client(ds):
    return TestClient(ds)


def test_not_collected_by_pytest():
    assert TestClient.__test__ is False and TestResponse.__test__ is False


def test_get_returns_test_response(client, ds):
    response = client.get("/echo?a=1&a=2")
    assert isinstance(response, TestResponse)
    assert response.status == response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json["args"] == {"a": ["1", "2"]}
    assert response.body == response.content == response.text.encode("utf-8")
    assert response.json["method"] == "GET"
    assert ds.startups == 1


def test_each_call_invokes_startup_and_avoids_path_rewrites(client, ds):
    client.get("/echo")
    client.post("/echo", post_data={"a": "1"})
    client.request("/echo")
    assert ds.startups == 3
    for _, _, kwargs in ds.client.calls:
        assert kwargs["avoid_path_rewrites"] is True
        assert kwargs["follow_redirects"] is False


def test_redirect_not_followed_by_default_for_get(client):
    response = client.get("/redirect")
    assert response.status == 302
    assert response.headers["location"] == "/echo?from=redirect"


def test_get_follows_redirects_when_asked(client, ds):
    response = client.get("/redirect", follow_redirects=True)
    assert response.status == 200
    assert response.json["args"] == {"from": ["redirect"]}
    assert [call[1] for call in ds.client.calls] == ["/redirect", "/echo?from=redirect"]


def test_request_follows_redirects_by_default(client):
    assert client.request("/redirect").status == 200


def test_redirect_applies_cookies_it_sets(client):
    response = client.get(
        "/redirect-with-cookie",
        follow_redirects=True,
        cookies={"gone": "x", "stays": "y"},
    )
    assert response.json["cookies"] == {"stays": "y", "ds_messages": "hello"}


def test_redirect_loop_stops_at_max_redirects(client, ds):
    with pytest.raises(AssertionError) as error:
        client.get("/loop", follow_redirects=True)
    assert "max_redirects=5" in str(error.value)
    assert len(ds.client.calls) == TestClient.max_redirects + 1


def test_get_sends_cookies_headers_and_if_none_match(client):
    response = client.get(
        "/echo",
        cookies={"ds_actor": "abc"},
        headers={"X-Custom": "1"},
        if_none_match='"etag"',
    )
    assert response.json["cookies"] == {"ds_actor": "abc"}
    assert response.json["headers"]["x-custom"] == "1"
    assert response.json["headers"]["if-none-match"] == '"etag"'


def test_method_argument(client):
    assert client.get("/echo", method="DELETE").json["method"] == "DELETE"
    assert client.request("/echo", method="PUT").json["method"] == "PUT"


def test_post_form_encodes_post_data(client):
    response = client.post("/echo", post_data={"name": "caf\xe9", "tags": ["a", "b"]})
    assert response.json["method"] == "POST"
    assert response.json["body"] == "name=caf%C3%A9&tags=a&tags=b"
    assert (
        response.json["headers"]["content-type"] == "application/x-www-form-urlencoded"
    )


def test_post_raw_body_with_content_type(client):
    response = client.post(
        "/echo", body='{"rows": []}', content_type="application/json"
    )
    assert response.json["body"] == '{"rows": []}'
    assert response.json["headers"]["content-type"] == "application/json"


def test_request_with_post_body(client):
    response = client.request(
        "/echo", method="POST", post_body=b"raw", content_type="text/plain"
    )
    assert response.json["body"] == "raw"
    assert response.json["headers"]["content-type"] == "text/plain"


def test_post_refuses_body_and_post_data_together(client):
    with pytest.raises(AssertionError):
        client.post("/echo", post_data={"a": "1"}, body="b=2")


def test_csrftoken_from_copies_cookie_and_field(client, ds):
    cookies = {"ds_actor": "abc"}
    response = client.post("/form", post_data={"x": "1"}, cookies=cookies, csrftoken_from=True)
    assert response.status == 200
    assert response.json == {"ok": True, "form": {"x": "1", "csrftoken": "token123"}}
    assert cookies == {"ds_actor": "abc"}, "caller's cookies must not be modified"
    assert [(m, p) for m, p, _ in ds.client.calls] == [("GET", "/form"), ("POST", "/form")]


def test_post_without_csrftoken_fails_against_checking_view(client):
    assert client.post("/form", post_data={"x": "1"}).status == 403


def test_cookies_and_cookie_was_deleted(client):
    response = client.get("/logout")
    assert response.cookies == {"kept": "1"}
    assert response.cookie_was_deleted("ds_actor") is True
    assert response.cookie_was_deleted("kept") is False


def test_response_cookies_from_set_cookie(client):
    assert client.get("/form").cookies == {"ds_csrftoken": "token123"}


def test_actor_cookie_delegates_to_ds_client(client):
    assert client.actor_cookie({"id": "root"}) == 'signed:{"id": "root"}'


def test_json_property_raises_on_non_json(client):
    response = client.get("/nowhere")
    assert response.status == 404
    assert response.text == "Not found"
    with pytest.raises(json.JSONDecodeError):
        response.json
