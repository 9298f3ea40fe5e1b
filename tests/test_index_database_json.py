"""Index JSON `/.json`, database JSON `/db.json` and the `/-/threads`, `/-/plugins`, `/-/metadata`
endpoints, over real HTTP (http-cli.md §1, §2.7, §2.8, §9; plugins-auth-config.md §1.3, §4.5)."""

import copy
import hashlib
import os
import sqlite3

import httpx
import pytest

from datasette.app import Datasette
from datasette.plugins import pm

from .conftest import ServerThread
from .fixtures import READ_API_METADATA, make_sample_db

HIDDEN_TABLES = {
    "no_primary_key",  # metadata `hidden`
    "searchable_fts",
    "searchable_fts_data",
    "searchable_fts_idx",
    "searchable_fts_docsize",
    "searchable_fts_config",
    "docs4_fts",
    "docs4_fts_segments",
    "docs4_fts_segdir",
    "docs4_fts_docsize",
    "docs4_fts_stat",
}
VIEWS = {"simple_view", "paginated_view"}
INDEX_ENTRY_KEYS = [
    "name",
    "hash",
    "color",
    "path",
    "tables_and_views_truncated",
    "tables_and_views_more",
    "tables_count",
    "table_rows_sum",
    "show_table_row_counts",
    "hidden_table_rows_sum",
    "hidden_tables_count",
    "views_count",
    "private",
]
INDEX_TABLE_KEYS = {
    "name",
    "columns",
    "primary_keys",
    "count",
    "hidden",
    "fts_table",
    "num_relationships_for_sorting",
    "private",
}
DATABASE_KEYS = [
    "database",
    "private",
    "path",
    "size",
    "tables",
    "hidden_count",
    "views",
    "queries",
    "allow_execute_sql",
    "table_columns",
]
DATABASE_TABLE_KEYS = {
    "name",
    "columns",
    "primary_keys",
    "count",
    "hidden",
    "fts_table",
    "foreign_keys",
    "private",
}
DEFAULT_PLUGIN_MODULES = {
    "datasette.publish.heroku",
    "datasette.publish.cloudrun",
    "datasette.facets",
    "datasette.filters",
    "datasette.sql_functions",
    "datasette.actor_auth_cookie",
    "datasette.default_permissions",
    "datasette.default_magic_parameters",
    "datasette.blob_renderer",
    "datasette.default_menu_links",
    "datasette.handle_exception",
    "datasette.forbidden",
}


def get(server, path, **kwargs):
    return httpx.get(server.url + path, timeout=60, **kwargs)


def assert_json(response, status=200):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


def sqlite_tables(path):
    """{table name: row count} read directly from the file."""
    conn = sqlite3.connect(str(path))
    try:
        names = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        return {n: conn.execute(f"select count(*) from [{n}]").fetchone()[0] for n in names}
    finally:
        conn.close()


def make_db(path, sql):
    conn = sqlite3.connect(str(path))
    try:
        conn.executescript(sql)
    finally:
        conn.close()
    return path


def root_cookie(ds):
    return {"Cookie": "ds_actor=" + ds.client.actor_cookie({"id": "root"})}


def inspect_data_for(*paths):
    """What `datasette inspect` writes: hash, size and every table's count per file.

    Row counts made while serving are time-limited (10 ms index, 5 ms database page), so
    tests asserting exact counts serve immutable files with these precomputed counts.
    """
    return {
        path.stem: {
            "hash": hashlib.sha256(path.read_bytes()).hexdigest(),
            "size": path.stat().st_size,
            "file": str(path),
            "tables": {name: {"count": n} for name, n in sqlite_tables(path).items()},
        }
        for path in paths
    }


