"""`Request`: the parsed view of an ASGI scope (internals.md §5.1)."""

import pytest

from datasette import exceptions
from datasette.utils import asgi
from datasette.utils.asgi import MultiParams, Request
from datasette.utils.params import MultiParams as OriginalMultiParams


def make_scope(**overrides):
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/foo",
        "query_string": b"",
        "headers": [],
    }
    scope.update(overrides)
    return scope


def receive_from(*messages):
    pending = list(messages)

    async def receive():
        return pending.pop(0)

    return receive


def test_fake_builds_the_documented_scope():
    request = Request.fake("/foo/bar?a=1&b=2", method="POST", scheme="https")
    assert request.scope == {
        "http_version": "1.1",
        "method": "POST",
        "path": "/foo/bar",
        "raw_path": b"/foo/bar?a=1&b=2",
        "query_string": b"a=1&b=2",
        "scheme": "https",
        "type": "http",
    }
    assert request.receive is None


def test_fake_with_url_vars_adds_url_route():
    request = Request.fake("/db/table", url_vars={"database": "db", "table": "table"})
    assert request.scope["url_route"] == {"kwargs": {"database": "db", "table": "table"}}
    assert request.url_vars == {"database": "db", "table": "table"}


def test_url_vars_default_to_empty_dict():
    assert Request.fake("/").url_vars == {}


def test_repr():
    assert repr(Request.fake("/foo?a=1")) == (
        '<asgi.Request method="GET" url="http://localhost/foo?a=1">'
    )


def test_url_parts():
    request = Request.fake("/foo/bar?x=1&y=", scheme="https")
    assert request.method == "GET"
    assert request.scheme == "https"
    assert request.host == "localhost"
    assert request.path == "/foo/bar"
    assert request.query_string == "x=1&y="
    assert request.full_path == "/foo/bar?x=1&y="
    assert request.url == "https://localhost/foo/bar?x=1&y="


def test_url_without_query_string_has_no_question_mark():
    request = Request.fake("/foo")
    assert request.query_string == ""
    assert request.full_path == "/foo"
    assert request.url == "http://localhost/foo"


def test_host_comes_from_host_header():
    request = Request(make_scope(headers=[(b"host", b"example.com:8001")]), None)
    assert request.url == "http://example.com:8001/foo"


def test_scheme_defaults_to_http():
    scope = make_scope()
    del scope["scheme"]
    assert Request(scope, None).scheme == "http"


def test_path_prefers_raw_path_and_keeps_percent_encoding():
    scope = make_scope(path="/decoded/slash/here", raw_path=b"/encoded%2Fslash?q=1")
    assert Request(scope, None).path == "/encoded%2Fslash"


def test_path_falls_back_to_scope_path():
    assert Request(make_scope(path="/plain"), None).path == "/plain"


def test_headers_lower_cased_last_wins_latin1():
    scope = make_scope(
        headers=[
            (b"X-Thing", b"one"),
            (b"x-thing", b"two"),
            (b"X-Name", "caf\xe9".encode("latin-1")),
        ]
    )
    assert Request(scope, None).headers == {"x-thing": "two", "x-name": "caf\xe9"}


def test_args_keep_blank_values_and_repeats():
    request = Request.fake("/?a=1&a=2&b=&c=3")
    assert isinstance(request.args, OriginalMultiParams)
    assert request.args["a"] == "1"
    assert request.args.getlist("a") == ["1", "2"]
    assert request.args["b"] == ""
    assert request.args._data == {"a": ["1", "2"], "b": [""], "c": ["3"]}
    assert request.args.get("missing") is None


def test_args_are_cached_until_scope_is_replaced():
    request = Request.fake("/?a=1")
    assert request.args is request.args
    # The router assigns a new scope; parsed values must follow it.
    request.scope = dict(request.scope, query_string=b"a=2")
    assert request.args["a"] == "2"


def test_cookies():
    scope = make_scope(headers=[(b"cookie", b'ds_actor=abc; theme="dark"; empty=')])
    assert Request(scope, None).cookies == {
        "ds_actor": "abc",
        "theme": "dark",
        "empty": "",
    }


def test_no_cookie_header_gives_empty_dict():
    assert Request.fake("/").cookies == {}


def test_actor_read_from_scope():
    request = Request(make_scope(actor={"id": "root"}), None)
    assert request.actor == {"id": "root"}
    assert Request.fake("/").actor is None


@pytest.mark.asyncio
async def test_post_body_joins_all_messages():
    receive = receive_from(
        {"type": "http.request", "body": b"foo=bar&", "more_body": True},
        {"type": "http.request", "body": b"baz=1", "more_body": False},
    )
    request = Request(make_scope(method="POST"), receive)
    assert await request.post_body() == b"foo=bar&baz=1"


@pytest.mark.asyncio
async def test_post_vars_last_duplicate_wins_and_blanks_kept():
    receive = receive_from(
        {"type": "http.request", "body": b"a=1&a=2&blank=&name=caf%C3%A9"}
    )
    request = Request(make_scope(method="POST"), receive)
    assert await request.post_vars() == {"a": "2", "blank": "", "name": "caf\xe9"}


@pytest.mark.asyncio
async def test_post_body_of_fake_request_is_empty():
    assert await Request.fake("/", method="POST").post_body() == b""


def test_exceptions_and_multiparams_are_reexported_not_redefined():
    for name in (
        "Base400",
        "NotFound",
        "Forbidden",
        "BadRequest",
        "DatabaseNotFound",
        "TableNotFound",
        "RowNotFound",
    ):
        assert getattr(asgi, name) is getattr(exceptions, name)
    assert MultiParams is OriginalMultiParams
    assert asgi.SAMESITE_VALUES == ("strict", "lax", "none")


def test_not_found_family_statuses():
    error = asgi.RowNotFound("Row not found", "db", "t", ["1"])
    assert isinstance(error, asgi.NotFound)
    assert (error.status, error.table_name, error.pk_values) == (404, "t", ["1"])
    assert asgi.Forbidden("no").status == 403
    assert asgi.BadRequest("bad").status == 400


def test_fake_percent_encodes_non_ascii_like_a_real_client():
    request = Request.fake("/caf\xe9?name=\u2603")
    assert request.scope["path"] == "/caf\xe9"
    assert request.scope["raw_path"] == b"/caf%C3%A9?name=%E2%98%83"
    assert request.path == "/caf%C3%A9"
    assert request.args["name"] == "\u2603"
