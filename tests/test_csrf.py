"""CSRF protection (plugins-auth-config.md §5 and §9.18; http-cli.md §0.8).

Everything runs through a real server. A temporary plugin adds `/-/echo`, a route that
accepts any method and echoes what reached it (`await request.post_vars()` for forms, the
raw body otherwise), so a passing request is visible as a 200 with its body intact and a
failing one as the CSRF layer's 403.
"""

import re
import string
from contextlib import contextmanager
from http.cookies import SimpleCookie

import httpx
import pytest

from datasette.hookspecs import hookimpl
from datasette.plugins import pm
from datasette.utils.asgi import Response

# -- helpers ------------------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"
FORM_MISMATCH = "form-urlencoded POST field did not match cookie"
MULTIPART_MISMATCH = "multipart/form-data POST field did not match cookie"
FILE_FIRST = "File encountered before csrftoken - make sure csrftoken is first in the HTML"
UNKNOWN = "Unknown content-type"


async def echo(request):
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(FORM):
        return Response.json({"method": request.method, "vars": await request.post_vars()})
    body = await request.post_body()
    return Response.json({"method": request.method, "body": body.decode("utf-8")})


class EchoPlugin:
    __name__ = "csrf-echo"

    @hookimpl
    def register_routes(self):
        return [(r"^/-/echo$", echo)]


class SkipPlugin:
    """A `skip_csrf` plugin that skips requests carrying `x-skip-me` and records scopes."""

    __name__ = "csrf-skip"

    def __init__(self):
        self.scopes = []

    @hookimpl
    def skip_csrf(self, scope):
        self.scopes.append(scope)
        return any(name == b"x-skip-me" for name, _ in scope["headers"])


@contextmanager
def temporary_plugin(plugin, name):
    pm.register(plugin, name=name)
    try:
        yield plugin
    finally:
        pm.unregister(name=name)


@pytest.fixture
def server(make_ds, serve_ds):
    # register_routes is read when the app is built: register before constructing.
    with temporary_plugin(EchoPlugin(), "csrf-echo"):
        ds = make_ds(secret="csrf-secret")
        with serve_ds(ds) as running:
            yield running


def cookie_header(**cookies):
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def send(server, method="POST", path="/-/echo", cookies=None, **kwargs):
    headers = dict(kwargs.pop("headers", {}))
    if cookies:
        headers["Cookie"] = cookie_header(**cookies)
    return httpx.request(method, server.url + path, headers=headers, timeout=60, **kwargs)


def set_cookies(response):
    out = {}
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            out[name] = (morsel.value, {k: v for k, v in morsel.items() if v})
    return out


def vary(response):
    return [v.strip().lower() for h in response.headers.get_list("vary") for v in h.split(",")]


def form_token(response):
    return re.search(r'name="csrftoken" value="([^"]+)"', response.text).group(1)


def fresh_token(server):
    """A valid token, as a browser gets it: from the cookie a form page sets."""
    response = send(server, "GET", "/-/messages")
    return set_cookies(response)["ds_csrftoken"][0]


def assert_csrf_failure(response, message):
    assert response.status_code == 403
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == message


def multipart(parts, boundary="csrfTestBoundary7MA4YWxk"):
    """A multipart body from `(name, value, filename or None)` parts, in the given order."""
    body = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            body += b"Content-Type: text/plain\r\n"
        body += b"\r\n" + value.encode() + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# -- the token and its cookie -------------------------------------------------------------


def test_form_page_sets_cookie_and_vary(server):
    response = send(server, "GET", "/-/messages")
    assert response.status_code == 200
    value, attributes = set_cookies(response)["ds_csrftoken"]
    assert attributes == {"path": "/"}
    assert "cookie" in vary(response)
    assert form_token(response) == value
    secret = server.ds.unsign(value, "csrftoken")
    assert len(secret) == 16 and set(secret) <= set(string.ascii_letters + string.digits)


def test_fresh_token_per_request_without_cookie(server):
    assert fresh_token(server) != fresh_token(server)


@pytest.mark.parametrize("path", ["/-/actor.json", "/-/versions.json", "/-/echo"])
def test_pages_not_calling_csrftoken_set_no_cookie(server, path):
    response = send(server, "GET", path)
    assert response.status_code == 200
    assert "ds_csrftoken" not in set_cookies(response)
    assert "cookie" not in vary(response)


def test_valid_cookie_is_reused(server):
    token = fresh_token(server)
    response = send(server, "GET", "/-/messages", cookies={"ds_csrftoken": token})
    assert "ds_csrftoken" not in set_cookies(response)
    assert "cookie" in vary(response)
    assert form_token(response) == token


