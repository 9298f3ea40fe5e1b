"""The plugin system: every one of the 28 hooks, called through the path core uses.

Contract: plugins-auth-config.md §1 (loading, order, `/-/plugins`, plugin static files and
templates, `plugin_config`), §2 (the hooks), §8 (templates and custom pages); internals.md
§1.9, §2.8, §6.

The plugins are real files in `tests/plugins/`, loaded the way core loads them: each test
copies the files it needs into its own folder and passes it as `plugins_dir=`. Core
registers them on the global plugin manager under their file names, so the `plugins`
fixture unregisters every one of them afterwards (and refuses to start if an earlier test
left one behind, since core would then silently keep the stale module).

Requests go through `datasette.client` (the full ASGI stack, wrappers included) or a real
uvicorn server (`serve_ds`); the CLI hooks run under click's `CliRunner`.
"""

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

import datasette
from datasette.plugins import DEFAULT_PLUGINS, get_plugins, pm

from .fixtures import SAMPLE_SQL, make_sample_db

PLUGINS = Path(__file__).parent / "plugins"
TEST_PLUGIN_FILES = sorted(p.name for p in PLUGINS.glob("*.py"))

# Extra rows the template and data hooks react to.
HOOKS_SQL = """
CREATE TABLE cells (id INTEGER PRIMARY KEY, v TEXT);
INSERT INTO cells VALUES
  (1, 'hooks-markup'), (2, 'hooks-escape'), (3, 'hooks-args'), (4, 'hooks-order'),
  (5, 'hooks-falsy'), (6, 'hooks-async'), (7, 'hooks-last'), (8, 'plain');
"""


# -- fixtures -----------------------------------------------------------------------------


def _unregister(name):
    if pm.get_plugin(name) is not None:
        pm.unregister(name=name)


@pytest.fixture
def plugins(tmp_path):
    """`plugins("hooks_request.py", ...)` -> a folder holding copies of those plugin files.

    Every copied file name is unregistered from the global `pm` at teardown, whatever the
    test did. A name still registered before the copy would make core ignore the new
    module (it skips already-registered names), so that is an error here.
    """
    folder = tmp_path / "plugins"
    folder.mkdir()
    copied = []

    def load(*names):
        for name in names:
            assert pm.get_plugin(name) is None, f"{name} was left registered by another test"
            shutil.copy(PLUGINS / name, folder / name)
            copied.append(name)
        return str(folder)

    yield load
    for name in copied:
        _unregister(name)


@pytest.fixture(autouse=True)
def no_test_plugins_leak():
    yield
    leaked = [name for name in TEST_PLUGIN_FILES if pm.get_plugin(name) is not None]
    for name in leaked:
        _unregister(name)
    assert not leaked, f"test plugins left registered: {leaked}"


@pytest.fixture
def hooks_db(tmp_path):
    """`sample.db` (database `sample`): the shared sample tables plus `cells`."""
    path = tmp_path / "sample.db"
    make_sample_db(path, SAMPLE_SQL + HOOKS_SQL)
    return str(path)


def actor_cookies(ds, actor):
    return {"ds_actor": ds.client.actor_cookie(actor)}


def cell_html(html, column):
    """Inner HTML of every `<td class="col-COLUMN ...">` cell of a page."""
    return [
        m.group(1).strip()
        for m in re.finditer(
            r'<td class="[^"]*\bcol-{}\b[^"]*"[^>]*>(.*?)</td>'.format(re.escape(column)),
            html,
            re.S,
        )
    ]


# -- loading, registration, /-/plugins ----------------------------------------------------


def test_plugins_dir_registers_each_file_under_its_file_name(make_ds, plugins, tmp_path):
    folder = plugins("hooks_request.py", "hooks_data.py")
    # Only *.py files directly in the folder count: not other files, not subfolders.
    (Path(folder) / "notes.txt").write_text("not a plugin")
    (Path(folder) / "sub").mkdir()
    (Path(folder) / "sub" / "nested.py").write_text("raise RuntimeError('must not load')\n")
    make_ds(memory=True, plugins_dir=folder)
    names = [name for name, _ in pm.list_name_plugin()]
    assert "hooks_request.py" in names and "hooks_data.py" in names
    assert "nested.py" not in names and "notes.txt" not in names
    # Registered after the defaults: the plugins-dir files are called first.
    assert names.index("hooks_data.py") > names.index(DEFAULT_PLUGINS[-1])


def test_loading_the_same_plugins_dir_twice_keeps_the_first_module(make_ds, plugins):
    folder = plugins("hooks_request.py")
    make_ds(memory=True, plugins_dir=folder)
    first = pm.get_plugin("hooks_request.py")
    make_ds(memory=True, plugins_dir=folder)
    assert pm.get_plugin("hooks_request.py") is first
    callers = [c.plugin_name for c in pm.hook.register_routes.get_hookimpls()]
    assert callers.count("hooks_request.py") == 1


