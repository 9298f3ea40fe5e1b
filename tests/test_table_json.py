"""Table and view JSON over real HTTP (http-cli.md §0, §1, §2.1, §2.4–2.6, §2.9, §3, §6, §12).

Most tests talk to `read_api_server` (the read-API fixtures with their metadata; settings
default_page_size 50, max_returned_rows 100, sql_time_limit_ms 200). Tests needing other
options (`--cors`, `base_url`, a slow view) start their own instance with `make_ds` +
`serve_ds`. Behaviour the contract asks for but the package does not (yet) deliver is
written as the correct expectation and marked `xfail(strict=True)` with the bug.
"""

import copy
import json
import sqlite3
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from datasette.utils import tilde_encode

from .fixtures import READ_API_METADATA

JSON_TYPE = "application/json; charset=utf-8"
CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "Authorization, Content-Type",
    "access-control-expose-headers": "Link",
    "access-control-allow-methods": "GET, POST, HEAD, OPTIONS",
    "access-control-max-age": "3600",
}
SIMPLE_ROWS = [
    {"id": 1, "content": "hello"},
    {"id": 2, "content": "world"},
    {"id": 3, "content": ""},
    {"id": 4, "content": "RENDER_CELL_DEMO"},
    {"id": 5, "content": None},
]
ALL_PLACES = list(range(1, 16))


# -- helpers ------------------------------------------------------------------------------------


def get(server, path, params=None, **kwargs):
    """GET `path` (with `params`, a dict or a list of pairs for repeated keys)."""
    return httpx.get(server.url + path, params=params, timeout=60, **kwargs)


def get_json(server, path, params=None, status=200):
    response = get(server, path, params)
    assert response.status_code == status, (path, params, response.text)
    assert response.headers["content-type"] == JSON_TYPE
    return response.json()


def assert_json_error(response, status, error, title=None):
    """A §2.9 JSON error object; never a 500."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"ok": False, "error": error, "status": status, "title": title}


def place_pks(server, params):
    """The `pk`s of the places rows matching `params` (only `pk` fetched)."""
    params = list(params.items()) if isinstance(params, dict) else list(params)
    data = get_json(server, "/fixtures/places.json", params + [("_col", "pk")])
    return [row["pk"] for row in data["rows"]]


def sqlite_rows(db_path, sql, params=()):
    conn = sqlite3.connect(str(db_path))
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


def location(response):
    """`(path, {key: [values]})` of a redirect's Location header."""
    split = urlsplit(response.headers["location"])
    return split.path, parse_qs(split.query, keep_blank_values=True)


def fixtures_instance(make_ds, db_path, **kwargs):
    settings = {"default_page_size": 50, "max_returned_rows": 100}
    settings.update(kwargs.pop("settings", {}))
    return make_ds(
        [str(db_path)], metadata=copy.deepcopy(READ_API_METADATA), settings=settings, **kwargs
    )


# -- default shape and key order (§2.1) ------------------------------------------------------


