"""Metadata: `datasette.metadata()` and `plugin_config()` lookups, the `get_metadata` hook,
loading with `-m`, and metadata keys taking effect on JSON endpoints
(plugins-auth-config.md §1.6, §7; internals.md §2.7; http-cli.md §2.3, §2.8, §3.4-§3.6, §6)."""

import copy
import json
import sqlite3

import httpx
import pytest
from click.testing import CliRunner

from datasette import hookimpl
from datasette.cli import cli
from datasette.plugins import pm

# Three levels, each with some keys of its own and some shared with the others.
LAYERED = {
    "title": "Root title",
    "license": "Root license",
    "description": "Root description",
    "databases": {
        "data": {
            "title": "Database title",
            "description": "Database description",
            "source": "Database source",
            "tables": {
                "things": {
                    "title": "Table title",
                    "description": "",
                    "units": {"distance": "m"},
                },
                "empty": {},
            },
        }
    },
}


def get(server, path, **kwargs):
    return httpx.get(server.url + path, timeout=60, **kwargs)


def assert_json(response, status=200):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


class MetadataPlugin:
    """A temporary `get_metadata` plugin; local metadata must win over what it returns."""

    __name__ = "MetadataPlugin"

    @hookimpl
    def get_metadata(self, datasette, key, database, table):
        return {
            "title": "Hook title",
            "about": "Hook about",
            "databases": {
                "data": {
                    "description": "Hook description",
                    "source_url": "https://example.com/hook",
                    "tables": {"things": {"units": {"weight": "kg"}}},
                }
            },
        }


@pytest.fixture
def layered(make_ds):
    return make_ds(metadata=copy.deepcopy(LAYERED))


@pytest.fixture
def metadata_plugin():
    pm.register(MetadataPlugin(), name="MetadataPlugin")
    try:
        yield
    finally:
        pm.unregister(name="MetadataPlugin")


# -- metadata() -----------------------------------------------------------------------------


def test_key_found_at_each_level(layered):
    assert layered.metadata("units", database="data", table="things") == {"distance": "m"}
    assert layered.metadata("source", database="data", table="things") == "Database source"
    assert layered.metadata("license", database="data", table="things") == "Root license"
    assert layered.metadata("title", database="data", table="things") == "Table title"
    assert layered.metadata("title", database="data") == "Database title"
    assert layered.metadata("title") == "Root title"
    assert layered.metadata("nonexistent", database="data", table="things") is None


def test_first_level_containing_the_key_wins_even_if_falsy(layered):
    assert layered.metadata("description", database="data", table="things") == ""
    assert layered.metadata("description", database="data", table="empty") == "Database description"


def test_fallback_false_looks_only_at_the_most_specific_level(layered):
    assert layered.metadata("license", database="data", table="things", fallback=False) is None
    assert layered.metadata("units", database="data", table="things", fallback=False) == {
        "distance": "m"
    }
    assert layered.metadata("title", database="data", fallback=False) == "Database title"
    assert layered.metadata("license", database="data", fallback=False) is None


def test_unknown_database_and_table_fall_back_to_root(layered):
    assert layered.metadata("title", database="nope") == "Root title"
    assert layered.metadata("title", database="data", table="nope") == "Database title"


def test_without_key_levels_merge_shallowly_root_winning(layered):
    merged = layered.metadata(database="data", table="things")
    assert merged["title"] == "Root title"
    assert merged["description"] == "Root description"
    assert merged["source"] == "Database source"
    assert merged["units"] == {"distance": "m"}
    assert "databases" in merged
    table_only = layered.metadata(database="data", table="things", fallback=False)
    assert table_only == LAYERED["databases"]["data"]["tables"]["things"]


def test_without_arguments_returns_everything(layered):
    assert layered.metadata() == LAYERED


def test_table_requires_database(layered):
    with pytest.raises(AssertionError):
        layered.metadata("title", table="things")


def test_metadata_shares_nested_objects_with_local_metadata(make_ds):
    metadata = copy.deepcopy(LAYERED)
    ds = make_ds(metadata=metadata)
    units = ds.metadata("units", database="data", table="things")
    assert units is metadata["databases"]["data"]["tables"]["things"]["units"]


# -- get_metadata hook ----------------------------------------------------------------------


def test_get_metadata_hook_is_merged_under_local_metadata(make_ds, metadata_plugin):
    ds = make_ds(metadata=copy.deepcopy(LAYERED))
    assert ds.metadata("title") == "Root title"
    assert ds.metadata("about") == "Hook about"
    assert ds.metadata("description", database="data", fallback=False) == "Database description"
    assert ds.metadata("source_url", database="data", fallback=False) == "https://example.com/hook"
    # Merged recursively: the hook's table units and the local ones combine.
    assert ds.metadata("units", database="data", table="things") == {
        "weight": "kg",
        "distance": "m",
    }