def test_tampered_cookie_is_replaced(server):
    token = fresh_token(server)
    position = len(token) - 10  # a signature character, away from base64's padding bits
    tampered = token[:position] + ("B" if token[position] == "A" else "A") + token[position + 1 :]
    response = send(server, "GET", "/-/messages", cookies={"ds_csrftoken": tampered})
    replacement = set_cookies(response)["ds_csrftoken"][0]
    assert replacement != tampered
    assert server.ds.unsign(replacement, "csrftoken")
    assert form_token(response) == replacement
    # A tampered cookie cannot vouch for a form either, even when the field echoes it.
    refused = send(server, cookies={"ds_csrftoken": tampered}, data={"csrftoken": tampered})
    assert_csrf_failure(refused, FORM_MISMATCH)


# -- the rules, in order ------------------------------------------------------------------


def test_form_post_with_cookie_and_no_token_fails(server):
    response = send(server, cookies={"ds_csrftoken": fresh_token(server)}, data={"a": "1"})
    assert_csrf_failure(response, FORM_MISMATCH)


def test_form_post_with_wrong_token_fails(server):
    token = fresh_token(server)
    other = fresh_token(server)
    response = send(server, cookies={"ds_csrftoken": token}, data={"csrftoken": other})
    assert_csrf_failure(response, FORM_MISMATCH)


def test_form_post_with_matching_token_reaches_view_intact(server):
    token = fresh_token(server)
    data = {
        "csrftoken": token,
        "name": "hello world",
        "accent": "é & ü",
        "empty": "",
        "plus": "1+1=2",
    }
    response = send(server, cookies={"ds_csrftoken": token}, data=data)
    assert response.status_code == 200, response.text
    assert response.json() == {"method": "POST", "vars": data}


def test_form_content_type_with_charset_is_still_a_form(server):
    token = fresh_token(server)
    headers = {"content-type": FORM + "; charset=UTF-8"}
    passed = send(
        server, cookies={"ds_csrftoken": token}, headers=headers, content=f"csrftoken={token}&a=1"
    )
    assert passed.status_code == 200
    assert passed.json()["vars"] == {"csrftoken": token, "a": "1"}
    refused = send(server, cookies={"ds_csrftoken": token}, headers=headers, content="a=1")
    assert_csrf_failure(refused, FORM_MISMATCH)


def test_large_form_body_reaches_view_intact(server):
    token = fresh_token(server)
    big = "x" * 300_000
    response = send(server, cookies={"ds_csrftoken": token}, data={"big": big, "csrftoken": token})
    assert response.status_code == 200
    assert response.json()["vars"] == {"big": big, "csrftoken": token}


def test_token_in_form_checked_against_the_cookie_with_other_cookies(server):
    token = fresh_token(server)
    response = send(
        server,
        cookies={"other": "1", "ds_csrftoken": token, "more": "2"},
        data={"csrftoken": token},
    )
    assert response.status_code == 200


def test_header_token_passes_any_body(server):
    token = fresh_token(server)
    response = send(
        server,
        cookies={"ds_csrftoken": token},
        headers={"x-csrftoken": token, "content-type": "text/plain"},
        content="plain body",
    )
    assert response.status_code == 200
    assert response.json() == {"method": "POST", "body": "plain body"}


def test_wrong_header_token_falls_through_to_body_rules(server):
    token = fresh_token(server)
    response = send(
        server,
        cookies={"ds_csrftoken": token},
        headers={"x-csrftoken": fresh_token(server)},
        data={"a": "1"},
    )
    assert_csrf_failure(response, FORM_MISMATCH)
    with_field = send(
        server,
        cookies={"ds_csrftoken": token},
        headers={"x-csrftoken": "wrong"},
        data={"csrftoken": token},
    )
    assert with_field.status_code == 200


def test_no_cookies_at_all_passes(server):
    response = send(server, data={"a": "1"})
    assert response.status_code == 200
    assert response.json() == {"method": "POST", "vars": {"a": "1"}}
    unknown_type = send(server, headers={"content-type": "text/plain"}, content="x")
    assert unknown_type.status_code == 200


def test_any_cookie_without_csrf_cookie_fails(server):
    response = send(server, cookies={"unrelated": "1"}, data={"a": "1"})
    assert_csrf_failure(response, FORM_MISMATCH)


