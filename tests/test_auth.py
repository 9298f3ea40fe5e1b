"""Authentication (plugins-auth-config.md §3; internals.md §2.6; http-cli.md §9, §11.2).

Actors from the signed `ds_actor` cookie and from `dstok_` API tokens, the one-time root
login, logout, flash messages, `/-/create-token` and `datasette create-token`. Everything
HTTP goes through a real server; the CLI runs under click's CliRunner, except the one
`serve --root` test that has to start a server process.
"""

import html
import json
import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
from http.cookies import SimpleCookie

import httpx
import itsdangerous
import pytest
from click.testing import CliRunner

from datasette.cli import cli
from datasette.utils import baseconv

from .conftest import free_port
from .fixtures import make_sample_db

# -- helpers ------------------------------------------------------------------------------

SECRET = "sekrit"


def get(server, path, headers=None, **kwargs):
    return httpx.get(
        server.url + path, headers=headers or {}, timeout=60, follow_redirects=False, **kwargs
    )


def post(server, path, headers=None, **kwargs):
    return httpx.post(
        server.url + path, headers=headers or {}, timeout=60, follow_redirects=False, **kwargs
    )


def cookie_header(**cookies):
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def as_actor(ds, actor, **more_cookies):
    return cookie_header(ds_actor=ds.client.actor_cookie(actor), **more_cookies)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def actor_of(server, headers=None):
    response = get(server, "/-/actor.json", headers)
    assert response.status_code == 200
    return response.json()["actor"]


def set_cookies(response):
    """`{name: (value, {attribute: value})}` for every Set-Cookie header of a response."""
    out = {}
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            out[name] = (morsel.value, {k: v for k, v in morsel.items() if v})
    return out


def html_lines(text):
    """The visible text of an HTML page, one stripped line per entry."""
    text = re.sub(r"(?s)<(script|style)\b.*?</\1>", "", text)
    text = re.sub(r"<[^>]+>", "\n", text)
    return [html.unescape(line).strip() for line in text.splitlines() if line.strip()]


def csrf_of(response):
    """`(form token, cookie token)` from a page with a form (the cookie may be reused)."""
    form = re.search(r'name="csrftoken" value="([^"]+)"', response.text).group(1)
    cookie = set_cookies(response).get("ds_csrftoken", (form,))[0]
    return form, cookie


def tamper(signed):
    """`signed` with one signature character changed (away from base64's padding bits)."""
    position = len(signed) - 10
    return signed[:position] + ("B" if signed[position] == "A" else "A") + signed[position + 1 :]


def signed_token(ds, payload):
    return "dstok_" + ds.sign(payload, "token")


def forbidden_message(response):
    assert response.status_code == 403
    return html_lines(response.text)


def runner():
    """A CliRunner keeping stderr apart (click 8.1 needs mix_stderr=False; 8.2+ always does)."""
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


@pytest.fixture
def sample_path(tmp_path):
    return str(make_sample_db(tmp_path / "sample.db"))


@pytest.fixture
def server(make_ds, serve_ds, sample_path):
    ds = make_ds([sample_path], secret=SECRET)
    with serve_ds(ds) as running:
        yield running


# -- signing ------------------------------------------------------------------------------


def test_sign_is_itsdangerous_compatible(make_ds):
    ds = make_ds(secret=SECRET)
    value = {"a": {"id": "alice"}, "n": [1, 2]}
    for namespace in ("actor", "token", "messages", "csrftoken", "default"):
        signed = ds.sign(value, namespace)
        assert signed == itsdangerous.URLSafeSerializer(SECRET, namespace).dumps(value)
        assert ds.unsign(signed, namespace) == value
    assert ds.sign(value) == itsdangerous.URLSafeSerializer(SECRET, "default").dumps(value)
    with pytest.raises(itsdangerous.BadSignature):
        ds.unsign(ds.sign(value, "actor"), "token")
    with pytest.raises(itsdangerous.BadSignature):
        ds.unsign(tamper(ds.sign(value, "actor")), "actor")
    assert ds.client.actor_cookie({"id": "x"}) == ds.sign({"a": {"id": "x"}}, "actor")
    # Long values are zlib-compressed, marked by a leading ".".
    big = {"a": {"id": "x" * 500}}
    assert ds.sign(big, "actor").startswith(".")
    assert ds.sign(big, "actor") == itsdangerous.URLSafeSerializer(SECRET, "actor").dumps(big)
    assert ds.unsign(itsdangerous.URLSafeSerializer(SECRET, "actor").dumps(big), "actor") == big


