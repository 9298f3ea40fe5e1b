"""Canned queries over real HTTP (http-cli.md §2.2, §5.3, §5.4, §12 Q2; plugins-auth-config.md
§7.3, §7.4): read queries on the shared read-API server, writable ones on a private copy.

POSTs here send no cookies (so CSRF never applies) unless they log in as root, in which case
they send a JSON body with `Content-Type: application/json` (which skips CSRF).
"""

import copy
import datetime
import re
import sqlite3

import httpx
import pytest

from .fixtures import READ_API_METADATA, make_read_api_db

# Canned queries added on top of READ_API_METADATA for the private instances.
EXTRA_QUERIES = {
    "add_city_plain": {
        "sql": "insert into cities (name, state) values (:name, :state)",
        "write": True,
    },
    "move_michigan": {
        "sql": "update cities set state = :state where state = 'MI'",
        "write": True,
    },
    "add_state": {
        "sql": "insert into states (code, name) values (:code, :name)",
        "write": True,
        "on_success_redirect": "/fixtures/states",
        "on_error_message": "State already exists",
        "on_error_redirect": "/fixtures/states?error=1",
    },
    "add_state_bare": {
        "sql": "insert into states (code, name) values (:code, :name)",
        "write": True,
    },
    "add_state_counted": {
        "sql": "insert into states (code, name) values (:code, :name)",
        "write": True,
        "on_success_message": "not this one",
        "on_success_message_sql": "select 'Added ' || :name || ', now ' || count(*) || ' states' from states",
    },
    "add_state_bad_message_sql": {
        "sql": "insert into states (code, name) values (:code, :name)",
        "write": True,
        "on_success_message_sql": "select * from no_such_table",
    },
    "root_only": {
        "sql": "insert into cities (name, state) values (:name, :state)",
        "write": True,
        "allow": {"id": "root"},
    },
    "agent_city": {
        "sql": "insert into cities (name, state) values (:_header_user_agent, 'CA')",
        "write": True,
    },
    # Shadowed by the `cities` table: must never run.
    "cities": {
        "sql": "insert into states (code, name) values ('ZZ', 'Shadow')",
        "write": True,
    },
    "all_big": "select id from big order by id",
    "whoami": "select :_actor_id as id",
    "magic_misc": (
        "select :_cookie_flavour as flavour, :_random_chars_8 as chars8, "
        ":_random_chars_7 as chars7, :_now_epoch as epoch, :_now_datetime_utc as dt"
    ),
}


def get(server, path, **kwargs):
    return httpx.get(server.url + path, timeout=60, **kwargs)


def post(server, path, **kwargs):
    return httpx.post(server.url + path, timeout=60, **kwargs)


def assert_json(response, status=200):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


def query_rows(path, sql, params=()):
    """Read the database file directly, bypassing Datasette."""
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def messages(ds, response):
    """The decoded `ds_messages` cookie set by `response`."""
    return ds.unsign(response.cookies["ds_messages"], "messages")


def metadata_with_extra_queries():
    metadata = copy.deepcopy(READ_API_METADATA)
    metadata["databases"]["fixtures"]["queries"].update(copy.deepcopy(EXTRA_QUERIES))
    return metadata


class Instance:
    """A private, served copy of the read-API database with the extra canned queries."""

    def __init__(self, ds, server, path):
        self.ds, self.server, self.path = ds, server, path

    def cities(self):
        return query_rows(self.path, "select name, state from cities order by id")

    def states(self):
        return query_rows(self.path, "select code, name from states order by code")

    def root_cookie_header(self):
        return {"Cookie": "ds_actor=" + self.ds.client.actor_cookie({"id": "root"})}


@pytest.fixture
def writable(tmp_path, make_ds, serve_ds):
    path = make_read_api_db(tmp_path / "fixtures.db", big_rows=150)
    ds = make_ds(
        [str(path)],
        metadata=metadata_with_extra_queries(),
        # max_returned_rows differs from default_page_size (see internals.md §9 item 2).
        settings={"default_page_size": 50, "max_returned_rows": 100},
    )
    with serve_ds(ds) as server:
        yield Instance(ds, server, path)


ORIGINAL_CITIES = [
    ("San Francisco", "CA"),
    ("Los Angeles", "CA"),
    ("Detroit", "MI"),
    ("Ann Arbor", "MI"),
    ("Nowhere", None),
]


# -- read-only canned queries ---------------------------------------------------------------


