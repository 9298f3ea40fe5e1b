"""Keyset and offset pagination of table JSON, walked page by page over real HTTP
(http-cli.md §3.4, §3.6, §3.7).

Each walk follows `next` until it is null and checks that the pages, joined, are exactly the
rows SQLite gives for the same query: nothing missed, nothing repeated, in the right order.
The server is `read_api_server` (default_page_size 50, max_returned_rows 100).
"""

import sqlite3
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

MAX_PAGES = 500
SORTABLE_COLUMNS = ["sortable", "sortable_with_nulls", "sortable_with_nulls_2", "text"]


# -- helpers ------------------------------------------------------------------------------------


def get_json(server, path, params=None):
    response = httpx.get(server.url + path, params=params, timeout=60)
    assert response.status_code == 200, (path, params, response.text)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


def walk_with_next_url(server, path, params):
    """Follow `next_url` (asked for with `_extra=next_url`); returns `(rows, pages)`."""
    params = dict(params, _extra="next_url")
    data = get_json(server, path, params)
    rows, pages = list(data["rows"]), [data]
    tokens = set()
    while data["next"] is not None:
        assert len(pages) < MAX_PAGES, "pagination did not stop"
        assert data["next"] not in tokens, f"token {data['next']!r} came back: a loop"
        tokens.add(data["next"])
        next_url = data["next_url"]
        assert next_url.startswith(server.url + path + "?")
        assert parse_qs(urlsplit(next_url).query)["_next"] == [data["next"]]
        response = httpx.get(next_url, timeout=60)
        assert response.status_code == 200, (next_url, response.text)
        data = response.json()
        rows.extend(data["rows"])
        pages.append(data)
    assert data["next_url"] is None
    return rows, pages


def walk_with_next_token(server, path, params):
    """Add `_next=<token>` to the first page's parameters ourselves; returns `(rows, pages)`."""
    data = get_json(server, path, params)
    rows, pages = list(data["rows"]), [data]
    tokens = set()
    while data["next"] is not None:
        assert len(pages) < MAX_PAGES, "pagination did not stop"
        assert data["next"] not in tokens, f"token {data['next']!r} came back: a loop"
        tokens.add(data["next"])
        data = get_json(server, path, dict(params, _next=data["next"]))
        rows.extend(data["rows"])
        pages.append(data)
    return rows, pages


WALKERS = [walk_with_next_url, walk_with_next_token]


def sqlite_rows(db_path, sql, params=()):
    conn = sqlite3.connect(str(db_path))
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


def keys(rows, columns):
    return [tuple(row[c] for c in columns) for row in rows]


def assert_same_rows_in_order(got, expected, key_columns):
    got_keys = keys(got, key_columns)
    duplicated = [k for k, n in Counter(got_keys).items() if n > 1]
    assert not duplicated, f"rows repeated across pages: {duplicated[:5]}"
    missing = set(keys(expected, key_columns)) - set(got_keys)
    assert not missing, f"rows missed: {sorted(missing, key=repr)[:5]}"
    assert got == expected