def test_secret_is_random_per_instance_without_one(make_ds):
    one, two = make_ds(), make_ds()
    assert one.sign("x") != two.sign("x")
    with pytest.raises(itsdangerous.BadSignature):
        two.unsign(one.sign("x"))


# -- the ds_actor cookie (§3.2) -----------------------------------------------------------


def test_ds_actor_cookie_and_actor_endpoint(server):
    ds = server.ds
    assert actor_of(server) is None
    actor = {"id": "alice", "name": "Alice", "roles": ["staff"]}
    assert actor_of(server, cookie_header(ds_actor=ds.sign({"a": actor}, "actor"))) == actor
    # The HTML page shows the same JSON.
    page = get(server, "/-/actor", as_actor(ds, actor))
    assert page.status_code == 200
    assert any('"name": "Alice"' in line for line in html_lines(page.text))


@pytest.mark.parametrize(
    "offset,has_actor",
    [(-10, False), (-86400 * 400, False), (3600, True)],
    ids=["just-expired", "long-expired", "future"],
)
def test_ds_actor_cookie_expiry(server, offset, has_actor):
    ds = server.ds
    expires = baseconv.base62.encode(int(time.time()) + offset)
    cookie = ds.sign({"a": {"id": "alice"}, "e": expires}, "actor")
    assert actor_of(server, cookie_header(ds_actor=cookie)) == (
        {"id": "alice"} if has_actor else None
    )


def test_ds_actor_cookie_falsy_expiry_means_no_expiry(server):
    cookie = server.ds.sign({"a": {"id": "alice"}, "e": ""}, "actor")
    assert actor_of(server, cookie_header(ds_actor=cookie)) == {"id": "alice"}


def test_base62_alphabet():
    assert baseconv.base62.encode(0) == "A"
    assert baseconv.base62.encode(1) == "B"
    assert baseconv.base62.encode(61) == "z"
    assert baseconv.base62.encode(62) == "BA"
    assert baseconv.base62.decode(baseconv.base62.encode(1700000000)) == 1700000000


@pytest.mark.parametrize(
    "make_cookie",
    [
        lambda ds: tamper(ds.sign({"a": {"id": "alice"}}, "actor")),  # tampered signature
        # tampered payload: {"a": {"id": "bob"}} edited inside its base64
        lambda ds: ds.sign({"a": {"id": "bob"}}, "actor").replace("Im", "Ix", 1),
        lambda ds: ds.sign({"a": {"id": "alice"}}, "default"),  # wrong namespace
        lambda ds: itsdangerous.URLSafeSerializer("other", "actor").dumps({"a": {"id": "alice"}}),
        lambda ds: ds.sign([{"id": "alice"}], "actor"),  # not a dict
        lambda ds: ds.sign({"actor": {"id": "alice"}}, "actor"),  # no "a"
        lambda ds: "not-a-signed-value",
        lambda ds: ds.sign({"a": {"id": "alice"}, "e": "!!"}, "actor"),  # garbage expiry
    ],
    ids=[
        "tampered-signature",
        "tampered-payload",
        "namespace",
        "other-secret",
        "list",
        "no-a",
        "garbage",
        "bad-expiry",
    ],
)
def test_bad_ds_actor_cookie_means_no_actor(server, make_cookie):
    cookie = make_cookie(server.ds)
    assert actor_of(server, cookie_header(ds_actor=cookie)) is None
    # Never an error on a page either.
    assert get(server, "/", cookie_header(ds_actor=cookie)).status_code == 200


# -- root login (§3.3) ---------------------------------------------------------------------


def test_root_token_is_64_hex(make_ds):
    ds, other = make_ds(), make_ds()
    assert re.fullmatch(r"[0-9a-f]{64}", ds._root_token)
    assert ds._root_token != other._root_token


def test_root_login_once(server):
    ds = server.ds
    token = ds._root_token
    wrong = get(server, "/-/auth-token?token=" + "0" * 64)
    assert "Invalid token" in forbidden_message(wrong)
    assert "Invalid token" in forbidden_message(get(server, "/-/auth-token"))

    response = get(server, "/-/auth-token?token=" + token)
    assert response.status_code == 302
    assert response.headers["location"] == "/"
    value, attributes = set_cookies(response)["ds_actor"]
    assert ds.unsign(value, "actor") == {"a": {"id": "root"}}
    assert attributes == {"path": "/", "samesite": "lax"}
    assert actor_of(server, cookie_header(ds_actor=value)) == {"id": "root"}

    again = get(server, "/-/auth-token?token=" + token)
    assert "Root token has already been used" in forbidden_message(again)
    assert "ds_actor" not in set_cookies(again)
    # Once used, any token gets the same answer.
    assert "Root token has already been used" in forbidden_message(
        get(server, "/-/auth-token?token=nope")
    )