def test_canned_query_json_rows(read_api_server):
    response = get(read_api_server, "/fixtures/neighborhood_search.json?text=town")
    data = assert_json(response)
    assert data == {
        "ok": True,
        "rows": [
            {"neighborhood": "Corktown", "state": "MI"},
            {"neighborhood": "Downtown", "state": "CA"},
            {"neighborhood": "Downtown", "state": "MI"},
            {"neighborhood": "Greektown", "state": "MI"},
            {"neighborhood": "Koreatown", "state": "CA"},
            {"neighborhood": "Mexicantown", "state": "MI"},
        ],
        "truncated": False,
    }
    assert list(data) == ["ok", "rows", "truncated"]
    # Canned queries never send cache headers.
    assert "cache-control" not in response.headers


def test_canned_query_extra_columns_and_shapes(read_api_server):
    data = assert_json(
        get(read_api_server, "/fixtures/neighborhood_search.json?text=Koreatown&_extra=columns")
    )
    assert data["columns"] == ["neighborhood", "state"]
    arrays = assert_json(
        get(read_api_server, "/fixtures/neighborhood_search.json?text=Koreatown&_shape=arrays")
    )
    assert arrays["rows"] == [["Koreatown", "CA"]]
    bare = assert_json(
        get(read_api_server, "/fixtures/neighborhood_search.json?text=Koreatown&_shape=array")
    )
    assert bare == [{"neighborhood": "Koreatown", "state": "CA"}]


def test_canned_query_sql_is_not_validated(read_api_server):
    # A PRAGMA would be rejected as user SQL; canned SQL runs as written.
    data = assert_json(get(read_api_server, "/fixtures/pragma_cache_size.json"))
    assert data["ok"] is True
    assert list(data["rows"][0]) == ["cache_size"]
    assert isinstance(data["rows"][0]["cache_size"], int)
    refused = get(read_api_server, "/fixtures.json", params={"sql": "PRAGMA cache_size;"})
    assert refused.status_code == 400


def test_missing_named_parameter_defaults_to_empty_string(read_api_server):
    # `like '%' || '' || '%'` matches every row.
    data = assert_json(get(read_api_server, "/fixtures/neighborhood_search.json"))
    assert len(data["rows"]) == 15
    assert data["rows"][0] == {"neighborhood": "Arcadia Planitia", "state": "MC"}


def test_magic_parameters_header_and_date(read_api_server):
    response = get(
        read_api_server,
        "/fixtures/from_magic.json",
        headers={"User-Agent": "canned-test-agent/1.0"},
    )
    row = assert_json(response)["rows"][0]
    assert row["ua"] == "canned-test-agent/1.0"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["today"])
    datetime.date.fromisoformat(row["today"])


def test_magic_parameters_cookie_random_and_now(writable):
    response = get(
        writable.server, "/fixtures/magic_misc.json", headers={"Cookie": "flavour=lemon"}
    )
    row = assert_json(response)["rows"][0]
    assert row["flavour"] == "lemon"
    assert re.fullmatch(r"[0-9a-f]{8}", row["chars8"])
    assert re.fullmatch(r"[0-9a-f]{7}", row["chars7"])
    assert isinstance(row["epoch"], int)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", row["dt"])


def test_magic_parameter_actor_id(writable):
    response = get(writable.server, "/fixtures/whoami.json", headers=writable.root_cookie_header())
    assert assert_json(response)["rows"] == [{"id": "root"}]


def test_magic_parameters_are_not_taken_from_the_query_string(read_api_server):
    response = get(
        read_api_server,
        "/fixtures/from_magic.json?_header_user_agent=spoofed",
        headers={"User-Agent": "real-agent"},
    )
    assert assert_json(response)["rows"][0]["ua"] == "real-agent"


def test_canned_query_truncated_at_max_returned_rows(writable):
    data = assert_json(get(writable.server, "/fixtures/all_big.json"))
    assert data["truncated"] is True
    assert len(data["rows"]) == 100
    assert data["rows"][0] == {"id": 1}


def test_table_shadows_canned_query_of_the_same_name(writable):
    data = assert_json(get(writable.server, "/fixtures/cities.json"))
    # Table JSON (has `next`), not the canned query's (which would have no rows on GET).
    assert list(data) == ["ok", "next", "rows", "truncated"]
    assert data["rows"][0] == {"id": 1, "name": "San Francisco", "state": "CA"}
    # POST goes to the table, which does not accept it: the query never runs.
    response = post(writable.server, "/fixtures/cities", data={"x": "1"})
    assert response.status_code == 405
    assert ("ZZ", "Shadow") not in writable.states()