@pytest.fixture(scope="module")
def counted_server(read_api_db_path):
    """The read-API fixtures, immutable, with counts from inspect data (read-only use)."""
    ds = Datasette(
        immutables=[str(read_api_db_path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        inspect_data=inspect_data_for(read_api_db_path),
    )
    with ServerThread(ds) as server:
        yield server
    ds.close()


# -- /.json ---------------------------------------------------------------------------------


def test_index_json_mutable_entry(read_api_server):
    data = assert_json(get(read_api_server, "/.json"))
    assert list(data) == ["fixtures"]
    entry = data["fixtures"]
    assert list(entry) == INDEX_ENTRY_KEYS
    assert entry["name"] == "fixtures"
    assert entry["path"] == "/fixtures"
    assert entry["hash"] is None
    assert entry["color"] == hashlib.md5(b"fixtures").hexdigest()[:6]
    assert entry["private"] is False
    assert entry["tables_count"] == 17
    assert entry["views_count"] == 2
    assert entry["hidden_tables_count"] == len(HIDDEN_TABLES)
    assert entry["tables_and_views_more"] is True
    names = [t["name"] for t in entry["tables_and_views_truncated"]]
    assert len(names) == 5
    assert not set(names) & HIDDEN_TABLES


def test_index_json_counts(counted_server, read_api_db_path):
    entry = assert_json(get(counted_server, "/.json"))["fixtures"]
    assert list(entry) == INDEX_ENTRY_KEYS
    counts = sqlite_tables(read_api_db_path)
    visible = {name: n for name, n in counts.items() if name not in HIDDEN_TABLES}
    assert entry["tables_count"] == len(visible) == 17
    assert entry["table_rows_sum"] == sum(visible.values())
    assert entry["hidden_table_rows_sum"] == sum(counts[n] for n in HIDDEN_TABLES)
    assert entry["show_table_row_counts"] is True
    assert entry["hash"] == hashlib.sha256(read_api_db_path.read_bytes()).hexdigest()
    assert entry["color"] == entry["hash"][:6]


def test_index_json_truncated_tables(counted_server):
    truncated = assert_json(get(counted_server, "/.json"))["fixtures"]["tables_and_views_truncated"]
    # Five largest visible tables, by (relationships (not computed here), rows, name) descending.
    assert [t["name"] for t in truncated] == [
        "big",
        "sortable",
        "places",
        "simple_primary_key",
        "cities",
    ]
    for table in truncated:
        assert set(table) == INDEX_TABLE_KEYS
        assert table["hidden"] is False
        assert table["private"] is False
    big = truncated[0]
    assert big["columns"] == ["id", "value", "category", "score"]
    assert big["primary_keys"] == ["id"]
    assert big["count"] == 1001
    assert big["fts_table"] is None


@pytest.mark.parametrize("extra_tables, more", [(0, False), (1, True)])
def test_index_json_views_top_up_and_more_flag(tmp_path, make_ds, serve_ds, extra_tables, more):
    sql = """
    create table a (id integer primary key); insert into a values (1), (2), (3);
    create table b (id integer primary key); insert into b values (1), (2);
    create table c (id integer primary key); insert into c values (1);
    create table secret (id integer primary key); insert into secret values (1), (2), (3), (4);
    create view v1 as select * from a;
    create view v2 as select * from b;
    """
    sql += "create table d (id integer primary key);" * extra_tables
    path = make_db(tmp_path / "small.db", sql)
    metadata = {"databases": {"small": {"tables": {"secret": {"hidden": True}}}}}
    ds = make_ds(immutables=[str(path)], metadata=metadata, inspect_data=inspect_data_for(path))
    with serve_ds(ds) as server:
        entry = assert_json(get(server, "/.json"))["small"]
    truncated = entry["tables_and_views_truncated"]
    names = [t["name"] for t in truncated]
    assert "secret" not in names
    assert entry["hidden_tables_count"] == 1
    assert entry["hidden_table_rows_sum"] == 4
    assert entry["tables_count"] == 3 + extra_tables
    assert entry["table_rows_sum"] == 6
    assert entry["views_count"] == 2
    assert entry["tables_and_views_more"] is more
    assert len(truncated) == 5
    tables = truncated[: 3 + extra_tables]
    assert [t["name"] for t in tables][:3] == ["a", "b", "c"]
    views = truncated[3 + extra_tables :]
    assert all(v == {"name": v["name"], "private": False} for v in views)
    assert {v["name"] for v in views} <= {"v1", "v2"}
    assert len(views) == 2 - extra_tables


def test_index_json_without_files_is_memory(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/.json"))
    assert list(data) == ["_memory"]
    entry = data["_memory"]
    assert entry["name"] == "_memory"
    assert entry["color"] == "a6c7b9"
    assert entry["hash"] is None
    assert entry["path"] == "/_memory"
    assert entry["tables_count"] == 0
    assert entry["tables_and_views_truncated"] == []
    assert entry["tables_and_views_more"] is False


def test_index_json_immutable_hash_and_color(tmp_path, make_ds, serve_ds):
    path = make_sample_db(tmp_path / "sample.db")
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    ds = make_ds(immutables=[str(path)])
    with serve_ds(ds) as server:
        entry = assert_json(get(server, "/.json"))["sample"]
    assert entry["hash"] == expected
    assert entry["color"] == expected[:6]
    assert entry["tables_count"] == 3


def test_index_jsono_is_json(counted_server):
    assert assert_json(get(counted_server, "/.jsono")) == assert_json(get(counted_server, "/.json"))


def test_index_json_omits_tables_the_actor_cannot_see(tmp_path, make_ds, serve_ds):
    path = make_sample_db(tmp_path / "sample.db")
    metadata = {"databases": {"sample": {"tables": {"authors": {"allow": {"id": "root"}}}}}}
    ds = make_ds([str(path)], metadata=metadata)
    with serve_ds(ds) as server:
        anonymous = assert_json(get(server, "/.json"))["sample"]
        root = assert_json(get(server, "/.json", headers=root_cookie(ds)))["sample"]
    assert "authors" not in [t["name"] for t in anonymous["tables_and_views_truncated"]]
    assert anonymous["tables_count"] == 2
    authors = [t for t in root["tables_and_views_truncated"] if t["name"] == "authors"]
    assert authors and authors[0]["private"] is True
    assert root["tables_count"] == 3


# -- /db.json -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database_json(counted_server):
    return assert_json(get(counted_server, "/fixtures.json"))


def test_database_json_top_level(database_json, read_api_db_path):
    assert list(database_json) == DATABASE_KEYS
    assert database_json["database"] == "fixtures"
    assert database_json["private"] is False
    assert database_json["path"] == "/fixtures"
    assert database_json["size"] == os.path.getsize(read_api_db_path)
    assert database_json["allow_execute_sql"] is True
    assert database_json["hidden_count"] == len(HIDDEN_TABLES)


def test_database_json_tables_sorted_by_hidden_then_name(database_json, read_api_db_path):
    names = [t["name"] for t in database_json["tables"]]
    all_tables = set(sqlite_tables(read_api_db_path))
    visible = sorted(all_tables - HIDDEN_TABLES)
    assert names == visible + sorted(HIDDEN_TABLES)
    for table in database_json["tables"]:
        assert set(table) == DATABASE_TABLE_KEYS
        assert table["hidden"] is (table["name"] in HIDDEN_TABLES)
        assert table["private"] is False


def test_database_json_table_entry(database_json):
    by_name = {t["name"]: t for t in database_json["tables"]}
    cities = by_name["cities"]
    assert cities["columns"] == ["id", "name", "state"]
    assert cities["primary_keys"] == ["id"]
    assert cities["count"] == 5
    assert cities["fts_table"] is None
    assert cities["foreign_keys"] == {
        "incoming": [{"other_table": "places", "column": "id", "other_column": "city_id"}],
        "outgoing": [{"other_table": "states", "column": "state", "other_column": "code"}],
    }
    assert by_name["no_primary_key"]["primary_keys"] == []
    assert by_name["compound_primary_key"]["primary_keys"] == ["pk1", "pk2"]


def test_database_json_compound_foreign_keys_are_not_listed(database_json):
    by_name = {t["name"]: t for t in database_json["tables"]}
    assert by_name["compound_fk_source"]["foreign_keys"] == {"incoming": [], "outgoing": []}
    assert by_name["compound_fk_target"]["foreign_keys"] == {"incoming": [], "outgoing": []}


def test_database_json_fts_tables(database_json):
    by_name = {t["name"]: t for t in database_json["tables"]}
    assert by_name["searchable"]["fts_table"] == "searchable_fts"
    assert by_name["docs4"]["fts_table"] == "docs4_fts"
    assert by_name["searchable_fts"]["hidden"] is True


def test_database_json_views(database_json):
    assert sorted(database_json["views"], key=lambda v: v["name"]) == [
        {"name": "paginated_view", "private": False},
        {"name": "simple_view", "private": False},
    ]


def test_database_json_queries(database_json):
    queries = {q["name"]: q for q in database_json["queries"]}
    assert set(queries) == {"pragma_cache_size", "neighborhood_search", "from_magic", "add_city"}
    assert queries["pragma_cache_size"] == {
        "sql": "PRAGMA cache_size;",
        "name": "pragma_cache_size",
        "private": False,
    }
    assert queries["add_city"] == {
        "sql": "insert into cities (name, state) values (:name, :state)",
        "write": True,
        "on_success_message": "City added",
        "name": "add_city",
        "private": False,
    }
    assert queries["neighborhood_search"]["title"] == "Search neighborhoods"


def test_database_json_table_columns(database_json, read_api_db_path):
    table_columns = database_json["table_columns"]
    assert set(table_columns) == set(sqlite_tables(read_api_db_path)) | VIEWS
    assert table_columns["cities"] == ["id", "name", "state"]
    assert table_columns["simple_view"] == []
    assert table_columns["paginated_view"] == []


def test_blank_sql_gives_database_json(counted_server, database_json):
    data = assert_json(get(counted_server, "/fixtures.json?sql="))
    assert data == database_json


def test_mutable_database_json(read_api_server, read_api_db_path):
    data = assert_json(get(read_api_server, "/fixtures.json"))
    assert list(data) == DATABASE_KEYS
    assert data["size"] == os.path.getsize(read_api_db_path)
    names = [t["name"] for t in data["tables"]]
    assert names == sorted(set(sqlite_tables(read_api_db_path)) - HIDDEN_TABLES) + sorted(
        HIDDEN_TABLES
    )


def test_unknown_database_format_is_404(read_api_server):
    response = get(read_api_server, "/fixtures.xyz")
    assert response.status_code == 404
    assert "Invalid format: xyz" in response.text
    csv = get(read_api_server, "/fixtures.csv")
    assert csv.status_code == 404
    assert "Invalid format: csv" in csv.text


def test_unknown_database_is_404(read_api_server):
    data = assert_json(get(read_api_server, "/no_such_db.json"), status=404)
    assert data["error"] == "Database not found: no_such_db"


def test_database_json_without_execute_sql(tmp_path, make_ds, serve_ds):
    path = make_sample_db(tmp_path / "sample.db")
    ds = make_ds([str(path)], metadata={"allow_sql": False})
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/sample.json"))
    assert data["allow_execute_sql"] is False
    assert data["table_columns"] == {}
    assert [t["name"] for t in data["tables"]] == ["authors", "books", "tags"]


def test_database_json_visibility(tmp_path, make_ds, serve_ds):
    path = make_sample_db(tmp_path / "sample.db")
    metadata = {
        "databases": {
            "sample": {
                "tables": {"authors": {"allow": {"id": "root"}}},
                "queries": {
                    "open_q": "select 1",
                    "root_q": {"sql": "select 2", "allow": {"id": "root"}},
                },
            }
        }
    }
    ds = make_ds([str(path)], metadata=metadata)
    with serve_ds(ds) as server:
        anonymous = assert_json(get(server, "/sample.json"))
        root = assert_json(get(server, "/sample.json", headers=root_cookie(ds)))
    assert [t["name"] for t in anonymous["tables"]] == ["books", "tags"]
    assert [q["name"] for q in anonymous["queries"]] == ["open_q"]
    root_tables = {t["name"]: t["private"] for t in root["tables"]}
    assert root_tables == {"authors": True, "books": False, "tags": False}
    assert {q["name"]: q["private"] for q in root["queries"]} == {"open_q": False, "root_q": True}


# -- /-/threads, /-/plugins, /-/metadata ----------------------------------------------------


def test_threads_json(read_api_server):
    data = assert_json(get(read_api_server, "/-/threads.json"))
    assert list(data) == ["num_threads", "threads", "num_tasks", "tasks"]
    assert data["num_threads"] == len(data["threads"]) > 0
    for thread in data["threads"]:
        assert set(thread) == {"name", "ident", "daemon"}
        assert isinstance(thread["name"], str)
        assert isinstance(thread["ident"], int)
        assert isinstance(thread["daemon"], bool)
    assert data["num_tasks"] == len(data["tasks"])
    assert all(isinstance(task, str) for task in data["tasks"])


def test_threads_json_without_sql_threads(make_ds, serve_ds):
    ds = make_ds(settings={"num_sql_threads": 0})
    with serve_ds(ds) as server:
        assert assert_json(get(server, "/-/threads.json")) == {"num_threads": 0, "threads": []}


def test_plugins_json_hides_defaults(read_api_server):
    data = assert_json(get(read_api_server, "/-/plugins.json"))
    assert not {p["name"] for p in data} & DEFAULT_PLUGIN_MODULES


def test_plugins_json_all_entries(read_api_server):
    data = assert_json(get(read_api_server, "/-/plugins.json?all=1"))
    names = [p["name"] for p in data]
    assert names == sorted(names)
    by_name = {p["name"]: p for p in data}
    for plugin in data:
        assert list(plugin) == ["name", "static", "templates", "version", "hooks"]
        assert plugin["hooks"] == sorted(set(plugin["hooks"]))
    assert by_name["datasette.sql_functions"] == {
        "name": "datasette.sql_functions",
        "static": False,
        "templates": False,
        "version": None,
        "hooks": ["prepare_connection"],
    }
    assert by_name["datasette.blob_renderer"]["hooks"] == ["register_output_renderer"]
    assert by_name["datasette.default_magic_parameters"]["hooks"] == ["register_magic_parameters"]


def test_plugins_json_all_lists_every_default_module(read_api_server):
    data = assert_json(get(read_api_server, "/-/plugins.json?all=1"))
    assert DEFAULT_PLUGIN_MODULES <= {p["name"] for p in data}


def test_plugins_json_lists_plugins_dir_plugin(tmp_path, make_ds, serve_ds):
    plugins_dir = tmp_path / "plugins"
    plugins_dir.mkdir()
    name = "index_json_listing_plugin.py"
    (plugins_dir / name).write_text(
        "from datasette import hookimpl\n\n"
        "@hookimpl\ndef startup():\n    pass\n\n"
        "@hookimpl\ndef prepare_jinja2_environment(env):\n    pass\n"
    )
    try:
        ds = make_ds(plugins_dir=str(plugins_dir))
        with serve_ds(ds) as server:
            data = assert_json(get(server, "/-/plugins.json"))
    finally:
        pm.unregister(name=name)
    assert {
        "name": name,
        "static": False,
        "templates": False,
        "version": None,
        "hooks": ["prepare_jinja2_environment", "startup"],
    } in data


def test_metadata_json_is_the_merged_metadata(read_api_server):
    assert assert_json(get(read_api_server, "/-/metadata.json")) == READ_API_METADATA


def test_metadata_json_is_forbidden_without_view_instance(make_ds, serve_ds):
    ds = make_ds(metadata={"allow": {"id": "root"}, "title": "Private"})
    with serve_ds(ds) as server:
        assert get(server, "/-/metadata.json").status_code == 403
        allowed = get(server, "/-/metadata.json", headers=root_cookie(ds))
    assert assert_json(allowed) == {"allow": {"id": "root"}, "title": "Private"}


def test_metadata_json_does_not_mutate_source(make_ds, serve_ds):
    metadata = copy.deepcopy(READ_API_METADATA)
    ds = make_ds(metadata=metadata)
    with serve_ds(ds) as server:
        assert_json(get(server, "/-/metadata.json"))
    assert metadata == READ_API_METADATA
