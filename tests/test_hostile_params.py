"""Parameters and bodies a client should not send (issue 9, item 2): each is a 400 with one
clear message, never a RecursionError, OverflowError or UnicodeEncodeError turned 500.

The rules, also in `datasette/utils/bindable.py`: JSON nested more than 64 levels is
refused; integers outside SQLite's signed 64-bit range are refused (not compared as text);
text that cannot be encoded as UTF-8 (JSON's lone `"\\ud800"`) is refused.
"""

import shutil
import urllib.parse

import httpx
import pytest

from datasette.app import Datasette
from datasette.utils.bindable import MAX_JSON_DEPTH, value_problem

from .conftest import ServerThread

TOO_BIG = "9" * 30
INT_MESSAGE = "Python int too large to convert to SQLite INTEGER"


@pytest.fixture(scope="module")
def server(tmp_path_factory, read_api_db_path):
    folder = tmp_path_factory.mktemp("hostile_params")
    path = folder / "fixtures.db"
    shutil.copy(read_api_db_path, path)
    ds = Datasette([str(path)])
    with ServerThread(ds) as running:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            yield ds, client
    ds.close()


def get_error(client, path):
    response = client.get(path)
    assert response.status_code == 400, (path, response.status_code, response.text[:300])
    body = response.json()
    assert body["ok"] is False
    return body["error"]


def q(value):
    return urllib.parse.quote(value, safe="")


@pytest.mark.parametrize("op", ["in", "notin"])
def test_deeply_nested_in_values(server, op):
    ds, client = server
    error = get_error(client, f"/fixtures/simple_primary_key.json?id__{op}={q('[' * 3000)}")
    assert error == f"__{op} filter: JSON is nested too deeply"
    nested = "[" * 100 + "1" + "]" * 100
    error = get_error(client, f"/fixtures/simple_primary_key.json?id__{op}={q(nested)}")
    assert error == f"__{op} filter: JSON is nested more than {MAX_JSON_DEPTH} levels deep"


@pytest.mark.parametrize(
    "query",
    [
        f"id__gt={TOO_BIG}",
        f"id__lte={TOO_BIG}",
        f"id__in={q('[' + TOO_BIG + ']')}",
        f"id__notin={q('[1, -' + TOO_BIG + ']')}",
    ],
)
def test_integers_outside_64_bits_in_filters(server, query):
    ds, client = server
    error = get_error(client, f"/fixtures/simple_primary_key.json?{query}")
    assert error.endswith(INT_MESSAGE)


def test_largest_64_bit_integer_is_fine(server):
    ds, client = server
    response = client.get(f"/fixtures/simple_primary_key.json?id__lt={2**63 - 1}")
    assert response.status_code == 200
    assert len(response.json()["rows"]) == 5


def test_lone_surrogate_in_in_filter(server):
    ds, client = server
    error = get_error(client, "/fixtures/simple_primary_key.json?content__in=" + q('["\\ud800"]'))
    assert "lone surrogate" in error


@pytest.mark.parametrize(
    "query,message",
    [
        ("_size=abc", "_size must be a positive integer"),
        ("_size=-1", "_size must be a positive integer"),
        ("_size=%C2%B2", "_size must be a positive integer"),
        ("_timelimit=x", "_timelimit must be a positive integer"),
        ("_timelimit=%C2%B2", "_timelimit must be a positive integer"),
        ("_next=zzz", "Invalid _next token"),
        ("_sort=nope", "Cannot sort table by nope"),
        ("_sort_desc=nope", "Cannot sort table by nope"),
        ("_json=nope", "_json=nope - invalid columns"),
        ("_shape=bogus", "Invalid _shape: bogus"),
        ("_col=nope", "_col=nope - invalid columns"),
        ("_labels=maybe", "_labels must be on/off/true/false/1/0"),
    ],
)
def test_query_parameters_of_the_wrong_type(server, query, message):
    ds, client = server
    assert get_error(client, f"/fixtures/simple_primary_key.json?{query}") == message


def test_facet_size_that_is_not_a_number_does_not_fail(server):
    # 1.0a7 ignores an invalid `_facet_size` and the contract keeps that; only text
    # `isdigit` accepts but `int` does not ("²") used to be a 500.
    ds, client = server
    for value in ("x", "%C2%B2"):
        response = client.get(f"/fixtures/places.json?_facet=state&_facet_size={value}")
        assert response.status_code == 200