def test_root_login_redirects_to_base_url(make_ds, serve_ds):
    ds = make_ds(settings={"base_url": "/prefix/"})
    with serve_ds(ds) as server:
        response = get(server, "/prefix/-/auth-token?token=" + ds._root_token)
        assert response.status_code == 302
        assert response.headers["location"] == "/prefix/"
        assert ds.unsign(set_cookies(response)["ds_actor"][0], "actor") == {"a": {"id": "root"}}


def test_root_cookie_opens_permissions_debug(server):
    """The root actor gets permissions-debug; other actors do not."""
    ds = server.ds
    root = as_actor(ds, {"id": "root"})
    assert get(server, "/-/permissions", root).status_code == 200
    assert get(server, "/-/permissions", as_actor(ds, {"id": "alice"})).status_code == 403


def test_serve_root_with_get_does_not_print_or_sign_in(sample_path):
    """With --get nothing is served, so --root prints no link; the GET is anonymous."""
    result = runner().invoke(cli, ["serve", sample_path, "--root", "--get", "/-/actor.json"])
    assert result.exit_code == 0, result.output
    assert "auth-token" not in result.output
    assert json.loads(result.stdout) == {"actor": None}


@pytest.mark.slow
def test_serve_root_prints_login_url_first(sample_path):
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", DATASETTE_LOAD_PLUGINS="")
    env.pop("DATASETTE_SECRET", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", sample_path, "--root", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        first = lines.get(timeout=60).strip()
        match = re.fullmatch(
            rf"http://127\.0\.0\.1:{port}/-/auth-token\?token=([0-9a-f]{{64}})", first
        )
        assert match, first
        response = httpx.get(first, timeout=60, follow_redirects=False)
        assert response.status_code == 302
        cookie = set_cookies(response)["ds_actor"][0]
        actor = httpx.get(
            f"http://127.0.0.1:{port}/-/actor.json",
            headers=cookie_header(ds_actor=cookie),
            timeout=60,
        ).json()
        assert actor == {"actor": {"id": "root"}}
        assert httpx.get(first, timeout=60).status_code == 403
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()


# -- logout and messages (§3.4) ----------------------------------------------------------


def test_logout_without_actor_redirects(server):
    response = get(server, "/-/logout")
    assert response.status_code == 302
    assert response.headers["location"] == "/"


def test_logout_flow(server):
    ds = server.ds
    alice = ds.client.actor_cookie({"id": "alice", "name": "Alice"})
    page = get(server, "/-/logout", cookie_header(ds_actor=alice))
    assert page.status_code == 200
    assert "You are logged in as <strong>Alice</strong>" in re.sub(r"\s+", " ", page.text)
    form_token, cookie_token = csrf_of(page)

    # Without the CSRF token the POST is refused and nothing is cleared.
    refused = post(
        server, "/-/logout", cookie_header(ds_actor=alice, ds_csrftoken=cookie_token), data={}
    )
    assert refused.status_code == 403
    assert "ds_actor" not in set_cookies(refused)

    response = post(
        server,
        "/-/logout",
        cookie_header(ds_actor=alice, ds_csrftoken=cookie_token),
        data={"csrftoken": form_token},
    )
    assert response.status_code == 302
    assert response.headers["location"] == "/"
    cookies = set_cookies(response)
    value, attributes = cookies["ds_actor"]
    assert value == ""
    assert attributes["max-age"] == "0"
    messages = cookies["ds_messages"][0]
    assert ds.unsign(messages, "messages") == [["You are now logged out", 2]]

    shown = get(server, "/", cookie_header(ds_messages=messages))
    assert '<p class="message-warning">You are now logged out</p>' in shown.text


def test_logout_form_in_menu_only_for_cookie_actors(server):
    ds = server.ds
    logout_form = re.compile(r'<form[^>]*action="/-/logout"[^>]*method="post"')
    assert logout_form.search(get(server, "/", as_actor(ds, {"id": "alice"})).text)
    assert not logout_form.search(get(server, "/").text)
    token = ds.create_token("alice")
    assert not logout_form.search(get(server, "/", bearer(token)).text)
    tampered = tamper(ds.client.actor_cookie({"id": "alice"}))
    assert not logout_form.search(get(server, "/", cookie_header(ds_actor=tampered)).text)


def test_messages_post_then_shown_once(server):
    ds = server.ds
    # No cookies at all, so CSRF does not apply.
    response = post(
        server, "/-/messages", data={"message": "Hello <there>", "message_type": "INFO"}
    )
    assert response.status_code == 302
    assert response.headers["location"] == "/"
    value, attributes = set_cookies(response)["ds_messages"]
    assert ds.unsign(value, "messages") == [["Hello <there>", 1]]
    assert attributes == {"path": "/", "samesite": "lax"}

    # A page that renders no template leaves the cookie alone.
    assert "ds_messages" not in set_cookies(
        get(server, "/-/actor.json", cookie_header(ds_messages=value))
    )

    shown = get(server, "/", cookie_header(ds_messages=value))
    assert '<p class="message-info">Hello &lt;there&gt;</p>' in shown.text
    cleared_value, cleared_attributes = set_cookies(shown)["ds_messages"]
    assert cleared_value == ""
    assert cleared_attributes["max-age"] == "0"


@pytest.mark.parametrize(
    "message_type,expected",
    [
        ("WARNING", [["Hi", 2]]),
        ("ERROR", [["Hi", 3]]),
        ("all", [["Hi", 1], ["Hi", 2], ["Hi", 3]]),
    ],
)
def test_message_types(server, message_type, expected):
    ds = server.ds
    response = post(server, "/-/messages", data={"message": "Hi", "message_type": message_type})
    value = set_cookies(response)["ds_messages"][0]
    assert ds.unsign(value, "messages") == expected
    shown = get(server, "/", cookie_header(ds_messages=value)).text
    for _, kind in expected:
        css = {1: "info", 2: "warning", 3: "error"}[kind]
        assert f'<p class="message-{css}">Hi</p>' in shown


def test_messages_page_with_csrf_for_signed_in_actor(server):
    ds = server.ds
    alice = ds.client.actor_cookie({"id": "alice"})
    page = get(server, "/-/messages", cookie_header(ds_actor=alice))
    assert page.status_code == 200
    form_token, cookie_token = csrf_of(page)
    response = post(
        server,
        "/-/messages",
        cookie_header(ds_actor=alice, ds_csrftoken=cookie_token),
        data={"message": "Saved", "message_type": "INFO", "csrftoken": form_token},
    )
    assert response.status_code == 302
    assert ds.unsign(set_cookies(response)["ds_messages"][0], "messages") == [["Saved", 1]]


def test_messages_needs_view_instance(make_ds, serve_ds, sample_path):
    ds = make_ds([sample_path], metadata={"allow": {"id": "alice"}})
    with serve_ds(ds) as server:
        assert "view-instance" in forbidden_message(get(server, "/-/messages"))
        refused = post(server, "/-/messages", data={"message": "x"})
        assert refused.status_code == 403
        assert "ds_messages" not in set_cookies(refused)
        assert get(server, "/-/messages", as_actor(ds, {"id": "alice"})).status_code == 200


# -- signed API tokens (§3.5) --------------------------------------------------------------


@pytest.mark.asyncio
async def test_create_token_payload(make_ds):
    ds = make_ds(secret=SECRET)
    await ds.invoke_startup()
    before = int(time.time())
    plain = ds.create_token("alice")
    after = int(time.time())
    assert plain.startswith("dstok_")
    payload = ds.unsign(plain[len("dstok_") :], "token")
    assert set(payload) == {"a", "t"}
    assert payload["a"] == "alice"
    assert isinstance(payload["t"], int) and before <= payload["t"] <= after
    assert itsdangerous.URLSafeSerializer(SECRET, "token").loads(plain[6:]) == payload

    full = ds.create_token(
        "alice",
        expires_after=3600,
        restrict_all=["view-instance", "my-plugin-action"],
        restrict_database={"sample": ["execute-sql", "vt"]},
        restrict_resource={"sample": {"books": ["view-table", "insert-row"]}},
    )
    payload = ds.unsign(full[len("dstok_") :], "token")
    assert payload == {
        "a": "alice",
        "t": payload["t"],
        "d": 3600,
        "_r": {
            "a": ["vi", "my-plugin-action"],
            "d": {"sample": ["es", "vt"]},
            "r": {"sample": {"books": ["vt", "ir"]}},
        },
    }
    only_db = ds.unsign(
        ds.create_token("bob", restrict_database={"x": ["create-table"]})[6:], "token"
    )
    assert only_db["_r"] == {"d": {"x": ["ct"]}}
    assert "d" not in only_db
    never = ds.unsign(ds.create_token("bob", expires_after=0, restrict_all=[])[6:], "token")
    assert set(never) == {"a", "t"}


@pytest.mark.parametrize("positional", [1, 2, 3])
def test_create_token_restrictions_are_keyword_only(make_ds, positional):
    ds = make_ds()
    with pytest.raises(TypeError):
        ds.create_token("alice", *([None] * positional))


def test_bearer_token_beats_ds_actor_cookie(server):
    ds = server.ds
    headers = {**bearer(ds.create_token("tokenuser")), **as_actor(ds, {"id": "cookieuser"})}
    assert actor_of(server, headers) == {"id": "tokenuser", "token": "dstok"}
    # An invalid token falls through to the cookie.
    headers = {**bearer("dstok_invalid"), **as_actor(ds, {"id": "cookieuser"})}
    assert actor_of(server, headers) == {"id": "cookieuser"}


def test_bearer_token_actor(server):
    ds = server.ds
    assert actor_of(server, bearer(ds.create_token("alice"))) == {"id": "alice", "token": "dstok"}
    token = ds.create_token("alice", expires_after=600)
    t = ds.unsign(token[6:], "token")["t"]
    assert actor_of(server, bearer(token)) == {
        "id": "alice",
        "token": "dstok",
        "token_expires": t + 600,
    }


def test_bearer_token_with_restrictions_carries_them(make_ds, serve_ds, sample_path):
    ds = make_ds([sample_path])
    with serve_ds(ds) as server:
        token = ds.create_token("alice", restrict_resource={"sample": {"books": ["view-table"]}})
        assert actor_of(server, bearer(token)) == {
            "id": "alice",
            "token": "dstok",
            "_r": {"r": {"sample": {"books": ["vt"]}}},
        }


@pytest.mark.parametrize(
    "make_headers",
    [
        lambda ds: bearer(signed_token(ds, {"a": "alice", "t": int(time.time()) - 100, "d": 10})),
        lambda ds: bearer(tamper(ds.create_token("alice"))),
        lambda ds: bearer(ds.create_token("alice")[len("dstok_") :]),
        lambda ds: bearer("dstok_" + ds.sign({"a": "alice", "t": int(time.time())}, "actor")),
        lambda ds: bearer(signed_token(ds, {"a": "alice", "t": str(int(time.time()))})),
        lambda ds: bearer(signed_token(ds, {"a": "alice"})),
        lambda ds: bearer(signed_token(ds, {"a": "alice", "t": int(time.time()), "d": "60"})),
        lambda ds: {"Authorization": "bearer " + ds.create_token("alice")},
        lambda ds: {"Authorization": "Bearer  " + ds.create_token("alice")},
        lambda ds: {"Authorization": "Token " + ds.create_token("alice")},
        lambda ds: bearer("some-other-token"),
    ],
    ids=[
        "expired",
        "tampered",
        "no-prefix",
        "wrong-namespace",
        "t-string",
        "no-t",
        "d-string",
        "lowercase-bearer",
        "two-spaces",
        "token-scheme",
        "not-dstok",
    ],
)
def test_bad_tokens_mean_no_actor(server, make_headers):
    headers = make_headers(server.ds)
    assert actor_of(server, headers) is None
    assert get(server, "/", headers).status_code == 200


def test_signed_tokens_can_be_disabled(make_ds, serve_ds):
    ds = make_ds(settings={"allow_signed_tokens": False})
    with serve_ds(ds) as server:
        assert actor_of(server, bearer(ds.create_token("alice"))) is None


def test_max_signed_tokens_ttl(make_ds, serve_ds):
    ds = make_ds(settings={"max_signed_tokens_ttl": 60})
    now = int(time.time())

    def token(t, d=None):
        payload = {"a": "alice", "t": t}
        if d is not None:
            payload["d"] = d
        return bearer(signed_token(ds, payload))

    with serve_ds(ds) as server:
        # No lifetime: the TTL becomes one.
        assert actor_of(server, token(now))["token_expires"] == now + 60
        assert actor_of(server, token(now - 120)) is None
        # Longer lifetimes are capped, shorter ones kept.
        assert actor_of(server, token(now, 3600))["token_expires"] == now + 60
        assert actor_of(server, token(now - 120, 3600)) is None
        assert actor_of(server, token(now, 30))["token_expires"] == now + 30


def test_token_without_ttl_setting_never_expires(server):
    old = int(time.time()) - 10 * 365 * 86400
    headers = bearer(signed_token(server.ds, {"a": "alice", "t": old}))
    assert actor_of(server, headers) == {"id": "alice", "token": "dstok"}


def test_restricted_token_on_real_endpoints(server):
    ds = server.ds
    headers = bearer(
        ds.create_token("alice", restrict_resource={"sample": {"books": ["view-table"]}})
    )
    index = get(server, "/.json", headers)
    assert index.status_code == 200
    assert [t["name"] for t in index.json()["sample"]["tables_and_views_truncated"]] == ["books"]
    database = get(server, "/sample.json", headers)
    assert database.status_code == 200
    assert [t["name"] for t in database.json()["tables"]] == ["books"]
    assert database.json()["views"] == []
    assert get(server, "/sample/books.json", headers).status_code == 200
    assert get(server, "/sample/books/1.json", headers).status_code == 200
    assert get(server, "/sample/authors.json", headers).json()["error"] == (
        "You do not have permission to view this table"
    )
    assert get(server, "/sample/recent_books.json", headers).status_code == 403
    assert get(server, "/sample.json?sql=select+1", headers).json()["error"] == "execute-sql"
    # Without the token alice sees everything.
    assert get(server, "/sample/authors.json", as_actor(ds, {"id": "alice"})).status_code == 200


def _book_titles(path):
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("select title from books order by id")]
    finally:
        conn.close()


