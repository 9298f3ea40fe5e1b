"""Signed values whose signature holds but whose payload we never wrote (issue 9, item 1).

A valid signature only proves the payload was signed with this instance's secret: the
`ds_actor` cookie, `dstok_` API tokens and the `ds_messages` cookie are each read field
by field, and a payload of the wrong shape is no actor (anonymous), never a 500 and never
more rights than a well-formed one would give.
"""

import httpx
import pytest

from datasette.app import Datasette
from datasette.tokens import valid_actor, valid_restrictions

from .conftest import ServerThread


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from .fixtures import make_read_api_db

    path = tmp_path_factory.mktemp("hostile_signed") / "fixtures.db"
    make_read_api_db(path, big_rows=10)
    # Anonymous may not see the table, so a payload that sneaks past as an actor shows.
    metadata = {"databases": {"fixtures": {"tables": {"states": {"allow": {"id": "alice"}}}}}}
    ds = Datasette([str(path)], metadata=metadata)
    with ServerThread(ds) as running:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            yield ds, client
    ds.close()


def actor_for(client, **kwargs):
    response = client.get("/-/actor.json", **kwargs)
    assert response.status_code == 200, response.text
    return response.json()["actor"]


ODD_ACTORS = [
    "alice",
    ["alice"],
    42,
    None,
    {"id": ["alice"]},
    {"id": {"nested": 1}},
    {"id": True},
    {"id": 1.5},
    {"id": "alice", "_r": "everything"},
    {"id": "alice", "_r": {"a": "vi"}},
    {"id": "alice", "_r": {"d": {"fixtures": 5}}},
    {"id": "alice", "_r": {"r": {"fixtures": ["vt"]}}},
    {"id": "alice", "_r": {"a": [1, {"x": 1}]}},
    {"id": "alice", "_r": {"zz": []}},
]


@pytest.mark.parametrize("actor", ODD_ACTORS)
def test_actor_cookie_with_odd_actor_is_anonymous(server, actor):
    ds, client = server
    cookie = ds.sign({"a": actor}, "actor")
    assert actor_for(client, headers={"Cookie": f"ds_actor={cookie}"}) is None
    response = client.get("/fixtures/states.json", headers={"Cookie": f"ds_actor={cookie}"})
    assert response.status_code == 403


@pytest.mark.parametrize("payload", ["text", [1, 2], 7, {"no_a": {"id": "alice"}}])
def test_actor_cookie_payload_not_a_dict_with_a(server, payload):
    ds, client = server
    cookie = ds.sign(payload, "actor")
    assert actor_for(client, headers={"Cookie": f"ds_actor={cookie}"}) is None


@pytest.mark.parametrize("expiry", [5, [1], {"x": 1}, "!!not-base62!!", True])
def test_actor_cookie_with_odd_expiry_is_anonymous(server, expiry):
    ds, client = server
    cookie = ds.sign({"a": {"id": "alice"}, "e": expiry}, "actor")
    assert actor_for(client, headers={"Cookie": f"ds_actor={cookie}"}) is None


def test_well_formed_actor_cookie_still_works(server):
    ds, client = server
    cookie = ds.sign({"a": {"id": "alice", "_r": {"a": ["vi"]}}}, "actor")
    assert actor_for(client, headers={"Cookie": f"ds_actor={cookie}"}) == {
        "id": "alice",
        "_r": {"a": ["vi"]},
    }


def token(ds, payload):
    return {"Authorization": "Bearer dstok_" + ds.sign(payload, "token")}


@pytest.mark.parametrize(
    "payload",
    [
        {"a": ["alice"], "t": 1},
        {"a": {"id": "alice"}, "t": 1},
        {"a": None, "t": 1},
        {"a": True, "t": 1},
        {"a": "alice", "t": "yesterday"},
        {"a": "alice", "t": 1.5},
        {"a": "alice", "t": 1, "d": "forever"},
        {"a": "alice", "t": 1, "_r": "x"},
        {"a": "alice", "t": 1, "_r": {"a": "x"}},
        {"a": "alice", "t": 1, "_r": {"d": {"fixtures": 5}}},
        {"a": "alice", "t": 1, "_r": {"d": []}},
        {"a": "alice", "t": 1, "_r": {"r": {"fixtures": ["x"]}}},
        {"a": "alice", "t": 1, "_r": {"r": {"fixtures": {"states": "vt"}}}},
        {"a": "alice", "t": 1, "_r": {"a": [1, {"x": 1}]}},
        "alice",
        [1, 2, 3],
    ],
)
def test_token_with_odd_payload_is_no_actor(server, payload):
    ds, client = server
    headers = token(ds, payload)
    assert actor_for(client, headers=headers) is None
    for path in ("/.json", "/fixtures.json", "/fixtures/simple_primary_key.json"):
        assert client.get(path, headers=headers).status_code == 200
    assert client.get("/fixtures/states.json", headers=headers).status_code == 403
    response = client.post(
        "/fixtures/simple_primary_key/-/insert",
        json={"row": {"content": "x"}},
        headers=headers,
    )
    assert response.status_code == 403
    assert response.json()["ok"] is False


