"""The worked example of docs/internal-database.md: plugin state survives a restart."""

import pathlib

import pytest

from datasette.plugins import pm

EXAMPLES = pathlib.Path(__file__).parent.parent / "docs" / "examples"


@pytest.fixture
def example_plugin_dir():
    yield str(EXAMPLES)
    if pm.get_plugin("greeting_plugin.py") is not None:
        pm.unregister(name="greeting_plugin.py")


@pytest.mark.asyncio
async def test_greeting_survives_restart(make_ds, db_path, tmp_path, example_plugin_dir):
    internal = tmp_path / "state.db"
    ds = make_ds([str(db_path)], internal=str(internal), plugins_dir=example_plugin_dir)
    before = await ds.client.get("/-/greeting")
    assert before.json() == {"ok": True, "greeting": None}
    response = await ds.client.post("/-/greeting", json={"greeting": "Hello"})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "greeting": "Hello"}
    ds.close()

    restarted = make_ds([str(db_path)], internal=str(internal), plugins_dir=example_plugin_dir)
    after = await restarted.client.get("/-/greeting")
    assert after.json() == {"ok": True, "greeting": "Hello"}
    # The plugin's table is in the internal database, not the served one.
    served_tables = await restarted.get_database("sample").table_names()
    assert "greeting_plugin_settings" not in served_tables


@pytest.mark.asyncio
async def test_greeting_rejects_bad_json(make_ds, tmp_path, example_plugin_dir):
    ds = make_ds(plugins_dir=example_plugin_dir)
    response = await ds.client.post("/-/greeting", content=b"not json")
    assert response.status_code == 400
    assert response.json()["ok"] is False
