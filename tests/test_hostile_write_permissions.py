"""Write permissions an insert must not slip past (issue 9, item 5), and what `ignore` returns.

`"replace": true` overwrites existing rows, so it needs `update-row` as well as
`insert-row`; upsert needs both too. The same holds for tokens whose restrictions grant
only one of them.
"""

import httpx
import pytest

from datasette.app import Datasette

from .conftest import ServerThread
from .fixtures import make_sample_db


@pytest.fixture
def server(tmp_path):
    path = make_sample_db(tmp_path / "data.db")
    config = {
        "permissions": {
            "insert-row": {"id": ["inserter", "both"]},
            "update-row": {"id": ["updater", "both"]},
        }
    }
    ds = Datasette([str(path)], metadata=config)
    with ServerThread(ds) as running:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            yield ds, client
    ds.close()


def post(client, path, body, headers):
    return client.post(path, json=body, headers=headers)


def as_actor(ds, actor_id):
    return {"Cookie": "ds_actor=" + ds.client.actor_cookie({"id": actor_id})}


def title_of(client, book_id):
    return client.get(f"/data/books/{book_id}.json").json()["rows"][0]["title"]


REPLACE = {"row": {"id": 1, "title": "Replaced", "author_id": 1, "year": 1}, "replace": True}
DENIED = {"ok": False, "errors": ["Permission denied: need both insert-row and update-row"]}


def test_replace_needs_update_row(server):
    ds, client = server
    response = post(client, "/data/books/-/insert", REPLACE, as_actor(ds, "inserter"))
    assert response.status_code == 403
    assert response.json() == DENIED
    assert title_of(client, 1) == "Engines"


def test_replace_with_both_permissions(server):
    ds, client = server
    response = post(client, "/data/books/-/insert", REPLACE, as_actor(ds, "both"))
    assert response.status_code == 201, response.text
    assert title_of(client, 1) == "Replaced"


def test_plain_insert_needs_only_insert_row(server):
    ds, client = server
    body = {"row": {"title": "New", "author_id": 1, "year": 2020}}
    response = post(client, "/data/books/-/insert", body, as_actor(ds, "inserter"))
    assert response.status_code == 201, response.text


def test_upsert_needs_both(server):
    ds, client = server
    body = {"rows": [{"id": 1, "title": "Upserted"}]}
    for actor_id in ("inserter", "updater"):
        response = post(client, "/data/books/-/upsert", body, as_actor(ds, actor_id))
        assert response.status_code == 403
        assert response.json() == DENIED
    assert title_of(client, 1) == "Engines"
    assert post(client, "/data/books/-/upsert", body, as_actor(ds, "both")).status_code == 200


@pytest.mark.parametrize(
    "restrictions,allowed",
    [
        ({"restrict_all": ["insert-row"]}, False),
        ({"restrict_database": {"data": ["ir"]}}, False),
        ({"restrict_resource": {"data": {"books": ["insert-row"]}}}, False),
        ({"restrict_all": ["insert-row", "update-row"]}, True),
        ({"restrict_resource": {"data": {"books": ["ir", "ur"]}}}, True),
    ],
)
@pytest.mark.parametrize(
    "endpoint,body", [("insert", REPLACE), ("upsert", {"row": {"id": 1, "title": "Replaced"}})]
)
def test_restricted_tokens(server, restrictions, allowed, endpoint, body):
    ds, client = server
    token = ds.create_token("root", **restrictions)
    headers = {"Authorization": f"Bearer {token}"}
    response = post(client, f"/data/books/-/{endpoint}", body, headers)
    if allowed:
        assert response.status_code in (200, 201), response.text
        assert title_of(client, 1) == "Replaced"
    else:
        assert response.status_code == 403
        assert response.json() == DENIED
        assert title_of(client, 1) == "Engines"


def test_insert_ignore_with_return_gives_the_stored_row(server):
    ds, client = server
    token = ds.create_token("root")
    body = {
        "rows": [{"id": 2, "title": "Ignored"}, {"id": 9, "title": "Fresh", "year": 2024}],
        "ignore": True,
        "return": True,
    }
    response = post(client, "/data/books/-/insert", body, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    assert response.json()["rows"] == [
        {"id": 2, "title": "Compilers", "author_id": 2, "year": 2001},
        {"id": 9, "title": "Fresh", "author_id": None, "year": 2024},
    ]


def test_insert_ignore_single_row_on_compound_key(server):
    ds, client = server
    token = ds.create_token("root")
    body = {"row": {"book_id": 1, "tag": "math"}, "ignore": True}
    response = post(client, "/data/tags/-/insert", body, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    assert response.json()["rows"] == [{"book_id": 1, "tag": "math"}]