def test_default_shape_and_key_order(read_api_server):
    response = get(read_api_server, "/fixtures/simple_primary_key.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    data = response.json()
    assert list(data) == ["ok", "next", "rows", "truncated"]
    assert data == {"ok": True, "next": None, "rows": SIMPLE_ROWS, "truncated": False}
    assert [list(row) for row in data["rows"]] == [["id", "content"]] * 5


def test_extras_sit_between_next_and_rows(read_api_server):
    data = get_json(
        read_api_server,
        "/fixtures/simple_primary_key.json",
        [("_extra", "count"), ("_extra", "table"), ("_size", "2")],
    )
    keys = list(data)
    assert keys[:2] == ["ok", "next"]
    assert keys[-2:] == ["rows", "truncated"]
    assert set(keys[2:-2]) == {"count", "table"}
    assert data["next"] == "2"
    assert data["count"] == 5
    assert data["table"] == "simple_primary_key"
    assert data["truncated"] is False


def test_rowid_table_puts_rowid_first(read_api_server):
    data = get_json(read_api_server, "/fixtures/no_primary_key.json")
    assert data["rows"] == [
        {"rowid": 1, "content": "1", "a": "a1", "b": "b1", "c": "c1"},
        {"rowid": 2, "content": "2", "a": "a2", "b": "b2", "c": "c2"},
        {"rowid": 3, "content": "3", "a": "a3", "b": "b3", "c": "c3"},
    ]
    assert all(list(row)[0] == "rowid" for row in data["rows"])


def test_hidden_table_is_still_served(read_api_server):
    # `no_primary_key` is hidden by metadata: hidden from listings, not from its URL.
    assert get(read_api_server, "/fixtures/no_primary_key.json").status_code == 200


def test_view_json(read_api_server):
    data = get_json(read_api_server, "/fixtures/simple_view.json")
    assert list(data) == ["ok", "next", "rows", "truncated"]
    assert data["rows"] == [
        {"content": "hello", "upper_content": "HELLO"},
        {"content": "world", "upper_content": "WORLD"},
        {"content": "", "upper_content": ""},
        {"content": "RENDER_CELL_DEMO", "upper_content": "RENDER_CELL_DEMO"},
        {"content": None, "upper_content": None},
    ]


def test_blob_values(read_api_server):
    data = get_json(read_api_server, "/fixtures/binary_data.json")
    assert [row["data"] for row in data["rows"]] == [
        {"$base64": True, "encoded": "/wD/"},
        "ABC",
        None,
    ]


# -- _shape (§2.4) ----------------------------------------------------------------------------


def test_shape_objects_is_the_default(read_api_server):
    explicit = get_json(read_api_server, "/fixtures/simple_primary_key.json", {"_shape": "objects"})
    assert explicit == get_json(read_api_server, "/fixtures/simple_primary_key.json")


def test_shape_arrays(read_api_server):
    data = get_json(
        read_api_server,
        "/fixtures/simple_primary_key.json",
        {"_shape": "arrays", "_extra": "columns"},
    )
    assert list(data) == ["ok", "next", "columns", "rows", "truncated"]
    assert data["columns"] == ["id", "content"]
    assert data["rows"] == [[r["id"], r["content"]] for r in SIMPLE_ROWS]


def test_shape_arrays_rowid_table(read_api_server):
    data = get_json(
        read_api_server, "/fixtures/no_primary_key.json", {"_shape": "arrays", "_size": "1"}
    )
    assert data["rows"] == [[1, "1", "a1", "b1", "c1"]]
    assert data["next"] == "1"


def test_shape_array(read_api_server):
    data = get_json(read_api_server, "/fixtures/simple_primary_key.json", {"_shape": "array"})
    assert data == SIMPLE_ROWS


def test_shape_arrayfirst(read_api_server):
    data = get_json(read_api_server, "/fixtures/simple_primary_key.json", {"_shape": "arrayfirst"})
    assert data == [1, 2, 3, 4, 5]
    data = get_json(read_api_server, "/fixtures/simple_view.json", {"_shape": "arrayfirst"})
    assert data == ["hello", "world", "", "RENDER_CELL_DEMO", None]


def test_shape_object_single_pk(read_api_server):
    data = get_json(read_api_server, "/fixtures/simple_primary_key.json", {"_shape": "object"})
    assert data == {str(row["id"]): row for row in SIMPLE_ROWS}
    assert list(data) == ["1", "2", "3", "4", "5"]


def test_shape_object_compound_pk_keys_are_tilde_encoded(read_api_server):
    data = get_json(read_api_server, "/fixtures/compound_primary_key.json", {"_shape": "object"})
    assert data == {
        "a,b": {"pk1": "a", "pk2": "b", "content": "c"},
        "a~2Fb,~2Ec-d": {"pk1": "a/b", "pk2": ".c-d", "content": "c"},
        "a~7Eb,x~2Cy": {"pk1": "a~b", "pk2": "x,y", "content": "tilde and comma"},
    }


@pytest.mark.parametrize("path", ["/fixtures/no_primary_key.json", "/fixtures/simple_view.json"])
def test_shape_object_without_primary_keys_is_a_200_error(read_api_server, path):
    response = get(read_api_server, path, {"_shape": "object"})
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {
        "ok": False,
        "error": "_shape=object not available for tables with no primary keys",
    }


def test_shape_array_newline_delimited(read_api_server):
    response = get(
        read_api_server, "/fixtures/simple_primary_key.json", {"_shape": "array", "_nl": "on"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert not response.text.endswith("\n")
    lines = response.text.split("\n")
    assert [json.loads(line) for line in lines] == SIMPLE_ROWS


def test_nl_without_array_shape_is_ignored(read_api_server):
    data = get_json(read_api_server, "/fixtures/simple_primary_key.json", {"_nl": "on"})
    assert data["rows"] == SIMPLE_ROWS


@pytest.mark.parametrize("shape", ["bad", "ARRAY", "objectz"])
def test_invalid_shape_is_400(read_api_server, shape):
    response = get(read_api_server, "/fixtures/simple_primary_key.json", {"_shape": shape})
    assert_json_error(response, 400, f"Invalid _shape: {shape}")


# -- filters (§3.1) -----------------------------------------------------------------------------

FILTER_CASES = [
    # (query pairs, expected places pks)
    ([("state", "MI")], [11, 12, 13, 14]),
    ([("state__exact", "MI")], [11, 12, 13, 14]),
    ([("n", "2")], [3, 4]),
    ([("n__not", "1")], [3, 4, 7, 8, 9, 11, 12, 13, 14]),
    ([("state__not", "CA")], [11, 12, 13, 14, 15]),
    ([("neighborhood__contains", "town")], [8, 10, 11, 12, 13, 14]),
    ([("neighborhood__contains", "TOWN")], [8, 10, 11, 12, 13, 14]),
    ([("neighborhood__endswith", "ktown")], [12, 13]),
    ([("neighborhood__startswith", "Do")], [2, 8, 11]),
    ([("n__gt", "3")], [11, 12, 13, 14]),
    ([("n__gte", "3")], [7, 8, 9, 11, 12, 13, 14]),
    ([("n__lt", "2")], [1, 2]),
    ([("n__lte", "2")], [1, 2, 3, 4]),
    ([("city_id__gt", "2")], [11, 12, 13, 14]),
    ([("n__gt", "10")], []),  # all-digit value compared as an integer, not as text
    ([("neighborhood__like", "%town")], [8, 10, 11, 12, 13, 14]),
    ([("neighborhood__like", "D_wntown")], [8, 11]),
    ([("neighborhood__notlike", "%o%")], [5, 6, 15]),
    ([("neighborhood__glob", "[DG]*")], [2, 8, 11, 12]),
    ([("neighborhood__glob", "*TOWN")], []),
    ([("n__in", "1,3")], [1, 2, 7, 8, 9]),
    ([("n__in", "[1, 3]")], [1, 2, 7, 8, 9]),
    ([("neighborhood__in", '["SOMA", "Mission"]')], [1, 3]),
    ([("state__in", "CA, MI")], list(range(1, 15))),
    ([("state__notin", "CA,MI")], [15]),
    ([("n__notin", "1,2,3")], [11, 12, 13, 14]),
    ([("tags__arraycontains", "tag1")], [1, 2]),
    ([("tags__arraycontains", "tag3")], [2]),
    ([("tags__arraynotcontains", "tag1")], list(range(3, 16))),
    ([("created__date", "2019-01-15")], [5, 6, 7, 8]),
    ([("city_id__isnull", "1")], [15]),
    ([("n__isnull", "1")], [5, 6, 10, 15]),
    ([("distinct_some_null__notnull", "1")], [1, 2]),
    ([("distinct_some_null__isblank", "1")], list(range(3, 16))),
    ([("distinct_some_null__notblank", "1")], [1, 2]),
    # ANDed, including the same key twice
    ([("state", "CA"), ("n__gte", "3")], [7, 8, 9]),
    ([("n__not", "1"), ("n__not", "2")], [7, 8, 9, 11, 12, 13, 14]),
    ([("state", "CA"), ("tags__arraycontains", "tag1"), ("n__lt", "5")], [1, 2]),
]


@pytest.mark.parametrize(
    "params,expected",
    FILTER_CASES,
    ids=["&".join(f"{k}={v}" for k, v in c[0]) for c in FILTER_CASES],
)
def test_filter_operators_on_places(read_api_server, params, expected):
    assert place_pks(read_api_server, params) == expected


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"content__isblank": "1"}, [3, 5]),
        ({"content__notblank": "1"}, [1, 2, 4]),
        ({"content__isnull": "1"}, [5]),
        ({"content": ""}, [3]),
        ({"content": "hello"}, [1]),
        ({"content__contains": "O"}, [1, 2, 4]),
        ({"id__in": "2,4"}, [2, 4]),
    ],
)
def test_filters_on_simple_primary_key(read_api_server, params, expected):
    data = get_json(read_api_server, "/fixtures/simple_primary_key.json", params)
    assert [row["id"] for row in data["rows"]] == expected


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"name": "Detroit"}, [3]),
        ({"state": "MI"}, [3, 4]),
        ({"state__isnull": "1"}, [5]),
        ({"name__startswith": "Los"}, [2]),
    ],
)
def test_filters_on_cities(read_api_server, params, expected):
    data = get_json(read_api_server, "/fixtures/cities.json", params)
    assert [row["id"] for row in data["rows"]] == expected


def test_filter_key_split_on_last_double_underscore(read_api_server):
    # Column `neighborhood__contains` (missing → no rows), op `exact`. Splitting on the
    # first `__` would give an unknown op `contains__exact`, ignored → all rows.
    data = get_json(
        read_api_server,
        "/fixtures/places.json",
        {"neighborhood__contains__exact": "town", "_extra": "human_description_en"},
    )
    assert data["rows"] == []
    assert data["human_description_en"] == 'where neighborhood__contains = "town"'


def test_unknown_filter_op_is_ignored(read_api_server):
    assert place_pks(read_api_server, {"n__bogus": "1"}) == ALL_PLACES
    assert place_pks(read_api_server, {"n__bogus": "1", "state": "MI"}) == [11, 12, 13, 14]


def test_filter_on_missing_column_gives_no_rows(read_api_server):
    response = get(read_api_server, "/fixtures/places.json", {"nope": "1"})
    assert response.status_code == 200
    assert response.json()["rows"] == []
    assert place_pks(read_api_server, {"nope__contains": "x"}) == []


def test_underscore_key_without_double_underscore_is_not_a_filter(read_api_server):
    assert place_pks(read_api_server, {"_city_id": "1"}) == ALL_PLACES
    # ...but with `__` it is a filter, on the (missing) column `_city_id`.
    assert place_pks(read_api_server, {"_city_id__exact": "1"}) == []


def test_filter_units_need_pint(read_api_server):
    pytest.importorskip("pint")
    # places.n is in metres (metadata units): 3000 mm = 3 m.
    assert place_pks(read_api_server, {"n__lte": "3000mm"}) == [1, 2, 3, 4, 7, 8, 9]


