"""Public and private databases, tables and queries, kept in the internal database (issue 11)."""

import hashlib
import json
import sqlite3

import pytest
from click.testing import CliRunner

from datasette.app import Datasette
from datasette.cli import cli

DATA_SQL = """
CREATE TABLE open_data (id INTEGER PRIMARY KEY, title TEXT);
CREATE TABLE secrets (id INTEGER PRIMARY KEY, secret TEXT);
CREATE VIEW open_view AS SELECT * FROM open_data;
INSERT INTO open_data VALUES (1, 'hello'), (2, 'world');
INSERT INTO secrets VALUES (1, 'the password');
"""
OTHER_SQL = "CREATE TABLE other_table (id INTEGER PRIMARY KEY, note TEXT); INSERT INTO other_table VALUES (1, 'x');"
QUERIES = {"data": {"queries": {"titles": "select title from open_data", "all_secrets": "select * from secrets"}}}
ROOT = {"id": "root"}


def make_db(path, sql):
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def files(tmp_path):
    return (
        str(make_db(tmp_path / "data.db", DATA_SQL)),
        str(make_db(tmp_path / "other.db", OTHER_SQL)),
    )


@pytest.fixture
def deny_ds(make_ds, files):
    return make_ds(list(files), settings={"default_deny": True}, metadata={"databases": QUERIES})


def root_headers(ds):
    return {"Authorization": "Bearer " + ds.create_token("root")}