def test_restricted_root_token_cannot_write(server, sample_path):
    ds = server.ds
    restricted = bearer(ds.create_token("root", restrict_all=["view-table"]))
    full = bearer(ds.create_token("root"))
    before = _book_titles(sample_path)
    denied = post(server, "/sample/books/-/insert", restricted, json={"row": {"title": "No"}})
    assert denied.status_code == 403
    assert _book_titles(sample_path) == before
    allowed = post(server, "/sample/books/-/insert", full, json={"row": {"title": "Yes"}})
    assert allowed.status_code == 201, allowed.text
    assert _book_titles(sample_path) == before + ["Yes"]


# -- /-/create-token ----------------------------------------------------------------------


TOKEN_DB_SQL = """
create table books (id integer primary key, title text);
create table authors (id integer primary key, name text);
create table [odd:name] (id integer primary key);
create table hidden_stuff (id integer primary key);
insert into books values (1, 'One');
insert into authors values (1, 'Ann');
"""


@pytest.fixture
def token_server(make_ds, serve_ds, tmp_path):
    sample = tmp_path / "sample.db"
    conn = sqlite3.connect(str(sample))
    conn.executescript(TOKEN_DB_SQL)
    conn.close()
    other = make_sample_db(tmp_path / "other.db")
    metadata = {
        "databases": {
            "sample": {"tables": {"hidden_stuff": {"hidden": True}}},
            "other": {"allow": {"id": "bob"}},
        }
    }
    ds = make_ds([str(sample), str(other)], memory=True, metadata=metadata, secret=SECRET)
    with serve_ds(ds) as running:
        yield running


