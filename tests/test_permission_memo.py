"""Core permission answers kept across requests (datasette/permission_memo.py): each thing
the answer depends on, changed between two requests, is seen by the second."""

import pytest

from datasette import hookimpl
from datasette.plugins import pm

from .conftest import one_row_db

ROW = "/data/items/1.json"


@pytest.fixture
def data_path(tmp_path):
    return one_row_db(tmp_path / "data.db", "items")


async def status(ds, path=ROW, actor=None):
    cookies = {"ds_actor": ds.sign({"a": actor}, "actor")} if actor else {}
    return (await ds.client.get(path, cookies=cookies)).status_code


def kept(ds):
    return ds.__dict__["_core_permission_answers"].answers


@pytest.mark.asyncio
async def test_answers_are_kept_between_requests(make_ds, data_path):
    ds = make_ds([data_path])
    assert await status(ds) == 200
    assert any(key[2] == "view-table" for key in kept(ds))
    assert await status(ds) == 200
    # Every check is still in the /-/permissions log, kept answer or not.
    assert sum(1 for c in ds.permission_checks if c["action"] == "view-table") == 2


@pytest.mark.asyncio
async def test_replaced_metadata_is_seen(make_ds, data_path):
    ds = make_ds([data_path])
    assert await status(ds) == 200
    ds._metadata_local = {"databases": {"data": {"tables": {"items": {"allow": False}}}}}
    assert await status(ds) == 403
    ds._metadata_local = None
    assert await status(ds) == 200


def set_in(path, key, value):
    """A change made in place at `path` (keys from the metadata's top) of the metadata."""

    def change(metadata):
        for part in path:
            metadata = metadata[part]
        metadata[key] = value

    return change


DATA = ("databases", "data")
ITEMS = DATA + ("tables", "items")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "steps",
    [
        [(set_in((), "allow", {"id": "bob"}), 403)],
        [(set_in(DATA, "allow", False), 403), (set_in(DATA, "allow", {"id": "alice"}), 200)],
        [(set_in(ITEMS, "allow", {"id": "alice"}), 200), (set_in(ITEMS + ("allow",), "id", "bob"), 403)],
        [(set_in(DATA + ("permissions",), "view-table", {"id": "bob"}), 403)],
        [(set_in((), "permissions", {"view-instance": {"id": "bob"}}), 403)],
    ],
    ids=["instance-allow", "database-allow", "table-allow-nested", "database-block", "instance-block"],
)
async def test_metadata_changed_in_place_is_seen(make_ds, data_path, steps):
    metadata = {"databases": {"data": {"permissions": {}, "tables": {"items": {}}}}}
    ds = make_ds([data_path], metadata=metadata)
    assert await status(ds, actor={"id": "alice"}) == 200
    for change, expected in steps:
        change(ds._metadata_local)
        assert await status(ds, actor={"id": "alice"}) == expected


@pytest.mark.asyncio
async def test_changed_settings_are_seen(make_ds, data_path):
    ds = make_ds([data_path])
    assert await status(ds) == 200
    assert await status(ds, "/data.json?sql=select+1") == 200
    ds._settings["default_deny"] = True
    assert await status(ds) == 403
    ds._settings["default_deny"] = False
    ds._settings["default_allow_sql"] = False
    assert await status(ds) == 200
    assert await status(ds, "/data.json?sql=select+1") == 403


@pytest.mark.asyncio
async def test_public_grants_are_seen(make_ds, data_path, tmp_path):
    ds = make_ds([data_path], settings={"default_deny": True}, internal=str(tmp_path / "internal.db"))
    await ds.invoke_startup()
    assert await status(ds) == 403
    await ds.public.set_table("data", "items", True, None, None, None)
    assert await status(ds) == 200
    await ds.public.set_table("data", "items", False, None, None, None)
    assert await status(ds) == 403


class Denier:
    @hookimpl
    def permission_allowed(self, action):
        return False if action == "view-table" else None


class MetadataPlugin:
    @hookimpl
    def get_metadata(self, database, table):
        return {"databases": {"data": {"tables": {"items": {"allow": False}}}}}


@pytest.mark.asyncio
@pytest.mark.parametrize("plugin", [Denier, MetadataPlugin])
async def test_registered_plugins_are_seen(make_ds, data_path, plugin):
    ds = make_ds([data_path])
    assert await status(ds) == 200
    pm.register(plugin(), name="memo-plugin")
    try:
        assert await status(ds) == 403
    finally:
        pm.unregister(name="memo-plugin")
    assert await status(ds) == 200


@pytest.mark.asyncio
async def test_token_restrictions_and_actors_are_kept_apart(make_ds, data_path):
    ds = make_ds([data_path], metadata={"allow": {"id": "alice"}})
    assert await status(ds, actor={"id": "alice"}) == 200
    assert await status(ds, actor={"id": "bob"}) == 403
    assert await status(ds, actor={"id": "alice", "_r": {"a": ["ir"]}}) == 403
    assert await status(ds, actor={"id": "alice"}) == 200


class IntKeyActor:
    """An actor JSON writes like {"1": "alice"} but whose key is the number 1."""

    @hookimpl
    def actor_from_request(self, request):
        if request.headers.get("x-int-actor"):
            return {1: "alice"}
        return None


@pytest.mark.asyncio
async def test_actors_that_json_cannot_tell_apart_are_not_confused(make_ds, data_path):
    ds = make_ds([data_path], metadata={"allow": {"1": "alice"}})
    assert await status(ds, actor={"1": "alice"}) == 200
    pm.register(IntKeyActor(), name="memo-int-actor")
    try:
        response = await ds.client.get(ROW, headers={"x-int-actor": "1"})
    finally:
        pm.unregister(name="memo-int-actor")
    # actor.get("1") finds nothing on {1: "alice"}: the allow block refuses it.
    assert response.status_code == 403
