"""Work a request skips when it cannot matter (issue 15), and what must still happen.

- No cookie and no `Authorization` header: the core actor hooks are not asked, but a
  plugin's `actor_from_request` always is.
- Permission hooks are called directly, in pluggy's order; a wrapper hands the call back
  to pluggy.
- The permission log stamps a request's checks with one time.
- A client that does not accept gzip gets the response as it is, plus `Vary`.
- A routed request reuses what was parsed from the same headers and query string.
"""

import datetime

import pytest

from datasette import hookimpl
from datasette.utils.asgi import Request, Response

from .conftest import one_row_db


@pytest.fixture
def db_path(tmp_path):
    return one_row_db(tmp_path / "fast.db")



class HeaderActor:
    @hookimpl
    def actor_from_request(self, request):
        if request.headers.get("x-card") == "42":
            return {"id": "card-42"}
        return None

    @hookimpl
    def register_routes(self):
        async def whoami(request):
            return Response.json({"actor": request.actor})

        return [(r"^/-/whoami$", whoami)]


@pytest.mark.asyncio
async def test_a_plugin_actor_hook_is_asked_without_cookies_or_tokens(make_ds, registered):
    registered(HeaderActor(), "fast-header-actor")
    ds = make_ds([])
    response = await ds.client.get("/-/whoami", headers={"x-card": "42"})
    assert response.json() == {"actor": {"id": "card-42"}}
    anonymous = await ds.client.get("/-/whoami")
    assert anonymous.json() == {"actor": None}


@pytest.mark.asyncio
async def test_the_actor_cookie_is_still_read(make_ds, db_path):
    ds = make_ds([db_path])
    cookie = ds.sign({"a": {"id": "ana"}}, "actor")
    response = await ds.client.get("/-/actor.json", cookies={"ds_actor": cookie})
    assert response.json() == {"actor": {"id": "ana"}}
    assert (await ds.client.get("/-/actor.json")).json() == {"actor": None}


class Recorder:
    def __init__(self, name, answer, calls, **opts):
        self.name, self.answer, self.calls = name, answer, calls

        def permission_allowed(action):
            if action == "fast-test":
                self.calls.append(self.name)
                return self.answer
            return None

        self.permission_allowed = hookimpl(**opts)(permission_allowed)


@pytest.mark.asyncio
async def test_permission_hooks_run_in_pluggy_order_last_opinion_wins(make_ds, registered):
    calls = []
    registered(Recorder("first-registered", False, calls), "fast-first")
    registered(Recorder("second-registered", True, calls), "fast-second")
    registered(Recorder("tryfirst", None, calls, tryfirst=True), "fast-tryfirst")
    ds = make_ds([])
    assert await ds.permission_allowed(None, "fast-test") is False
    # pluggy calls the last registered first, tryfirst before both: the last answer wins.
    assert calls == ["tryfirst", "second-registered", "first-registered"]


class Wrapper:
    def __init__(self, seen):
        self.seen = seen

    @hookimpl(wrapper=True)
    def permission_allowed(self, action):
        answers = yield
        if action == "fast-test":
            self.seen.append(list(answers))
            return answers + [True]
        return answers


@pytest.mark.asyncio
async def test_a_wrapper_implementation_hands_the_call_to_pluggy(make_ds, registered):
    calls, seen = [], []
    registered(Recorder("plain", False, calls), "fast-plain")
    registered(Wrapper(seen), "fast-wrapper")
    ds = make_ds([])
    assert await ds.permission_allowed(None, "fast-test") is True
    assert seen == [[False]]


@pytest.mark.asyncio
async def test_a_request_stamps_its_permission_checks_with_one_time(make_ds, db_path):
    ds = make_ds([db_path])
    before = datetime.datetime.now(datetime.timezone.utc)
    assert (await ds.client.get("/fast/t/1.json")).status_code == 200
    checks = [c for c in ds.permission_checks if c["action"].startswith("view-")]
    assert [c["action"] for c in checks[-3:]] == ["view-table", "view-database", "view-instance"]
    stamps = {c["when"] for c in checks[-3:]}
    assert len(stamps) == 1
    assert datetime.datetime.fromisoformat(stamps.pop()) >= before
    # Outside a request each check is stamped when it happens.
    await ds.permission_allowed(None, "view-instance")
    assert datetime.datetime.fromisoformat(ds.permission_checks[-1]["when"]) >= before


@pytest.mark.asyncio
async def test_without_accept_encoding_gzip_a_response_only_gains_vary(make_ds, db_path):
    ds = make_ds([db_path])
    big = await ds.client.get("/fast/t.json?_size=1", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in big.headers
    assert big.headers["vary"] == "Accept-Encoding"
    assert big.json()["rows"] == [{"id": 1, "name": "one"}]
    # Not compressible: no Vary either.
    favicon = await ds.client.get("/favicon.ico", headers={"accept-encoding": "identity"})
    assert "accept-encoding" not in favicon.headers.get("vary", "").lower()


def test_a_routed_request_reuses_what_was_parsed():
    scope = {
        "type": "http", "method": "GET", "path": "/x", "raw_path": b"/x",
        "query_string": b"a=1", "headers": [(b"cookie", b"k=v"), (b"host", b"h")],
    }
    request = Request(scope, None)
    assert request.cookies == {"k": "v"} and request.args["a"] == "1"
    routed = request.with_scope(dict(scope, url_route={"kwargs": {"n": "1"}}))
    assert routed._cache is request._cache
    assert routed.url_vars == {"n": "1"}
    # Different headers: nothing is carried over.
    other = request.with_scope(dict(scope, headers=[(b"host", b"h")]))
    assert other.cookies == {}


def test_a_request_without_a_cookie_header_has_no_cookies():
    request = Request({"type": "http", "headers": [(b"host", b"h")]}, None)
    assert request.cookies == {}