def open_form(server, actor):
    """GET the form as `actor`; returns (page, headers for a POST with CSRF, form token)."""
    ds = server.ds
    actor_cookie = ds.client.actor_cookie(actor)
    page = get(server, "/-/create-token", cookie_header(ds_actor=actor_cookie))
    assert page.status_code == 200, page.text
    form_token, cookie_token = csrf_of(page)
    return page, cookie_header(ds_actor=actor_cookie, ds_csrftoken=cookie_token), form_token


def minted(response):
    found = re.findall(r"dstok_[A-Za-z0-9_.\-]+", response.text)
    return found[0] if found else None


def test_create_token_form_lists_what_the_actor_can_see(token_server):
    page, _, _ = open_form(token_server, {"id": "alice"})
    names = set(re.findall(r'type="checkbox" name="([^"]+)"', page.text))
    assert {"all:view-instance", "all:insert-row", "database:sample:execute-sql"} <= names
    assert "resource:sample:books:view-table" in names
    assert "resource:sample:authors:insert-row" in names
    assert "resource:sample:odd~3Aname:view-table" in names
    assert not any(":hidden_stuff:" in name for name in names)
    assert not any(name.startswith(("database:other:", "resource:other:")) for name in names)
    assert not any("_memory" in name for name in names)
    assert minted(page) is None
    # bob can see the other database.
    bob_page, _, _ = open_form(token_server, {"id": "bob"})
    assert 'name="database:other:execute-sql"' in bob_page.text