def test_get_metadata_hook_shows_in_metadata_json(make_ds, serve_ds, metadata_plugin):
    ds = make_ds(metadata={"title": "Local title"})
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/-/metadata.json"))
    assert data == {
        "title": "Local title",
        "about": "Hook about",
        "databases": {
            "data": {
                "description": "Hook description",
                "source_url": "https://example.com/hook",
                "tables": {"things": {"units": {"weight": "kg"}}},
            }
        },
    }


# -- plugin_config() ------------------------------------------------------------------------


def plugin_metadata():
    return {
        "plugins": {"my-plugin": {"level": "instance"}},
        "databases": {
            "data": {
                "plugins": {"my-plugin": {"level": "database"}},
                "tables": {
                    "configured": {"plugins": {"my-plugin": {"level": "table"}}},
                    "other_plugin_only": {"plugins": {"another-plugin": {"x": 1}}},
                    "plain": {"title": "no plugins here"},
                },
            },
            "bare": {},
        },
    }


def test_plugin_config_levels(make_ds):
    ds = make_ds(metadata=plugin_metadata())
    assert ds.plugin_config("my-plugin") == {"level": "instance"}
    assert ds.plugin_config("my-plugin", database="data") == {"level": "database"}
    assert ds.plugin_config("my-plugin", database="data", table="configured") == {"level": "table"}
    assert ds.plugin_config("my-plugin", database="data", table="plain") == {"level": "database"}
    assert ds.plugin_config("my-plugin", database="bare") == {"level": "instance"}
    assert ds.plugin_config("unconfigured-plugin") is None


def test_plugin_config_fallback_false(make_ds):
    ds = make_ds(metadata=plugin_metadata())
    assert ds.plugin_config("my-plugin", database="data", table="plain", fallback=False) is None
    assert ds.plugin_config("my-plugin", database="bare", fallback=False) is None
    assert ds.plugin_config("my-plugin", database="data", table="configured", fallback=False) == {
        "level": "table"
    }


def test_nearer_plugins_block_hides_outer_config(make_ds):
    # Quirk kept from 1.0a7: the first level with any `plugins` key is the only one consulted.
    ds = make_ds(metadata=plugin_metadata())
    assert ds.plugin_config("my-plugin", database="data", table="other_plugin_only") is None
    assert ds.plugin_config("another-plugin", database="data", table="other_plugin_only") == {
        "x": 1
    }


def test_plugin_config_env_secret(make_ds, monkeypatch):
    monkeypatch.setenv("METADATA_TEST_SECRET", "from-the-environment")
    monkeypatch.delenv("METADATA_TEST_UNSET", raising=False)
    ds = make_ds(
        metadata={
            "plugins": {
                "my-plugin": {
                    "secret": {"$env": "METADATA_TEST_SECRET"},
                    "missing": {"$env": "METADATA_TEST_UNSET"},
                    "nested": [{"deep": {"$env": "METADATA_TEST_SECRET"}}, "plain"],
                    "not_a_secret": {"$env": "METADATA_TEST_SECRET", "other": 1},
                }
            }
        }
    )
    assert ds.plugin_config("my-plugin") == {
        "secret": "from-the-environment",
        "missing": None,
        "nested": [{"deep": "from-the-environment"}, "plain"],
        "not_a_secret": {"$env": "METADATA_TEST_SECRET", "other": 1},
    }


