"""Row JSON `/db/t/pk.json` over real HTTP (http-cli.md §0.2, §0.6, §1, §2.3, §2.4, §2.6, §7.4)."""

import sqlite3

import httpx
import pytest

ROOT_METADATA_KEYS = ["source", "source_url", "license", "license_url"]
ROW_KEYS = ["database", "table", "rows", "primary_keys", "primary_key_values", "units", "query_ms"]


def get(server, path, **kwargs):
    return httpx.get(server.url + path, timeout=60, **kwargs)


def assert_json(response, status=200):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


def row_json(server, path, **kwargs):
    return assert_json(get(server, path, **kwargs))


# -- shape ----------------------------------------------------------------------------------


def test_simple_primary_key_row_exact_shape(read_api_server):
    data = row_json(read_api_server, "/fixtures/simple_primary_key/1.json")
    query_ms = data.pop("query_ms")
    assert isinstance(query_ms, float) and query_ms >= 0
    assert data == {
        "database": "fixtures",
        "table": "simple_primary_key",
        "rows": [{"id": 1, "content": "hello"}],
        "primary_keys": ["id"],
        "primary_key_values": ["1"],
        "units": {},
        "source": "Tests",
        "source_url": "https://example.com/source",
        "license": "CC BY 4.0",
        "license_url": "https://creativecommons.org/licenses/by/4.0/",
        "ok": True,
        "truncated": False,
    }


def test_row_key_order(read_api_server):
    keys = list(row_json(read_api_server, "/fixtures/simple_primary_key/2.json"))
    assert keys[: len(ROW_KEYS)] == ROW_KEYS
    # Root metadata comes after the row data and before `ok`.
    assert sorted(keys[len(ROW_KEYS) : -2]) == sorted(ROOT_METADATA_KEYS)
    assert keys[-2:] == ["ok", "truncated"]


def test_row_without_root_metadata_has_no_metadata_keys(make_ds, serve_ds, read_api_db_path):
    ds = make_ds([str(read_api_db_path)])
    with serve_ds(ds) as server:
        data = row_json(server, "/fixtures/simple_primary_key/1.json")
    assert not set(ROOT_METADATA_KEYS) & set(data)
    assert data["rows"] == [{"id": 1, "content": "hello"}]


def test_null_and_empty_values(read_api_server):
    assert row_json(read_api_server, "/fixtures/simple_primary_key/3.json")["rows"] == [
        {"id": 3, "content": ""}
    ]
    assert row_json(read_api_server, "/fixtures/simple_primary_key/5.json")["rows"] == [
        {"id": 5, "content": None}
    ]


# -- keys -----------------------------------------------------------------------------------


def test_compound_primary_key_with_encoded_parts(read_api_server):
    data = row_json(read_api_server, "/fixtures/compound_primary_key/a~2Fb,~2Ec-d.json")
    assert data["rows"] == [{"pk1": "a/b", "pk2": ".c-d", "content": "c"}]
    assert data["primary_keys"] == ["pk1", "pk2"]
    assert data["primary_key_values"] == ["a/b", ".c-d"]


def test_compound_primary_key_with_tilde_and_comma(read_api_server):
    data = row_json(read_api_server, "/fixtures/compound_primary_key/a~7Eb,x~2Cy.json")
    assert data["rows"] == [{"pk1": "a~b", "pk2": "x,y", "content": "tilde and comma"}]
    assert data["primary_key_values"] == ["a~b", "x,y"]


def test_rowid_table_row(read_api_server):
    data = row_json(read_api_server, "/fixtures/no_primary_key/2.json")
    assert data["primary_keys"] == ["rowid"]
    assert data["primary_key_values"] == ["2"]
    assert data["rows"] == [{"rowid": 2, "content": "2", "a": "a2", "b": "b2", "c": "c2"}]
    assert list(data["rows"][0])[0] == "rowid"