def test_create_token_post_mints_working_token(token_server):
    ds = token_server.ds
    _, headers, form_token = open_form(token_server, {"id": "alice"})
    before = int(time.time())
    response = post(
        token_server,
        "/-/create-token",
        headers,
        data={
            "csrftoken": form_token,
            "expire_type": "hours",
            "expire_duration": "2",
            "all:view-instance": "on",
            "database:sample:execute-sql": "on",
            "resource:sample:books:view-table": "on",
            "resource:sample:odd~3Aname:insert-row": "on",
        },
    )
    assert response.status_code == 200, response.text
    assert '<p class="message-error">' not in response.text
    token = minted(response)
    payload = ds.unsign(token[len("dstok_") :], "token")
    assert payload == {
        "a": "alice",
        "t": payload["t"],
        "d": 7200,
        "_r": {
            "a": ["vi"],
            "d": {"sample": ["es"]},
            "r": {"sample": {"books": ["vt"], "odd:name": ["ir"]}},
        },
    }
    assert payload["t"] >= before

    auth = bearer(token)
    assert actor_of(token_server, auth) == {
        "id": "alice",
        "token": "dstok",
        "token_expires": payload["t"] + 7200,
        "_r": payload["_r"],
    }
    assert get(token_server, "/sample/books.json", auth).status_code == 200
    assert get(token_server, "/sample/authors.json", auth).status_code == 403
    assert get(token_server, "/sample.json?sql=select+1", auth).status_code == 200