@pytest.mark.asyncio
async def test_plugins_json_lists_plugins_dir_plugins_with_sorted_hooks(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py", "hooks_cli.py"))
    response = await ds.client.get("/-/plugins.json")
    assert response.status_code == 200
    listed = response.json()
    assert [p["name"] for p in listed] == ["hooks_cli.py", "hooks_request.py"]
    by_name = {p["name"]: p for p in listed}
    assert by_name["hooks_request.py"] == {
        "name": "hooks_request.py",
        "static": False,
        "templates": False,
        "version": None,
        "hooks": [
            "actor_from_request",
            "asgi_wrapper",
            "forbidden",
            "handle_exception",
            "register_routes",
            "skip_csrf",
        ],
    }
    assert by_name["hooks_cli.py"]["hooks"] == ["publish_subcommand", "register_commands"]
    # The defaults are hidden unless ?all= is non-empty.
    assert not any(p["name"] in DEFAULT_PLUGINS for p in listed)


@pytest.mark.asyncio
async def test_plugins_json_all_adds_the_default_plugins(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_data.py"))
    listed = (await ds.client.get("/-/plugins.json?all=1")).json()
    names = [p["name"] for p in listed]
    assert names == sorted(names)
    assert set(DEFAULT_PLUGINS) <= set(names)
    assert "hooks_data.py" in names
    by_name = {p["name"]: p for p in listed}
    assert by_name["datasette.sql_functions"]["hooks"] == ["prepare_connection"]
    assert by_name["datasette.forbidden"]["hooks"] == ["forbidden"]
    assert by_name["datasette.filters"]["hooks"] == ["filters_from_request"]
    assert by_name["datasette.default_permissions"]["static"] is False
    assert by_name["hooks_data.py"]["hooks"] == sorted(set(by_name["hooks_data.py"]["hooks"]))
    assert "permission_allowed" in by_name["hooks_data.py"]["hooks"]
    # An empty value does not count as asking for all.
    empty = (await ds.client.get("/-/plugins.json?all=")).json()
    assert [p["name"] for p in empty] == ["hooks_data.py"]


@pytest.mark.asyncio
async def test_plugins_html_page_shows_the_same_json(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_cli.py"))
    response = await ds.client.get("/-/plugins")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "hooks_cli.py" in response.text
    assert "register_commands" in response.text


@pytest.mark.asyncio
async def test_plugins_page_needs_view_instance(make_ds, plugins):
    ds = make_ds(
        memory=True, plugins_dir=plugins("hooks_cli.py"), metadata={"allow": {"id": "root"}}
    )
    assert (await ds.client.get("/-/plugins.json")).status_code == 403
    root = await ds.client.get("/-/plugins.json", cookies=actor_cookies(ds, {"id": "root"}))
    assert root.status_code == 200
    assert [p["name"] for p in root.json()] == ["hooks_cli.py"]


def test_datasette_plugins_cli_prints_json(plugins):
    from datasette.cli import cli

    folder = plugins("hooks_cli.py", "hooks_request.py")
    result = CliRunner().invoke(cli, ["plugins", "--plugins-dir", folder])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [p["name"] for p in listed] == ["hooks_cli.py", "hooks_request.py"]
    assert listed[0]["hooks"] == ["publish_subcommand", "register_commands"]
    assert result.output.startswith("[\n    {")  # indent 4
    all_result = CliRunner().invoke(cli, ["plugins", "--all", "--plugins-dir", folder])
    assert all_result.exit_code == 0, all_result.output
    all_names = [p["name"] for p in json.loads(all_result.output)]
    assert set(DEFAULT_PLUGINS) <= set(all_names)
    assert all_names == sorted(all_names)
    # --requirements lists only plugins with a version: none of these have one.
    requirements = CliRunner().invoke(cli, ["plugins", "--requirements", "--plugins-dir", folder])
    assert requirements.exit_code == 0
    assert requirements.output == ""


def test_get_plugins_reports_hooks_of_plugins_dir_modules(make_ds, plugins):
    make_ds(memory=True, plugins_dir=plugins("hooks_templates.py"))
    info = {p["name"]: p for p in get_plugins()}["hooks_templates.py"]
    assert info["static_path"] is None and info["templates_path"] is None
    assert "version" not in info
    assert set(info["hooks"]) == {
        "extra_css_urls",
        "extra_js_urls",
        "extra_body_script",
        "extra_template_vars",
        "prepare_jinja2_environment",
        "menu_links",
        "table_actions",
        "database_actions",
        "render_cell",
    }


def test_test_plugins_cover_every_hook():
    """The files in tests/plugins implement all 28 hooks between them."""
    from datasette import hookspecs
    from datasette.utils import module_from_path

    specs = {
        name
        for name in dir(hookspecs)
        if hasattr(getattr(hookspecs, name), "datasette_spec")
    }
    assert len(specs) == 28
    implemented = set()
    for name in ("hooks_request.py", "hooks_templates.py", "hooks_data.py", "hooks_cli.py"):
        module = module_from_path(str(PLUGINS / name), name=name)
        for attr in dir(module):
            options = getattr(getattr(module, attr), "datasette_impl", None)
            if options is not None:
                implemented.add(options.get("specname") or attr)
    assert implemented == specs


def test_hookimpl_with_an_unknown_argument_is_a_registration_error():
    from pluggy import PluginValidationError

    class Bad:
        __name__ = "hooks-bad"

        @datasette.hookimpl
        def startup(self, datasette, not_an_argument):
            pass

    try:
        with pytest.raises(PluginValidationError, match="not_an_argument"):
            pm.register(Bad(), name="hooks-bad")
    finally:
        # pluggy keeps the name registered after a validation error.
        _unregister("hooks-bad")
    assert "hooks-bad" not in [c.plugin_name for c in pm.hook.startup.get_hookimpls()]


# -- startup, register_permissions, prepare_jinja2_environment ----------------------------


@pytest.mark.asyncio
async def test_startup_runs_after_register_permissions_and_prepare_jinja2_environment(
    make_ds, plugins, hooks_db
):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py", "hooks_templates.py"))
    assert getattr(ds, "_hooks_events", []) == []  # nothing runs at construction
    await ds.invoke_startup()
    assert ds._hooks_events == [
        "register_permissions",
        "prepare_jinja2_environment",
        "prepare_jinja2_environment_async",
        "startup",
        "startup_async",
    ]
    # What the sync startup hook could already see.
    assert ds._hooks_startup_saw == {"permission_registered": True, "jinja_filter": True}
    # The async form's inner function was awaited: it wrote to the database.
    rows = (await ds.get_database("sample").execute("select note from hooks_startup")).rows
    assert [r[0] for r in rows] == ["async startup ran"]
    # Idempotent: a second call runs nothing again.
    await ds.invoke_startup()
    assert ds._hooks_events.count("startup") == 1


@pytest.mark.asyncio
async def test_startup_runs_on_first_client_request(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    response = await ds.client.get("/sample/hooks_startup.json?_shape=array")
    assert response.status_code == 200
    assert response.json() == [{"rowid": 1, "note": "async startup ran"}]
    assert ds._hooks_events[0] == "register_permissions"


def test_startup_runs_before_a_real_server_answers(make_ds, plugins, hooks_db, serve_ds):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    with serve_ds(ds) as server:
        # uvicorn's lifespan startup has run by the time it accepts connections.
        assert ds._startup_invoked
        assert "startup_async" in ds._hooks_events
        response = httpx.get(server.url + "/sample/hooks_startup.json?_shape=array")
    assert response.json() == [{"rowid": 1, "note": "async startup ran"}]


@pytest.mark.asyncio
async def test_register_permissions_adds_a_permission(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_data.py"))
    assert "hooks-permission" not in ds.permissions  # filled by startup
    await ds.invoke_startup()
    permission = ds.get_permission("hp")
    assert permission.name == "hooks-permission"
    assert (permission.takes_database, permission.takes_resource, permission.default) == (
        True,
        False,
        False,
    )
    assert ds.get_permission("view-table").abbr == "vt"  # core ones still there
    # Its registered default applies when nobody has an opinion ...
    assert await ds.permission_allowed({"id": "someone"}, "hooks-permission") is False
    # ... and the plugin's permission_allowed can grant it.
    assert await ds.permission_allowed({"id": "hooks-allowed"}, "hooks-permission") is True
    # The permissions debug page offers it.
    page = await ds.client.get("/-/permissions", cookies=actor_cookies(ds, {"id": "root"}))
    assert page.status_code == 200
    assert '<option value="hooks-permission">' in page.text
    # Tokens store it by its abbreviation.
    token = ds.create_token("x", restrict_all=["hooks-permission"])
    assert ds.unsign(token[len("dstok_"):], "token")["_r"] == {"a": ["hp"]}


@pytest.mark.asyncio
async def test_conflicting_permission_registration_fails_startup(make_ds, plugins, tmp_path):
    folder = Path(plugins("hooks_data.py"))
    (folder / "zz_conflict.py").write_text(
        textwrap.dedent(
            """
            from datasette import Permission, hookimpl

            @hookimpl
            def register_permissions():
                return [Permission("hooks-permission", "hp", "different", False, False, True)]
            """
        )
    )
    try:
        ds = make_ds(memory=True, plugins_dir=str(folder))
        with pytest.raises(Exception, match="Duplicate permission name: hooks-permission"):
            await ds.invoke_startup()
    finally:
        _unregister("zz_conflict.py")


@pytest.mark.asyncio
async def test_prepare_jinja2_environment_filters_and_globals_reach_templates(
    make_ds, plugins, tmp_path
):
    templates = tmp_path / "templates"
    (templates / "pages").mkdir(parents=True)
    (templates / "pages" / "jinja.html").write_text(
        "{{ 'quiet'|hooks_shout }} / {{ hooks_async_global }}"
    )
    ds = make_ds(memory=True, template_dir=str(templates), plugins_dir=plugins("hooks_templates.py"))
    response = await ds.client.get("/jinja")
    assert response.status_code == 200
    assert response.text == "QUIET! / global from async hook"


# -- get_metadata, plugin_config ----------------------------------------------------------


@pytest.mark.asyncio
async def test_get_metadata_is_merged_under_local_metadata(make_ds, plugins, hooks_db):
    ds = make_ds(
        [hooks_db],
        plugins_dir=plugins("hooks_data.py"),
        metadata={"title": "Local title", "databases": {"sample": {"source": "local"}}},
    )
    metadata = (await ds.client.get("/-/metadata.json")).json()
    assert metadata["title"] == "Local title"  # local file wins
    assert metadata["description"] == "Description from get_metadata"
    # Deep merge: database keys from both sources.
    assert metadata["databases"]["sample"]["source"] == "local"
    assert metadata["databases"]["sample"]["description"] == "Database description from get_metadata"
    assert ds.metadata("description", database="sample", table="books") == "Books from get_metadata"
    table_page = await ds.client.get("/sample/books")
    assert "Books from get_metadata" in table_page.text
    index = await ds.client.get("/")
    assert "<h1>Local title</h1>" in index.text
    assert "Description from get_metadata" in index.text


@pytest.mark.asyncio
async def test_plugin_config_resolves_env_and_file_secrets(make_ds, tmp_path, monkeypatch, hooks_db):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("file secret\n")
    monkeypatch.setenv("HOOKS_TEST_SECRET", "env secret")
    monkeypatch.delenv("HOOKS_TEST_UNSET", raising=False)
    metadata = {
        "plugins": {
            "hooks-config": {
                "key": {"$env": "HOOKS_TEST_SECRET"},
                "file": {"$file": str(secret_file)},
                "nested": [{"$env": "HOOKS_TEST_SECRET"}, {"deep": {"$file": str(secret_file)}}],
                "missing": {"$env": "HOOKS_TEST_UNSET"},
                "two_keys": {"$env": "HOOKS_TEST_SECRET", "other": 1},
                "plain": 3,
            }
        },
        "databases": {
            "sample": {
                "plugins": {"hooks-config": {"level": "database"}},
                "tables": {"books": {"plugins": {"another-plugin": {"x": 1}}}},
            }
        },
    }
    ds = make_ds([hooks_db], metadata=metadata)
    assert ds.plugin_config("hooks-config") == {
        "key": "env secret",
        "file": "file secret\n",  # unstripped
        "nested": ["env secret", {"deep": "file secret\n"}],
        "missing": None,
        "two_keys": {"$env": "HOOKS_TEST_SECRET", "other": 1},
        "plain": 3,
    }
    assert ds.plugin_config("hooks-config", database="sample") == {"level": "database"}
    # The first level with any `plugins` key decides (quirk): the table's block hides ours.
    assert ds.plugin_config("hooks-config", database="sample", table="books") is None
    assert ds.plugin_config("another-plugin", database="sample", table="books") == {"x": 1}
    assert ds.plugin_config("hooks-config", database="sample", table="authors") == {
        "level": "database"
    }
    assert ds.plugin_config("hooks-config", database="sample", table="authors", fallback=False) is None
    assert ds.plugin_config("not-configured") is None
    # /-/metadata shows the references, never the secrets.
    shown = (await ds.client.get("/-/metadata.json")).text
    assert "HOOKS_TEST_SECRET" in shown
    assert "env secret" not in shown and "file secret" not in shown


# -- actor_from_request, actors_from_ids --------------------------------------------------


@pytest.mark.asyncio
async def test_actor_from_request_sync_and_async_forms(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    sync = await ds.client.get("/-/actor.json", headers={"x-hooks-actor": "alice"})
    assert sync.json() == {"actor": {"id": "alice", "via": "sync"}}
    async_ = await ds.client.get("/-/actor.json", headers={"x-hooks-async-actor": "bob"})
    assert async_.json() == {"actor": {"id": "bob", "via": "async"}}
    nobody = await ds.client.get("/-/actor.json")
    assert nobody.json() == {"actor": None}
    # request.actor in a plugin route sees the same actor.
    route = await ds.client.get("/-/hooks/hello/x", headers={"x-hooks-actor": "carol"})
    assert route.json()["actor"] == {"id": "carol", "via": "sync"}


@pytest.mark.asyncio
async def test_actor_from_request_first_truthy_wins_plugins_dir_before_defaults(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    cookies = actor_cookies(ds, {"id": "cookie-actor"})
    # plugins-dir impls run before the default ds_actor reader.
    both = await ds.client.get("/-/actor.json", headers={"x-hooks-actor": "header"}, cookies=cookies)
    assert both.json()["actor"] == {"id": "header", "via": "sync"}
    # Within one module the later-registered impl (async form) is called first.
    two = await ds.client.get(
        "/-/actor.json", headers={"x-hooks-actor": "s", "x-hooks-async-actor": "a"}
    )
    assert two.json()["actor"]["via"] == "async"
    # A trylast impl runs after the defaults: the cookie actor wins over it ...
    last = await ds.client.get(
        "/-/actor.json", headers={"x-hooks-last-actor": "late"}, cookies=cookies
    )
    assert last.json()["actor"] == {"id": "cookie-actor"}
    # ... and it is used when nobody before it found an actor.
    alone = await ds.client.get("/-/actor.json", headers={"x-hooks-last-actor": "late"})
    assert alone.json()["actor"] == {"id": "late", "via": "last"}


@pytest.mark.asyncio
async def test_actor_from_request_order_across_plugins_dir_files(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("order_a.py", "order_b.py"))
    response = await ds.client.get(
        "/-/actor.json",
        headers={"x-order-actor": "1"},
        cookies=actor_cookies(ds, {"id": "cookie-actor"}),
    )
    # order_b.py is registered last, so it is asked first; its truthy answer ends the search.
    assert response.json()["actor"] == {"id": "order_b"}


@pytest.mark.asyncio
async def test_scope_actor_from_asgi_wrapper_used_when_no_hook_finds_one(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    response = await ds.client.get("/-/actor.json", headers={"x-hooks-scope-actor": "wrapped"})
    assert response.json()["actor"] == {"id": "wrapped", "via": "scope"}
    hooked = await ds.client.get(
        "/-/actor.json", headers={"x-hooks-scope-actor": "wrapped", "x-hooks-actor": "hook"}
    )
    assert hooked.json()["actor"] == {"id": "hook", "via": "sync"}


@pytest.mark.asyncio
async def test_actors_from_ids_uses_the_async_hook(make_ds, plugins):
    plain = make_ds(memory=True)
    assert await plain.actors_from_ids(["a", 2]) == {"a": {"id": "a"}, 2: {"id": 2}}
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_data.py"))
    assert await ds.actors_from_ids(["a", "b"]) == {
        "a": {"id": "a", "name": "Actor a"},
        "b": {"id": "b", "name": "Actor b"},
    }


# -- asgi_wrapper -------------------------------------------------------------------------


def test_asgi_wrapper_wraps_the_app_of_a_real_server(make_ds, plugins, serve_ds):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    with serve_ds(ds) as server:
        index = httpx.get(server.url + "/")
        static = httpx.get(server.url + "/-/static/app.css")
        missing = httpx.get(server.url + "/no-such-database")
    assert index.status_code == 200
    # Every response passes through the wrapper: pages, static files, errors.
    for response in (index, static, missing):
        assert response.headers["x-hooks-wrapper"] == "hooks_request"


@pytest.mark.asyncio
async def test_asgi_wrapper_last_called_is_outermost(make_ds, plugins):
    folder = plugins("hooks_request.py", "order_a.py", "order_b.py")
    ds = make_ds(memory=True, plugins_dir=folder)
    response = await ds.client.get("/-/hooks/wrap-order")
    # Call order: order_b, order_a, hooks_request; each result wraps the app so far.
    assert response.json() == {"order": ["hooks_request", "order_a", "order_b"]}
    # On the way out the innermost wrapper adds its header first.
    assert response.headers.get_list("x-order") == ["order_b", "order_a"]


def test_asgi_wrapper_runs_at_construction(make_ds):
    calls = []

    class Counter:
        __name__ = "hooks-counter"

        @datasette.hookimpl
        def asgi_wrapper(self, datasette):
            calls.append(datasette)
            return lambda app: app

    pm.register(Counter(), name="hooks-counter")
    try:
        ds = make_ds(memory=True)
        assert calls == [ds]
    finally:
        pm.unregister(name="hooks-counter")


# -- register_routes ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_register_routes_function_view_with_named_groups(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    response = await ds.client.get("/-/hooks/hello/world?x=1")
    assert response.status_code == 200
    assert response.json() == {"name": "world", "actor": None, "url_vars": {"name": "world"}}
    # Patterns are matched against the whole path: no trailing extra.
    assert (await ds.client.get("/-/hooks/hello/world/more")).status_code == 404


@pytest.mark.asyncio
async def test_register_routes_class_view_is_instantiated_per_request(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    first = (await ds.client.get("/-/hooks/class")).json()
    second = (await ds.client.get("/-/hooks/class")).json()
    assert first["class"] == "ClassView" and first["has_datasette"] is True
    assert first["path"] == "/-/hooks/class"
    assert second["instance"] == first["instance"] + 1


@pytest.mark.asyncio
async def test_register_routes_injects_arguments_by_name(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    response = await ds.client.get("/-/hooks/inject")
    assert response.json() == {
        "datasette": "Datasette",
        "request": "Request",
        "scope_type": "http",
        "send": True,
        "receive": True,
    }
    only_scope = await ds.client.get("/-/hooks/inject-some")
    assert only_scope.text == "only scope: /-/hooks/inject-some"


@pytest.mark.asyncio
async def test_register_routes_sync_function_view(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    response = await ds.client.get("/-/hooks/sync?q=hi")
    assert response.status_code == 200
    assert response.text == "sync view hi"


@pytest.mark.asyncio
async def test_register_routes_view_asking_for_an_unknown_argument_is_an_error(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    response = await ds.client.get("/-/hooks/bad-args")
    assert response.status_code == 500
    assert "nonsense" in response.text
    assert "never" not in response.text


@pytest.mark.asyncio
async def test_register_routes_view_may_send_itself_and_return_none(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    response = await ds.client.get("/-/hooks/send")
    assert response.status_code == 202
    assert response.text == "sent directly"
    assert response.headers["x-hooks-raw"] == "1"


@pytest.mark.asyncio
async def test_register_routes_come_before_core_routes(make_ds, plugins):
    plain = make_ds(memory=True)
    assert (await plain.client.get("/hooksdb")).status_code == 404
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    response = await ds.client.get("/hooksdb")
    assert response.status_code == 200
    assert response.text == "plugin route for hooksdb"
    # Core routes are still there.
    assert (await ds.client.get("/_memory.json")).status_code == 200


@pytest.mark.asyncio
async def test_register_routes_view_raising_not_found_gets_the_404_flow(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    response = await ds.client.get("/-/hooks/notfound")
    assert response.status_code == 404
    assert "hooks: nothing here" in response.text


def test_register_routes_through_a_real_server_with_base_url(make_ds, plugins, serve_ds):
    ds = make_ds(
        memory=True, plugins_dir=plugins("hooks_request.py"), settings={"base_url": "/prefix/"}
    )
    with serve_ds(ds) as server:
        response = httpx.get(server.url + "/prefix/-/hooks/hello/there")
    assert response.status_code == 200
    assert response.json()["url_vars"] == {"name": "there"}


# -- skip_csrf ----------------------------------------------------------------------------


def test_skip_csrf_exempts_one_path(make_ds, plugins, serve_ds):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    # A cookie header makes the CSRF check apply (no cookies at all would pass).
    headers = {"cookie": "something=1"}
    with serve_ds(ds) as server:
        protected = httpx.post(server.url + "/-/hooks/post", data={"value": "x"}, headers=headers)
        skipped = httpx.post(
            server.url + "/-/hooks/post-nocsrf", data={"value": "y"}, headers=headers
        )
    assert protected.status_code == 403
    assert "form-urlencoded POST field did not match cookie" in protected.text
    assert skipped.status_code == 200
    assert skipped.text == "posted y"


# -- forbidden ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_forbidden_hook_sync_async_and_default(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    sync = await ds.client.get("/-/hooks/forbidden?_hooks_forbidden=sync")
    assert sync.status_code == 403
    assert sync.text == "sync forbidden: hooks says no"
    async_ = await ds.client.get("/-/hooks/forbidden?_hooks_forbidden=async")
    assert async_.status_code == 302
    assert async_.headers["location"] == "/-/hooks/hello/denied?message=hooks+says+no"
    default = await ds.client.get("/-/hooks/forbidden")
    assert default.status_code == 403
    assert "hooks says no" in default.text
    assert "<title>Forbidden</title>" in default.text


@pytest.mark.asyncio
async def test_forbidden_hook_receives_core_permission_failures(make_ds, plugins, hooks_db):
    ds = make_ds(
        [hooks_db],
        plugins_dir=plugins("hooks_request.py"),
        metadata={"databases": {"sample": {"tables": {"books": {"allow": False}}}}},
    )
    response = await ds.client.get("/sample/books?_hooks_forbidden=sync")
    assert response.status_code == 403
    assert response.text == "sync forbidden: You do not have permission to view this table"


# -- handle_exception ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_handle_exception_sync_async_and_default(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    sync = await ds.client.get("/-/hooks/error/sync")
    assert sync.status_code == 418
    assert sync.text == "handled sync: /-/hooks/error/sync"
    async_ = await ds.client.get("/-/hooks/error/async")
    assert async_.status_code == 409
    assert async_.json() == {"handled": "async", "path": "/-/hooks/error/async"}
    # Nobody answers: the default (trylast) handler gives a 500 page.
    other = await ds.client.get("/-/hooks/error/other")
    assert other.status_code == 500
    assert "other" in other.text


@pytest.mark.asyncio
async def test_handle_exception_gets_404s_no_custom_page_serves(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_request.py"))
    response = await ds.client.get("/no/such/page?_hooks_404=1")
    assert response.status_code == 404
    assert response.text.startswith("hooks 404: ")
    default = await ds.client.get("/no/such/page")
    assert default.status_code == 404
    assert "<!DOCTYPE html>" in default.text


# -- CSS, JS, body scripts, template variables --------------------------------------------


@pytest.mark.asyncio
async def test_extra_css_and_js_urls_sync_and_async(make_ds, plugins, hooks_db):
    ds = make_ds(
        [hooks_db],
        plugins_dir=plugins("hooks_templates.py"),
        metadata={
            "extra_css_urls": ["/hooks-static/sync.css", "https://example.com/meta.css"],
            "extra_js_urls": [{"url": "https://example.com/meta.js", "sri": "sha256-meta"}],
        },
    )
    html = (await ds.client.get("/sample/books")).text
    css = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    # Core CSS, then plugin URLs in call order (async form first), then metadata; de-duplicated.
    assert css[1:] == [
        "/hooks-static/async.css?view=table",
        "/hooks-static/sync.css",
        "https://example.com/hooks-sri.css",
        "https://example.com/meta.css",
    ]
    assert (
        '<link rel="stylesheet" href="https://example.com/hooks-sri.css" '
        'integrity="sha384-hooks" crossorigin="anonymous">'
    ) in html
    scripts = re.findall(r"<script ([^>]*)></script>", html)
    assert 'type="module" src="/hooks-static/module.js"' in scripts
    assert 'src="https://example.com/hooks-async.js?template=table.html"' in scripts
    assert (
        'src="https://example.com/meta.js" integrity="sha256-meta" crossorigin="anonymous"'
        in scripts
    )


@pytest.mark.asyncio
async def test_extra_urls_starting_with_slash_get_the_base_url(make_ds, plugins):
    ds = make_ds(
        memory=True, plugins_dir=plugins("hooks_templates.py"), settings={"base_url": "/prefix/"}
    )
    html = (await ds.client.get("/")).text
    assert 'href="/prefix/hooks-static/sync.css"' in html
    assert 'src="/prefix/hooks-static/module.js"' in html
    assert 'href="https://example.com/hooks-sri.css"' in html


@pytest.mark.asyncio
async def test_extra_body_script_gets_the_page_arguments(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_templates.py"))
    html = (await ds.client.get("/sample/authors")).text
    match = re.search(r"<script>var hooksSync = (.*?);</script>", html)
    assert match, html[-2000:]
    assert json.loads(match.group(1)) == {
        "template": "table.html",
        "database": "sample",
        "table": "authors",
        "columns": ["id", "name"],
        "view_name": "table",
        "has_request": True,
    }
    assert '<script type="module">var hooksAsync = 1;</script>' in html
    index = (await ds.client.get("/")).text
    details = json.loads(re.search(r"var hooksSync = (.*?);</script>", index).group(1))
    assert details["view_name"] == "index" and details["template"] == "index.html"
    database = (await ds.client.get("/sample")).text
    details = json.loads(re.search(r"var hooksSync = (.*?);</script>", database).group(1))
    assert (details["view_name"], details["database"], details["table"]) == (
        "database",
        "sample",
        None,
    )


@pytest.mark.asyncio
async def test_extra_template_vars_reach_templates_and_override_context(
    make_ds, plugins, tmp_path
):
    templates = tmp_path / "templates"
    (templates / "pages" / "people").mkdir(parents=True)
    (templates / "pages" / "vars.html").write_text(
        "{{ hooks_sync_var }}|{{ hooks_async_var }}|{{ hooks_async_fn('x') }}"
    )
    (templates / "pages" / "people" / "{slug}.html").write_text("slug={{ slug }}")
    ds = make_ds(memory=True, template_dir=str(templates), plugins_dir=plugins("hooks_templates.py"))
    page = await ds.client.get("/vars")
    assert page.text == "sync:page:pages/vars.html|async for anonymous|async fn got x"
    actor_page = await ds.client.get("/vars", cookies=actor_cookies(ds, {"id": "dana"}))
    assert "async for dana" in actor_page.text
    # Plugin variables win over the page's own variables ...
    assert (await ds.client.get("/people/sam")).text == "slug=sam"
    assert (await ds.client.get("/people/sam?_hooks_override=1")).text == "slug=overridden-slug"
    # ... and over core variables such as app_css_hash.
    index = await ds.client.get("/?_hooks_override=1")
    assert "app.css?hooksoverride" in index.text
    assert "app.css?hooksoverride" not in (await ds.client.get("/")).text


@pytest.mark.asyncio
async def test_render_template_runs_template_hooks_without_a_request(make_ds, plugins, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "direct.html").write_text(
        "{% extends 'base.html' %}{% block content %}[{{ hooks_sync_var }}]{% endblock %}"
    )
    ds = make_ds(memory=True, template_dir=str(templates), plugins_dir=plugins("hooks_templates.py"))
    with pytest.raises(Exception, match="called before await ds.invoke_startup"):
        await ds.render_template("direct.html")
    await ds.invoke_startup()
    html = await ds.render_template("direct.html", {}, view_name="custom")
    assert "[sync:custom:direct.html]" in html
    details = json.loads(re.search(r"var hooksSync = (.*?);</script>", html).group(1))
    assert details["has_request"] is False
    # No actor, so menu_links adds nothing.
    assert "Hooks menu sync" not in html


# -- menu_links, table_actions, database_actions ------------------------------------------


@pytest.mark.asyncio
async def test_menu_links_sync_and_async(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_templates.py"))
    anonymous = (await ds.client.get("/")).text
    assert "Hooks menu" not in anonymous
    html = (await ds.client.get("/", cookies=actor_cookies(ds, {"id": "erin"}))).text
    assert '<li><a href="/-/hooks/menu/sync">Hooks menu sync</a></li>' in html
    assert '<li><a href="/-/hooks/menu/async">Hooks menu async for erin</a></li>' in html
    # Async form called first (registered later in the module).
    assert html.index("Hooks menu async") < html.index("Hooks menu sync")


@pytest.mark.asyncio
async def test_menu_links_plugins_dir_before_default_links(make_ds, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_templates.py"))
    html = (await ds.client.get("/", cookies=actor_cookies(ds, {"id": "root"}))).text
    assert "Installed plugins" in html
    # plugins-dir impls run before the default menu_links.
    assert html.index("Hooks menu sync") < html.index("Installed plugins")


@pytest.mark.asyncio
async def test_table_actions_on_table_page(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_templates.py"))
    html = (await ds.client.get("/sample/books", cookies=actor_cookies(ds, {"id": "x"}))).text
    assert "Hooks table action sample/books" in html
    assert "Hooks async table action books" in html
    assert 'href="/-/hooks/table-action"' in html
    anonymous = (await ds.client.get("/sample/books")).text
    assert "Hooks table action" not in anonymous


@pytest.mark.asyncio
async def test_database_actions_on_database_page(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_templates.py"))
    html = (await ds.client.get("/sample", cookies=actor_cookies(ds, {"id": "x"}))).text
    assert "Hooks database action sample" in html
    assert "Hooks async database action sample" in html
    assert "Hooks database action" not in (await ds.client.get("/sample")).text


# -- render_cell --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_render_cell_on_table_pages(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_templates.py"))
    html = (await ds.client.get("/sample/cells")).text
    cells = cell_html(html, "v")
    assert cells[0] == '<b class="hooks-markup">markup from plugin</b>'  # Markup kept raw
    assert cells[1] == "&lt;b&gt;escaped&lt;/b&gt;"  # str escaped
    assert cells[2] == '<span class="hooks-args">sample|cells|v|3|/sample/cells</span>'
    assert cells[3] == "first non-None"  # tryfirst said None; the trylast one never counts
    assert cells[4] == "hooks-falsy"  # a falsy winner means default rendering on tables
    assert cells[5] == '<i class="hooks-async">async cell v</i>'
    assert cells[6] == '<em class="hooks-last">last</em>'
    assert cells[7] == "plain"


@pytest.mark.asyncio
async def test_render_cell_on_row_pages(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_templates.py"))
    html = (await ds.client.get("/sample/cells/3")).text
    assert '<span class="hooks-args">sample|cells|v|3|/sample/cells/3</span>' in html


@pytest.mark.asyncio
async def test_render_cell_on_query_pages(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_templates.py"))
    html = (
        await ds.client.get("/sample", params={"sql": "select id, v from cells order by id"})
    ).text
    cells = cell_html(html, "v")
    assert cells[0] == '<b class="hooks-markup">markup from plugin</b>'
    assert cells[2] == '<span class="hooks-args">sample|None|v|3|/sample</span>'  # table=None
    assert cells[3] == "first non-None"
    assert cells[4] == ""  # query pages use any non-None answer, even ""
    assert cells[5] == '<i class="hooks-async">async cell v</i>'


# -- register_output_renderer -------------------------------------------------------------


@pytest.mark.asyncio
async def test_output_renderer_plain_function_and_can_render(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    response = await ds.client.get("/sample/books.hookstxt?_sort=id")
    assert response.status_code == 200
    assert response.text.splitlines() == [
        "table=books",
        "id,title,author_id,year",
        "1,Engines,1,1843",
        "2,Compilers,2,2001",
        "3,Cobol,2,2005",
    ]
    books = (await ds.client.get("/sample/books")).text
    authors = (await ds.client.get("/sample/authors")).text
    # The async can_render says yes only where there is a title column. books has a
    # foreign key, so its export links ask for labels (issue 9, table page HTML).
    assert 'href="/sample/books.hookstxt?_labels=on"' in books
    assert ".hookstxt" not in authors
    # A can_render answering False hides the link, not the format.
    assert ".hooksdefaults" not in books and ".hooksnone" not in books
    assert 'href="/sample/books.hooksargs?_labels=on"' in books  # no can_render: always offered


@pytest.mark.asyncio
async def test_output_renderer_async_render_gets_named_arguments(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    table = await ds.client.get("/sample/authors.hooksargs")
    assert table.status_code == 200
    assert table.headers["x-hooks-renderer"] == "async"
    data = table.json()
    assert data["columns"] == ["id", "name"]
    assert data["rows"] == [[1, "Ada"], [2, "Grace"]]
    assert (data["database"], data["table"], data["query_name"]) == ("sample", "authors", None)
    assert data["view_name"] == "table"
    assert data["path"] == "/sample/authors.hooksargs"
    assert data["truncated"] is False and data["error"] is None
    assert "authors" in data["sql"]
    query = (await ds.client.get("/sample.hooksargs", params={"sql": "select 1 as one"})).json()
    assert (query["view_name"], query["table"], query["query_name"]) == ("database", None, None)
    assert query["sql"] == "select 1 as one" and query["rows"] == [[1]]
    canned = (await ds.client.get("/sample/hooks_sync_query.hooksargs")).json()
    assert canned["query_name"] == "hooks_sync_query"
    assert canned["rows"] == [["from sync hook"]]
    row = await ds.client.get("/sample/authors/2.hooksargs")
    assert row.status_code == 200
    assert row.json()["rows"] == [[2, "Grace"]]


@pytest.mark.asyncio
async def test_output_renderer_legacy_callback_and_dict_response(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    legacy = await ds.client.get("/sample/books.hookslegacy?_hooks_q=find")
    assert legacy.status_code == 201
    assert legacy.headers["content-type"] == "text/x-hooks; charset=utf-8"
    assert legacy.headers["x-hooks-legacy"] == "yes"
    assert legacy.text == "legacy rows=3 q=find"
    defaults = await ds.client.get("/sample/books.hooksdefaults")
    assert defaults.status_code == 200
    assert defaults.headers["content-type"].startswith("text/plain")
    assert defaults.text == "just a body"


@pytest.mark.asyncio
async def test_output_renderer_returning_none_is_404_no_data(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    response = await ds.client.get("/sample/books.hooksnone")
    assert response.status_code == 404
    assert "No data" in response.text
    # An unregistered extension is a plain 404.
    assert (await ds.client.get("/sample/books.hooksmissing")).status_code == 404


@pytest.mark.asyncio
async def test_output_renderers_registry_and_query_page_links(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    assert {"blob", "hookstxt", "hooksargs", "hookslegacy", "hooksnone"} <= set(ds.renderers)
    render, can_render = ds.renderers["hookslegacy"]
    assert render.__name__ == "legacy_callback"  # `callback` stored as the render function
    html = (await ds.client.get("/sample", params={"sql": "select title from books"})).text
    assert ".hookstxt?sql=" in html
    assert ".hooksnone" not in html
    html = (await ds.client.get("/sample", params={"sql": "select 1 as one"})).text
    assert ".hookstxt" not in html  # no title column: can_render said no


def test_renderers_registry_has_json_built_in(make_ds):
    ds = make_ds(memory=True)
    assert "json" in ds.renderers


# -- register_facet_classes ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_register_facet_classes_adds_a_facet_type(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    response = await ds.client.get(
        "/sample/books.json?_facet_first_letter=title&_extra=facet_results"
    )
    assert response.status_code == 200
    facet = response.json()["facet_results"]["results"]["title"]
    assert facet["type"] == "first_letter"
    assert [(r["value"], r["count"]) for r in facet["results"]] == [("C", 2), ("E", 1)]
    suggested = await ds.client.get("/sample/books.json?_extra=suggested_facets")
    names = [(s["name"], s.get("type")) for s in suggested.json()["suggested_facets"]]
    assert ("title", "first_letter") in names
    html = (await ds.client.get("/sample/books?_facet_first_letter=title")).text
    # The total follows the name inside <strong>, as in 1.0a7 (issue 9, table page HTML).
    assert "<strong>title (first_letter)\n" in html
    assert 'data-facet-value="C">C</a> 2</li>' in html
    assert 'data-facet-value="E">E</a> 1</li>' in html
    # The HTML page shows the suggestion of the plugin's facet type.
    plain = (await ds.client.get("/sample/books")).text
    assert "_facet_first_letter=title" in plain


# -- filters_from_request -----------------------------------------------------------------


@pytest.mark.asyncio
async def test_filters_from_request_sync_and_async(make_ds, plugins, hooks_db):
    ds = make_ds(
        [hooks_db], plugins_dir=plugins("hooks_data.py"), settings={"template_debug": True}
    )
    response = await ds.client.get(
        "/sample/books.json?_hooks_min_id=2&_shape=objects&_extra=human_description_en"
    )
    data = response.json()
    assert [row["id"] for row in data["rows"]] == [2, 3]
    assert "id is at least 2" in data["human_description_en"]
    both = await ds.client.get(
        "/sample/books.json?_hooks_min_id=2&_hooks_prefix=Com&_extra=human_description_en"
    )
    data = both.json()
    assert [row["title"] for row in data["rows"]] == ["Compilers"]
    assert "title starts with Com" in data["human_description_en"]
    assert "id is at least 2" in data["human_description_en"]
    html = (await ds.client.get("/sample/books?_hooks_prefix=E")).text
    assert "title starts with E" in html
    assert cell_html(html, "title") == ["Engines"]
    # Without the arguments, nothing is filtered.
    assert len((await ds.client.get("/sample/books.json")).json()["rows"]) == 3


@pytest.mark.asyncio
async def test_filters_from_request_extra_context_reaches_the_template(make_ds, plugins, hooks_db):
    ds = make_ds(
        [hooks_db], plugins_dir=plugins("hooks_data.py"), settings={"template_debug": True}
    )
    context = await ds.client.get("/sample/books?_hooks_prefix=E&_context=1")
    assert context.status_code == 200
    assert "hooks_extra_context" in context.text
    assert "prefix E" in context.text


# -- canned_queries, register_magic_parameters --------------------------------------------


@pytest.mark.asyncio
async def test_canned_queries_from_hooks(make_ds, plugins, hooks_db):
    ds = make_ds(
        [hooks_db],
        plugins_dir=plugins("hooks_data.py"),
        metadata={
            "databases": {
                "sample": {
                    "queries": {
                        "from_metadata": "select 'metadata' as source",
                        "overridden": "select 'metadata wins' as who",
                    }
                }
            }
        },
    )
    database = (await ds.client.get("/sample.json")).json()
    names = {q["name"] for q in database["queries"]}
    assert {"from_metadata", "hooks_sync_query", "hooks_magic", "overridden"} <= names
    assert "hooks_actor_query" not in names
    as_actor = await ds.client.get("/sample.json", cookies=actor_cookies(ds, {"id": "fred"}))
    assert "hooks_actor_query" in {q["name"] for q in as_actor.json()["queries"]}
    sync = await ds.client.get("/sample/hooks_sync_query.json?_shape=array")
    assert sync.json() == [{"source": "from sync hook"}]
    # Hook results update the metadata queries.
    overridden = await ds.client.get("/sample/overridden.json?_shape=array")
    assert overridden.json() == [{"who": "hook wins"}]
    # The async hook's query exists only for an actor.
    assert (await ds.client.get("/sample/hooks_actor_query.json?who=x")).status_code == 404
    actor_query = await ds.client.get(
        "/sample/hooks_actor_query.json?who=me&_shape=array",
        cookies=actor_cookies(ds, {"id": "fred"}),
    )
    assert actor_query.json() == [{"who": "me"}]
    page = await ds.client.get("/sample/hooks_actor_query", cookies=actor_cookies(ds, {"id": "fred"}))
    assert "Query for fred" in page.text
    definition = await ds.get_canned_query("sample", "hooks_sync_query", None)
    assert definition == {"sql": "select 'from sync hook' as source", "name": "hooks_sync_query"}


@pytest.mark.asyncio
async def test_register_magic_parameters(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    response = await ds.client.get("/sample/hooks_magic.json?name=ann&_shape=array")
    assert response.status_code == 200
    assert response.json() == [{"greeting": "hello ann", "shouted": "MAGIC"}]
    # Magic parameters get no form field on the query page.
    page = (await ds.client.get("/sample/hooks_magic")).text
    assert 'name="_hooks_greeting"' not in page


# -- prepare_connection -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_prepare_connection_adds_sql_function(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    response = await ds.client.get(
        "/sample.json", params={"sql": "select hooks_reverse('abc') as r", "_shape": "array"}
    )
    assert response.json() == [{"r": "cba"}]
    # The write connection is prepared too.
    db = ds.get_database("sample")
    result = await db.execute_write_fn(
        lambda conn: conn.execute("select hooks_reverse('xyz')").fetchone()[0]
    )
    assert result == "zyx"
    # The throwaway connection behind /-/versions is `_memory`.
    assert (await ds.client.get("/-/versions.json")).status_code == 200
    assert "_memory" in ds._hooks_prepared


@pytest.mark.asyncio
async def test_prepare_connection_never_called_for_the_internal_database(
    make_ds, plugins, hooks_db
):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    await ds.invoke_startup()
    await ds.refresh_schemas()
    assert (await ds.client.get("/sample/books")).status_code == 200
    internal = ds.get_internal_database()
    rows = (await internal.execute("select count(*) from catalog_tables")).rows
    assert rows[0][0] > 0  # the internal database was used
    assert "sample" in ds._hooks_prepared
    assert not any(name not in ("sample", "_memory") for name in ds._hooks_prepared), ds._hooks_prepared
    with pytest.raises(Exception, match="hooks_reverse"):
        await internal.execute("select hooks_reverse('x')")


# -- permission_allowed -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_permission_allowed_sync_and_async(make_ds, plugins, hooks_db):
    ds = make_ds(
        [hooks_db],
        plugins_dir=plugins("hooks_data.py"),
        metadata={"databases": {"sample": {"tables": {"authors": {"allow": False}}}}},
    )
    # Sync form: an opinion against view-instance.
    denied = await ds.client.get("/", cookies=actor_cookies(ds, {"id": "hooks-denied"}))
    assert denied.status_code == 403
    assert (await ds.client.get("/")).status_code == 200
    # Async form: grants a table the metadata denies. Core logic is tryfirst, so the
    # plugin's later opinion wins.
    assert (await ds.client.get("/sample/authors")).status_code == 403
    allowed = await ds.client.get("/sample/authors", cookies=actor_cookies(ds, {"id": "hooks-allowed"}))
    assert allowed.status_code == 200


@pytest.mark.asyncio
async def test_permission_allowed_last_non_none_wins(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_data.py"))
    cookies = actor_cookies(ds, {"id": "hooks-allowed"})
    # hooks_data's trylast impl says False for books: asked last, it beats everyone.
    assert (await ds.client.get("/sample/books", cookies=cookies)).status_code == 403
    assert (await ds.client.get("/sample/books")).status_code == 200
    await ds.invoke_startup()
    assert await ds.permission_allowed({"id": "hooks-allowed"}, "view-table", ("sample", "books")) is False
    check = ds._permission_checks[-1]
    assert check["action"] == "view-table" and check["used_default"] is False


@pytest.mark.asyncio
async def test_permission_allowed_order_across_plugins_dir_files(make_ds, plugins, hooks_db):
    ds = make_ds([hooks_db], plugins_dir=plugins("hooks_request.py", "order_a.py", "order_b.py"))
    headers = {"x-hooks-actor": "order-tester"}
    # order_b is asked before order_a; order_a's answer is the last non-None one.
    assert (await ds.client.get("/sample/tags", headers=headers)).status_code == 200  # a: True
    assert (await ds.client.get("/sample/authors", headers=headers)).status_code == 403  # a: False
    await ds.invoke_startup()
    actor = {"id": "order-tester"}
    assert await ds.permission_allowed(actor, "view-table", ("sample", "tags")) is True
    assert await ds.permission_allowed(actor, "view-table", ("sample", "authors")) is False


# -- register_commands, publish_subcommand ------------------------------------------------


@pytest.fixture
def fresh_cli(plugins, monkeypatch):
    """`datasette.cli` imported anew with `hooks_cli.py` registered, as at CLI start-up.

    Both CLI hooks run when `datasette.cli` is imported. The plugin file is registered
    under its file name first (what `--plugins-dir` would do, too late for the CLI), then
    the module is re-imported; the original module is restored afterwards.
    """
    from datasette.utils import module_from_path

    folder = plugins("hooks_cli.py")
    module = module_from_path(str(Path(folder) / "hooks_cli.py"), name="hooks_cli.py")
    pm.register(module)
    original = importlib.import_module("datasette.cli")
    # Both are put back at teardown: other tests keep using the original module.
    monkeypatch.setattr(datasette, "cli", original)
    monkeypatch.delitem(sys.modules, "datasette.cli")
    fresh = importlib.import_module("datasette.cli")
    assert fresh is not original
    yield fresh.cli


def test_register_commands_adds_a_cli_command(fresh_cli):
    runner = CliRunner()
    result = runner.invoke(fresh_cli, ["hooks-hello", "Ann"])
    assert result.exit_code == 0, result.output
    assert result.output == "Hello Ann from hooks_cli\n"
    shouted = runner.invoke(fresh_cli, ["hooks-hello", "Ann", "--shout"])
    assert shouted.output == "HELLO ANN FROM HOOKS_CLI\n"
    help_text = runner.invoke(fresh_cli, ["--help"]).output
    assert "hooks-hello" in help_text
    # Core commands are still there.
    assert "serve" in help_text and "plugins" in help_text


def test_publish_subcommand_adds_a_publish_target(fresh_cli):
    runner = CliRunner()
    help_text = runner.invoke(fresh_cli, ["publish", "--help"]).output
    assert "hooks-target" in help_text
    assert "cloudrun" in help_text and "heroku" in help_text
    result = runner.invoke(fresh_cli, ["publish", "hooks-target", "a.db", "b.db", "--service", "s1"])
    assert result.exit_code == 0, result.output
    assert result.output == "would publish a.db, b.db to s1\n"


def test_cli_without_the_plugin_has_no_hooks_command():
    from datasette.cli import cli

    result = CliRunner().invoke(cli, ["hooks-hello", "Ann"])
    assert result.exit_code != 0


# -- plugin packages: static files and templates ------------------------------------------


@pytest.fixture
def plugin_package(tmp_path, monkeypatch):
    """An installed-style plugin package `hooks_pkg` with `static/` and `templates/`.

    Registered on `pm` (under the name "hooks-pkg") before the test constructs Datasette;
    unregistered afterwards.
    """
    root = tmp_path / "site"
    package = root / "hooks_pkg"
    (package / "static" / "css").mkdir(parents=True)
    (package / "templates" / "pages").mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from datasette import hookimpl

            @hookimpl
            def extra_css_urls(datasette):
                return [datasette.urls.static_plugins("hooks_pkg", "css/pkg.css")]
            """
        )
    )
    (package / "static" / "pkg.js").write_text("console.log('hooks_pkg');\n")
    (package / "static" / "css" / "pkg.css").write_text("body { color: red; }\n")
    (package / "templates" / "hooks_pkg_page.html").write_text(
        "{% extends 'base.html' %}{% block content %}<p>pkg says {{ who }}</p>{% endblock %}"
    )
    (package / "templates" / "pages" / "from-package.html").write_text("page from the package")
    monkeypatch.syspath_prepend(str(root))
    module = importlib.import_module("hooks_pkg")
    pm.register(module, name="hooks-pkg")
    yield module
    _unregister("hooks-pkg")
    sys.modules.pop("hooks_pkg", None)


@pytest.mark.asyncio
async def test_plugin_static_files_are_served(make_ds, plugin_package):
    ds = make_ds(memory=True)
    response = await ds.client.get("/-/static-plugins/hooks_pkg/pkg.js")
    assert response.status_code == 200
    assert response.text == "console.log('hooks_pkg');\n"
    nested = await ds.client.get("/-/static-plugins/hooks_pkg/css/pkg.css")
    assert nested.status_code == 200 and "color: red" in nested.text
    assert (await ds.client.get("/-/static-plugins/hooks_pkg/missing.js")).status_code == 404
    assert ds.urls.static_plugins("hooks_pkg", "pkg.js") == "/-/static-plugins/hooks_pkg/pkg.js"
    # The plugin's own hook links its stylesheet on every page.
    index = (await ds.client.get("/")).text
    assert 'href="/-/static-plugins/hooks_pkg/css/pkg.css"' in index


def test_plugin_static_files_through_a_real_server(make_ds, plugin_package, serve_ds):
    ds = make_ds(memory=True, settings={"base_url": "/prefix/"})
    assert ds.urls.static_plugins("hooks_pkg", "pkg.js") == "/prefix/-/static-plugins/hooks_pkg/pkg.js"
    with serve_ds(ds) as server:
        response = httpx.get(server.url + "/prefix/-/static-plugins/hooks_pkg/pkg.js")
    assert response.status_code == 200
    assert "hooks_pkg" in response.text


@pytest.mark.asyncio
async def test_plugins_json_reports_package_static_and_templates(make_ds, plugin_package):
    ds = make_ds(memory=True)
    listed = {p["name"]: p for p in (await ds.client.get("/-/plugins.json")).json()}
    assert listed["hooks_pkg"] == {
        "name": "hooks_pkg",
        "static": True,
        "templates": True,
        "version": None,
        "hooks": ["extra_css_urls"],
    }


@pytest.mark.asyncio
async def test_plugin_templates_usable_by_render_template_and_pages(make_ds, plugin_package):
    ds = make_ds(memory=True)
    await ds.invoke_startup()
    html = await ds.render_template("hooks_pkg_page.html", {"who": "hi"})
    assert "<p>pkg says hi</p>" in html
    assert "<!DOCTYPE html>" in html  # extends our base.html
    page = await ds.client.get("/from-package")
    assert page.status_code == 200
    assert page.text == "page from the package"


@pytest.mark.asyncio
async def test_template_dir_comes_before_plugin_templates(make_ds, plugin_package, tmp_path):
    templates = tmp_path / "mine"
    templates.mkdir()
    (templates / "hooks_pkg_page.html").write_text("mine: {{ who }}")
    ds = make_ds(memory=True, template_dir=str(templates))
    await ds.invoke_startup()
    assert await ds.render_template("hooks_pkg_page.html", {"who": "x"}) == "mine: x"


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A plugin installed with a distribution (`hooks-dist-pkg` 0.1) and an entry point.

    Loaded the way core loads installed plugins (setuptools entry points of group
    `datasette`), restricted to this one entry point so no other installed plugin loads.
    """
    root = tmp_path / "site"
    package = root / "hooks_dist_pkg"
    (package / "static").mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from datasette import hookimpl

            @hookimpl
            def menu_links():
                return [{"href": "/-/installed", "label": "From the installed plugin"}]
            """
        )
    )
    (package / "static" / "dist.js").write_text("/* hooks-dist-pkg */\n")
    info = root / "hooks_dist_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hooks-dist-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[datasette]\nhooks_dist = hooks_dist_pkg\n")
    monkeypatch.syspath_prepend(str(root))
    assert pm.load_setuptools_entrypoints("datasette", name="hooks_dist") == 1
    module = pm.get_plugin("hooks_dist")
    yield module
    _unregister("hooks_dist")
    pm._plugin_distinfo[:] = [(p, d) for p, d in pm._plugin_distinfo if p is not module]
    sys.modules.pop("hooks_dist_pkg", None)


@pytest.mark.asyncio
async def test_installed_plugin_named_by_distribution_with_version(make_ds, installed_plugin):
    ds = make_ds(memory=True)
    listed = (await ds.client.get("/-/plugins.json")).json()
    assert {
        "name": "hooks-dist-pkg",
        "static": True,
        "templates": False,
        "version": "0.1",
        "hooks": ["menu_links"],
    } in listed
    # Static files under the distribution name, and with `-` replaced by `_`.
    for name in ("hooks-dist-pkg", "hooks_dist_pkg"):
        response = await ds.client.get(f"/-/static-plugins/{name}/dist.js")
        assert response.status_code == 200, name
        assert response.text == "/* hooks-dist-pkg */\n"
    html = (await ds.client.get("/", cookies=actor_cookies(ds, {"id": "x"}))).text
    assert "From the installed plugin" in html


def test_plugins_cli_requirements_lists_installed_plugins(installed_plugin):
    from datasette.cli import cli

    result = CliRunner().invoke(cli, ["plugins", "--requirements"])
    assert result.exit_code == 0, result.output
    assert result.output == "hooks-dist-pkg==0.1\n"


@pytest.mark.asyncio
async def test_plugins_dir_called_before_installed_plugins(make_ds, installed_plugin, plugins):
    ds = make_ds(memory=True, plugins_dir=plugins("hooks_templates.py"))
    html = (await ds.client.get("/", cookies=actor_cookies(ds, {"id": "x"}))).text
    # Installed plugins are registered before defaults and plugins-dir files: asked last.
    assert html.index("Hooks menu sync") < html.index("From the installed plugin")


# -- custom pages -------------------------------------------------------------------------


@pytest.fixture
def pages_dir(tmp_path):
    templates = tmp_path / "templates"
    pages = templates / "pages"
    (pages / "people").mkdir(parents=True)
    (pages / "topics").mkdir()
    (pages / "about.html").write_text(
        "{% extends 'base.html' %}{% block content %}<h1>About us</h1>{% endblock %}"
    )
    (pages / "people" / "{slug}.html").write_text("Person: {{ slug }}")
    (pages / "topics" / "{topic}-{year}.html").write_text("Topic {{ topic }} of {{ year }}")
    (pages / "teapot.html").write_text(
        "{{ custom_status(418) }}{{ custom_header('x-teapot', 'short and stout') }}"
        "{{ custom_header('Content-Type', 'text/plain; charset=utf-8') }}I'm a teapot"
    )
    (pages / "moved.html").write_text("{{ custom_redirect('/about', 301) }}")
    (pages / "elsewhere.html").write_text("{{ custom_redirect('https://example.com/') }}")
    (pages / "gone.html").write_text("{{ raise_404('Not here any more') }}never shown")
    (pages / "sample.html").write_text("must not replace a real database")
    return str(templates)


@pytest.mark.asyncio
async def test_custom_page_renders_with_base_template(make_ds, pages_dir, hooks_db):
    ds = make_ds([hooks_db], template_dir=pages_dir)
    response = await ds.client.get("/about")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>About us</h1>" in response.text
    # A trailing slash redirects to the page.
    slash = await ds.client.get("/about/")
    assert slash.status_code == 302 and slash.headers["location"] == "/about"
    # A real database wins over a page of the same name.
    database = await ds.client.get("/sample")
    assert "must not replace" not in database.text
    assert database.status_code == 200


@pytest.mark.asyncio
async def test_custom_page_path_variables(make_ds, pages_dir):
    ds = make_ds(memory=True, template_dir=pages_dir)
    assert (await ds.client.get("/people/ada")).text == "Person: ada"
    assert (await ds.client.get("/topics/sqlite-2024")).text == "Topic sqlite of 2024"
    # A variable matches one path segment only.
    assert (await ds.client.get("/people/ada/extra")).status_code == 404
    # Percent-encoded paths first redirect to their tilde-encoded form.
    encoded = await ds.client.get("/people/a%20b.c")
    assert encoded.status_code == 302
    assert encoded.headers["location"] == "/people/a~20b~2Ec"
    assert (await ds.client.get("/people/a~20b~2Ec")).text == "Person: a~20b~2Ec"


@pytest.mark.asyncio
async def test_custom_page_status_header_redirect_and_404(make_ds, pages_dir):
    ds = make_ds(memory=True, template_dir=pages_dir)
    teapot = await ds.client.get("/teapot")
    assert teapot.status_code == 418
    assert teapot.headers["x-teapot"] == "short and stout"
    assert teapot.headers["content-type"] == "text/plain; charset=utf-8"
    assert teapot.text == "I'm a teapot"
    moved = await ds.client.get("/moved")
    assert moved.status_code == 301 and moved.headers["location"] == "/about"
    elsewhere = await ds.client.get("/elsewhere")
    assert elsewhere.status_code == 302
    assert elsewhere.headers["location"] == "https://example.com/"
    gone = await ds.client.get("/gone")
    assert gone.status_code == 404
    assert "Not here any more" in gone.text
    assert "never shown" not in gone.text


@pytest.mark.asyncio
async def test_custom_page_raise_404_goes_through_handle_exception(make_ds, pages_dir, plugins):
    ds = make_ds(memory=True, template_dir=pages_dir, plugins_dir=plugins("hooks_request.py"))
    response = await ds.client.get("/gone?_hooks_404=1")
    assert response.status_code == 404
    assert response.text == "hooks 404: Not here any more"


@pytest.mark.asyncio
async def test_custom_pages_get_template_hooks_with_view_name_page(make_ds, pages_dir, plugins):
    ds = make_ds(memory=True, template_dir=pages_dir, plugins_dir=plugins("hooks_templates.py"))
    html = (await ds.client.get("/about")).text
    details = json.loads(re.search(r"var hooksSync = (.*?);</script>", html).group(1))
    assert details["view_name"] == "page"
    assert details["template"] == "pages/about.html"


def test_custom_pages_through_a_real_server(make_ds, pages_dir, serve_ds):
    ds = make_ds(memory=True, template_dir=pages_dir)
    with serve_ds(ds) as server:
        about = httpx.get(server.url + "/about")
        person = httpx.get(server.url + "/people/grace")
        teapot = httpx.get(server.url + "/teapot")
    assert about.status_code == 200 and "About us" in about.text
    assert person.text == "Person: grace"
    assert teapot.status_code == 418


# -- DATASETTE_LOAD_PLUGINS ---------------------------------------------------------------

LIST_PLUGINS = (
    "import json, datasette.plugins as p; "
    "print(json.dumps(sorted(x['name'] for x in p.get_plugins())))"
)


LIST_REGISTERED = (
    "import json, datasette.plugins as p; "
    "print(json.dumps(sorted(name for name, _ in p.pm.list_name_plugin())))"
)


def _run_list_plugins(value, script=LIST_PLUGINS):
    env = {k: v for k, v in os.environ.items() if k != "DATASETTE_LOAD_PLUGINS"}
    if value is not None:
        env["DATASETTE_LOAD_PLUGINS"] = value
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(Path(__file__).parent.parent),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


@pytest.mark.slow
def test_load_plugins_empty_loads_only_defaults():
    names, stderr = _run_list_plugins("")
    assert names == sorted(DEFAULT_PLUGINS)
    assert "could not be found" not in stderr


@pytest.mark.slow
def test_load_plugins_unknown_name_is_reported_on_stderr():
    names, stderr = _run_list_plugins("datasette-no-such-plugin-hooks")
    assert "Plugin datasette-no-such-plugin-hooks could not be found" in stderr
    assert names == sorted(DEFAULT_PLUGINS)


@pytest.mark.slow
def test_load_plugins_named_distribution_only():
    registered, stderr = _run_list_plugins(
        "datasette-public, ,datasette-unknown-hooks", script=LIST_REGISTERED
    )
    # Registered under its entry-point name (`public = datasette_public`).
    assert "public" in registered
    assert "search_all" not in registered  # installed, but not asked for
    assert "Plugin datasette-unknown-hooks could not be found" in stderr
    assert set(registered) - {"public"} == set(DEFAULT_PLUGINS)


@pytest.mark.slow
def test_load_plugins_unset_loads_every_installed_plugin():
    names, _ = _run_list_plugins(None)
    assert {"datasette-public", "datasette-search-all"} <= set(names)


PUBLIC_INFO = (
    "import json, datasette.plugins as p; "
    # Core's own public-resources plugin (datasette.internal.public.rules) is not the one.
    "print(json.dumps([x for x in p.get_plugins() "
    "if 'public' in x['name'] and not x['name'].startswith('datasette.')]))"
)


def _public_plugin_info(value):
    (info,), _ = _run_list_plugins(value, script=PUBLIC_INFO)
    return info


@pytest.mark.slow
def test_autoloaded_plugin_reports_distribution_name_and_version():
    info = _public_plugin_info(None)
    assert info["name"] == "datasette-public"
    assert info["version"] == "0.2.3"
    assert info["templates_path"].endswith("templates")
    assert info["static_path"] is None
    assert sorted(info["hooks"]) == [
        "permission_allowed",
        "register_routes",
        "startup",
        "table_actions",
    ]


@pytest.mark.slow
def test_plugin_named_in_load_plugins_reports_distribution_name_and_version():
    info = _public_plugin_info("datasette-public")
    assert info["name"] == "datasette-public"
    assert info["version"] == "0.2.3"