def test_json_column_holding_deep_nesting(server):
    """`_json=` decodes what it can: text nested past the parser stays text."""
    ds, client = server
    token = ds.create_token("root")
    deep = "[" * 5000 + "]" * 5000
    response = client.post(
        "/fixtures/-/create",
        json={"table": "deep_json", "row": {"id": 1, "doc": deep}, "pk": "id"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    response = client.get("/fixtures/deep_json.json?_json=doc")
    assert response.status_code == 200
    assert response.json()["rows"][0]["doc"] == deep


def post(ds, client, path, content):
    token = ds.create_token("root")
    return client.post(
        path,
        content=content if isinstance(content, bytes) else content.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


WRITE_PATHS = [
    "/fixtures/simple_primary_key/-/insert",
    "/fixtures/simple_primary_key/-/upsert",
    "/fixtures/simple_primary_key/1/-/update",
    "/fixtures/-/create",
]


def body_for(path, value_json):
    if path.endswith("/update"):
        return '{"update": {"content": %s}}' % value_json
    if path.endswith("/create"):
        return '{"table": "made", "row": {"id": 1, "content": %s}}' % value_json
    return '{"row": {"id": 1, "content": %s}}' % value_json


@pytest.mark.parametrize("path", WRITE_PATHS)
@pytest.mark.parametrize(
    "value_json,message",
    [
        ("[" * 5000 + "]" * 5000, "Invalid JSON: nested more than 64 levels deep"),
        ("[" * 80 + "]" * 80, "JSON is nested more than 64 levels deep"),
        (TOO_BIG, INT_MESSAGE),
        ("[1, -%s]" % TOO_BIG, INT_MESSAGE),
        ('"\\ud800"', "Text cannot be encoded as UTF-8 (it holds a lone surrogate)"),
        ('{"\\udfff": 1}', "Text cannot be encoded as UTF-8 (it holds a lone surrogate)"),
    ],
)
def test_hostile_write_bodies(server, path, value_json, message):
    ds, client = server
    response = post(ds, client, path, body_for(path, value_json))
    assert response.status_code == 400, response.text
    assert response.json() == {"ok": False, "errors": [message]}
    assert client.get("/fixtures/made.json").status_code == 404


def test_moderate_nesting_is_stored_as_json_text(server):
    ds, client = server
    nested = "[" * 30 + "]" * 30
    body = '{"row": {"content": %s}}' % nested
    response = post(ds, client, "/fixtures/simple_primary_key/-/insert", body)
    assert response.status_code == 201, response.text
    assert response.json()["rows"][0]["content"] == nested


def test_value_problem_walks_without_recursion():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert value_problem(deep) == "JSON is nested more than 64 levels deep"
    assert value_problem({"a": [1, "two", 2**63 - 1, -(2**63)]}) is None
    assert value_problem([2**63]) == INT_MESSAGE
    assert value_problem(True) is None
    assert value_problem({"\ud800": 1}) is not None


DEEP = q("[" * 3000)
DEEP_FACET = q('{"column": ' + "[" * 3000 + "}")


@pytest.mark.parametrize(
    "path",
    [
        f"/fixtures/places.json?_through={DEEP}",
        f"/fixtures/places.json?_facet={DEEP_FACET}",
        f"/fixtures/places.json?_next={TOO_BIG}",
        f"/fixtures/sortable.json?_sort=sortable&_next={TOO_BIG},a,b",
        f"/-/allow-debug?actor={DEEP}",
        f"/-/allow-debug?allow={DEEP}",
    ],
)
def test_other_parameters_never_fail(server, path):
    ds, client = server
    response = client.get(path)
    assert response.status_code < 500, response.text[:300]
    assert "Traceback" not in response.text


def test_next_token_outside_64_bits_is_400(server):
    ds, client = server
    assert get_error(client, f"/fixtures/places.json?_next={TOO_BIG}") == INT_MESSAGE


def test_deep_json_body_for_a_canned_write_query(tmp_path):
    import copy

    from .fixtures import READ_API_METADATA, make_read_api_db

    path = make_read_api_db(tmp_path / "fixtures.db", big_rows=10)
    ds = Datasette([str(path)], metadata=copy.deepcopy(READ_API_METADATA))
    with ServerThread(ds) as running:
        cookie = "ds_actor=" + ds.client.actor_cookie({"id": "root"})
        response = httpx.post(
            running.url + "/fixtures/add_city",
            content=('{"name": ' + "[" * 3000 + "}").encode(),
            headers={"Cookie": cookie, "Content-Type": "application/json"},
        )
    ds.close()
    assert response.status_code == 400
    assert "Invalid JSON body" in response.text
