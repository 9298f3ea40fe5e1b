"""Facets through real HTTP (http-cli.md §4, §2.5; plugins-auth-config.md §6.1, §7.2).

Most tests talk to the module-scoped `read_api_server` (uvicorn over `fixtures.db` with
`READ_API_METADATA`: `places` always facets `state` and `{"array": "tags"}`, and
`max_returned_rows` is 100). Settings that change facet behaviour get a dedicated instance
built with `make_ds` and served with `serve_ds`.

`places` in numbers: state CA 10, MI 4, MC 1; city_id 1 (San Francisco) 6, 2 (Los Angeles) 4,
3 (Detroit) 4, one NULL; created dates 2019-01-14/15/17 four each, 2019-01-16 three;
tags: tag1 in two rows, tag2 and tag3 in one each.
"""

import copy
import json
import sqlite3
import urllib.parse

import httpx
import pytest

from .fixtures import READ_API_METADATA

PLACES = "/fixtures/places.json"


# -- helpers --------------------------------------------------------------------------------


def get(server, path, params=None):
    return httpx.get(server.url + path, params=params, timeout=60)


def get_json(server, path, params=None, status=200):
    response = get(server, path, params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


def facets(server, params, path=PLACES):
    """`facet_results.results` of a table JSON request (rows suppressed with `_size=0`)."""
    data = get_json(server, path, {"_size": "0", **params})
    return data["facet_results"]["results"]


def counts(facet):
    """`[(value, count), ...]` of one facet, in the order served."""
    return [(item["value"], item["count"]) for item in facet["results"]]


def query_pairs(url):
    return urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)


def suggestions(server, params=None, path=PLACES):
    data = get_json(server, path, {"_size": "0", "_extra": "suggested_facets", **(params or {})})
    return data["suggested_facets"]


def serve_fixtures(make_ds, serve_ds, db_path, metadata=None, **settings):
    """A dedicated server over the read-API fixtures file with the given settings."""
    ds = make_ds(
        [str(db_path)],
        metadata=copy.deepcopy(READ_API_METADATA if metadata is None else metadata),
        settings=settings,
    )
    return serve_ds(ds)


# -- _facet=C: shape, counts, order, toggles ------------------------------------------------


def test_facet_state_exact_shape(read_api_server):
    base = read_api_server.url + PLACES
    data = get_json(read_api_server, PLACES, {"_facet": "state", "_size": "0"})
    assert list(data) == ["ok", "next", "facet_results", "rows", "truncated"]
    assert data["facet_results"]["timed_out"] == []
    assert data["facet_results"]["results"]["state"] == {
        "name": "state",
        "type": "column",
        # `state` is also a metadata facet of `places`, which makes it un-hideable.
        "hideable": False,
        "toggle_url": "/fixtures/places.json?_size=0",
        "results": [
            {
                "value": "CA",
                "label": "CA",
                "count": 10,
                "toggle_url": base + "?_facet=state&_size=0&state=CA",
                "selected": False,
            },
            {
                "value": "MI",
                "label": "MI",
                "count": 4,
                "toggle_url": base + "?_facet=state&_size=0&state=MI",
                "selected": False,
            },
            {
                "value": "MC",
                "label": "MC",
                "count": 1,
                "toggle_url": base + "?_facet=state&_size=0&state=MC",
                "selected": False,
            },
        ],
        "truncated": False,
    }


def test_requested_facet_is_hideable_and_its_toggle_is_relative(read_api_server):
    facet = facets(read_api_server, {"_facet": "on_earth"})["on_earth"]
    assert facet["hideable"] is True
    assert facet["type"] == "column"
    # Relative (no scheme or host) and without the `_facet` pair that asked for it.
    assert facet["toggle_url"] == "/fixtures/places.json?_size=0"
    assert counts(facet) == [(1, 14), (0, 1)]