def test_plugin_config_file_secret_at_database_and_table_level(make_ds, tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("file secret\n")
    metadata = {
        "databases": {
            "data": {
                "plugins": {"my-plugin": {"key": {"$file": str(secret_file)}}},
                "tables": {
                    "t": {"plugins": {"my-plugin": {"table_key": {"$file": str(secret_file)}}}}
                },
            }
        }
    }
    ds = make_ds(metadata=metadata)
    assert ds.plugin_config("my-plugin", database="data") == {"key": "file secret\n"}
    assert ds.plugin_config("my-plugin", database="data", table="t") == {
        "table_key": "file secret\n"
    }
    # The metadata itself keeps the reference, not the secret.
    assert ds.metadata("plugins", database="data")["my-plugin"] == {
        "key": {"$file": str(secret_file)}
    }


# -- loading metadata with the CLI ----------------------------------------------------------

YAML_METADATA = """\
title: From YAML
license: MIT
databases:
  small:
    description: A small database
    tables:
      t:
        hidden: true
"""
EXPECTED_FROM_YAML = {
    "title": "From YAML",
    "license": "MIT",
    "databases": {"small": {"description": "A small database", "tables": {"t": {"hidden": True}}}},
}


@pytest.fixture
def small_db(tmp_path):
    path = tmp_path / "small.db"
    conn = sqlite3.connect(str(path))
    conn.execute("create table t (x)")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize(
    "filename, content",
    [
        ("metadata.yaml", YAML_METADATA),
        ("metadata.json", json.dumps(EXPECTED_FROM_YAML)),
        # Format is decided by content, not by the file name.
        ("metadata.txt", YAML_METADATA),
    ],
)
def test_cli_loads_metadata_file(tmp_path, small_db, filename, content):
    metadata_file = tmp_path / filename
    metadata_file.write_text(content)
    result = CliRunner().invoke(
        cli, ["serve", str(small_db), "-m", str(metadata_file), "--get", "/-/metadata.json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == EXPECTED_FROM_YAML


def test_cli_metadata_takes_effect(tmp_path, small_db):
    metadata_file = tmp_path / "metadata.yml"
    metadata_file.write_text(YAML_METADATA)
    result = CliRunner().invoke(
        cli, ["serve", str(small_db), "-m", str(metadata_file), "--get", "/small.json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tables"][0]["hidden"] is True


def test_cli_invalid_metadata_file_is_one_line_error(tmp_path, small_db):
    metadata_file = tmp_path / "metadata.yaml"
    metadata_file.write_text("{this: is: not [valid\n")
    result = CliRunner().invoke(
        cli, ["serve", str(small_db), "-m", str(metadata_file), "--get", "/-/metadata.json"]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output


# -- metadata keys on JSON endpoints --------------------------------------------------------

EFFECTS_METADATA = {
    "databases": {
        "fixtures": {
            "tables": {
                "cities": {"label_column": "state"},
                "big": {"size": 7, "sort_desc": "score"},
                "states": {"hidden": True},
                "places": {"units": {"n": "km"}},
            }
        }
    }
}


@pytest.fixture
def effects_server(make_ds, serve_ds, read_api_db_path):
    ds = make_ds([str(read_api_db_path)], metadata=copy.deepcopy(EFFECTS_METADATA))
    with serve_ds(ds) as server:
        yield server


def test_hidden_takes_effect(effects_server):
    tables = {t["name"]: t for t in assert_json(get(effects_server, "/fixtures.json"))["tables"]}
    assert tables["states"]["hidden"] is True
    # Not hidden by metadata here, and not an FTS table either.
    assert tables["no_primary_key"]["hidden"] is False


def test_label_column_takes_effect(effects_server):
    data = assert_json(get(effects_server, "/fixtures/places.json?_labels=on&_size=1"))
    assert data["rows"][0]["city_id"] == {"value": 1, "label": "CA"}


def test_sort_desc_takes_effect(effects_server, read_api_db_path):
    data = assert_json(get(effects_server, "/fixtures/big.json"))
    scores = [row["score"] for row in data["rows"]]
    assert scores == sorted(scores, reverse=True)
    conn = sqlite3.connect(str(read_api_db_path))
    (top,) = conn.execute("select max(score) from big").fetchone()
    conn.close()
    assert scores[0] == top


def test_size_takes_effect(effects_server):
    data = assert_json(get(effects_server, "/fixtures/big.json"))
    assert len(data["rows"]) == 7
    assert data["next"] is not None


def test_units_take_effect(effects_server):
    data = assert_json(get(effects_server, "/fixtures/places/1.json"))
    assert data["units"] == {"n": "km"}


def test_fts_table_and_fts_pk_take_effect(tmp_path, make_ds, serve_ds):
    path = tmp_path / "search.db"
    conn = sqlite3.connect(str(path))
    # The FTS table is not linked to `items` (no content=), and its rowids are `num`, not
    # the rowids of `items`: only metadata can tell Datasette how to search.
    conn.executescript(
        """
        create table items (pk text primary key, num integer, body text);
        insert into items values ('a', 20, 'quick fox'), ('b', 10, 'lazy dog');
        create virtual table items_index using fts5 (body);
        insert into items_index (rowid, body) values (20, 'quick fox'), (10, 'lazy dog');
        """
    )
    conn.close()
    metadata = {
        "databases": {
            "search": {"tables": {"items": {"fts_table": "items_index", "fts_pk": "num"}}}
        }
    }
    ds = make_ds([str(path)], metadata=metadata)
    with serve_ds(ds) as server:
        data = assert_json(get(server, "/search/items.json?_search=fox"))
    assert data["rows"] == [{"pk": "a", "num": 20, "body": "quick fox"}]