def test_create_token_ttl_cap_applies_at_verification_only(make_ds, serve_ds, sample_path):
    ds = make_ds([sample_path], settings={"max_signed_tokens_ttl": 60})
    with serve_ds(ds) as server:
        _, headers, form_token = open_form(server, {"id": "alice"})
        response = post(
            server,
            "/-/create-token",
            headers,
            data={"csrftoken": form_token, "expire_type": "hours", "expire_duration": "2"},
        )
        token = minted(response)
        payload = ds.unsign(token[len("dstok_") :], "token")
        assert payload["d"] == 7200
        assert actor_of(server, bearer(token))["token_expires"] == payload["t"] + 60


def test_create_token_post_without_options(token_server):
    _, headers, form_token = open_form(token_server, {"id": "alice"})
    response = post(
        token_server,
        "/-/create-token",
        headers,
        data={"csrftoken": form_token, "expire_type": "", "expire_duration": ""},
    )
    payload = token_server.ds.unsign(minted(response)[len("dstok_") :], "token")
    assert set(payload) == {"a", "t"}
    assert actor_of(token_server, bearer(minted(response))) == {"id": "alice", "token": "dstok"}


@pytest.mark.parametrize(
    "expire_type,duration,error",
    [
        ("minutes", "abc", "Invalid expire duration"),
        ("minutes", "0", "Invalid expire duration"),
        ("hours", "-5", "Invalid expire duration"),
        ("days", "1.5", "Invalid expire duration"),
        ("days", "", "Invalid expire duration"),
        ("weeks", "3", "Invalid expire duration unit"),
    ],
)
def test_create_token_errors_mint_nothing(token_server, expire_type, duration, error):
    """§9.17: 1.0a7 still minted a non-expiring token here."""
    _, headers, form_token = open_form(token_server, {"id": "alice"})
    response = post(
        token_server,
        "/-/create-token",
        headers,
        data={"csrftoken": form_token, "expire_type": expire_type, "expire_duration": duration},
    )
    assert response.status_code == 200
    assert f'<p class="message-error">{error}</p>' in response.text
    assert minted(response) is None


@pytest.mark.parametrize(
    "settings,headers_for,message",
    [
        (
            {"allow_signed_tokens": False},
            lambda ds: as_actor(ds, {"id": "alice"}),
            "Signed tokens are not enabled for this Datasette instance",
        ),
        (
            {"allow_signed_tokens": False},
            lambda ds: {},
            "Signed tokens are not enabled for this Datasette instance",
        ),
        ({}, lambda ds: {}, "You must be logged in to create a token"),
        (
            {},
            lambda ds: as_actor(ds, {"name": "No id"}),
            "You must be logged in as an actor with an ID to create a token",
        ),
        (
            {},
            lambda ds: bearer(ds.create_token("alice")),
            "Token authentication cannot be used to create additional tokens",
        ),
        (
            {},
            lambda ds: as_actor(ds, {"id": "alice", "token": "from-a-plugin"}),
            "Token authentication cannot be used to create additional tokens",
        ),
    ],
    ids=[
        "disabled",
        "disabled-anonymous",
        "anonymous",
        "no-id",
        "bearer-token",
        "token-actor-cookie",
    ],
)
def test_create_token_gates(make_ds, serve_ds, settings, headers_for, message):
    ds = make_ds(settings=settings)
    with serve_ds(ds) as server:
        headers = headers_for(ds)
        assert message in forbidden_message(get(server, "/-/create-token", headers))
        if "Cookie" not in headers:
            # Anonymous and Bearer POSTs pass CSRF, so the gate itself answers.
            response = post(server, "/-/create-token", headers, data={"expire_type": ""})
            assert message in forbidden_message(response)
            assert minted(response) is None


# -- datasette create-token ----------------------------------------------------------------


