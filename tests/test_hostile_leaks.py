"""What the `/-/` pages must not tell (issue 9, item 6).

`/-/databases` lists only the databases the actor may see (1.0a7 listed every one, with
its path, to anyone who could see the instance). No page tells anyone but root the
internal database's name or path: `/-/threads` leaves out the internal database's
writer thread for them.
"""

import httpx
import pytest

from datasette.app import Datasette

from .conftest import ServerThread
from .fixtures import make_sample_db


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile_leaks")
    public = make_sample_db(folder / "public.db")
    private = make_sample_db(folder / "secret_stuff.db")
    internal = folder / "hidden_internal_file.db"
    metadata = {"databases": {"secret_stuff": {"allow": {"id": "alice"}}}}
    ds = Datasette(
        [str(public), str(private)],
        metadata=metadata,
        internal=str(internal),
        settings={"trace_debug": True},
    )
    with ServerThread(ds) as running:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            # The first request fills the catalog, which starts the internal database's
            # writer thread (named after it); make sure it runs whatever the timing.
            client.get("/public/books.json")
            ds.get_internal_database()._get_writer()
            yield ds, client, internal


def cookie(ds, actor_id):
    return {"Cookie": "ds_actor=" + ds.client.actor_cookie({"id": actor_id})}


def internal_words(ds, internal):
    internal_db = ds.get_internal_database()
    return [str(internal), internal.name, internal_db.name]


def test_databases_lists_only_visible_databases(server):
    ds, client, internal = server
    anonymous = client.get("/-/databases.json")
    assert anonymous.status_code == 200
    assert [d["name"] for d in anonymous.json()] == ["public"]
    assert "secret_stuff" not in client.get("/-/databases").text
    alice = client.get("/-/databases.json", headers=cookie(ds, "alice"))
    assert sorted(d["name"] for d in alice.json()) == ["public", "secret_stuff"]


def test_databases_with_nothing_visible(server):
    ds, client, internal = server
    token = ds.create_token("bob", restrict_database={"public": ["vt"]})
    response = client.get("/-/databases.json", headers={"Authorization": f"Bearer {token}"})
    assert [d["name"] for d in response.json()] == ["public"]


@pytest.mark.parametrize("actor_id", [None, "alice"])
def test_threads_hide_the_internal_database(server, actor_id):
    ds, client, internal = server
    headers = cookie(ds, actor_id) if actor_id else {}
    response = client.get("/-/threads.json", headers=headers)
    assert response.status_code == 200
    for word in internal_words(ds, internal):
        assert word not in response.text
    # Threads are still listed, only the internal database's are left out.
    assert response.json()["threads"]


def test_root_sees_the_internal_writer_thread(server):
    ds, client, internal = server
    response = client.get("/-/threads.json", headers=cookie(ds, "root"))
    assert ds.get_internal_database().name in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/-/threads",
        "/-/threads.json",
        "/-/databases",
        "/-/databases.json",
        "/-/settings.json",
        "/-/versions.json",
        "/-/metadata.json",
        "/-/plugins.json",
        "/.json",
        "/",
        "/public.json?_trace=1",
        "/public/books.json?_trace=1",
        "/public/books?_trace=1",
        "/public.json?sql=select+*+from+pragma_database_list&_trace=1",
        "/_internal",
        "/-/nope",
    ],
)
def test_no_page_names_the_internal_database(server, path):
    ds, client, internal = server
    response = client.get(path, headers=cookie(ds, "alice"))
    assert response.status_code < 500
    for word in internal_words(ds, internal):
        assert word not in response.text, (path, word)