def test_value_toggle_urls_are_absolute(read_api_server):
    facet = facets(read_api_server, {"_facet": "on_earth"})["on_earth"]
    for item in facet["results"]:
        parts = urllib.parse.urlsplit(item["toggle_url"])
        assert f"{parts.scheme}://{parts.netloc}" == read_api_server.url
        assert parts.path == PLACES
        assert ("on_earth", str(item["value"])) in query_pairs(item["toggle_url"])


def test_ties_are_ordered_by_value(read_api_server):
    facet = facets(read_api_server, {"_facet": "neighborhood"})["neighborhood"]
    values = counts(facet)
    assert values[0] == ("Downtown", 2)
    ones = [value for value, count in values[1:]]
    assert all(count == 1 for _, count in values[1:])
    assert ones == sorted(ones)
    assert len(values) == 14  # NULLs are never a facet value; every neighborhood is set


def test_selecting_then_unselecting_a_value_by_following_toggles(read_api_server):
    facet = facets(read_api_server, {"_facet": "state"})["state"]
    ca = facet["results"][0]
    assert ca["value"] == "CA" and ca["selected"] is False

    selected_page = httpx.get(ca["toggle_url"], timeout=60).json()
    assert len(selected_page["rows"]) == 0  # `_size=0` carried over
    selected_facet = selected_page["facet_results"]["results"]["state"]
    # Only CA is left under the `state=CA` filter, and it is selected.
    assert len(selected_facet["results"]) == 1
    selected = selected_facet["results"][0]
    assert (selected["value"], selected["count"], selected["selected"]) == ("CA", 10, True)
    assert ("state", "CA") not in query_pairs(selected["toggle_url"])
    assert ("_facet", "state") in query_pairs(selected["toggle_url"])

    unselected_page = httpx.get(selected["toggle_url"], timeout=60).json()
    unselected = unselected_page["facet_results"]["results"]["state"]
    assert counts(unselected) == [("CA", 10), ("MI", 4), ("MC", 1)]
    assert not any(item["selected"] for item in unselected["results"])


def test_selected_state_via_query_string(read_api_server):
    facet = facets(read_api_server, {"state": "MI", "_facet": "state"})["state"]
    assert [(i["value"], i["count"], i["selected"]) for i in facet["results"]] == [("MI", 4, True)]
    assert facet["results"][0]["toggle_url"] == (
        read_api_server.url + PLACES + "?_size=0&_facet=state"
    )


def test_foreign_key_facet_uses_labels(read_api_server):
    facet = facets(read_api_server, {"_facet": "city_id"})["city_id"]
    assert facet["hideable"] is True
    assert [(i["value"], i["label"], i["count"]) for i in facet["results"]] == [
        (1, "San Francisco", 6),
        (2, "Los Angeles", 4),
        (3, "Detroit", 4),
    ]
    assert facet["results"][0]["toggle_url"] == (
        read_api_server.url + PLACES + "?_size=0&_facet=city_id&city_id=1"
    )


def test_foreign_key_facet_selected_value(read_api_server):
    facet = facets(read_api_server, {"_facet": "city_id", "city_id": "3"})["city_id"]
    assert facet["results"] == [
        {
            "value": 3,
            "label": "Detroit",
            "count": 4,
            "toggle_url": read_api_server.url + PLACES + "?_size=0&_facet=city_id",
            "selected": True,
        }
    ]


# -- date and array facets ------------------------------------------------------------------


def test_date_facet(read_api_server):
    facet = facets(read_api_server, {"_facet_date": "created"})["created"]
    assert facet["type"] == "date"
    assert facet["hideable"] is True
    assert facet["toggle_url"] == "/fixtures/places.json?_size=0"
    assert facet["truncated"] is False
    assert [(i["value"], i["label"], i["count"]) for i in facet["results"]] == [
        ("2019-01-14", "2019-01-14", 4),
        ("2019-01-15", "2019-01-15", 4),
        ("2019-01-17", "2019-01-17", 4),
        ("2019-01-16", "2019-01-16", 3),
    ]
    first = facet["results"][0]
    assert first["selected"] is False
    assert first["toggle_url"] == (
        read_api_server.url + PLACES + "?_size=0&_facet_date=created&created__date=2019-01-14"
    )