def test_well_formed_restricted_token_still_works(server):
    ds, client = server
    headers = token(ds, {"a": "alice", "t": 1, "_r": {"r": {"fixtures": {"states": ["vt"]}}}})
    assert actor_for(client, headers=headers)["id"] == "alice"
    assert client.get("/fixtures/states.json", headers=headers).status_code == 200
    # The restriction leaves nothing else: another table is refused.
    assert client.get("/fixtures/cities.json", headers=headers).status_code == 403


def test_plugin_actor_with_unreadable_restrictions_is_denied(tmp_path):
    """Restrictions that cannot be read take every right away, whoever made the actor."""
    import asyncio

    from .fixtures import make_sample_db

    path = make_sample_db(tmp_path / "data.db")
    ds = Datasette([str(path)])

    async def check():
        actor = {"id": "root", "_r": {"a": "ir"}}
        return await ds.permission_allowed(actor, "view-instance")

    try:
        assert asyncio.run(check()) is False
    finally:
        ds.close()


MESSAGE_PAYLOADS = [
    "text",
    {"a": 1},
    [["only one"]],
    [[1, 2, 3]],
    [[{"x": 1}, 1]],
    [["text", "level"]],
    [["text", True]],
]


@pytest.mark.parametrize("payload", MESSAGE_PAYLOADS)
def test_messages_cookie_with_odd_payload_is_dropped(server, payload):
    ds, client = server
    cookie = ds.sign(payload, "messages")
    response = client.get("/-/messages", headers={"Cookie": f"ds_messages={cookie}"})
    assert response.status_code == 200
    assert "Traceback" not in response.text
    for text in ("only one", "{'x': 1}", "level"):
        assert text not in response.text


def test_well_formed_messages_cookie_is_shown(server):
    ds, client = server
    cookie = ds.sign([["Hello from a message", 1]], "messages")
    response = client.get("/-/messages", headers={"Cookie": f"ds_messages={cookie}"})
    assert "Hello from a message" in response.text


def test_shape_validators():
    assert valid_restrictions({"a": ["vi"], "d": {"db": ["vd"]}, "r": {"db": {"t": ["vt"]}}})
    assert valid_restrictions({})
    assert not valid_restrictions({"r": {"db": ["vt"]}})
    assert not valid_restrictions({"d": {"db": "vd"}})
    assert not valid_restrictions([])
    assert valid_actor({"id": 3})
    assert valid_actor({"name": "no id"})
    assert not valid_actor({"id": False})
    assert not valid_actor({"id": "x", "_r": None})


def signed_not_json(ds, namespace):
    """A value signed with this instance's secret whose payload is not JSON at all."""
    from itsdangerous import URLSafeSerializer

    serializer = URLSafeSerializer(ds._secret, namespace)
    return serializer.make_signer(namespace).sign(b"bm90IGpzb24").decode()


def test_payloads_that_are_not_json(server):
    ds, client = server
    cookie = signed_not_json(ds, "actor")
    assert actor_for(client, headers={"Cookie": f"ds_actor={cookie}"}) is None
    headers = {"Authorization": "Bearer dstok_" + signed_not_json(ds, "token")}
    assert actor_for(client, headers=headers) is None
    messages = signed_not_json(ds, "messages")
    response = client.get("/-/messages", headers={"Cookie": f"ds_messages={messages}"})
    assert response.status_code == 200
    csrf = signed_not_json(ds, "csrftoken")
    response = client.post(
        "/-/messages",
        content=f"csrftoken={csrf}&message=hi".encode(),
        headers={
            "Cookie": f"ds_csrftoken={csrf}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code < 500