@pytest.mark.parametrize(
    "params,expected",
    [
        ({}, ""),
        ({"state": "CA"}, 'where state = "CA"'),
        ({"n": "3"}, "where n = 3"),
        ({"n__gte": "3"}, "where n \u2265 3"),
        ({"n__lte": "3"}, "where n \u2264 3"),
        ({"n__in": "1,3"}, 'where n in ["1", "3"]'),
        ({"created__date": "2019-01-15"}, 'where "created" is on date 2019-01-15'),
        ({"city_id__isnull": "1"}, "where city_id is null"),
        ({"tags__arraycontains": "tag1"}, 'where tags contains "tag1"'),
        ({"tags__arraynotcontains": "tag1"}, 'where tags does not contain "tag1"'),
        ({"neighborhood__notlike": "x"}, 'where neighborhood not like "x"'),
        (
            {"state": "CA", "n__gte": "3", "neighborhood__contains": "o", "_sort_desc": "n"},
            'where state = "CA", n \u2265 3 and neighborhood contains "o" sorted by n descending',
        ),
        ({"_sort": "n"}, "sorted by n"),
    ],
)
def test_human_description_en(read_api_server, params, expected):
    data = get_json(
        read_api_server, "/fixtures/places.json", {**params, "_extra": "human_description_en"}
    )
    assert data["human_description_en"] == expected


# -- redirecting form parameters (§3.2) ---------------------------------------------------------


def test_filter_column_form_redirects(read_api_server):
    response = get(
        read_api_server,
        "/fixtures/places.json",
        {"_filter_column": "state", "_filter_op": "exact", "_filter_value": "MI", "_size": "3"},
    )
    assert response.status_code == 302
    path, query = location(response)
    assert path == "/fixtures/places.json"
    assert query == {"state__exact": ["MI"], "_size": ["3"]}
    assert response.headers["link"] == "<{}>; rel=preload".format(response.headers["location"])


def test_filter_op_with_double_underscore_carries_its_value(read_api_server):
    response = get(
        read_api_server,
        "/fixtures/places.json",
        {"_filter_column": "city_id", "_filter_op": "isnull__1", "_filter_value": ""},
    )
    assert response.status_code == 302
    assert location(response) == ("/fixtures/places.json", {"city_id__isnull": ["1"]})


def test_numbered_filter_fields_redirect(read_api_server):
    response = get(
        read_api_server,
        "/fixtures/places.json",
        [
            ("_filter_column_1", "state"),
            ("_filter_op_1", "not"),
            ("_filter_value_1", "CA"),
            ("_filter_column_2", "n"),  # no op: exact
            ("_filter_value_2", "4"),
            ("_filter_column_3", ""),  # empty column: dropped
            ("_filter_op_3", "gt"),
            ("_filter_value_3", "x"),
            ("_search", ""),  # blank values are dropped
        ],
    )
    assert response.status_code == 302
    assert location(response) == (
        "/fixtures/places.json",
        {"state__not": ["CA"], "n__exact": ["4"]},
    )