def test_date_facet_selected_value_filters_rows(read_api_server):
    data = get_json(
        read_api_server, PLACES, {"_facet_date": "created", "created__date": "2019-01-16"}
    )
    assert [row["pk"] for row in data["rows"]] == [9, 10, 11]
    facet = data["facet_results"]["results"]["created"]
    assert [(i["value"], i["count"], i["selected"]) for i in facet["results"]] == [
        ("2019-01-16", 3, True)
    ]
    assert ("created__date", "2019-01-16") not in query_pairs(facet["results"][0]["toggle_url"])


def test_array_facet_counts_each_element(read_api_server):
    facet = facets(read_api_server, {"_facet_array": "tags"})["tags"]
    assert facet["type"] == "array"
    assert [(i["value"], i["label"], i["count"]) for i in facet["results"]] == [
        ("tag1", "tag1", 2),
        ("tag2", "tag2", 1),
        ("tag3", "tag3", 1),
    ]
    assert facet["results"][1]["toggle_url"] == (
        read_api_server.url + PLACES + "?_size=0&_facet_array=tags&tags__arraycontains=tag2"
    )


def test_array_facet_selected_value(read_api_server):
    data = get_json(
        read_api_server, PLACES, {"tags__arraycontains": "tag1", "_extra": "facet_results"}
    )
    assert [row["pk"] for row in data["rows"]] == [1, 2]
    facet = data["facet_results"]["results"]["tags"]
    assert [(i["value"], i["count"], i["selected"]) for i in facet["results"]] == [
        ("tag1", 2, True),
        ("tag2", 1, False),
        ("tag3", 1, False),
    ]
    assert ("tags__arraycontains", "tag1") not in query_pairs(facet["results"][0]["toggle_url"])


# -- metadata facets ------------------------------------------------------------------------


def test_metadata_facets_are_always_present_and_not_hideable(read_api_server):
    # Any `_facet*` parameter asks for facet_results; metadata facets come with it.
    results = facets(read_api_server, {"_facet": "on_earth"})
    assert set(results) == {"state", "tags", "on_earth"}
    assert results["state"]["hideable"] is False
    assert results["tags"]["hideable"] is False
    assert results["tags"]["type"] == "array"
    assert results["on_earth"]["hideable"] is True


def test_metadata_facets_with_extra_facet_results_only(read_api_server):
    data = get_json(read_api_server, PLACES, {"_extra": "facet_results", "_size": "0"})
    results = data["facet_results"]["results"]
    assert set(results) == {"state", "tags"}
    assert counts(results["state"]) == [("CA", 10), ("MI", 4), ("MC", 1)]
    assert counts(results["tags"]) == [("tag1", 2), ("tag2", 1), ("tag3", 1)]


def test_plain_table_json_has_no_facet_results(read_api_server):
    data = get_json(read_api_server, PLACES, {"_size": "0"})
    assert "facet_results" not in data


def test_facets_on_a_table_without_metadata_facets(read_api_server):
    results = facets(read_api_server, {"_facet": "state"}, path="/fixtures/cities.json")
    assert set(results) == {"state"}
    facet = results["state"]
    assert facet["hideable"] is True
    # cities.state is a foreign key to states: labels come from states.name.
    assert [(i["value"], i["label"], i["count"]) for i in facet["results"]] == [
        ("CA", "California", 2),
        ("MI", "Michigan", 2),
    ]


