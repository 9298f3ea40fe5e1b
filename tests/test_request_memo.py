"""Work done once per request (datasette/request_memo.py): permission answers per
(actor, action, resource) and metadata lookups; outside a request nothing is kept, and
nothing outlives its request."""

import pytest

from datasette import hookimpl
from datasette.plugins import pm
from datasette.utils.asgi import Response


class CountingPlugin:
    """Counts `permission_allowed` calls for the made-up action `memo-test`, and adds a
    route that checks it twice (same actor) and once for another actor."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def permission_allowed(self, datasette, actor, action, resource):
        if action == "memo-test":
            self.calls.append((actor and actor.get("id"), resource))
            return True
        return None

    @hookimpl
    def register_routes(self):
        async def twice(datasette, request):
            actor = {"id": "ada"}
            first = await datasette.permission_allowed(actor, "memo-test", resource="r")
            second = await datasette.permission_allowed(dict(actor), "memo-test", resource="r")
            other = await datasette.permission_allowed({"id": "bob"}, "memo-test", resource="r")
            return Response.json({"answers": [first, second, other]})

        return [(r"^/-/memo-twice$", twice)]


@pytest.fixture
def counting(make_ds):
    plugin = CountingPlugin()
    pm.register(plugin, name="memo-counting")
    try:
        yield plugin, make_ds([])
    finally:
        pm.unregister(name="memo-counting")


@pytest.mark.asyncio
async def test_a_request_asks_the_hooks_once_per_actor_action_and_resource(counting):
    plugin, ds = counting
    response = await ds.client.get("/-/memo-twice")
    assert response.json() == {"answers": [True, True, True]}
    assert plugin.calls == [("ada", "r"), ("bob", "r")]
    # Every check is still recorded for /-/permissions, memoized or not.
    recorded = [c for c in ds.permission_checks if c["action"] == "memo-test"]
    assert len(recorded) == 3


@pytest.mark.asyncio
async def test_each_request_asks_afresh(counting):
    plugin, ds = counting
    await ds.client.get("/-/memo-twice")
    await ds.client.get("/-/memo-twice")
    assert plugin.calls == [("ada", "r"), ("bob", "r")] * 2


@pytest.mark.asyncio
async def test_outside_a_request_every_check_asks_the_hooks(counting):
    plugin, ds = counting
    await ds.permission_allowed({"id": "ada"}, "memo-test", resource="r")
    await ds.permission_allowed({"id": "ada"}, "memo-test", resource="r")
    assert len(plugin.calls) == 2


@pytest.mark.asyncio
async def test_metadata_changed_between_requests_is_seen(make_ds):
    ds = make_ds([], metadata={"title": "First"})
    assert (await ds.client.get("/-/metadata.json")).json()["title"] == "First"
    ds._metadata_local = {"title": "Second"}
    assert (await ds.client.get("/-/metadata.json")).json()["title"] == "Second"
    assert ds.metadata("title") == "Second"


@pytest.mark.asyncio
async def test_plugin_routes_with_alternatives_still_route(make_ds):
    class Routes:
        @hookimpl
        def register_routes(self):
            async def either(request):
                return Response.text("either")

            return [(r"/-/one$|/-/two$", either)]

    pm.register(Routes(), name="memo-routes")
    try:
        ds = make_ds([])
        assert (await ds.client.get("/-/two")).text == "either"
        assert (await ds.client.get("/-/one")).text == "either"
    finally:
        pm.unregister(name="memo-routes")