def test_filter_redirect_followed_gives_filtered_rows(read_api_server):
    response = get(
        read_api_server,
        "/fixtures/places.json",
        {"_filter_column": "state", "_filter_op": "not", "_filter_value": "CA", "_col": "pk"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert [r["pk"] for r in response.json()["rows"]] == [11, 12, 13, 14, 15]


def test_sort_by_desc_redirects_to_sort_desc(read_api_server):
    response = get(read_api_server, "/fixtures/places.json", {"_sort": "n", "_sort_by_desc": "1"})
    assert response.status_code == 302
    assert location(response) == ("/fixtures/places.json", {"_sort_desc": ["n"]})


# -- _where and _through (§3.3) ---------------------------------------------------------------


def test_where(read_api_server):
    assert place_pks(read_api_server, {"_where": "n > 4"}) == [13, 14]
    assert place_pks(read_api_server, [("_where", "n > 1"), ("_where", "state = 'MI'")]) == [
        11,
        12,
        13,
        14,
    ]
    assert place_pks(read_api_server, {"_where": "n > 1", "state": "CA"}) == [3, 4, 7, 8, 9]


def test_where_with_bad_sql_is_400(read_api_server):
    response = get(read_api_server, "/fixtures/places.json", {"_where": "n >>> 4"})
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON_TYPE
    data = response.json()
    assert set(data) == {"ok", "error", "status", "title"}
    assert data["ok"] is False
    assert data["status"] == 400
    assert data["title"] == "Invalid SQL"
    assert "syntax error" in data["error"]


def test_where_denied_without_execute_sql(make_ds, serve_ds, read_api_db_path):
    ds = make_ds([str(read_api_db_path)], settings={"default_allow_sql": False})
    with serve_ds(ds) as server:
        response = get(server, "/fixtures/places.json", {"_where": "n > 4"})
        assert_json_error(response, 403, "_where= is not allowed")
        # Plain filters still work.
        assert get_json(server, "/fixtures/places.json", {"n": "5", "_col": "pk"})["rows"] == [
            {"pk": 13},
            {"pk": 14},
        ]


def test_through(read_api_server):
    through = {"table": "places", "column": "neighborhood", "value": "Downtown"}
    data = get_json(
        read_api_server,
        "/fixtures/cities.json",
        {"_through": json.dumps(through), "_extra": "human_description_en"},
    )
    assert [row["name"] for row in data["rows"]] == ["Los Angeles", "Detroit"]
    assert data["human_description_en"] == 'where places.neighborhood = "Downtown"'


def test_through_combined_with_filter(read_api_server):
    through = {"table": "places", "column": "state", "value": "CA"}
    data = get_json(
        read_api_server,
        "/fixtures/cities.json",
        {"_through": json.dumps(through), "name__contains": "Los"},
    )
    assert [row["id"] for row in data["rows"]] == [2]


def test_through_without_foreign_key_is_400(read_api_server):
    through = {"table": "states", "column": "code", "value": "CA"}
    response = get(read_api_server, "/fixtures/places.json", {"_through": json.dumps(through)})
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid _through - could not find corresponding foreign key"
    assert response.json()["ok"] is False


# -- full-text search (§6) --------------------------------------------------------------------


def search_pks(server, table, params, pk="pk"):
    data = get_json(server, f"/fixtures/{table}.json", params)
    return [row[pk] for row in data["rows"]]


def test_search_fts5(read_api_server):
    assert search_pks(read_api_server, "searchable", {"_search": "dog"}) == [1, 2]
    assert search_pks(read_api_server, "searchable", {"_search": "weasel"}) == [2]
    assert search_pks(read_api_server, "searchable", {"_search": "panther"}) == [1]
    assert search_pks(read_api_server, "searchable", {"_search": "nothing"}) == []


def test_search_description(read_api_server):
    data = get_json(
        read_api_server,
        "/fixtures/searchable.json",
        {"_search": "dog", "_extra": "human_description_en"},
    )
    assert data["human_description_en"] == 'where search matches "dog"'


def test_search_fts4(read_api_server):
    assert search_pks(read_api_server, "docs4", {"_search": "fox"}, pk="id") == [1]
    assert search_pks(read_api_server, "docs4", {"_search": "dog"}, pk="id") == [2]
    assert search_pks(read_api_server, "docs4", {"_search": "quick fox"}, pk="id") == [1]


def test_search_combined_with_filter(read_api_server):
    assert search_pks(read_api_server, "searchable", {"_search": "dog", "pk__gt": "1"}) == [2]


def test_search_single_column(read_api_server):
    assert search_pks(read_api_server, "searchable", {"_search_text2": "dog"}) == [1]
    assert search_pks(read_api_server, "searchable", {"_search_text1": "dog"}) == [2]
    data = get_json(
        read_api_server,
        "/fixtures/searchable.json",
        {"_search_text2": "dog", "_extra": "human_description_en"},
    )
    assert data["human_description_en"] == 'where search column "text2" matches "dog"'


def test_search_column_with_spaces_and_dot(read_api_server):
    assert search_pks(
        read_api_server, "searchable", {"_search_name with . and spaces": "puma"}
    ) == [2]


def test_search_unknown_column_is_400(read_api_server):
    response = get(read_api_server, "/fixtures/searchable.json", {"_search_nope": "dog"})
    assert_json_error(response, 400, "Cannot search by that column")


def test_search_is_escaped_unless_raw(read_api_server):
    # Escaped: `te*` becomes the phrase "te*", matching nothing; raw: a prefix query.
    assert search_pks(read_api_server, "searchable", {"_search": "te*"}) == []
    assert search_pks(read_api_server, "searchable", {"_search": "te*", "_searchmode": "raw"}) == [
        1,
        2,
    ]
    assert search_pks(
        read_api_server, "searchable", {"_search": "text2:weasel", "_searchmode": "raw"}
    ) == [2]
    # Escaped operators are plain words; no syntax error.
    assert search_pks(read_api_server, "searchable", {"_search": "dog AND"}) == []
    assert search_pks(read_api_server, "searchable", {"_search": 'dog "'}) == [1, 2]


def test_search_ignored_on_table_without_fts(read_api_server):
    assert place_pks(read_api_server, {"_search": "Mission"}) == ALL_PLACES
    assert place_pks(read_api_server, {"_search_neighborhood": "Mission"}) == ALL_PLACES


# -- sorting (§3.4) ---------------------------------------------------------------------------


def test_sort_ascending_and_descending(read_api_server, read_api_db_path):
    asc = place_pks(read_api_server, {"_sort": "n"})
    desc = place_pks(read_api_server, {"_sort_desc": "n"})
    assert asc == [
        r["pk"] for r in sqlite_rows(read_api_db_path, "select pk from places order by n, pk")
    ]
    assert desc == [
        r["pk"] for r in sqlite_rows(read_api_db_path, "select pk from places order by n desc, pk")
    ]
    # NULLs first ascending, last descending; pk breaks ties in both directions.
    assert asc[:4] == [5, 6, 10, 15]
    assert desc[:2] == [13, 14] and desc[-4:] == [5, 6, 10, 15]


def test_sort_text_column(read_api_server):
    data = get_json(read_api_server, "/fixtures/cities.json", {"_sort": "name"})
    assert [r["name"] for r in data["rows"]] == [
        "Ann Arbor",
        "Detroit",
        "Los Angeles",
        "Nowhere",
        "San Francisco",
    ]


def test_sort_rowid_table_by_rowid(read_api_server):
    data = get_json(read_api_server, "/fixtures/no_primary_key.json", {"_sort_desc": "rowid"})
    assert [r["rowid"] for r in data["rows"]] == [3, 2, 1]


def test_sort_view(read_api_server):
    data = get_json(read_api_server, "/fixtures/simple_view.json", {"_sort": "content"})
    assert [r["content"] for r in data["rows"]] == [None, "", "RENDER_CELL_DEMO", "hello", "world"]


def test_sort_and_sort_desc_together_is_400(read_api_server):
    response = get(read_api_server, "/fixtures/places.json", {"_sort": "n", "_sort_desc": "n"})
    assert_json_error(response, 400, "Cannot use _sort and _sort_desc at the same time")


@pytest.mark.parametrize("param", ["_sort", "_sort_desc"])
def test_sort_by_unknown_column_is_400(read_api_server, param):
    response = get(read_api_server, "/fixtures/places.json", {param: "nope"})
    assert_json_error(response, 400, "Cannot sort table by nope")


@pytest.mark.parametrize("column", ["content", "pk1", "pk2"])
def test_sortable_columns_metadata_restricts_sorting(read_api_server, column):
    response = get(read_api_server, "/fixtures/sortable.json", {"_sort": column})
    assert_json_error(response, 400, f"Cannot sort table by {column}")


def test_sortable_columns_metadata_allows_listed_columns(read_api_server, read_api_db_path):
    data = get_json(
        read_api_server, "/fixtures/sortable.json", {"_sort_desc": "sortable", "_size": "20"}
    )
    expected = sqlite_rows(
        read_api_db_path, "select * from sortable order by sortable desc, pk1, pk2 limit 20"
    )
    assert data["rows"] == expected


def test_metadata_default_sort_desc(read_api_server, read_api_db_path):
    data = get_json(read_api_server, "/fixtures/big.json", {"_extra": "human_description_en"})
    expected = sqlite_rows(read_api_db_path, "select * from big order by score desc, id limit 50")
    assert data["rows"] == expected
    assert data["human_description_en"] == "sorted by score descending"
    # An explicit sort replaces the default.
    data = get_json(read_api_server, "/fixtures/big.json", {"_sort": "id", "_size": "3"})
    assert [r["id"] for r in data["rows"]] == [1, 2, 3]


# -- _col / _nocol (§3.5) --------------------------------------------------------------------


@pytest.mark.parametrize(
    "params,columns",
    [
        ([("_col", "neighborhood"), ("_col", "state")], ["pk", "neighborhood", "state"]),
        ([("_col", "state"), ("_col", "neighborhood")], ["pk", "state", "neighborhood"]),
        ([("_col", "pk"), ("_col", "state"), ("_col", "state")], ["pk", "state"]),
        (
            [("_nocol", "tags"), ("_nocol", "complex_array"), ("_nocol", "created")],
            [
                "pk",
                "planet_int",
                "on_earth",
                "state",
                "city_id",
                "neighborhood",
                "distinct_some_null",
                "n",
            ],
        ),
    ],
)
def test_col_and_nocol(read_api_server, params, columns):
    data = get_json(read_api_server, "/fixtures/places.json", params + [("_extra", "columns")])
    assert data["columns"] == columns
    assert all(list(row) == columns for row in data["rows"])
    assert len(data["rows"]) == 15


def test_col_keeps_compound_pks_and_rowid(read_api_server):
    data = get_json(read_api_server, "/fixtures/compound_primary_key.json", {"_col": "content"})
    assert data["rows"][0] == {"pk1": "a", "pk2": "b", "content": "c"}
    data = get_json(read_api_server, "/fixtures/compound_primary_key.json", {"_nocol": "content"})
    assert data["rows"][0] == {"pk1": "a", "pk2": "b"}
    data = get_json(read_api_server, "/fixtures/no_primary_key.json", {"_col": "a"})
    assert data["rows"] == [
        {"rowid": 1, "a": "a1"},
        {"rowid": 2, "a": "a2"},
        {"rowid": 3, "a": "a3"},
    ]


def test_col_on_view(read_api_server):
    data = get_json(read_api_server, "/fixtures/simple_view.json", {"_col": "upper_content"})
    assert data["rows"][0] == {"upper_content": "HELLO"}


@pytest.mark.parametrize(
    "params,error",
    [
        ([("_col", "nope")], "_col=nope - invalid columns"),
        (
            [("_col", "nope"), ("_col", "neighborhood"), ("_col", "bad2")],
            "_col=nope, bad2 - invalid columns",
        ),
        ([("_nocol", "nope")], "_nocol=nope - invalid columns"),
        ([("_nocol", "pk")], "_nocol=pk - invalid columns"),
    ],
)
def test_invalid_col_and_nocol_are_400(read_api_server, params, error):
    response = get(read_api_server, "/fixtures/places.json", params)
    assert_json_error(response, 400, error)


# -- labels (§3.5, §2.6) ---------------------------------------------------------------------

SAN_FRANCISCO = {"value": 1, "label": "San Francisco"}
LOS_ANGELES = {"value": 2, "label": "Los Angeles"}


@pytest.mark.parametrize(
    "params",
    [{"_labels": "on"}, {"_labels": "1"}, {"_labels": "true"}, {"_label": "city_id"}],
)
def test_labels_expand_places_city_id(read_api_server, params):
    data = get_json(
        read_api_server,
        "/fixtures/places.json",
        {**params, "pk__in": "1,7,15", "_col": "city_id"},
    )
    assert data["rows"] == [
        {"pk": 1, "city_id": SAN_FRANCISCO},
        {"pk": 7, "city_id": LOS_ANGELES},
        {"pk": 15, "city_id": None},  # NULL is not expanded
    ]


@pytest.mark.parametrize("params", [{}, {"_labels": "off"}, {"_labels": "0"}, {"_label": "state"}])
def test_labels_off_by_default_for_json(read_api_server, params):
    data = get_json(
        read_api_server, "/fixtures/places.json", {**params, "pk__in": "1,15", "_col": "city_id"}
    )
    assert data["rows"] == [{"pk": 1, "city_id": 1}, {"pk": 15, "city_id": None}]


@pytest.mark.parametrize("params", [{"_labels": "on"}, {"_label": "state"}])
def test_labels_expand_cities_state(read_api_server, params):
    data = get_json(read_api_server, "/fixtures/cities.json", params)
    assert data["rows"] == [
        {"id": 1, "name": "San Francisco", "state": {"value": "CA", "label": "California"}},
        {"id": 2, "name": "Los Angeles", "state": {"value": "CA", "label": "California"}},
        {"id": 3, "name": "Detroit", "state": {"value": "MI", "label": "Michigan"}},
        {"id": 4, "name": "Ann Arbor", "state": {"value": "MI", "label": "Michigan"}},
        {"id": 5, "name": "Nowhere", "state": None},
    ]


def test_labels_in_arrays_shape(read_api_server):
    data = get_json(
        read_api_server,
        "/fixtures/cities.json",
        {"_labels": "on", "_shape": "arrays", "_size": "1"},
    )
    assert data["rows"] == [[1, "San Francisco", {"value": "CA", "label": "California"}]]


def test_labels_do_not_change_pagination_token(read_api_server):
    data = get_json(
        read_api_server, "/fixtures/cities.json", {"_labels": "on", "_sort": "state", "_size": "2"}
    )
    # Order: (NULL, 5), (CA, 1) | ... → the token holds the raw value, not the label.
    assert [r["id"] for r in data["rows"]] == [5, 1]
    assert data["next"] == "CA,1"


def test_compound_foreign_key_is_not_expanded(read_api_server):
    data = get_json(read_api_server, "/fixtures/compound_fk_source.json", {"_labels": "on"})
    assert data["rows"] == [{"id": 1, "a": "x", "b": "1"}, {"id": 2, "a": "y", "b": "2"}]


# -- _size (§3.6) ----------------------------------------------------------------------------


def test_size_zero(read_api_server):
    data = get_json(
        read_api_server, "/fixtures/places.json", {"_size": "0", "_extra": "next_url,count"}
    )
    assert data["rows"] == []
    assert data["next"] is None
    assert data["next_url"] is None
    assert data["count"] == 15


def test_size_n(read_api_server):
    response = get(read_api_server, "/fixtures/places.json", {"_size": "3", "_col": "pk"})
    data = response.json()
    assert data["rows"] == [{"pk": 1}, {"pk": 2}, {"pk": 3}]
    assert data["next"] == "3"


def test_size_max(read_api_server):
    assert len(get_json(read_api_server, "/fixtures/big.json", {"_size": "max"})["rows"]) == 100
    assert place_pks(read_api_server, {"_size": "max"}) == ALL_PLACES


def test_default_page_size_and_metadata_size(read_api_server):
    # default_page_size is 50; big's metadata size is 50 too, overridden by _size.
    assert len(get_json(read_api_server, "/fixtures/sortable.json")["rows"]) == 50
    assert len(get_json(read_api_server, "/fixtures/big.json")["rows"]) == 50
    assert len(get_json(read_api_server, "/fixtures/big.json", {"_size": "7"})["rows"]) == 7
    assert len(get_json(read_api_server, "/fixtures/paginated_view.json")["rows"]) == 50


def test_metadata_size_on_instance_with_other_default(make_ds, serve_ds, read_api_db_path):
    # default_page_size 20: big keeps its metadata size (50), other tables use 20.
    ds = fixtures_instance(make_ds, read_api_db_path, settings={"default_page_size": 20})
    with serve_ds(ds) as server:
        assert len(get_json(server, "/fixtures/big.json")["rows"]) == 50
        assert len(get_json(server, "/fixtures/sortable.json")["rows"]) == 20


def test_size_over_max_is_400(read_api_server):
    response = get(read_api_server, "/fixtures/places.json", {"_size": "101"})
    assert_json_error(response, 400, "_size must be <= 100")


@pytest.mark.parametrize("size", ["abc", "-1", "1.5", "ten"])
def test_size_not_a_number_is_400(read_api_server, size):
    response = get(read_api_server, "/fixtures/places.json", {"_size": size})
    assert_json_error(response, 400, "_size must be a positive integer")


# -- _extra= (§2.5, Q3, Q5) -------------------------------------------------------------------


def extra(server, name, path="/fixtures/places.json", **params):
    data = get_json(server, path, {"_extra": name, **params})
    assert name in data, data
    return data[name]


def test_extra_count(read_api_server):
    assert extra(read_api_server, "count") == 15
    assert extra(read_api_server, "count", state="CA") == 10
    assert extra(read_api_server, "count", _where="n > 4") == 2
    assert extra(read_api_server, "count", path="/fixtures/big.json") == 1001
    assert extra(read_api_server, "count", path="/fixtures/simple_view.json") == 5
    assert extra(read_api_server, "count", _nocount="1") is None


def test_extra_human_description_en(read_api_server):
    assert extra(read_api_server, "human_description_en") == ""
    assert extra(read_api_server, "human_description_en", state="MI") == 'where state = "MI"'


def test_extra_next_url(read_api_server):
    url = extra(read_api_server, "next_url", _size="2")
    split = urlsplit(url)
    assert f"{split.scheme}://{split.netloc}" == read_api_server.url
    assert split.path == "/fixtures/places.json"
    assert parse_qs(split.query) == {"_extra": ["next_url"], "_size": ["2"], "_next": ["2"]}
    assert extra(read_api_server, "next_url") is None


def test_extra_columns(read_api_server):
    assert extra(read_api_server, "columns", _col="neighborhood") == ["pk", "neighborhood"]
    assert extra(read_api_server, "columns", path="/fixtures/no_primary_key.json") == [
        "rowid",
        "content",
        "a",
        "b",
        "c",
    ]
    assert extra(read_api_server, "columns", path="/fixtures/simple_view.json") == [
        "content",
        "upper_content",
    ]


def test_extra_primary_keys(read_api_server):
    assert extra(read_api_server, "primary_keys") == ["pk"]
    assert extra(read_api_server, "primary_keys", path="/fixtures/compound_primary_key.json") == [
        "pk1",
        "pk2",
    ]
    assert extra(read_api_server, "primary_keys", path="/fixtures/no_primary_key.json") == []
    assert extra(read_api_server, "primary_keys", path="/fixtures/simple_view.json") == []


def test_extra_display_columns(read_api_server):
    columns = extra(read_api_server, "display_columns", _col="neighborhood")
    assert [set(c) for c in columns] == [
        {"name", "sortable", "is_pk", "type", "notnull", "description"}
    ] * 2
    assert [(c["name"], c["is_pk"], c["sortable"]) for c in columns] == [
        ("pk", True, True),
        ("neighborhood", False, True),
    ]
    assert columns[0]["type"] == "INTEGER"
    assert columns[1]["type"] == "TEXT"
    sortable = extra(read_api_server, "display_columns", path="/fixtures/sortable.json", _size="1")
    flags = {c["name"]: c["sortable"] for c in sortable}
    assert flags["content"] is False and flags["sortable"] is True


def test_extra_debug(read_api_server):
    debug = extra(read_api_server, "debug")
    assert set(debug) == {"resolved", "url_vars", "nofacet", "nosuggest"}
    assert debug["url_vars"]["table"] == "places"
    assert debug["url_vars"]["database"] == "fixtures"
    assert extra(read_api_server, "debug", _nofacet="1")["nofacet"] is True


def test_extra_request(read_api_server):
    request = extra(read_api_server, "request", state="CA")
    assert set(request) == {"url", "path", "full_path", "host", "args"}
    assert request["path"] == "/fixtures/places.json"
    assert request["args"] == {"_extra": ["request"], "state": ["CA"]}
    assert request["url"].startswith(read_api_server.url + "/fixtures/places.json?")
    assert request["full_path"].startswith("/fixtures/places.json?")
    assert request["host"] == read_api_server.url.split("://")[1]


def test_extra_query(read_api_server):
    query = extra(read_api_server, "query", state="CA", _size="5")
    assert set(query) == {"sql", "params"}
    assert query["sql"].startswith("select ")
    assert query["sql"].endswith("limit 6")
    assert query["params"] == {"p0": "CA"}


def test_extra_metadata(read_api_server):
    metadata = extra(read_api_server, "metadata")
    assert metadata["title"] == "Places"
    assert metadata["facets"] == ["state", {"array": "tags"}]
    assert metadata["units"] == {"n": "m"}
    assert not {"tables", "queries", "databases", "description"} & set(metadata)
    view_metadata = extra(read_api_server, "metadata", path="/fixtures/simple_view.json")
    assert view_metadata["description"] == "A view"


def test_extra_metadata_has_inherited_source_and_license(read_api_server):
    for path in ["/fixtures/places.json", "/fixtures/simple_view.json"]:
        metadata = extra(read_api_server, "metadata", path=path)
        assert metadata["source"] == "Tests"
        assert metadata["source_url"] == "https://example.com/source"
        assert metadata["license"] == "CC BY 4.0"
        assert metadata["license_url"] == "https://creativecommons.org/licenses/by/4.0/"


def test_extra_extras(read_api_server):
    extras = get_json(read_api_server, "/fixtures/places.json", {"_extra": "extras"})["extras"]
    names = [e["name"] for e in extras]
    for name in [
        "count",
        "human_description_en",
        "next_url",
        "columns",
        "primary_keys",
        "display_columns",
        "debug",
        "request",
        "query",
        "metadata",
        "database",
        "table",
        "database_color",
        "is_view",
        "private",
        "renderers",
        "custom_table_templates",
        "table_definition",
        "view_definition",
        "expandable_columns",
        "form_hidden_args",
        "facet_results",
        "facets_timed_out",
        "suggested_facets",
        "sorted_facet_results",
    ]:
        assert name in names
    assert all(set(e) == {"name", "description", "toggle_url", "selected"} for e in extras)
    by_name = {e["name"]: e for e in extras}
    assert by_name["extras"]["selected"] is True
    assert by_name["table"]["selected"] is False
    # A toggle adds or removes that extra and keeps the rest of the URL.
    toggle = urlsplit(by_name["table"]["toggle_url"])
    assert toggle.path == "/fixtures/places.json"
    assert sorted(parse_qs(toggle.query)["_extra"]) == ["extras", "table"]


def test_extra_extras_toggle_removes_selected_extra(read_api_server):
    data = get_json(
        read_api_server, "/fixtures/places.json", [("_extra", "extras"), ("_extra", "count")]
    )
    count = {e["name"]: e for e in data["extras"]}["count"]
    assert count["selected"] is True
    assert parse_qs(urlsplit(count["toggle_url"]).query)["_extra"] == ["extras"]


@pytest.mark.parametrize(
    "name,path,expected",
    [
        ("database", "/fixtures/places.json", "fixtures"),
        ("table", "/fixtures/places.json", "places"),
        ("table", "/fixtures/table~2Fwith~2Fslashes~2Ecsv.json", "table/with/slashes.csv"),
        ("is_view", "/fixtures/places.json", False),
        ("is_view", "/fixtures/simple_view.json", True),
        ("private", "/fixtures/places.json", False),
        ("view_definition", "/fixtures/places.json", None),
        ("table_definition", "/fixtures/simple_view.json", None),
        ("expandable_columns", "/fixtures/simple_view.json", []),
        ("expandable_columns", "/fixtures/simple_primary_key.json", []),
        (
            "expandable_columns",
            "/fixtures/places.json",
            [[{"column": "city_id", "other_table": "cities", "other_column": "id"}, "name"]],
        ),
        (
            "expandable_columns",
            "/fixtures/cities.json",
            [[{"column": "state", "other_table": "states", "other_column": "code"}, "name"]],
        ),
        ("facets_timed_out", "/fixtures/places.json", []),
    ],
)
def test_extra_scalars(read_api_server, name, path, expected):
    assert extra(read_api_server, name, path=path) == expected


def test_extra_database_color(read_api_server):
    color = extra(read_api_server, "database_color")
    assert isinstance(color, str) and len(color) == 6
    int(color, 16)


def test_extra_renderers(read_api_server):
    renderers = extra(read_api_server, "renderers")
    assert "json" in renderers
    assert renderers["json"].startswith("/fixtures/places")


def test_extra_custom_table_templates(read_api_server):
    templates = extra(read_api_server, "custom_table_templates")
    assert "_table-fixtures-places.html" in templates
    assert templates[-1] == "_table.html"


def test_extra_table_and_view_definition(read_api_server):
    definition = extra(read_api_server, "table_definition")
    assert definition.startswith("CREATE TABLE places (")
    assert "city_id INTEGER REFERENCES cities(id)" in definition
    assert definition.rstrip().endswith(";")
    view = extra(read_api_server, "view_definition", path="/fixtures/simple_view.json")
    assert view.startswith("CREATE VIEW simple_view AS SELECT")
    assert view.rstrip().endswith(";")


def test_extra_form_hidden_args(read_api_server):
    args = extra(read_api_server, "form_hidden_args", _size="1", _sort="n", state="CA")
    assert [list(pair) for pair in args] == [["_extra", "form_hidden_args"], ["_size", "1"]]


def test_extra_facet_results(read_api_server):
    # places has metadata facets: state and array tags.
    facets = extra(read_api_server, "facet_results")
    assert set(facets) == {"results", "timed_out"}
    assert facets["timed_out"] == []
    state = facets["results"]["state"]
    assert state["type"] == "column"
    assert [(r["value"], r["count"]) for r in state["results"]] == [
        ("CA", 10),
        ("MI", 4),
        ("MC", 1),
    ]
    tags = facets["results"]["tags"]
    assert tags["type"] == "array"
    assert [(r["value"], r["count"]) for r in tags["results"]] == [
        ("tag1", 2),
        ("tag2", 1),
        ("tag3", 1),
    ]


def test_facet_parameter_adds_facet_results(read_api_server):
    data = get_json(read_api_server, "/fixtures/cities.json", {"_facet": "state"})
    assert list(data)[:3] == ["ok", "next", "facet_results"]
    results = data["facet_results"]["results"]["state"]["results"]
    assert [(r["value"], r["count"]) for r in results] == [("CA", 2), ("MI", 2)]


def test_extra_suggested_facets(read_api_server):
    suggestions = extra(read_api_server, "suggested_facets")
    assert isinstance(suggestions, list) and suggestions
    assert all({"name", "toggle_url"} <= set(s) for s in suggestions)
    names = [s["name"] for s in suggestions]
    assert "state" not in names  # already faceted by metadata
    assert extra(read_api_server, "suggested_facets", _nosuggest="1") == []


def test_extra_sorted_facet_results(read_api_server):
    facets = extra(read_api_server, "sorted_facet_results")
    assert [f["name"] for f in facets] == ["tags", "state"]


def test_extra_comma_separated_and_repeated(read_api_server):
    comma = get_json(
        read_api_server, "/fixtures/places.json", {"_extra": "count,columns,table", "_col": "pk"}
    )
    repeated = get_json(
        read_api_server,
        "/fixtures/places.json",
        [("_extra", "count"), ("_extra", "columns,table"), ("_col", "pk")],
    )
    for data in (comma, repeated):
        assert data["count"] == 15
        assert data["columns"] == ["pk"]
        assert data["table"] == "places"
        assert data["rows"][0] == {"pk": 1}


@pytest.mark.parametrize("name", ["bogus", "display_rows", "table_actions", "filters", "_html"])
def test_unknown_or_non_serialisable_extras_are_ignored(read_api_server, name):
    # Q5: 1.0a7 answers display_rows/table_actions/filters/_html with a 500.
    response = get(
        read_api_server, "/fixtures/simple_primary_key.json", {"_extra": f"{name},count"}
    )
    assert response.status_code == 200
    data = response.json()
    assert name not in data
    assert data["count"] == 5
    assert data["rows"] == SIMPLE_ROWS


def test_extra_columns_keeps_rows_intact(read_api_server):
    # Q3: 1.0a7 replaced row values with column names.
    for extras in ["columns", "columns,count", "count,columns"]:
        data = get_json(read_api_server, "/fixtures/simple_primary_key.json", {"_extra": extras})
        assert data["columns"] == ["id", "content"]
        assert data["rows"] == SIMPLE_ROWS


# -- value encoding: _json, _json_infinity (§2.6) --------------------------------------------

SELECT_JSON = {"href": "http://example.com/", "label": "Example"}


def test_select_table_with_reserved_word_columns(read_api_server):
    data = get_json(read_api_server, "/fixtures/select.json")
    assert data["rows"] == [
        {
            "rowid": 1,
            "group": "group",
            "having": "having",
            "and": "and",
            "json": '{"href": "http://example.com/", "label":"Example"}',
        }
    ]


def test_json_param_decodes_column(read_api_server):
    data = get_json(read_api_server, "/fixtures/select.json", {"_json": "json"})
    assert data["rows"][0]["json"] == SELECT_JSON
    assert data["rows"][0]["group"] == "group"


def test_json_param_with_other_shapes_and_columns_extra(read_api_server):
    data = get_json(
        read_api_server,
        "/fixtures/select.json",
        {"_json": "json", "_shape": "arrays", "_extra": "columns"},
    )
    assert data["columns"] == ["rowid", "group", "having", "and", "json"]
    assert data["rows"] == [[1, "group", "having", "and", SELECT_JSON]]
    data = get_json(read_api_server, "/fixtures/select.json", {"_json": "json", "_shape": "array"})
    assert data[0]["json"] == SELECT_JSON


def test_json_param_leaves_non_json_strings_alone(read_api_server):
    data = get_json(
        read_api_server, "/fixtures/places.json", {"_json": ["tags", "neighborhood"], "_size": "2"}
    )
    assert data["rows"][0]["tags"] == ["tag1", "tag2"]
    assert data["rows"][0]["neighborhood"] == "Mission"
    assert data["rows"][0]["complex_array"] == '[{"foo": "bar"}]'


def test_infinity_is_null_by_default(read_api_server):
    data = get_json(read_api_server, "/fixtures/infinity.json")
    assert data["rows"] == [
        {"rowid": 1, "value": None},
        {"rowid": 2, "value": None},
        {"rowid": 3, "value": 1.5},
    ]


@pytest.mark.parametrize("value", ["on", "true", "1"])
def test_json_infinity(read_api_server, value):
    response = get(read_api_server, "/fixtures/infinity.json", {"_json_infinity": value})
    assert response.status_code == 200
    assert '"value": Infinity' in response.text
    assert '"value": -Infinity' in response.text
    values = [row["value"] for row in json.loads(response.text)["rows"]]
    assert values == [float("inf"), float("-inf"), 1.5]


def test_json_infinity_off(read_api_server):
    response = get(read_api_server, "/fixtures/infinity.json", {"_json_infinity": "off"})
    assert "Infinity" not in response.text
    assert [r["value"] for r in response.json()["rows"]] == [None, None, 1.5]


# -- errors (§2.9, Q4, Q5) -------------------------------------------------------------------


def test_table_query_timeout_is_400_sql_interrupted(make_ds, serve_ds, tmp_path):
    path = tmp_path / "slow.db"
    conn = sqlite3.connect(str(path))
    conn.executescript(
        """
        CREATE TABLE t (id INTEGER PRIMARY KEY);
        CREATE VIEW slow AS
            WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000)
            SELECT count(*) AS n FROM c;
        """
    )
    conn.close()
    ds = make_ds([str(path)], settings={"sql_time_limit_ms": 100})
    with serve_ds(ds) as server:
        response = get(server, "/slow/slow.json")
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON_TYPE
    data = response.json()
    assert set(data) == {"ok", "error", "status", "title"}
    assert data["ok"] is False
    assert data["status"] == 400
    assert data["title"] == "SQL Interrupted"
    assert "https://docs.datasette.io/en/stable/settings.html#sql-time-limit-ms" in data["error"]
    assert '<textarea style="width: 90%">' in data["error"]


def test_unknown_table_is_404(read_api_server):
    response = get(read_api_server, "/fixtures/nope.json")
    assert_json_error(response, 404, "Table not found: nope")
    assert "cache-control" not in response.headers


@pytest.mark.parametrize("fmt", ["xyz", "jsono"])
def test_unknown_table_format_is_404(read_api_server, fmt):
    # Q5: 1.0a7 answers 500. The path does not end `.json`, so the error is HTML (§2.9).
    response = get(read_api_server, f"/fixtures/simple_primary_key.{fmt}")
    assert response.status_code == 404
    assert f"Invalid format: {fmt}" in response.text


@pytest.mark.parametrize(
    "path,params",
    [
        ("/fixtures/simple_primary_key.json", {"_next": "abc"}),
        ("/fixtures/no_primary_key.json", {"_next": "abc"}),
        ("/fixtures/compound_primary_key.json", {"_next": "abc"}),  # one part for two keys
        ("/fixtures/sortable.json", {"_sort": "sortable", "_next": "abc"}),
        ("/fixtures/paginated_view.json", {"_next": "abc"}),
    ],
)
def test_malformed_next_is_400(read_api_server, path, params):
    response = get(read_api_server, path, params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == JSON_TYPE
    data = response.json()
    assert data["ok"] is False and data["status"] == 400
    assert set(data) == {"ok", "error", "status", "title"}


def test_post_to_table_is_405(read_api_server):
    response = httpx.post(read_api_server.url + "/fixtures/simple_primary_key.json", timeout=60)
    assert response.status_code == 405
    assert response.json() == {"ok": False, "error": "Method not allowed"}


# -- headers (§0.6, §0.7) --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/fixtures/simple_primary_key.json", "/fixtures/simple_view.json"]
)
def test_cache_and_referrer_headers(read_api_server, path):
    response = get(read_api_server, path)
    assert response.headers["cache-control"] == "max-age=5"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "ttl,expected",
    [("0", "no-cache"), ("60", "max-age=60"), ("abc", "max-age=5"), ("", "max-age=5")],
)
def test_ttl(read_api_server, ttl, expected):
    response = get(read_api_server, "/fixtures/simple_primary_key.json", {"_ttl": ttl})
    assert response.headers["cache-control"] == expected


def test_cache_headers_on_other_shapes(read_api_server):
    for shape in ["array", "arrayfirst", "object"]:
        response = get(read_api_server, "/fixtures/simple_primary_key.json", {"_shape": shape})
        assert response.headers["cache-control"] == "max-age=5"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_no_cache_headers_on_errors(read_api_server):
    response = get(read_api_server, "/fixtures/places.json", {"_size": "abc"})
    assert response.status_code == 400
    assert "cache-control" not in response.headers


def test_link_next_header(read_api_server):
    response = get(read_api_server, "/fixtures/places.json", {"_size": "2", "_extra": "next_url"})
    next_url = response.json()["next_url"]
    assert response.headers["link"] == f'<{next_url}>; rel="next"'
    assert parse_qs(urlsplit(next_url).query)["_next"] == ["2"]
    assert "link" not in get(read_api_server, "/fixtures/places.json").headers


def test_no_cors_headers_by_default(read_api_server):
    response = get(read_api_server, "/fixtures/simple_primary_key.json")
    assert not {h for h in response.headers if h.startswith("access-control-")}


@pytest.fixture(scope="module")
def cors_server(read_api_db_path):
    from datasette.app import Datasette

    from .conftest import ServerThread

    ds = Datasette(
        [str(read_api_db_path)],
        cors=True,
        metadata=copy.deepcopy(READ_API_METADATA),
        settings={"default_page_size": 50, "max_returned_rows": 100},
    )
    with ServerThread(ds) as server:
        yield server
    ds.close()


def assert_cors(response):
    for name, value in CORS_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)