def test_untyped_column_keeps_integer_and_text_values(read_api_server):
    # `untyped_pk (id, label)` declares no primary key: rows are addressed by rowid.
    first = row_json(read_api_server, "/fixtures/untyped_pk/1.json")
    assert first["primary_keys"] == ["rowid"]
    assert first["rows"] == [{"rowid": 1, "id": 1, "label": "one"}]
    text = row_json(read_api_server, "/fixtures/untyped_pk/4.json")
    assert text["rows"] == [{"rowid": 4, "id": "x", "label": "text key"}]
    # The text value is not a key of this table.
    missing = assert_json(get(read_api_server, "/fixtures/untyped_pk/x.json"), status=404)
    assert missing["error"] == "Row not found: ['x']"


def test_untyped_primary_key_text_value(tmp_path, make_ds, serve_ds):
    path = tmp_path / "untyped.db"
    conn = sqlite3.connect(str(path))
    conn.executescript(
        "create table t (id primary key, label); insert into t values (1, 'one'), ('x', 'text key');"
    )
    conn.close()
    ds = make_ds([str(path)])
    with serve_ds(ds) as server:
        data = row_json(server, "/untyped/t/x.json")
    assert data["primary_keys"] == ["id"]
    assert data["rows"] == [{"id": "x", "label": "text key"}]


def test_unicode_table(read_api_server):
    data = row_json(read_api_server, "/fixtures/unicode+~E2~9C~93+table/2.json")
    assert data["table"] == "unicode ✓ table"
    assert data["rows"] == [{"id": 2, "név": "日本語"}]


def test_table_name_with_slashes_and_dots(read_api_server):
    data = row_json(read_api_server, "/fixtures/table~2Fwith~2Fslashes~2Ecsv/3.json")
    assert data["table"] == "table/with/slashes.csv"
    assert data["rows"] == [{"pk": "3", "content": "hey"}]


# -- _shape, _extra, _json, _extras ---------------------------------------------------------


def test_shape_arrays(read_api_server):
    data = row_json(read_api_server, "/fixtures/simple_primary_key/1.json?_shape=arrays")
    assert data["rows"] == [[1, "hello"]]
    assert data["primary_keys"] == ["id"]


def test_shape_array(read_api_server):
    data = row_json(read_api_server, "/fixtures/simple_primary_key/1.json?_shape=array")
    assert data == [{"id": 1, "content": "hello"}]


def test_shape_array_newline_delimited(read_api_server):
    response = get(read_api_server, "/fixtures/simple_primary_key/2.json?_shape=array&_nl=on")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == '{"id": 2, "content": "world"}'


def test_shape_arrayfirst(read_api_server):
    assert row_json(read_api_server, "/fixtures/simple_primary_key/2.json?_shape=arrayfirst") == [2]


def test_shape_object(read_api_server):
    data = row_json(read_api_server, "/fixtures/simple_primary_key/1.json?_shape=object")
    assert data == {"1": {"id": 1, "content": "hello"}}
    compound = row_json(
        read_api_server, "/fixtures/compound_primary_key/a~2Fb,~2Ec-d.json?_shape=object"
    )
    assert compound == {"a~2Fb,~2Ec-d": {"pk1": "a/b", "pk2": ".c-d", "content": "c"}}


def test_invalid_shape_is_400(read_api_server):
    response = get(read_api_server, "/fixtures/simple_primary_key/1.json?_shape=nope")
    assert assert_json(response, status=400) == {
        "ok": False,
        "error": "Invalid _shape: nope",
        "status": 400,
        "title": None,
    }


def test_extra_columns(read_api_server):
    plain = row_json(read_api_server, "/fixtures/simple_primary_key/1.json")
    assert "columns" not in plain
    data = row_json(read_api_server, "/fixtures/simple_primary_key/1.json?_extra=columns")
    assert data["columns"] == ["id", "content"]
    assert data["rows"] == [{"id": 1, "content": "hello"}]