# -- base_url -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prefixed_server(read_api_db_path):
    from datasette.app import Datasette

    from .conftest import ServerThread

    ds = Datasette(
        [str(read_api_db_path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        settings={"base_url": "/prefix/"},
    )
    with ServerThread(ds) as server:
        yield server
    ds.close()


def assert_toggles_prefixed_once(server, path):
    data = get_json(server, path, {"_facet": "city_id", "_size": "0", "_extra": "suggested_facets"})
    facet = data["facet_results"]["results"]["city_id"]
    assert facet["toggle_url"] == "/prefix/fixtures/places.json?_size=0&_extra=suggested_facets"
    assert facet["results"][0]["toggle_url"] == (
        server.url
        + "/prefix/fixtures/places.json?_facet=city_id&_size=0&_extra=suggested_facets&city_id=1"
    )
    for suggestion in data["suggested_facets"]:
        assert suggestion["toggle_url"].startswith(server.url + "/prefix/fixtures/places.json?")


def test_base_url_prefixes_toggles_of_prefixed_requests(prefixed_server):
    assert_toggles_prefixed_once(prefixed_server, "/prefix/fixtures/places.json")


def test_base_url_prefixes_toggles_of_unprefixed_requests(prefixed_server):
    assert_toggles_prefixed_once(prefixed_server, "/fixtures/places.json")


# -- facet size -----------------------------------------------------------------------------


def test_facet_size_truncates(read_api_server):
    results = facets(read_api_server, {"_facet": "neighborhood", "_facet_size": "2"})
    assert counts(results["neighborhood"]) == [("Downtown", 2), ("Arcadia Planitia", 1)]
    assert results["neighborhood"]["truncated"] is True
    # The size applies to metadata facets too.
    assert counts(results["state"]) == [("CA", 10), ("MI", 4)]
    assert results["state"]["truncated"] is True


def test_facet_size_exactly_the_number_of_values_is_not_truncated(read_api_server):
    results = facets(read_api_server, {"_facet_size": "3"})
    assert len(results["state"]["results"]) == 3
    assert results["state"]["truncated"] is False


def test_facet_size_max_is_max_returned_rows(read_api_server):
    results = facets(
        read_api_server, {"_facet": "id", "_facet_size": "max"}, path="/fixtures/big.json"
    )
    assert len(results["id"]["results"]) == 100
    assert results["id"]["truncated"] is True
    results = facets(read_api_server, {"_facet": "neighborhood", "_facet_size": "max"})
    assert len(results["neighborhood"]["results"]) == 14
    assert results["neighborhood"]["truncated"] is False


def test_facet_size_is_capped_at_max_returned_rows(read_api_server):
    results = facets(
        read_api_server, {"_facet": "id", "_facet_size": "500"}, path="/fixtures/big.json"
    )
    assert len(results["id"]["results"]) == 100
    assert results["id"]["truncated"] is True


def test_invalid_facet_size_is_ignored(read_api_server):
    results = facets(
        read_api_server, {"_facet": "id", "_facet_size": "lots"}, path="/fixtures/big.json"
    )
    assert len(results["id"]["results"]) == 30  # default_facet_size
    assert results["id"]["truncated"] is True


def test_metadata_facet_size_and_default_facet_size(make_ds, serve_ds, read_api_db_path):
    metadata = copy.deepcopy(READ_API_METADATA)
    metadata["databases"]["fixtures"]["tables"]["places"]["facet_size"] = 1
    with serve_fixtures(
        make_ds, serve_ds, read_api_db_path, metadata, default_facet_size=2
    ) as server:
        results = facets(server, {"_facet": "neighborhood"})
        assert counts(results["state"]) == [("CA", 10)]
        assert results["state"]["truncated"] is True
        assert counts(results["neighborhood"]) == [("Downtown", 2)]
        # ?_facet_size= wins over metadata.
        results = facets(server, {"_facet_size": "2"})
        assert counts(results["state"]) == [("CA", 10), ("MI", 4)]
        # Tables without metadata facet_size use default_facet_size.
        city_names = facets(server, {"_facet": "name"}, path="/fixtures/cities.json")["name"]
        assert len(city_names["results"]) == 2
        assert city_names["truncated"] is True


def test_metadata_facet_size_max(make_ds, serve_ds, read_api_db_path):
    metadata = copy.deepcopy(READ_API_METADATA)
    metadata["databases"]["fixtures"]["tables"]["big"]["facet_size"] = "max"
    with serve_fixtures(
        make_ds, serve_ds, read_api_db_path, metadata, max_returned_rows=40
    ) as server:
        facet = facets(server, {"_facet": "id"}, path="/fixtures/big.json")["id"]
    assert len(facet["results"]) == 40
    assert facet["truncated"] is True


# -- facets and filters ---------------------------------------------------------------------


def test_facet_counts_reflect_filters(read_api_server):
    results = facets(read_api_server, {"_facet": "city_id", "city_id__gte": "2"})
    assert counts(results["city_id"]) == [(2, 4), (3, 4)]
    assert counts(results["state"]) == [("CA", 4), ("MI", 4)]
    assert results["tags"]["results"] == []


def test_facet_counts_reflect_search_like_filters(read_api_server):
    results = facets(read_api_server, {"_facet": "city_id", "neighborhood__contains": "town"})
    # Downtown (LA and Detroit), Koreatown, Greektown, Corktown, Mexicantown.
    assert counts(results["city_id"]) == [(3, 4), (2, 2)]
    assert counts(results["state"]) == [("MI", 4), ("CA", 2)]


def test_filter_toggle_keeps_other_filters(read_api_server):
    facet = facets(read_api_server, {"_facet": "city_id", "state": "CA"})["city_id"]
    toggle = facet["results"][0]["toggle_url"]
    assert ("state", "CA") in query_pairs(toggle)
    assert ("city_id", "1") in query_pairs(toggle)
    rows = httpx.get(toggle.replace("_size=0", "_size=50"), timeout=60).json()["rows"]
    assert [row["pk"] for row in rows] == [1, 2, 3, 4, 5, 6]


# -- _nofacet, JSON config, errors ----------------------------------------------------------


def test_nofacet_turns_off_every_facet(read_api_server):
    data = get_json(read_api_server, PLACES, {"_facet": "city_id", "_nofacet": "1", "_size": "0"})
    assert data["facet_results"]["results"] == {}
    data = get_json(read_api_server, PLACES, {"_extra": "facet_results", "_nofacet": "1"})
    assert data["facet_results"]["results"] == {}
    assert len(data["rows"]) == 15


def test_facet_json_config(read_api_server):
    value = json.dumps({"column": "city_id"})
    facet = facets(read_api_server, {"_facet": value})["city_id"]
    assert facet["name"] == "city_id"
    assert facet["type"] == "column"
    assert [(i["value"], i["label"], i["count"]) for i in facet["results"]] == [
        (1, "San Francisco", 6),
        (2, "Los Angeles", 4),
        (3, "Detroit", 4),
    ]
    # Value toggles keep the JSON config and add the selection.
    assert sorted(query_pairs(facet["results"][0]["toggle_url"])) == [
        ("_facet", value),
        ("_size", "0"),
        ("city_id", "1"),
    ]
    # The facet toggle removes the parameter that asked for it.
    assert "_facet" not in dict(query_pairs(facet["toggle_url"]))


def test_facet_json_config_for_state(read_api_server):
    facet = facets(read_api_server, {"_facet": '{"column": "state"}'})["state"]
    assert counts(facet) == [("CA", 10), ("MI", 4), ("MC", 1)]


@pytest.mark.parametrize("key", ["_facet", "_facet_date", "_facet_array"])
def test_facet_on_unknown_column_is_a_400_json_error(read_api_server, key):
    response = get(read_api_server, PLACES, {key: "no_such_column"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["ok"] is False
    assert body["status"] == 400
    assert "no_such_column" in body["error"]


# -- allow_facet off ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def no_facet_server(read_api_db_path):
    from datasette.app import Datasette

    from .conftest import ServerThread

    ds = Datasette(
        [str(read_api_db_path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        settings={"allow_facet": False},
    )
    with ServerThread(ds) as server:
        yield server
    ds.close()


@pytest.mark.parametrize(
    "params",
    [
        {"_facet": "state"},
        {"_facet": "city_id"},
        {"_facet_date": "created"},
        {"_facet_array": "tags"},
        {"_facet": '{"column": "state"}'},
    ],
)
def test_allow_facet_off_rejects_facet_parameters(no_facet_server, params):
    response = get(no_facet_server, PLACES, params)
    assert response.status_code == 400, response.text
    assert response.json() == {
        "ok": False,
        "error": "_facet= is not allowed",
        "status": 400,
        "title": None,
    }


@pytest.mark.parametrize("params", [{"_facet_size": "2"}, {"_facet": "state", "_shape": "array"}])
def test_allow_facet_off_rejects_every_facet_key(no_facet_server, params):
    response = get(no_facet_server, PLACES, params)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "_facet= is not allowed"


def test_allow_facet_off_keeps_metadata_facets(no_facet_server):
    data = get_json(no_facet_server, PLACES, {"_extra": "facet_results", "_size": "0"})
    results = data["facet_results"]["results"]
    assert set(results) == {"state", "tags"}
    assert counts(results["state"]) == [("CA", 10), ("MI", 4), ("MC", 1)]
    assert results["state"]["hideable"] is False


def test_allow_facet_off_suggests_nothing(no_facet_server):
    assert suggestions(no_facet_server) == []


# -- suggested facets -----------------------------------------------------------------------


def test_suggested_column_facets_on_places(read_api_server):
    suggested = suggestions(read_api_server)
    column = [s for s in suggested if "type" not in s]
    # Not: pk (all distinct), state (already a facet), distinct_some_null (no value repeats).
    assert [s["name"] for s in column] == [
        "created",
        "planet_int",
        "on_earth",
        "city_id",
        "neighborhood",
        "tags",
        "complex_array",
        "n",
    ]
    assert all(set(s) == {"name", "toggle_url"} for s in column)
    city = next(s for s in column if s["name"] == "city_id")
    assert city["toggle_url"] == (
        read_api_server.url + PLACES + "?_size=0&_extra=suggested_facets&_facet=city_id"
    )


def test_suggested_date_facet_comes_after_column_suggestions(read_api_server):
    suggested = suggestions(read_api_server)
    typed = [s for s in suggested if "type" in s]
    assert typed == [
        {
            "name": "created",
            "type": "date",
            "toggle_url": read_api_server.url
            + PLACES
            + "?_size=0&_extra=suggested_facets&_facet_date=created",
        }
    ]
    assert suggested[-1] == typed[0]


def test_suggestion_toggle_url_adds_the_facet(read_api_server):
    suggested = suggestions(read_api_server)
    n = next(s for s in suggested if s["name"] == "n")
    page = httpx.get(n["toggle_url"], timeout=60).json()
    assert counts(page["facet_results"]["results"]["n"]) == [(3, 3), (1, 2), (2, 2), (4, 2), (5, 2)]
    # The newly faceted column is no longer suggested.
    assert "n" not in [s["name"] for s in page["suggested_facets"]]


def test_suggestions_skip_requested_facets(read_api_server):
    suggested = suggestions(read_api_server, {"_facet": "city_id", "_facet_date": "created"})
    names = [(s["name"], s.get("type")) for s in suggested]
    assert ("city_id", None) not in names
    assert ("created", "date") not in names
    assert ("created", None) in names  # only the date type is taken


def test_suggestions_reflect_filters(read_api_server):
    suggested = suggestions(read_api_server, {"state": "MI"})
    assert [(s["name"], s.get("type")) for s in suggested] == [
        ("created", None),
        ("n", None),
        ("created", "date"),
    ]
    assert ("state", "MI") in query_pairs(suggested[0]["toggle_url"])


def test_array_suggestion(make_ds, serve_ds, read_api_db_path):
    # Without metadata facets `tags` is not yet an array facet, so it is suggested.
    with serve_fixtures(make_ds, serve_ds, read_api_db_path, metadata={}) as server:
        suggested = suggestions(server)
        assert "state" in [s["name"] for s in suggested if "type" not in s]
        typed = [s for s in suggested if "type" in s]
        # complex_array holds objects, not strings: not suggested as an array facet.
        assert [(s["name"], s["type"]) for s in typed] == [("created", "date"), ("tags", "array")]
        assert typed[-1]["toggle_url"] == (
            server.url + PLACES + "?_size=0&_extra=suggested_facets&_facet_array=tags"
        )
        assert suggested[-1]["type"] == "array"
        followed = httpx.get(typed[-1]["toggle_url"], timeout=60).json()
        assert counts(followed["facet_results"]["results"]["tags"]) == [
            ("tag1", 2),
            ("tag2", 1),
            ("tag3", 1),
        ]


def test_no_suggestions_on_later_pages(read_api_server):
    first = get_json(read_api_server, PLACES, {"_size": "2", "_extra": "suggested_facets"})
    assert first["suggested_facets"] != []
    assert first["next"]
    later = get_json(
        read_api_server,
        PLACES,
        {"_size": "2", "_extra": "suggested_facets", "_next": first["next"]},
    )
    assert later["suggested_facets"] == []
    assert [row["pk"] for row in later["rows"]] == [3, 4]


def test_no_suggestions_with_nosuggest_or_nofacet(read_api_server):
    assert suggestions(read_api_server, {"_nosuggest": "1"}) == []
    assert suggestions(read_api_server, {"_nofacet": "1"}) == []


def test_nosuggest_keeps_facets(read_api_server):
    data = get_json(
        read_api_server,
        PLACES,
        {"_size": "0", "_extra": "suggested_facets", "_nosuggest": "1", "_facet": "city_id"},
    )
    assert data["suggested_facets"] == []
    assert counts(data["facet_results"]["results"]["city_id"]) == [(1, 6), (2, 4), (3, 4)]


def test_suggest_facets_off(make_ds, serve_ds, read_api_db_path):
    with serve_fixtures(make_ds, serve_ds, read_api_db_path, suggest_facets=False) as server:
        assert suggestions(server) == []
        # Requested facets still work.
        facet = facets(server, {"_facet": "city_id"})["city_id"]
        assert counts(facet) == [(1, 6), (2, 4), (3, 4)]


# -- extras: sorted_facet_results, facets_timed_out, timeouts -------------------------------


def test_sorted_facet_results(read_api_server):
    data = get_json(
        read_api_server,
        PLACES,
        {"_size": "0", "_facet": ["neighborhood", "city_id"], "_extra": "sorted_facet_results"},
    )
    assert list(data) == [
        "ok",
        "next",
        "facet_results",
        "sorted_facet_results",
        "rows",
        "truncated",
    ]
    ordered = data["sorted_facet_results"]
    # By (number of values, name) descending; three facets tie on 3 values.
    assert [(f["name"], len(f["results"])) for f in ordered] == [
        ("neighborhood", 14),
        ("tags", 3),
        ("state", 3),
        ("city_id", 3),
    ]
    assert ordered[0] == data["facet_results"]["results"]["neighborhood"]


def test_facets_timed_out_extra_is_empty_when_nothing_times_out(read_api_server):
    data = get_json(read_api_server, PLACES, {"_size": "0", "_extra": "facets_timed_out"})
    assert data["facets_timed_out"] == []
    assert "facet_results" not in data


@pytest.fixture
def slow_facet_db(tmp_path):
    """A table large enough that grouping it cannot finish within 1 ms."""
    path = tmp_path / "many.db"
    conn = sqlite3.connect(str(path))
    conn.execute("create table many (id integer primary key, category text)")
    conn.executemany(
        "insert into many (category) values (?)",
        (("category {}".format(i % 5000),) for i in range(200_000)),
    )
    conn.commit()
    conn.close()
    return path


def test_facet_timing_out_is_reported_not_fatal(make_ds, serve_ds, slow_facet_db):
    ds = make_ds([str(slow_facet_db)], settings={"facet_time_limit_ms": 1})
    with serve_ds(ds) as server:
        data = get_json(
            server,
            "/many/many.json",
            {"_facet": "category", "_extra": "facets_timed_out", "_size": "3"},
        )
    assert data["facet_results"] == {"results": {}, "timed_out": ["category"]}
    assert data["facets_timed_out"] == ["category"]
    assert [row["id"] for row in data["rows"]] == [1, 2, 3]