@pytest.mark.parametrize(
    "path,params,status",
    [
        ("/fixtures/simple_primary_key.json", {}, 200),
        ("/fixtures/simple_view.json", {"_shape": "array"}, 200),
        ("/fixtures/simple_primary_key.json", {"_shape": "array", "_nl": "on"}, 200),
        ("/fixtures/simple_primary_key.json", {"_shape": "object"}, 200),
        ("/fixtures/no_primary_key.json", {"_shape": "object"}, 200),
        ("/fixtures/nope.json", {}, 404),
        ("/fixtures/places.json", {"_size": "abc"}, 400),
        ("/fixtures/places.json", {"_sort": "nope"}, 400),
    ],
)
def test_cors_headers(cors_server, path, params, status):
    response = get(cors_server, path, params)
    assert response.status_code == status
    assert_cors(response)


@pytest.mark.parametrize(
    "params",
    [
        {"_sort": "n", "_sort_by_desc": "1"},
        {"_filter_column": "state", "_filter_op": "exact", "_filter_value": "CA"},
    ],
)
def test_cors_headers_on_table_redirects(cors_server, params):
    response = get(cors_server, "/fixtures/places.json", params)
    assert response.status_code == 302
    assert_cors(response)


@pytest.fixture(scope="module")
def prefix_server(read_api_db_path):
    from datasette.app import Datasette

    from .conftest import ServerThread

    ds = Datasette(
        [str(read_api_db_path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        settings={"default_page_size": 50, "max_returned_rows": 100, "base_url": "/prefix/"},
    )
    with ServerThread(ds) as server:
        yield server
    ds.close()


def assert_prefixed_urls(server, data, link_header):
    next_url = data["next_url"]
    assert next_url.startswith(server.url + "/prefix/fixtures/places.json?"), next_url
    assert link_header == f'<{next_url}>; rel="next"'
    for item in data["extras"]:
        assert urlsplit(item["toggle_url"]).path == "/prefix/fixtures/places.json", item
    for facet in data["facet_results"]["results"].values():
        if facet["type"] != "date":  # date facet toggles ignore base_url (Q10)
            assert facet["toggle_url"].startswith("/prefix/fixtures/places.json"), facet
        for value in facet["results"]:
            assert urlsplit(value["toggle_url"]).path == "/prefix/fixtures/places.json", value


PREFIX_PARAMS = {"_size": "2", "_extra": "next_url,extras,facet_results"}


def test_base_url_prefixes_generated_urls(prefix_server):
    response = get(prefix_server, "/fixtures/places.json", PREFIX_PARAMS)
    assert response.status_code == 200
    assert_prefixed_urls(prefix_server, response.json(), response.headers["link"])


def test_base_url_prefixes_redirects(prefix_server):
    response = get(prefix_server, "/fixtures/places.json", {"_sort": "n", "_sort_by_desc": "1"})
    assert response.status_code == 302
    assert location(response) == ("/prefix/fixtures/places.json", {"_sort_desc": ["n"]})


def test_base_url_prefixed_request_prefixes_once(prefix_server):
    # The usual case behind a proxy: the request path carries the prefix; generated URLs
    # must carry it once, not twice.
    response = get(prefix_server, "/prefix/fixtures/places.json", PREFIX_PARAMS)
    assert response.status_code == 200
    assert_prefixed_urls(prefix_server, response.json(), response.headers["link"])


def test_base_url_prefixed_request_redirects_once(prefix_server):
    response = get(
        prefix_server, "/prefix/fixtures/places.json", {"_sort": "n", "_sort_by_desc": "1"}
    )
    assert response.status_code == 302
    assert location(response) == ("/prefix/fixtures/places.json", {"_sort_desc": ["n"]})


def test_base_url_prefixed_request_serves_rows(prefix_server):
    data = get_json(prefix_server, "/prefix/fixtures/simple_primary_key.json")
    assert data["rows"] == SIMPLE_ROWS


# -- tilde-encoded names (§0.1, §0.3) --------------------------------------------------------


def test_table_with_slashes_and_dot(read_api_server):
    data = get_json(read_api_server, "/fixtures/table~2Fwith~2Fslashes~2Ecsv.json")
    assert data["rows"] == [{"pk": "3", "content": "hey"}]
    data = get_json(
        read_api_server, "/fixtures/table~2Fwith~2Fslashes~2Ecsv.json", {"_shape": "object"}
    )
    assert data == {"3": {"pk": "3", "content": "hey"}}


def test_unicode_table_name(read_api_server):
    encoded = tilde_encode("unicode ✓ table")
    assert encoded == "unicode+~E2~9C~93+table"
    data = get_json(read_api_server, f"/fixtures/{encoded}.json", {"_extra": "table"})
    assert data["table"] == "unicode ✓ table"
    assert data["rows"] == [{"id": 1, "név": "Árvíztűrő"}, {"id": 2, "név": "日本語"}]


def test_percent_encoded_path_redirects_to_tilde_form(read_api_server):
    response = get(read_api_server, "/fixtures/table%2Fwith%2Fslashes%2Ecsv?_size=1")
    assert response.status_code == 302
    assert response.headers["location"] == "/fixtures/table~2Fwith~2Fslashes~2Ecsv?_size=1"
    followed = get(read_api_server, "/fixtures/table%2Fwith%2Fslashes%2Ecsv", follow_redirects=True)
    assert followed.status_code == 200
    assert "text/html" in followed.headers["content-type"]


def test_next_token_for_tilde_encoded_values_in_pk(read_api_server):
    # pk1 'a/b', pk2 '.c-d' → token `a~2Fb,~2Ec-d`; resuming from it gives the last row.
    data = get_json(
        read_api_server, "/fixtures/compound_primary_key.json", {"_next": "a~2Fb,~2Ec-d"}
    )
    assert data["rows"] == [{"pk1": "a~b", "pk2": "x,y", "content": "tilde and comma"}]