def decode_cli_output(stdout):
    lines = stdout.splitlines()
    token = lines[0].strip()
    decoded_at = lines.index("Decoded:")
    return token, json.loads("\n".join(lines[decoded_at + 1 :]))


def test_cli_create_token_debug_payload():
    before = int(time.time())
    result = runner().invoke(
        cli,
        [
            "create-token",
            "root",
            "--secret",
            "S",
            "-a",
            "view-instance",
            "-d",
            "db",
            "insert-row",
            "-r",
            "db",
            "t",
            "view-table",
            "--debug",
        ],
    )
    assert result.exit_code == 0, result.output
    token, decoded = decode_cli_output(result.stdout)
    assert token.startswith("dstok_")
    assert decoded == {
        "a": "root",
        "t": decoded["t"],
        "_r": {"a": ["vi"], "d": {"db": ["ir"]}, "r": {"db": {"t": ["vt"]}}},
    }
    assert decoded["t"] >= before
    assert itsdangerous.URLSafeSerializer("S", "token").loads(token[6:]) == decoded
    assert '\n  "a": "root"' in result.stdout  # indented JSON


def test_cli_create_token_plain_and_expiry():
    result = runner().invoke(cli, ["create-token", "alice", "--secret", "S", "-e", "60"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    token = result.stdout.strip()
    payload = itsdangerous.URLSafeSerializer("S", "token").loads(token[6:])
    assert set(payload) == {"a", "t", "d"}
    assert payload["a"] == "alice" and payload["d"] == 60


def test_cli_create_token_secret_from_env_and_required():
    result = runner().invoke(cli, ["create-token", "alice"], env={"DATASETTE_SECRET": "ENVS"})
    assert result.exit_code == 0, result.output
    assert (
        itsdangerous.URLSafeSerializer("ENVS", "token").loads(result.stdout.strip()[6:])["a"]
        == "alice"
    )
    missing = runner().invoke(cli, ["create-token", "alice"], env={"DATASETTE_SECRET": None})
    assert missing.exit_code == 2
    assert "--secret" in missing.output + (missing.stderr or "")


def test_cli_create_token_unknown_permission_warns_but_mints():
    result = runner().invoke(
        cli,
        [
            "create-token",
            "root",
            "--secret",
            "S",
            "-a",
            "bogus-action",
            "-a",
            "view-table",
            "--debug",
        ],
    )
    assert result.exit_code == 0
    assert "Unknown permission: bogus-action" in result.stderr
    assert "view-table" not in result.stderr
    assert "Unknown permission" not in result.stdout
    token, decoded = decode_cli_output(result.stdout)
    assert decoded["_r"] == {"a": ["bogus-action", "vt"]}


PLUGIN_REGISTERING_PERMISSION = """
from datasette import hookimpl
from datasette.permissions import Permission


@hookimpl
def register_permissions(datasette):
    return [Permission("auth-test-cli-action", "atca", "For test_auth", True, False, False)]
"""


def test_cli_create_token_plugins_dir_registers_permissions(tmp_path):
    from datasette.plugins import pm

    plugins_dir = tmp_path / "plugins"
    plugins_dir.mkdir()
    (plugins_dir / "auth_test_cli_permission.py").write_text(PLUGIN_REGISTERING_PERMISSION)
    before = set(pm.get_plugins())
    try:
        result = runner().invoke(
            cli,
            [
                "create-token", "root", "--secret", "S", "--plugins-dir", str(plugins_dir),
                "-a", "auth-test-cli-action", "--debug",
            ],
        )  # fmt: skip
    finally:
        for plugin in set(pm.get_plugins()) - before:
            pm.unregister(plugin)
    assert result.exit_code == 0, result.output
    assert "Unknown permission" not in (result.stderr or "")
    assert decode_cli_output(result.stdout)[1]["_r"] == {"a": ["atca"]}


def test_cli_token_works_against_instance_with_same_secret(make_ds, serve_ds, sample_path):
    result = runner().invoke(
        cli, ["create-token", "alice", "--secret", SECRET, "-r", "sample", "books", "view-table"]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    same = make_ds([sample_path], secret=SECRET)
    other = make_ds([sample_path], secret="different")
    with serve_ds(same) as server:
        assert actor_of(server, bearer(token)) == {
            "id": "alice",
            "token": "dstok",
            "_r": {"r": {"sample": {"books": ["vt"]}}},
        }
        assert get(server, "/sample/books.json", bearer(token)).status_code == 200
        assert get(server, "/sample/authors.json", bearer(token)).status_code == 403
    with serve_ds(other) as server:
        assert actor_of(server, bearer(token)) is None