def test_unknown_canned_query_is_404(read_api_server):
    data = assert_json(get(read_api_server, "/fixtures/no_such_query.json"), status=404)
    assert data == {
        "ok": False,
        "error": "Table not found: no_such_query",
        "status": 404,
        "title": None,
    }


def test_canned_query_csv(read_api_server):
    response = get(read_api_server, "/fixtures/neighborhood_search.csv?text=Downtown")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.content == b"neighborhood,state\r\nDowntown,CA\r\nDowntown,MI\r\n"


# -- writable canned queries ----------------------------------------------------------------


def test_writable_query_get_json_does_not_run(writable):
    response = get(writable.server, "/fixtures/add_city.json?name=Oakland&state=CA")
    assert assert_json(response) == {"ok": True, "rows": [], "truncated": False}
    assert writable.cities() == ORIGINAL_CITIES


def test_writable_query_form_post_redirects_with_message(writable):
    response = post(writable.server, "/fixtures/add_city", data={"name": "Oakland", "state": "CA"})
    assert response.status_code == 302
    assert response.headers["location"] == "/fixtures/add_city"
    assert messages(writable.ds, response) == [["City added", 1]]
    assert writable.cities() == ORIGINAL_CITIES + [("Oakland", "CA")]


def test_writable_query_redirect_drops_query_string_and_extension(writable):
    response = post(
        writable.server, "/fixtures/add_city?foo=bar", data={"name": "Fresno", "state": "CA"}
    )
    assert response.status_code == 302
    assert response.headers["location"] == "/fixtures/add_city"
    assert writable.cities()[-1] == ("Fresno", "CA")


def test_writable_query_form_keeps_blank_values(writable):
    response = post(writable.server, "/fixtures/add_city", data={"name": "", "state": "CA"})
    assert response.status_code == 302
    assert writable.cities()[-1] == ("", "CA")


def test_writable_query_json_body_json_reply(writable):
    response = post(
        writable.server,
        "/fixtures/add_city",
        json={"name": "Oakland", "state": "CA"},
        headers={"Accept": "application/json"},
    )
    assert assert_json(response) == {"ok": True, "message": "City added", "redirect": None}
    assert "ds_messages" not in response.cookies
    assert writable.cities()[-1] == ("Oakland", "CA")


def test_writable_query_json_body_values_are_stringified(writable):
    response = post(
        writable.server,
        "/fixtures/add_city",
        json={"name": 5, "state": ["a", "b"]},
        headers={"Accept": "application/json"},
    )
    assert assert_json(response)["ok"] is True
    assert writable.cities()[-1] == ("5", "['a', 'b']")


@pytest.mark.parametrize(
    "path, body",
    [
        ("/fixtures/add_city?_json=1", {"name": "Query", "state": "CA"}),
        ("/fixtures/add_city", {"name": "Field", "state": "CA", "_json": "1"}),
    ],
)
def test_writable_query_json_reply_via_json_flag(writable, path, body):
    response = post(writable.server, path, data=body)
    assert assert_json(response) == {"ok": True, "message": "City added", "redirect": None}
    assert writable.cities()[-1] == (body["name"], "CA")


def test_default_success_message_counts_rows(writable):
    one = post(writable.server, "/fixtures/add_city_plain", data={"name": "Reno", "state": "NV"})
    assert one.status_code == 302
    assert messages(writable.ds, one) == [["Query executed, 1 row affected", 1]]
    two = post(writable.server, "/fixtures/move_michigan", data={"state": "XX"})
    assert messages(writable.ds, two) == [["Query executed, 2 rows affected", 1]]
    assert [c for c in writable.cities() if c[1] == "XX"] == [
        ("Detroit", "XX"),
        ("Ann Arbor", "XX"),
    ]


def test_on_success_redirect(writable):
    response = post(writable.server, "/fixtures/add_state", data={"code": "TX", "name": "Texas"})
    assert response.status_code == 302
    assert response.headers["location"] == "/fixtures/states"
    assert messages(writable.ds, response) == [["Query executed, 1 row affected", 1]]
    assert ("TX", "Texas") in writable.states()


def test_on_error_message_and_redirect(writable):
    # `CA` already exists: the insert fails its primary key constraint.
    response = post(writable.server, "/fixtures/add_state", data={"code": "CA", "name": "Again"})
    assert response.status_code == 302
    assert response.headers["location"] == "/fixtures/states?error=1"
    assert messages(writable.ds, response) == [["State already exists", 3]]
    assert ("CA", "California") in writable.states()