def assert_page_sizes(pages, size, total):
    """Every page but the last is full; the last holds the rest (never an empty last page
    unless the table is empty)."""
    assert [len(p["rows"]) for p in pages[:-1]] == [size] * (len(pages) - 1)
    assert 0 < len(pages[-1]["rows"]) <= size
    assert len(pages) == -(-total // size)


# -- tables without an explicit sort --------------------------------------------------------


@pytest.mark.parametrize("walk", WALKERS)
def test_big_walks_every_row_in_metadata_sort_order(read_api_server, read_api_db_path, walk):
    # Metadata: size 50, sort_desc score; pk `id` breaks the many ties.
    rows, pages = walk(read_api_server, "/fixtures/big.json", {})
    expected = sqlite_rows(read_api_db_path, "select * from big order by score desc, id")
    assert len(expected) == 1001
    assert_same_rows_in_order(rows, expected, ["id"])
    assert_page_sizes(pages, 50, 1001)


@pytest.mark.parametrize("walk", WALKERS)
def test_big_walks_by_primary_key_when_sorted_by_id(read_api_server, read_api_db_path, walk):
    rows, pages = walk(read_api_server, "/fixtures/big.json", {"_sort": "id", "_size": "37"})
    expected = sqlite_rows(read_api_db_path, "select * from big order by id")
    assert_same_rows_in_order(rows, expected, ["id"])
    assert_page_sizes(pages, 37, 1001)


@pytest.mark.parametrize("walk", WALKERS)
def test_size_max_pages_hold_max_returned_rows(read_api_server, read_api_db_path, walk):
    rows, pages = walk(read_api_server, "/fixtures/big.json", {"_size": "max"})
    expected = sqlite_rows(read_api_db_path, "select * from big order by score desc, id")
    assert_same_rows_in_order(rows, expected, ["id"])
    assert_page_sizes(pages, 100, 1001)


@pytest.mark.parametrize("walk", WALKERS)
def test_rowid_table_walks_by_rowid(read_api_server, read_api_db_path, walk):
    rows, pages = walk(read_api_server, "/fixtures/no_primary_key.json", {"_size": "1"})
    expected = sqlite_rows(read_api_db_path, "select rowid, * from no_primary_key order by rowid")
    assert_same_rows_in_order(rows, expected, ["rowid"])
    assert_page_sizes(pages, 1, 3)
    # Rowid tokens are the last rowid of the page.
    assert [p["next"] for p in pages] == ["1", "2", None]


@pytest.mark.parametrize("walk", WALKERS)
def test_compound_primary_key_walks_with_awkward_key_values(
    read_api_server, read_api_db_path, walk
):
    rows, pages = walk(read_api_server, "/fixtures/compound_primary_key.json", {"_size": "1"})
    expected = sqlite_rows(read_api_db_path, "select * from compound_primary_key order by pk1, pk2")
    assert_same_rows_in_order(rows, expected, ["pk1", "pk2"])
    # Tokens are the tilde-encoded key values joined by a comma.
    assert [p["next"] for p in pages] == ["a,b", "a~2Fb,~2Ec-d", None]


@pytest.mark.parametrize("walk", WALKERS)
def test_untyped_pk_table_walks_by_rowid(read_api_server, read_api_db_path, walk):
    # `untyped_pk (id, label)` declares no primary key: it is a rowid table whose `id`
    # mixes integers and text.
    rows, pages = walk(read_api_server, "/fixtures/untyped_pk.json", {"_size": "1"})
    expected = sqlite_rows(read_api_db_path, "select rowid, * from untyped_pk order by rowid")
    assert [r["id"] for r in expected] == [1, 2, 10, "x"]
    assert_same_rows_in_order(rows, expected, ["rowid"])
    assert [p["next"] for p in pages] == ["1", "2", "3", None]


@pytest.mark.parametrize("walk", WALKERS)
@pytest.mark.parametrize("sort_param", ["_sort", "_sort_desc"])
def test_untyped_column_sort_mixing_integers_and_text(
    read_api_server, read_api_db_path, walk, sort_param
):
    # Tokens carry `10` and `x` as text; the untyped column must compare them as stored.
    rows, pages = walk(
        read_api_server, "/fixtures/untyped_pk.json", {sort_param: "id", "_size": "1"}
    )
    direction = " desc" if sort_param == "_sort_desc" else ""
    expected = sqlite_rows(
        read_api_db_path, f"select rowid, * from untyped_pk order by id{direction}, rowid"
    )
    assert_same_rows_in_order(rows, expected, ["rowid"])
    assert len(pages) == 4


@pytest.mark.parametrize("walk", WALKERS)
def test_view_walks_by_offset_tokens(read_api_server, read_api_db_path, walk):
    rows, pages = walk(read_api_server, "/fixtures/paginated_view.json", {})
    expected = sqlite_rows(read_api_db_path, "select * from big")
    # A view has no order of its own: compare as a multiset keyed by id.
    assert Counter(keys(rows, ["id"])) == Counter(keys(expected, ["id"]))
    assert sorted(rows, key=lambda r: r["id"]) == sorted(expected, key=lambda r: r["id"])
    assert_page_sizes(pages, 50, 1001)
    assert [p["next"] for p in pages[:3]] == ["50", "100", "150"]


# -- sortable: every sortable column, both directions, NULLs and ties ---------------------------


@pytest.mark.parametrize("walk", WALKERS)
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("column", SORTABLE_COLUMNS)
def test_sortable_walks_each_sort_column(
    read_api_server, read_api_db_path, walk, column, descending
):
    sort_param = "_sort_desc" if descending else "_sort"
    rows, pages = walk(
        read_api_server, "/fixtures/sortable.json", {sort_param: column, "_size": "7"}
    )
    direction = " desc" if descending else ""
    expected = sqlite_rows(
        read_api_db_path, f"select * from sortable order by [{column}]{direction}, pk1, pk2"
    )
    assert len(expected) == 201
    assert_same_rows_in_order(rows, expected, ["pk1", "pk2"])
    assert_page_sizes(pages, 7, 201)


def test_sortable_fixture_has_nulls_and_ties(read_api_db_path):
    # Guards the walks above: they only prove something if the data is awkward.
    def values(column):
        return [
            r[column] for r in sqlite_rows(read_api_db_path, f"select [{column}] from sortable")
        ]

    for column in ["sortable", "sortable_with_nulls", "text"]:
        non_null = [v for v in values(column) if v is not None]
        assert len(set(non_null)) < len(non_null), f"{column} has no ties"
    for column in ["sortable_with_nulls", "sortable_with_nulls_2", "text"]:
        assert values(column).count(None) > 7, f"{column} has too few NULLs"
    assert {"$null", "a,b", "~", ""} <= set(values("text"))


def test_sorted_tokens_use_null_marker_and_tilde_encoded_values(read_api_server):
    # Walk sortable_with_nulls ascending: NULLs come first, so early tokens are `$null,...`.
    rows, pages = walk_with_next_token(
        read_api_server, "/fixtures/sortable.json", {"_sort": "sortable_with_nulls", "_size": "5"}
    )
    tokens = [p["next"] for p in pages if p["next"] is not None]
    null_tokens = [t for t in tokens if t.startswith("$null,")]
    assert null_tokens, tokens
    last_row = pages[0]["rows"][-1]
    assert last_row["sortable_with_nulls"] is None
    assert pages[0]["next"] == "$null,{},{}".format(last_row["pk1"], last_row["pk2"])
    # A non-null float value: `.` is tilde-encoded.
    value_tokens = [t for t in tokens if not t.startswith("$null,")]
    assert value_tokens
    assert all("." not in t for t in value_tokens)
    assert any("~2E" in t for t in value_tokens)


def test_text_value_looking_like_null_marker_gets_an_encoded_token(read_api_server):
    # The `text` column holds the string "$null" as well as real NULLs.
    data = get_json(
        read_api_server,
        "/fixtures/sortable.json",
        {"_sort": "text", "_size": "2", "text": "$null", "_col": "text"},
    )
    assert [r["text"] for r in data["rows"]] == ["$null", "$null"]
    last = data["rows"][-1]
    assert data["next"] == "~24null,{},{}".format(last["pk1"], last["pk2"])


@pytest.mark.parametrize("sort_param", ["_sort", "_sort_desc"])
def test_text_null_marker_lookalike_resumes_after_that_row(
    read_api_server, read_api_db_path, sort_param
):
    # GET /fixtures/sortable.json?_sort=text&_next=~24null,a,g6 must continue with the
    # "$null" rows after (a, g6), not restart at the NULL rows.
    direction = " desc" if sort_param == "_sort_desc" else ""
    ordered = sqlite_rows(
        read_api_db_path,
        f"select pk1, pk2, text from sortable order by text{direction}, pk1, pk2",
    )
    position = keys(ordered, ["pk1", "pk2"]).index(("a", "g6"))
    assert ordered[position]["text"] == "$null"
    data = get_json(
        read_api_server,
        "/fixtures/sortable.json",
        {sort_param: "text", "_next": "~24null,a,g6", "_size": "5", "_col": "text"},
    )
    assert data["rows"] == ordered[position + 1 : position + 6]


@pytest.mark.parametrize("walk", WALKERS)
@pytest.mark.parametrize("sort_param", ["_sort", "_sort_desc"])
def test_sort_combined_with_parameterless_filter(
    read_api_server, read_api_db_path, walk, sort_param
):
    params = {sort_param: "sortable", "sortable_with_nulls__notnull": "1", "_size": "8"}
    rows, pages = walk(read_api_server, "/fixtures/sortable.json", params)
    direction = " desc" if sort_param == "_sort_desc" else ""
    expected = sqlite_rows(
        read_api_db_path,
        "select * from sortable where sortable_with_nulls is not null "
        f"order by sortable{direction}, pk1, pk2",
    )
    assert 8 < len(expected) < 201
    assert_same_rows_in_order(rows, expected, ["pk1", "pk2"])


def test_filter_value_survives_next_token(read_api_server):
    # GET /fixtures/places.json?state=MI&_size=2&_next=11 → pks 12, 13 (state = 'MI').
    data = get_json(
        read_api_server,
        "/fixtures/places.json",
        {"state": "MI", "_size": "2", "_next": "11", "_col": "state"},
    )
    assert data["rows"] == [{"pk": 12, "state": "MI"}, {"pk": 13, "state": "MI"}]
    assert data["next"] == "13"


@pytest.mark.parametrize("walk", WALKERS)
@pytest.mark.parametrize("sort_param", ["_sort", "_sort_desc"])
def test_sort_combined_with_filter(read_api_server, read_api_db_path, walk, sort_param):
    params = {sort_param: "sortable_with_nulls_2", "sortable__gt": "3", "_size": "6"}
    rows, pages = walk(read_api_server, "/fixtures/sortable.json", params)
    direction = " desc" if sort_param == "_sort_desc" else ""
    expected = sqlite_rows(
        read_api_db_path,
        "select * from sortable where sortable > 3 "
        f"order by sortable_with_nulls_2{direction}, pk1, pk2",
    )
    assert 6 < len(expected) < 201
    assert_same_rows_in_order(rows, expected, ["pk1", "pk2"])
    assert all(r["sortable"] > 3 for r in rows)


@pytest.mark.parametrize("walk", WALKERS)
def test_sort_column_excluded_with_col_still_paginates(read_api_server, read_api_db_path, walk):
    # The token needs the sort value of the last row although `_col` left it out.
    params = {"_sort_desc": "sortable_with_nulls", "_col": "content", "_size": "9"}
    rows, pages = walk(read_api_server, "/fixtures/sortable.json", params)
    expected = sqlite_rows(
        read_api_db_path,
        "select pk1, pk2, content from sortable order by sortable_with_nulls desc, pk1, pk2",
    )
    assert_same_rows_in_order(rows, expected, ["pk1", "pk2"])
    assert set(rows[0]) == {"pk1", "pk2", "content"}


@pytest.mark.parametrize("walk", WALKERS)
def test_filter_through_and_where_share_parameters_with_keyset(
    read_api_server, read_api_db_path, walk
):
    # Filter params, `_through` params and keyset params must not overwrite each other.
    through = '{"table": "places", "column": "on_earth", "value": "1"}'
    params = {"_through": through, "name__contains": "o", "_where": "id > 0", "_size": "1"}
    rows, pages = walk(read_api_server, "/fixtures/cities.json", params)
    expected = sqlite_rows(
        read_api_db_path,
        "select * from cities where id in (select city_id from places where on_earth = 1) "
        "and name like '%o%' order by id",
    )
    assert [r["name"] for r in expected] == ["San Francisco", "Los Angeles", "Detroit"]
    assert_same_rows_in_order(rows, expected, ["id"])


@pytest.mark.parametrize("walk", WALKERS)
def test_filtered_big_sorted_by_text_column(read_api_server, read_api_db_path, walk):
    params = {"category__in": "red,blue", "_sort": "value", "_size": "45"}
    rows, pages = walk(read_api_server, "/fixtures/big.json", params)
    expected = sqlite_rows(
        read_api_db_path,
        "select * from big where category in ('red', 'blue') order by value, id",
    )
    assert len(expected) > 45 * 5
    assert_same_rows_in_order(rows, expected, ["id"])


def test_next_url_restates_the_explicit_sort(read_api_server):
    data = get_json(
        read_api_server,
        "/fixtures/sortable.json",
        {"_sort_desc": "sortable", "_size": "3", "_extra": "next_url"},
    )
    query = parse_qs(urlsplit(data["next_url"]).query)
    assert query["_sort_desc"] == ["sortable"]
    assert query["_next"] == [data["next"]]
    assert query["_size"] == ["3"]


def test_next_url_restates_the_metadata_default_sort(read_api_server):
    data = get_json(read_api_server, "/fixtures/big.json", {"_size": "3", "_extra": "next_url"})
    query = parse_qs(urlsplit(data["next_url"]).query)
    assert query["_next"] == [data["next"]]
    assert query["_sort_desc"] == ["score"]


def test_last_page_has_no_next_and_no_link_header(read_api_server):
    # 1001 rows at size 50 → 20 full pages and one page of 1 row.
    token = None
    for _ in range(MAX_PAGES):
        params = {"_sort": "id", "_extra": "next_url"}
        if token:
            params["_next"] = token
        response = httpx.get(read_api_server.url + "/fixtures/big.json", params=params, timeout=60)
        data = response.json()
        if data["next"] is None:
            break
        assert response.headers["link"] == '<{}>; rel="next"'.format(data["next_url"])
        token = data["next"]
    assert data["rows"] == [{"id": 1001, "value": "value 1001", "category": "green", "score": 0}]
    assert data["next_url"] is None
    assert "link" not in response.headers


def test_exactly_one_full_page_has_no_next(read_api_server):
    # 15 places at size 15: Datasette fetches size+1 rows, finds none extra, so no next page.
    data = get_json(read_api_server, "/fixtures/places.json", {"_size": "15"})
    assert len(data["rows"]) == 15
    assert data["next"] is None
    data = get_json(read_api_server, "/fixtures/places.json", {"_size": "14"})
    assert data["next"] == "14"


def test_next_url_keeps_other_parameters_and_encodes_them(read_api_server):
    params = {"state": "CA", "_size": "2", "_col": "neighborhood", "_extra": "next_url"}
    data = get_json(read_api_server, "/fixtures/places.json", params)
    split = urlsplit(data["next_url"])
    assert split.path == "/fixtures/places.json"
    query = parse_qs(split.query)
    assert query == {
        "state": ["CA"],
        "_size": ["2"],
        "_col": ["neighborhood"],
        "_extra": ["next_url"],
        "_next": ["2"],
    }


def test_second_next_url_replaces_the_token(read_api_server):
    params = {"state": "CA", "_size": "2", "_col": "neighborhood", "_extra": "next_url"}
    data = get_json(read_api_server, "/fixtures/places.json", params)
    second = httpx.get(data["next_url"], timeout=60).json()
    assert [r["pk"] for r in second["rows"]] == [3, 4]
    assert parse_qs(urlsplit(second["next_url"]).query)["_next"] == ["4"]


def test_walk_keeps_parameters_with_urlencoded_values(read_api_server, read_api_db_path):
    # A filter value with characters that need encoding survives the round trips.
    params = {"neighborhood__in": "Downtown,Los Feliz,SOMA,Hayes Valley", "_size": "1"}
    rows, pages = walk_with_next_url(read_api_server, "/fixtures/places.json", params)
    expected = sqlite_rows(
        read_api_db_path,
        "select * from places where neighborhood in "
        "('Downtown', 'Los Feliz', 'SOMA', 'Hayes Valley') order by pk",
    )
    assert_same_rows_in_order(rows, expected, ["pk"])
    assert len(pages) == 5