def test_bearer_authorization_passes(server):
    response = send(
        server,
        cookies={"ds_csrftoken": fresh_token(server)},
        headers={"Authorization": "Bearer anything-at-all", "content-type": "text/plain"},
        content="x",
    )
    assert response.status_code == 200
    lower = send(
        server,
        cookies={"ds_csrftoken": fresh_token(server)},
        headers={"Authorization": "bearer anything-at-all"},
        data={"a": "1"},
    )
    assert_csrf_failure(lower, FORM_MISMATCH)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8"],
    ids=["exact", "with-charset"],
)
def test_json_body_passes(server, content_type):
    """With a charset parameter too (§9.18: 1.0a7 compared the header exactly)."""
    response = send(
        server,
        cookies={"ds_csrftoken": fresh_token(server)},
        headers={"content-type": content_type},
        content='{"a": 1}',
    )
    assert response.status_code == 200
    assert response.json() == {"method": "POST", "body": '{"a": 1}'}


def test_json_like_content_type_is_not_json(server):
    response = send(
        server,
        cookies={"ds_csrftoken": fresh_token(server)},
        headers={"content-type": "application/json-patch+json"},
        content="[]",
    )
    assert_csrf_failure(response, UNKNOWN)


def test_multipart_with_token_first_passes(server):
    token = fresh_token(server)
    body, content_type = multipart(
        [("csrftoken", token, None), ("title", "Hi", None), ("upload", "file contents", "a.txt")]
    )
    response = send(
        server,
        cookies={"ds_csrftoken": token},
        headers={"content-type": content_type},
        content=body,
    )
    assert response.status_code == 200, response.text
    assert response.json()["body"] == body.decode()


def test_multipart_file_before_token_fails(server):
    token = fresh_token(server)
    body, content_type = multipart(
        [("upload", "file contents", "a.txt"), ("csrftoken", token, None)]
    )
    response = send(
        server,
        cookies={"ds_csrftoken": token},
        headers={"content-type": content_type},
        content=body,
    )
    assert_csrf_failure(response, FILE_FIRST)


@pytest.mark.parametrize(
    "parts",
    [[("csrftoken", "wrong", None)], [("title", "no token", None)]],
    ids=["wrong", "missing"],
)
def test_multipart_without_matching_token_fails(server, parts):
    body, content_type = multipart(parts)
    response = send(
        server,
        cookies={"ds_csrftoken": fresh_token(server)},
        headers={"content-type": content_type},
        content=body,
    )
    assert_csrf_failure(response, MULTIPART_MISMATCH)


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_unknown_content_type_with_cookies_fails(server, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = send(
        server, cookies={"ds_csrftoken": fresh_token(server)}, headers=headers, content="x"
    )
    assert_csrf_failure(response, UNKNOWN)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_unsafe_methods_are_checked(server, method):
    token = fresh_token(server)
    refused = send(server, method, cookies={"ds_csrftoken": token}, data={"a": "1"})
    assert_csrf_failure(refused, FORM_MISMATCH)
    passed = send(server, method, cookies={"ds_csrftoken": token}, data={"csrftoken": token})
    assert passed.status_code == 200
    assert passed.json()["method"] == method


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_are_not_checked(server, method):
    response = send(
        server,
        method,
        cookies={"ds_csrftoken": fresh_token(server)},
        headers={"content-type": "text/plain"},
    )
    assert response.status_code == 200


def test_skip_csrf_plugin(server):
    token = fresh_token(server)
    plugin = SkipPlugin()
    with temporary_plugin(plugin, "csrf-skip"):
        skipped = send(
            server,
            cookies={"ds_csrftoken": token},
            headers={"x-skip-me": "1", "content-type": "text/plain"},
            content="skipped",
        )
        not_skipped = send(
            server,
            cookies={"ds_csrftoken": token},
            headers={"content-type": "text/plain"},
            content="checked",
        )
    assert skipped.status_code == 200
    assert skipped.json()["body"] == "skipped"
    assert_csrf_failure(not_skipped, UNKNOWN)
    # The hook saw the raw scope at the CSRF layer: no actor yet, a csrftoken callable.
    scope = plugin.scopes[0]
    assert scope["path"] == "/-/echo"
    assert "actor" not in scope
    assert scope["csrftoken"]() == token


def test_core_form_post_is_protected(server):
    """`/-/messages` is a core form: cookies without its token are refused."""
    token = fresh_token(server)
    response = send(
        server, path="/-/messages", cookies={"ds_csrftoken": token}, data={"message": "x"}
    )
    assert_csrf_failure(response, FORM_MISMATCH)
    passed = send(
        server,
        path="/-/messages",
        cookies={"ds_csrftoken": token},
        data={"message": "x", "csrftoken": token},
        follow_redirects=False,
    )
    assert passed.status_code == 302