def test_on_error_json_reply(writable):
    response = post(
        writable.server,
        "/fixtures/add_state",
        json={"code": "CA", "name": "Again"},
        headers={"Accept": "application/json"},
    )
    assert assert_json(response) == {
        "ok": False,
        "message": "State already exists",
        "redirect": "/fixtures/states?error=1",
    }


def test_error_message_defaults_to_exception_text(writable):
    response = post(
        writable.server, "/fixtures/add_state_bare", data={"code": "MI", "name": "Again"}
    )
    assert response.status_code == 302
    assert response.headers["location"] == "/fixtures/add_state_bare"
    assert messages(writable.ds, response) == [["UNIQUE constraint failed: states.code", 3]]


def test_on_success_message_sql(writable):
    response = post(
        writable.server, "/fixtures/add_state_counted", data={"code": "WA", "name": "Washington"}
    )
    assert response.status_code == 302
    # Runs after the write, with the same parameters; wins over on_success_message.
    assert messages(writable.ds, response) == [["Added Washington, now 4 states", 1]]


def test_failing_on_success_message_sql_is_an_error_message(writable):
    response = post(
        writable.server,
        "/fixtures/add_state_bad_message_sql",
        data={"code": "OR", "name": "Oregon"},
    )
    assert response.status_code == 302
    [[message, message_type]] = messages(writable.ds, response)
    assert message.startswith("Error running on_success_message_sql:")
    assert "no_such_table" in message
    assert message_type == 3
    assert ("OR", "Oregon") in writable.states()


def test_magic_parameters_in_writable_query(writable):
    response = post(
        writable.server, "/fixtures/agent_city", data={}, headers={"User-Agent": "writer-agent"}
    )
    assert response.status_code == 302
    assert writable.cities()[-1] == ("writer-agent", "CA")


def test_post_to_immutable_database_is_forbidden(tmp_path, make_ds, serve_ds):
    path = make_read_api_db(tmp_path / "fixtures.db", big_rows=3)
    ds = make_ds(immutables=[str(path)], metadata=copy.deepcopy(READ_API_METADATA))
    with serve_ds(ds) as server:
        response = post(server, "/fixtures/add_city", data={"name": "Oakland", "state": "CA"})
    assert response.status_code == 403
    assert "Database is immutable" in response.text
    assert query_rows(path, "select count(*) from cities") == [(5,)]


@pytest.mark.parametrize("name", ["neighborhood_search", "pragma_cache_size"])
def test_post_to_read_only_canned_query_is_405(writable, name):
    response = post(writable.server, f"/fixtures/{name}", data={"text": "town"})
    assert response.status_code == 405
    assert "Method not allowed" in response.text


def test_post_to_read_only_canned_query_json_path_is_json_405(writable):
    response = post(writable.server, "/fixtures/neighborhood_search.json", data={"text": "x"})
    assert assert_json(response, status=405) == {"ok": False, "error": "Method not allowed"}


def test_root_only_writable_query_anonymous_get_is_forbidden(writable):
    response = get(writable.server, "/fixtures/root_only.json")
    assert response.status_code == 403
    assert "You do not have permission to view this query" in response.text


def test_root_only_writable_query_anonymous_post_is_forbidden(writable):
    response = post(
        writable.server, "/fixtures/root_only", data={"name": "Intruder", "state": "CA"}
    )
    assert response.status_code == 403
    assert "You do not have permission to view this query" in response.text
    json_response = post(
        writable.server,
        "/fixtures/root_only",
        json={"name": "Intruder", "state": "CA"},
        headers={"Accept": "application/json"},
    )
    assert json_response.status_code == 403
    assert writable.cities() == ORIGINAL_CITIES


def test_root_only_writable_query_works_for_root(writable):
    cookie = writable.root_cookie_header()
    got = get(writable.server, "/fixtures/root_only.json", headers=cookie)
    assert assert_json(got) == {"ok": True, "rows": [], "truncated": False}
    response = post(
        writable.server,
        "/fixtures/root_only",
        json={"name": "Rootville", "state": "CA"},
        headers={**cookie, "Accept": "application/json"},
    )
    assert assert_json(response) == {
        "ok": True,
        "message": "Query executed, 1 row affected",
        "redirect": None,
    }
    assert writable.cities()[-1] == ("Rootville", "CA")
