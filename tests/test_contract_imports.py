"""The import contract: names, hookspecs, settings and signatures that code written for
Datasette 1.0a7 relies on (internals.md §1, §2.1, §2.4)."""

import importlib
import inspect

import pytest

# Names owned by later work: strict xfail, so the mark must go once they land.
LATER: dict = {}

# internals.md §1.12, plus (last entry) "via utils.X every other name in 1.5".
CONTRACT = {
    "datasette": (
        "hookimpl Permission Response Request Forbidden NotFound actor_matches_allow "
        "Context tracer cli app utils"
    ),
    "datasette.app": "Datasette Database SETTINGS",
    "datasette.database": "Database Results MultipleValues",
    "datasette.version": "__version__",
    "datasette.utils": (
        "sqlite3 Column PrefixedUrlString StartupError CustomRow tilde_encode "
        "path_with_added_args allowed_pragmas baseconv detect_json1 find_spatialite "
        "SpatialiteNotFound SPATIALITE_FUNCTIONS resolve_routes"
    ),
    "datasette.utils.asgi": "Request Response asgi_send_json",
    "datasette.utils.sqlite": "sqlite3 supports_table_xinfo sqlite_version",
    "datasette.utils.testing": "TestClient",
    "datasette.utils.check_callable": "check_callable",
    "datasette.plugins": "pm DEFAULT_PLUGINS get_plugins",
    "datasette.cli": "cli serve",
    "datasette.views.base": "View",
    "datasette.facets": "Facet ColumnFacet ArrayFacet DateFacet",
    "datasette.filters": (
        "Filters FilterArguments through_filters where_filters search_filters"
    ),
    "datasette.default_permissions": "restrictions_allow_action",
}

UTILS_SECTION_1_5 = (
    "await_me_maybe parse_metadata tilde_encode tilde_decode functions_marked_as_documented "
    "sqlite3 Column actor_matches_allow urlsafe_components path_from_row_pks "
    "compound_keys_after_sql CustomJSONEncoder sqlite_timelimit validate_sql_select "
    "InvalidSql allowed_pragmas path_with_added_args path_with_removed_args "
    "path_with_replaced_args path_with_format escape_sqlite escape_css_string to_css_class "
    "detect_primary_keys get_outbound_foreign_keys get_all_foreign_keys detect_spatialite "
    "detect_fts detect_fts_sql detect_json1 table_columns table_column_details CustomRow "
    "MultiParams is_url format_bytes escape_fts truncate_url display_actor value_as_boolean "
    "call_with_supported_arguments async_call_with_supported_arguments resolve_env_secrets "
    "check_connection ConnectionProblem SpatialiteConnectionProblem "
    "initial_path_for_datasette derive_named_parameters add_cors_headers resolve_routes "
    "row_sql_params_pks pairs_to_nested_config PrefixedUrlString StartupError "
    "BadMetadataError SpatialiteNotFound find_spatialite SPATIALITE_PATHS "
    "SPATIALITE_FUNCTIONS WriteLimitExceeded LimitedWriter EscapeHtmlWriter module_from_path "
    "link_or_copy link_or_copy_directory make_dockerfile temporary_docker_directory "
    "StaticMount LoadExtension"
)