def test_json_columns_are_decoded(read_api_server):
    data = row_json(read_api_server, "/fixtures/places/1.json?_json=tags")
    row = data["rows"][0]
    assert row["tags"] == ["tag1", "tag2"]
    assert row["complex_array"] == '[{"foo": "bar"}]'


def test_blob_values(read_api_server):
    binary = row_json(read_api_server, "/fixtures/binary_data/1.json")["rows"][0]
    assert binary["data"] == {"$base64": True, "encoded": "/wD/"}
    text = row_json(read_api_server, "/fixtures/binary_data/2.json")["rows"][0]
    assert text["data"] == "ABC"


def test_foreign_key_tables_extras(read_api_server):
    data = row_json(read_api_server, "/fixtures/cities/1.json?_extras=foreign_key_tables")
    assert data["foreign_key_tables"] == [
        {
            "other_table": "places",
            "column": "id",
            "other_column": "city_id",
            "count": 6,
            "link": "/fixtures/places?city_id=1",
        }
    ]
    assert "foreign_key_tables" not in row_json(read_api_server, "/fixtures/cities/1.json")


# -- redirects and errors -------------------------------------------------------------------


def test_jsono_redirects_to_objects_shape(read_api_server):
    response = get(read_api_server, "/fixtures/simple_primary_key/1.jsono")
    assert response.status_code == 302
    assert response.headers["location"] == "/fixtures/simple_primary_key/1.json?_shape=objects"


def test_unknown_row_is_404(read_api_server):
    response = get(read_api_server, "/fixtures/simple_primary_key/999.json")
    assert assert_json(response, status=404) == {
        "ok": False,
        "error": "Row not found: ['999']",
        "status": 404,
        "title": None,
    }


def test_row_of_unknown_table_is_404(read_api_server):
    response = get(read_api_server, "/fixtures/no_such_table/1.json")
    assert assert_json(response, status=404)["error"] == "Table not found: no_such_table"


def test_too_few_key_parts_is_404(read_api_server):
    response = get(read_api_server, "/fixtures/compound_primary_key/a.json")
    assert assert_json(response, status=404)["ok"] is False


def test_too_many_key_parts_is_404(read_api_server):
    response = get(read_api_server, "/fixtures/simple_primary_key/1,2.json")
    assert assert_json(response, status=404)["ok"] is False


# -- cache headers --------------------------------------------------------------------------


def test_row_json_cache_headers(read_api_server):
    response = get(read_api_server, "/fixtures/simple_primary_key/1.json")
    assert response.headers["cache-control"] == "max-age=5"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "ttl, expected", [("0", "no-cache"), ("60", "max-age=60"), ("abc", "max-age=5")]
)
def test_row_json_ttl(read_api_server, ttl, expected):
    response = get(read_api_server, f"/fixtures/simple_primary_key/1.json?_ttl={ttl}")
    assert response.headers["cache-control"] == expected


def test_row_csv_has_no_cache_headers(read_api_server):
    response = get(read_api_server, "/fixtures/simple_primary_key/1.csv")
    assert response.status_code == 200
    assert response.content == b"id,content\r\n1,hello\r\n"
    assert "cache-control" not in response.headers
    assert "referrer-policy" not in response.headers


def test_default_cache_ttl_setting(make_ds, serve_ds, read_api_db_path):
    ds = make_ds([str(read_api_db_path)], settings={"default_cache_ttl": 30})
    with serve_ds(ds) as server:
        response = get(server, "/fixtures/simple_primary_key/1.json")
    assert response.headers["cache-control"] == "max-age=30"


def test_no_cache_headers_when_disabled(make_ds, serve_ds, read_api_db_path):
    ds = make_ds([str(read_api_db_path)], cache_headers=False)
    with serve_ds(ds) as server:
        response = get(server, "/fixtures/simple_primary_key/1.json")
    assert response.status_code == 200
    assert "cache-control" not in response.headers