async def set_public(ds, status=200, **body):
    response = await ds.client.post(
        "/-/public", json=body, headers={**root_headers(ds), "Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    return response.json()


async def status(ds, path, actor=None):
    cookies = {"ds_actor": ds.client.actor_cookie(actor)} if actor else None
    response = await ds.client.get(path, cookies=cookies)
    return response.status_code


@pytest.mark.asyncio
async def test_default_deny_refuses_everything_but_root(deny_ds):
    for path in ("/", "/data", "/data/open_data", "/data/open_data.json", "/other/other_table"):
        assert await status(deny_ds, path) == 403, path
        assert await status(deny_ds, path, ROOT) == 200, path


@pytest.mark.asyncio
async def test_public_table_is_visible_and_nothing_else(deny_ds):
    await set_public(deny_ds, database="data", table="open_data", public=True)
    assert await status(deny_ds, "/data/open_data.json") == 200
    assert await status(deny_ds, "/data/open_data") == 200
    assert await status(deny_ds, "/data/open_data/1.json") == 200
    # Neighbours, the SQL page, ?_where= and other databases stay closed.
    assert await status(deny_ds, "/data/secrets.json") == 403
    assert await status(deny_ds, "/data/secrets") == 403
    assert await status(deny_ds, "/data.json?sql=select+*+from+secrets") == 403
    assert await status(deny_ds, "/data/-/query.json?sql=select+1") in (403, 404)
    assert await status(deny_ds, "/data/open_data.json?_where=1") == 403
    assert await status(deny_ds, "/other/other_table.json") == 403
    assert await status(deny_ds, "/other.json") == 403
    assert await status(deny_ds, "/data.db") == 403
    assert await status(deny_ds, "/data/titles.json") == 403
    # The database page shows the public table and not its neighbours or their counts.
    database = (await deny_ds.client.get("/data.json")).json()
    assert [t["name"] for t in database["tables"]] == ["open_data"]
    index = (await deny_ds.client.get("/.json")).json()
    assert list(index) == ["data"]
    assert "secrets" not in str(index["data"])


@pytest.mark.asyncio
async def test_making_private_again_closes_at_once(deny_ds):
    await set_public(deny_ds, database="data", table="open_data", public=True)
    assert await status(deny_ds, "/data/open_data.json") == 200
    result = await set_public(deny_ds, database="data", table="open_data", public=False)
    assert result["changed"] is True
    assert await status(deny_ds, "/data/open_data.json") == 403
    assert await status(deny_ds, "/") == 403


@pytest.mark.asyncio
async def test_public_database_with_and_without_sql(deny_ds):
    await set_public(deny_ds, database="data", public=True)
    assert await status(deny_ds, "/data/secrets.json") == 200
    assert await status(deny_ds, "/data/open_view.json") == 200
    assert await status(deny_ds, "/data/titles.json") == 200
    assert await status(deny_ds, "/data.json?sql=select+1") == 403
    assert await status(deny_ds, "/other/other_table.json") == 403
    await set_public(deny_ds, database="data", allow_sql=True)
    assert await status(deny_ds, "/data.json?sql=select+1") == 200
    await set_public(deny_ds, database="data", public=False)
    assert await status(deny_ds, "/data/secrets.json") == 403
    assert await status(deny_ds, "/data.json?sql=select+1") == 403


@pytest.mark.asyncio
async def test_public_query_grants_only_the_query(deny_ds):
    await set_public(deny_ds, database="data", query="titles", public=True)
    assert await status(deny_ds, "/data/titles.json") == 200
    assert await status(deny_ds, "/data/all_secrets.json") == 403
    assert await status(deny_ds, "/data/open_data.json") == 403
    assert await status(deny_ds, "/data.json?sql=select+1") == 403


@pytest.mark.asyncio
async def test_allow_block_instance_with_a_public_table(make_ds, files):
    """Without default_deny, an `allow` block makes the instance private; a public table
    opens only itself."""
    ds = make_ds(list(files), metadata={"allow": {"id": "root"}})
    assert await status(ds, "/data/open_data.json") == 403
    await set_public(ds, database="data", table="open_data", public=True)
    assert await status(ds, "/data/open_data.json") == 200
    assert await status(ds, "/data/secrets.json") == 403
    assert await status(ds, "/other/other_table.json") == 403
    assert await status(ds, "/data.json?sql=select+1") == 403
    assert await status(ds, "/data.db") == 403
    index = (await ds.client.get("/.json")).json()
    assert list(index) == ["data"]
    assert await status(ds, "/data/secrets.json", {"id": "root"}) == 200


@pytest.mark.asyncio
async def test_listing_json(deny_ds):
    await set_public(deny_ds, database="data", table="open_data", public=True)
    await set_public(deny_ds, database="data", query="titles", public=True)
    response = await deny_ds.client.get("/-/public.json", headers=root_headers(deny_ds))
    assert response.status_code == 200
    body = response.json()
    assert body["tables"] == [{"database": "data", "table": "open_data"}]
    assert body["queries"] == [{"database": "data", "query": "titles"}]
    assert body["persistent"] is False
    assert await status(deny_ds, "/-/public.json") == 403
    assert await status(deny_ds, "/-/public.json", {"id": "alice"}) == 403


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body,expected_status,message",
    [
        ({"database": "nope", "table": "x", "public": True}, 404, "Database not found"),
        ({"database": "data", "table": "nope", "public": True}, 404, "Table not found"),
        ({"database": "data", "query": "nope", "public": True}, 404, "Query not found"),
        ({"database": "data", "table": "open_data", "public": "yes"}, 400, "must be true or false"),
        ({"database": "data", "table": "open_data"}, 400, '"public" is required'),
        ({"database": "data", "table": "open_data", "query": "titles", "public": True}, 400, "not both"),
        ({"table": "open_data", "public": True}, 400, '"database" is required'),
        ({"database": "data", "table": "open_data", "public": True, "bogus": 1}, 400, "Unknown keys"),
        ({"database": "data", "allow_sql": True}, 400, "Only a public database"),
        ([1, 2], 400, "JSON object"),
    ],
)
async def test_bad_requests_change_nothing(deny_ds, body, expected_status, message):
    result = await set_public(deny_ds, status=expected_status, **body) if isinstance(body, dict) else None
    if result is None:
        response = await deny_ds.client.post(
            "/-/public", json=body, headers={**root_headers(deny_ds), "Content-Type": "application/json"}
        )
        assert response.status_code == expected_status
        result = response.json()
    assert message in str(result)
    assert deny_ds.public.state.is_empty


@pytest.mark.asyncio
async def test_malformed_json_and_unprivileged_tokens(deny_ds):
    response = await deny_ds.client.post(
        "/-/public",
        content=b"{not json",
        headers={**root_headers(deny_ds), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    alice = deny_ds.create_token("alice")
    response = await deny_ds.client.post(
        "/-/public",
        json={"database": "data", "table": "open_data", "public": True},
        headers={"Authorization": f"Bearer {alice}", "Content-Type": "application/json"},
    )
    assert response.status_code == 403
    assert deny_ds.public.state.is_empty


@pytest.mark.asyncio
async def test_form_needs_csrf_token(deny_ds):
    cookies = {"ds_actor": deny_ds.client.actor_cookie(ROOT)}
    response = await deny_ds.client.post(
        "/-/public", data={"database": "data", "table": "open_data", "public": "1"}, cookies=cookies
    )
    assert response.status_code == 403
    assert deny_ds.public.state.is_empty


@pytest.mark.asyncio
async def test_confirmation_page_and_form(deny_ds):
    cookies = {"ds_actor": deny_ds.client.actor_cookie(ROOT)}
    page = await deny_ds.client.get("/-/public?database=data&table=open_data", cookies=cookies)
    assert page.status_code == 200
    assert "Make table public" in page.text
    assert "temporary file" in page.text
    csrftoken = page.text.split('name="csrftoken" value="')[1].split('"')[0]
    response = await deny_ds.client.post(
        "/-/public",
        data={"database": "data", "table": "open_data", "public": "1", "csrftoken": csrftoken},
        cookies={**cookies, "ds_csrftoken": page.cookies.get("ds_csrftoken", "")},
    )
    assert response.status_code == 302, response.text
    assert response.headers["location"] == "/data/open_data"
    assert deny_ds.public.is_public_table("data", "open_data")
    # The table page offers the reverse in its action menu and shows the badge.
    table_page = await deny_ds.client.get("/data/open_data", cookies=cookies)
    assert "Make private" in table_page.text


@pytest.mark.asyncio
async def test_action_menu_only_for_editors(deny_ds):
    page = await deny_ds.client.get(
        "/data/open_data", cookies={"ds_actor": deny_ds.client.actor_cookie(ROOT)}
    )
    assert "Make public" in page.text
    assert "/-/public?database=data&amp;table=open_data" in page.text
    await set_public(deny_ds, database="data", table="open_data", public=True)
    anonymous = await deny_ds.client.get("/data/open_data")
    assert anonymous.status_code == 200
    assert "Make p" not in anonymous.text


@pytest.mark.asyncio
async def test_immutable_database_tables_can_be_made_public(make_ds, tmp_path):
    path = str(make_db(tmp_path / "frozen.db", DATA_SQL))
    ds = make_ds([], immutables=[path], settings={"default_deny": True})
    await set_public(ds, database="frozen", table="open_data", public=True)
    assert await status(ds, "/frozen/open_data.json") == 200
    assert await status(ds, "/frozen/secrets.json") == 403


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.mark.asyncio
async def test_user_database_file_is_untouched(make_ds, files, tmp_path):
    before = digest(files[0])
    ds = make_ds(list(files), settings={"default_deny": True}, internal=str(tmp_path / "internal.db"))
    await set_public(ds, database="data", table="open_data", public=True)
    await set_public(ds, database="data", public=True)
    await set_public(ds, database="data", allow_sql=True)
    await set_public(ds, database="data", public=False)
    ds.close()
    assert digest(files[0]) == before


@pytest.mark.asyncio
async def test_grants_survive_a_restart_follow_renames_and_die_with_drops(files, tmp_path):
    internal = str(tmp_path / "internal.db")
    ds = Datasette(list(files), settings={"default_deny": True}, internal=internal)
    await set_public(ds, database="data", table="open_data", public=True)
    await set_public(ds, database="data", table="secrets", public=True)
    ds.close()
    del ds

    # Outside the server: rename one public table, drop and re-create the other.
    conn = sqlite3.connect(files[0])
    conn.executescript(
        "ALTER TABLE open_data RENAME TO renamed_data;"
        "DROP TABLE secrets;"
        "CREATE TABLE secrets (id INTEGER PRIMARY KEY, other TEXT);"
    )
    conn.close()

    ds = Datasette(list(files), settings={"default_deny": True}, internal=internal)
    try:
        assert await status(ds, "/data/renamed_data.json") == 200
        assert await status(ds, "/data/open_data.json") in (403, 404)
        assert await status(ds, "/data/secrets.json") == 403
        assert ds.public.listing()["tables"] == [{"database": "data", "table": "renamed_data"}]
    finally:
        ds.close()


@pytest.mark.asyncio
async def test_drop_through_the_api_revokes_and_recreated_table_is_private(deny_ds):
    await set_public(deny_ds, database="data", table="secrets", public=True)
    assert await status(deny_ds, "/data/secrets.json") == 200
    db = deny_ds.get_database("data")
    await db.execute_write("drop table secrets")
    await db.execute_write("create table secrets (id integer primary key, secret text)")
    assert await status(deny_ds, "/data/secrets.json") == 403
    assert not deny_ds.public.is_public_table("data", "secrets")


@pytest.mark.asyncio
async def test_added_column_keeps_the_grant(deny_ds):
    await set_public(deny_ds, database="data", table="open_data", public=True)
    await deny_ds.get_database("data").execute_write("alter table open_data add column extra text")
    assert await status(deny_ds, "/data/open_data.json") == 200


def test_import_datasette_public(files, tmp_path):
    conn = sqlite3.connect(files[0])
    conn.executescript(
        "create table _public_tables (table_name text primary key);"
        "insert into _public_tables values ('open_data'), ('missing_table');"
    )
    conn.close()
    internal = str(tmp_path / "internal.db")
    result = CliRunner().invoke(
        cli, ["public", "import-datasette-public", files[0], "--internal", internal]
    )
    assert result.exit_code == 0, result.output
    assert "Imported 1 public table" in result.output
    assert "missing_table" in result.output
    assert "drop table _public_tables" in result.output
    rows = sqlite3.connect(internal).execute(
        "select database_name, table_name from public_tables"
    ).fetchall()
    assert rows == [("data", "open_data")]


def test_import_datasette_public_without_the_table(files, tmp_path):
    result = CliRunner().invoke(
        cli, ["public", "import-datasette-public", files[1], "--internal", str(tmp_path / "i.db")]
    )
    assert result.exit_code == 1
    assert "has no _public_tables table" in result.output


def test_serve_default_deny_flag(files):
    runner = CliRunner()
    denied = runner.invoke(cli, ["serve", files[0], "--default-deny", "--get", "/data/open_data.json"])
    assert denied.exit_code == 1
    assert "permission" in denied.output
    root = runner.invoke(
        cli,
        ["serve", files[0], "--default-deny", "--get", "/data/open_data.json", "--actor", '{"id": "root"}'],
    )
    assert root.exit_code == 0, root.output
    assert '"hello"' in root.output
    plain = runner.invoke(cli, ["serve", files[0], "--get", "/data/open_data.json"])
    assert plain.exit_code == 0


@pytest.mark.asyncio
async def test_public_edit_granted_by_a_permissions_block(make_ds, files):
    ds = make_ds(
        list(files),
        settings={"default_deny": True},
        metadata={"permissions": {"public-edit": {"id": "editor"}}},
    )
    editor = ds.create_token("editor")
    response = await ds.client.post(
        "/-/public",
        json={"database": "data", "table": "open_data", "public": True},
        headers={"Authorization": f"Bearer {editor}", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert await status(ds, "/data/open_data.json") == 200
    other = ds.create_token("someone")
    response = await ds.client.post(
        "/-/public",
        json={"database": "data", "table": "open_data", "public": False},
        headers={"Authorization": f"Bearer {other}", "Content-Type": "application/json"},
    )
    assert response.status_code == 403
    assert await status(ds, "/data/open_data.json") == 200


@pytest.mark.asyncio
async def test_every_change_is_audited(deny_ds):
    await set_public(deny_ds, database="data", table="open_data", public=True)
    await set_public(deny_ds, database="data", table="open_data", public=False)
    await set_public(deny_ds, database="data", public=True)
    await set_public(deny_ds, database="data", allow_sql=True)
    db = deny_ds.get_database("data")
    await set_public(deny_ds, database="data", public=False)
    await set_public(deny_ds, database="data", table="secrets", public=True)
    await db.execute_write("drop table secrets")
    await deny_ds.refresh_schemas()
    await deny_ds.activity.audit.flush()
    rows = (
        await deny_ds.get_internal_database().execute(
            "select action, actor_id, database_name, resource, detail from audit_log"
            " where action like 'public.%' order by id"
        )
    ).rows
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("public.make-public", "root", "data", "open_data"),
        ("public.make-private", "root", "data", "open_data"),
        ("public.make-public", "root", "data", None),
        ("public.allow-sql", "root", "data", None),
        ("public.make-private", "root", "data", None),
        ("public.make-public", "root", "data", "secrets"),
        ("public.revoke-dropped", None, "data", "secrets"),
    ]
    detail = json.loads(rows[0][4])
    assert detail["from"]["public"] is False and detail["to"]["public"] is True


def test_our_settings_work_with_dash_s_without_prefix(files):
    """`-s default_deny on` is our setting, not an unknown config key (1.0a7's own
    settings and ours are both typed and checked)."""
    runner = CliRunner()
    denied = runner.invoke(cli, ["serve", files[0], "-s", "default_deny", "on", "--get", "/data.json"])
    assert denied.exit_code == 1
    bad = runner.invoke(cli, ["serve", files[0], "-s", "default_deny", "maybe", "--get", "/data.json"])
    assert bad.exit_code == 2
    assert "on/off/true/false/1/0" in bad.output