def _params(pairs):
    params = []
    for module, names in pairs:
        for name in names.split():
            reason = LATER.get((module, name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(module, name, marks=marks, id=f"{module}:{name}"))
    return params


@pytest.mark.parametrize("module,name", _params(CONTRACT.items()))
def test_contract_name_imports(module, name):
    namespace = {}
    exec(f"from {module} import {name}", namespace)
    assert namespace[name] is not None


@pytest.mark.parametrize("module,name", _params([("datasette.utils", UTILS_SECTION_1_5)]))
def test_utils_attribute(module, name):
    utils = importlib.import_module(module)
    assert getattr(utils, name) is not None


def test_utils_submodules_import():
    from datasette.utils import asgi, baseconv, check_callable, internal_db, sqlite, testing

    assert asgi.__name__ == "datasette.utils.asgi"
    assert sqlite.__name__ == "datasette.utils.sqlite"
    assert testing.__name__ == "datasette.utils.testing"
    assert internal_db.__name__ == "datasette.utils.internal_db"
    assert baseconv.base62.decode(baseconv.base62.encode(12345)) == 12345
    status = check_callable.check_callable(test_utils_submodules_import)
    assert status.is_callable is True and status.is_async_callable is False
    assert inspect.iscoroutinefunction(internal_db.init_internal_db)
    assert inspect.iscoroutinefunction(internal_db.populate_schema_tables)


def test_root_reexports_are_the_same_objects():
    import datasette
    from datasette import hookspecs, permissions, views
    from datasette.utils import actors, asgi

    assert datasette.Request is asgi.Request
    assert datasette.Response is asgi.Response
    assert datasette.Forbidden is asgi.Forbidden
    assert datasette.NotFound is asgi.NotFound
    assert datasette.Permission is permissions.Permission
    assert datasette.Context is views.Context
    assert datasette.hookimpl is hookspecs.hookimpl
    assert datasette.hookspec is hookspecs.hookspec
    assert datasette.actor_matches_allow is actors.actor_matches_allow
    assert not hasattr(datasette, "DatasetteError")


def test_version():
    import datasette
    from datasette.version import __version__, __version_info__

    assert __version__ == "1.0a7"
    assert datasette.__version__ == "1.0a7"
    assert __version_info__ == ("1", "0a7")
    assert datasette.__version_info__ == ("1", "0a7")


def test_app_reexports_database():
    from datasette import app, database

    assert app.Database is database.Database
    assert app.QueryInterrupted is database.QueryInterrupted


# -- hookspecs (internals.md §1.9) ----------------------------------------------------------

TEMPLATE_HOOK = ("template", "database", "table", "columns", "view_name", "request", "datasette")
HOOKSPECS = {
    "startup": ("datasette",),
    "asgi_wrapper": ("datasette",),
    "register_output_renderer": ("datasette",),
    "register_permissions": ("datasette",),
    "register_routes": ("datasette",),
    "register_magic_parameters": ("datasette",),
    "get_metadata": ("datasette", "key", "database", "table"),
    "prepare_connection": ("conn", "database", "datasette"),
    "prepare_jinja2_environment": ("env", "datasette"),
    "extra_css_urls": TEMPLATE_HOOK,
    "extra_js_urls": TEMPLATE_HOOK,
    "extra_body_script": TEMPLATE_HOOK,
    "extra_template_vars": TEMPLATE_HOOK,
    "publish_subcommand": ("publish",),
    "register_commands": ("cli",),
    "register_facet_classes": (),
    "render_cell": ("row", "value", "column", "table", "database", "datasette", "request"),
    "actor_from_request": ("datasette", "request"),
    "actors_from_ids": ("datasette", "actor_ids"),
    "filters_from_request": ("request", "database", "table", "datasette"),
    "permission_allowed": ("datasette", "actor", "action", "resource"),
    "canned_queries": ("datasette", "database", "actor"),
    "forbidden": ("datasette", "request", "message"),
    "handle_exception": ("datasette", "request", "exception"),
    "skip_csrf": ("datasette", "scope"),
    "menu_links": ("datasette", "actor", "request"),
    "table_actions": ("datasette", "actor", "database", "table", "request"),
    "database_actions": ("datasette", "actor", "database", "request"),
}


def _declared_hookspecs():
    from datasette import hookspecs

    return {
        name: fn
        for name, fn in vars(hookspecs).items()
        if callable(fn) and hasattr(fn, "datasette_spec")
    }


def test_exactly_28_hookspecs():
    assert len(HOOKSPECS) == 28
    assert set(_declared_hookspecs()) == set(HOOKSPECS)
    assert "track_event" not in _declared_hookspecs()


@pytest.mark.parametrize("name", sorted(HOOKSPECS))
def test_hookspec_parameters(name):
    from datasette.plugins import pm

    fn = _declared_hookspecs()[name]
    assert tuple(inspect.signature(fn).parameters) == HOOKSPECS[name]
    caller = getattr(pm.hook, name)
    assert tuple(caller.spec.argnames) == HOOKSPECS[name]
    assert caller.spec.opts["firstresult"] is (name == "actors_from_ids")


def test_hook_markers_use_project_name():
    from datasette import hookimpl, hookspec
    from datasette.plugins import pm

    assert hookimpl.project_name == "datasette"
    assert hookspec.project_name == "datasette"
    assert pm.project_name == "datasette"


# -- settings (internals.md §2.4) ------------------------------------------------------------

EXPECTED_SETTINGS = [
    ("default_page_size", 100),
    ("max_returned_rows", 1000),
    ("max_insert_rows", 100),
    ("num_sql_threads", 3),
    ("sql_time_limit_ms", 1000),
    ("default_facet_size", 30),
    ("facet_time_limit_ms", 200),
    ("facet_suggest_time_limit_ms", 50),
    ("allow_facet", True),
    ("allow_download", True),
    ("allow_signed_tokens", True),
    ("default_allow_sql", True),
    ("max_signed_tokens_ttl", 0),
    ("suggest_facets", True),
    ("default_cache_ttl", 5),
    ("cache_size_kb", 0),
    ("allow_csv_stream", True),
    ("max_csv_mb", 100),
    ("truncate_cells_html", 2048),
    ("force_https_urls", False),
    ("template_debug", False),
    ("trace_debug", False),
    ("base_url", "/"),
]


def test_settings_tuple():
    from datasette.app import SETTINGS

    assert len(SETTINGS) == 23
    assert [(s.name, s.default) for s in SETTINGS] == EXPECTED_SETTINGS
    for setting in SETTINGS:
        assert setting._fields == ("name", "default", "help")
        assert type(setting.default) is type(dict(EXPECTED_SETTINGS)[setting.name])
        assert isinstance(setting.help, str) and setting.help


def test_settings_derived_constants():
    from datasette.app import DEFAULT_SETTINGS, OBSOLETE_SETTINGS, SQLITE_LIMIT_ATTACHED

    assert DEFAULT_SETTINGS == dict(EXPECTED_SETTINGS)
    assert set(OBSOLETE_SETTINGS) == {"hash_urls", "default_cache_ttl_hashed"}
    assert SQLITE_LIMIT_ATTACHED == 10


# -- Datasette constructor (internals.md §2.1) -----------------------------------------------

CONSTRUCTOR_DEFAULTS = dict(
    files=None,
    immutables=None,
    cache_headers=True,
    cors=False,
    inspect_data=None,
    config=None,
    metadata=None,
    sqlite_extensions=None,
    template_dir=None,
    plugins_dir=None,
    static_mounts=None,
    memory=False,
    settings=None,
    secret=None,
    version_note=None,
    config_dir=None,
    pdb=False,
    crossdb=False,
    nolock=False,
    internal=None,
)


def test_constructor_signature():
    from datasette.app import Datasette

    parameters = inspect.signature(Datasette.__init__).parameters
    names = [n for n in parameters if n != "self"]
    assert names[: len(CONSTRUCTOR_DEFAULTS)] == list(CONSTRUCTOR_DEFAULTS)
    for name, default in CONSTRUCTOR_DEFAULTS.items():
        assert parameters[name].default == default, name


def test_constructor_accepts_every_keyword(make_ds):
    ds = make_ds(**CONSTRUCTOR_DEFAULTS)
    assert list(ds.databases) == ["_memory"]
    assert ds.cors is False
    assert ds.cache_headers is True


def test_constructor_rejects_files_as_string(make_ds):
    with pytest.raises(ValueError):
        make_ds("one.db")


# -- serve.callback (internals.md §1.10) -----------------------------------------------------

SERVE_PARAMETERS = (
    "files immutable host port uds reload cors sqlite_extensions inspect_file metadata "
    "template_dir plugins_dir static memory config settings secret root get token actor "
    "version_note help_settings pdb open_browser create crossdb nolock ssl_keyfile "
    "ssl_certfile internal return_instance"
).split()


def test_serve_callback_parameters():
    from datasette.cli import serve

    parameters = inspect.signature(serve.callback).parameters
    assert list(parameters)[: len(SERVE_PARAMETERS)] == SERVE_PARAMETERS
    assert parameters["return_instance"].default is False


def test_cli_module_globals_are_patchable():
    import datasette.cli

    assert callable(datasette.cli.run_module)
    assert callable(datasette.cli.call)
    assert callable(datasette.cli.check_databases)
