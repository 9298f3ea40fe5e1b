"""`/db/-/create` (http-cli.md §8.2) and the CREATE TABLE text of `write_schema`."""

import httpx
import pytest

from datasette import write_schema

from .test_write_api import make_write_db, metadata_ds, post, register_write_routes, select


@pytest.fixture
def write_routes_registered():
    yield from register_write_routes()


@pytest.fixture
def write_db_path(tmp_path):
    return make_write_db(tmp_path / "data.db")


@pytest.fixture
def ds(make_ds, write_routes_registered, write_db_path):
    return make_ds([str(write_db_path)])


CREATE = "/data/-/create"


async def table_names(ds):
    return await ds.get_database("data").table_names()


# -- write_schema ------------------------------------------------------------------------


def test_create_table_sql_layout():
    assert write_schema.create_table_sql("t", [("id", "INTEGER"), ("title", "TEXT")], ["id"]) == (
        "CREATE TABLE [t] (\n   [id] INTEGER PRIMARY KEY,\n   [title] TEXT\n)"
    )
    assert write_schema.create_table_sql("t", [("a", "TEXT"), ("b", "FLOAT")], ["a", "b"]) == (
        "CREATE TABLE [t] (\n   [a] TEXT,\n   [b] FLOAT,\n   PRIMARY KEY ([a], [b])\n)"
    )
    assert write_schema.create_table_sql("t", [("v", "BLOB")], ["id"]) == (
        "CREATE TABLE [t] (\n   [id] INTEGER PRIMARY KEY,\n   [v] BLOB\n)"
    )
    assert write_schema.create_table_sql("t", [("v", "TEXT")]) == "CREATE TABLE [t] (\n   [v] TEXT\n)"


def test_quote_identifier_falls_back_to_double_quotes():
    assert write_schema.quote_identifier("a b") == "[a b]"
    assert write_schema.quote_identifier('x]"y') == '"x]""y"'


@pytest.mark.parametrize(
    "values,expected",
    [
        ([1, 2], "INTEGER"),
        ([True, None], "INTEGER"),
        ([1.5], "FLOAT"),
        ([1, 2.5], "FLOAT"),
        (["a", None], "TEXT"),
        ([None, None], "TEXT"),
        ([1, "a"], "TEXT"),
        ([[1], {"a": 1}], "TEXT"),
        ([b"\x00"], "BLOB"),
    ],
)
def test_column_type_for_values(values, expected):
    assert write_schema.column_type_for_values(values) == expected


# -- columns form ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_create_from_columns(ds):
    response = await post(
        ds,
        CREATE,
        {
            "table": "pets",
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "name"},
                {"name": "weight", "type": "float"},
                {"name": "photo", "type": "blob"},
                {"name": "bio", "type": "text"},
            ],
            "pk": "id",
        },
    )
    assert response.status_code == 201
    assert response.json() == {
        "ok": True,
        "database": "data",
        "table": "pets",
        "table_url": "http://localhost/data/pets",
        "table_api_url": "http://localhost/data/pets.json",
        "schema": "CREATE TABLE [pets] (\n   [id] INTEGER PRIMARY KEY,\n   [name] TEXT,\n"
        "   [weight] FLOAT,\n   [photo] BLOB,\n   [bio] TEXT\n)",
    }
    # integer pk auto-increments
    inserted = await post(ds, "/data/pets/-/insert", {"row": {"name": "Cleo"}})
    assert inserted.json()["rows"] == [
        {"id": 1, "name": "Cleo", "weight": None, "photo": None, "bio": None}
    ]


@pytest.mark.asyncio
async def test_new_table_is_listed_and_catalogued(ds):
    response = await post(ds, CREATE, {"table": "fresh", "columns": [{"name": "a"}]})
    assert response.status_code == 201
    listing = await ds.client.get("/data.json")
    assert "fresh" in [t["name"] for t in listing.json()["tables"]]
    assert (await ds.client.get("/data/fresh.json")).status_code == 200
    await ds.refresh_schemas()
    catalog = await ds.get_internal_database().execute(
        "select sql from catalog_tables where database_name = 'data' and table_name = 'fresh'"
    )
    assert catalog.rows[0][0] == "CREATE TABLE [fresh] (\n   [a] TEXT\n)"


@pytest.mark.asyncio
async def test_pk_not_among_columns_is_added_as_integer(ds):
    response = await post(ds, CREATE, {"table": "t", "columns": [{"name": "title"}], "pk": "id"})
    assert response.json()["schema"] == (
        "CREATE TABLE [t] (\n   [id] INTEGER PRIMARY KEY,\n   [title] TEXT\n)"
    )


@pytest.mark.asyncio
async def test_compound_key_from_columns(ds):
    response = await post(
        ds,
        CREATE,
        {
            "table": "pairs",
            "columns": [{"name": "a"}, {"name": "b", "type": "integer"}, {"name": "v"}],
            "pks": ["a", "b"],
        },
    )
    assert response.status_code == 201
    assert response.json()["schema"] == (
        "CREATE TABLE [pairs] (\n   [a] TEXT,\n   [b] INTEGER,\n   [v] TEXT,\n"
        "   PRIMARY KEY ([a], [b])\n)"
    )
    assert await ds.get_database("data").primary_keys("pairs") == ["a", "b"]
    assert "row_count" not in response.json()


@pytest.mark.asyncio
async def test_second_columns_create_fails(ds):
    body = {"table": "twice", "columns": [{"name": "a"}]}
    assert (await post(ds, CREATE, body)).status_code == 201
    again = await post(ds, CREATE, body)
    assert again.status_code == 400
    assert again.json() == {"ok": False, "errors": ['table "twice" already exists']}


@pytest.mark.asyncio
async def test_awkward_table_names(ds):
    response = await post(ds, CREATE, {"table": "odd/name.v2", "columns": [{"name": "x"}]})
    assert response.status_code == 201
    assert response.json()["table_url"] == "http://localhost/data/odd~2Fname~2Ev2"
    assert response.json()["table_api_url"] == "http://localhost/data/odd~2Fname~2Ev2.json"
    inserted = await post(ds, "/data/odd~2Fname~2Ev2/-/insert", {"row": {"x": 1}})
    assert inserted.status_code == 201
    bracket = await post(ds, CREATE, {"table": "a]b", "columns": [{"name": "c]d"}]})
    assert bracket.json()["schema"] == 'CREATE TABLE "a]b" (\n   "c]d" TEXT\n)'


# -- rows form ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_create_from_rows_infers_types(ds):
    rows = [
        {"id": 1, "name": "Cleo", "weight": 5, "tags": ["dog"], "alive": True},
        {"id": 2, "name": "Pancakes", "weight": 2.5, "nothing": None},
    ]
    response = await post(ds, CREATE, {"table": "pets", "rows": rows, "pk": "id"})
    assert response.status_code == 201
    body = response.json()
    assert body["row_count"] == 2
    assert body["schema"] == (
        "CREATE TABLE [pets] (\n   [id] INTEGER PRIMARY KEY,\n   [name] TEXT,\n"
        "   [weight] FLOAT,\n   [tags] TEXT,\n   [alive] INTEGER,\n   [nothing] TEXT\n)"
    )
    assert await select(ds, "select * from pets order by id") == [
        {"id": 1, "name": "Cleo", "weight": 5.0, "tags": '["dog"]', "alive": 1, "nothing": None},
        {"id": 2, "name": "Pancakes", "weight": 2.5, "tags": None, "alive": None, "nothing": None},
    ]


@pytest.mark.asyncio
async def test_create_from_single_row_without_pk_is_rowid_table(ds):
    response = await post(ds, CREATE, {"table": "notes", "row": {"text": "hi", "n": 1}})
    assert response.status_code == 201
    assert response.json()["row_count"] == 1
    assert response.json()["schema"] == "CREATE TABLE [notes] (\n   [text] TEXT,\n   [n] INTEGER\n)"
    assert await ds.get_database("data").primary_keys("notes") == []


@pytest.mark.asyncio
async def test_create_rows_with_compound_pks(ds):
    response = await post(
        ds, CREATE, {"table": "c2", "rows": [{"a": 1, "b": "x", "c": 1.5}], "pks": ["a", "b"]}
    )
    assert response.json()["schema"] == (
        "CREATE TABLE [c2] (\n   [a] INTEGER,\n   [b] TEXT,\n   [c] FLOAT,\n"
        "   PRIMARY KEY ([a], [b])\n)"
    )


@pytest.mark.asyncio
async def test_rows_into_existing_table(ds):
    response = await post(
        ds, CREATE, {"table": "docs", "rows": [{"id": 3, "title": "Three"}], "pk": "id"}
    )
    assert response.status_code == 201
    assert response.json()["row_count"] == 1
    # the schema is the existing table's, as stored
    assert response.json()["schema"].startswith("CREATE TABLE docs (id INTEGER PRIMARY KEY")
    assert await select(ds, "select title from docs where id = 3") == [{"title": "Three"}]
    clash = await post(ds, CREATE, {"table": "docs", "rows": [{"id": 3, "title": "again"}]})
    assert clash.status_code == 400
    assert clash.json()["errors"] == ["UNIQUE constraint failed: docs.id"]


@pytest.mark.asyncio
async def test_rows_into_existing_table_ignore_and_replace(ds):
    ignored = await post(
        ds,
        CREATE,
        {"table": "docs", "rows": [{"id": 1, "title": "no"}, {"id": 4, "title": "Four"}],
         "pk": "id", "ignore": True},
    )
    assert ignored.status_code == 201
    replaced = await post(
        ds, CREATE, {"table": "docs", "row": {"id": 2, "title": "Deux"}, "pk": "id", "replace": True}
    )
    assert replaced.status_code == 201
    assert await select(ds, "select id, title, age from docs order by id") == [
        {"id": 1, "title": "One", "age": 10},
        {"id": 2, "title": "Deux", "age": None},
        {"id": 4, "title": "Four", "age": None},
    ]


@pytest.mark.asyncio
async def test_rows_with_new_columns_fail_and_write_nothing(ds):
    response = await post(
        ds, CREATE, {"table": "docs", "rows": [{"id": 5, "title": "ok"}, {"id": 6, "extra": 1}]}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == ["table docs has no column named extra"]
    assert await select(ds, "select id from docs order by id") == [{"id": 1}, {"id": 2}]


@pytest.mark.asyncio
async def test_failing_rows_leave_no_new_table(ds):
    response = await post(
        ds, CREATE, {"table": "dupes", "rows": [{"id": 1}, {"id": 1}], "pk": "id"}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == ["UNIQUE constraint failed: dupes.id"]
    assert "dupes" not in await table_names(ds)
    listing = await ds.client.get("/data.json")
    assert "dupes" not in [t["name"] for t in listing.json()["tables"]]


@pytest.mark.asyncio
async def test_pk_cannot_change_for_existing_table(ds):
    for body in (
        {"table": "docs", "rows": [{"id": 9}], "pk": "title"},
        {"table": "compound", "rows": [{"a": "q", "b": "r"}], "pks": ["a", "v"]},
        {"table": "rowid_table", "rows": [{"name": "x"}], "pk": "name"},
    ):
        response = await post(ds, CREATE, body)
        assert response.status_code == 400
        assert response.json()["errors"] == ["pk cannot be changed for existing table"]
    same = await post(ds, CREATE, {"table": "compound", "rows": [{"a": "q", "b": "r"}],
                                   "pks": ["b", "a"]})
    assert same.status_code == 201


# -- validation, in order ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body,message",
    [
        (b"{", "Invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (b"\xff", "Invalid JSON: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
        ([], "JSON must be an object"),
        ({"table": "t", "bogus": 1, "alter": True, "columns": []}, "Invalid keys: alter, bogus"),
        ({"table": "t", "rows": [{}], "pk": "id", "ignore": True, "replace": True},
         "ignore and replace are mutually exclusive"),
        ({"table": "t", "columns": [{"name": "a"}], "pk": "a", "ignore": False},
         "ignore and replace require row or rows"),
        ({"table": "t", "rows": [{"a": 1}], "replace": True}, "ignore and replace require pk or pks"),
        ({"columns": [{"name": "a"}]}, "Table is required"),
        ({"table": "", "columns": [{"name": "a"}]}, "Table is required"),
        ({"table": "sqlite_mine", "columns": [{"name": "a"}]}, "Invalid table name"),
        ({"table": "two\nlines", "columns": [{"name": "a"}]}, "Invalid table name"),
        ({"table": 5, "columns": [{"name": "a"}]}, "Invalid table name"),
        ({"table": "t"}, "columns, rows or row is required"),
        ({"table": "t", "rows": []}, "columns, rows or row is required"),
        ({"table": "t", "rows": [{"a": 1}], "row": {"a": 1}}, "Cannot specify both rows and row"),
        ({"table": "t", "columns": [{"name": "a"}], "row": {"a": 1}},
         "Cannot specify columns with rows or row"),
        ({"table": "t", "columns": "a"}, "columns must be a list"),
        ({"table": "t", "columns": ["a"]}, "columns must be a list of objects"),
        ({"table": "t", "columns": [{"type": "text"}]}, "Column name is required"),
        ({"table": "t", "columns": [{"name": 3}]}, "Column name is required"),
        ({"table": "t", "columns": [{"name": "a", "type": "date"}, {}]},
         "Unsupported column type: date"),
        ({"table": "t", "columns": [{"name": "a", "type": "TEXT"}]}, "Unsupported column type: TEXT"),
        ({"table": "t", "columns": [{"name": "a"}, {"name": "a", "type": "integer"}]},
         "Duplicate column name: a"),
        ({"table": "t", "rows": {"a": 1}}, "rows must be a list"),
        ({"table": "t", "rows": [{"a": 1}, 2]}, "rows must be a list of objects"),
        ({"table": "t", "row": [1]}, "rows must be a list of objects"),
        ({"table": "t", "columns": [{"name": "a"}], "pk": "a", "pks": ["a"]},
         "Cannot specify both pk and pks"),
        ({"table": "t", "columns": [{"name": "a"}], "pk": ["a"]}, "pk must be a string"),
        ({"table": "t", "columns": [{"name": "a"}], "pks": "a"}, "pks must be a list"),
        ({"table": "t", "columns": [{"name": "a"}], "pks": ["a", 1]}, "pks must be a list of strings"),
    ],
)
@pytest.mark.asyncio
async def test_create_validation_errors(ds, body, message):
    if isinstance(body, bytes):
        response = await post(ds, CREATE, content=body)
    else:
        response = await post(ds, CREATE, body)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "errors": [message]}
    assert "t" not in await table_names(ds)


@pytest.mark.asyncio
async def test_create_unknown_database_is_html_404(ds):
    response = await post(ds, "/nope/-/create", {"table": "t", "columns": [{"name": "a"}]})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    internal = await post(ds, "/_internal/-/create", {"table": "t", "columns": [{"name": "a"}]})
    assert internal.status_code == 404


# -- permissions -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_create_table_permission_alone(make_ds, write_routes_registered, write_db_path):
    ds = metadata_ds(make_ds, write_db_path, {"create-table": {"id": "alice"}})
    alice = {"id": "alice"}
    columns = await post(ds, CREATE, {"table": "a1", "columns": [{"name": "x"}]}, actor=alice)
    assert columns.status_code == 201
    rows = await post(ds, CREATE, {"table": "a2", "rows": [{"x": 1}]}, actor=alice)
    assert rows.status_code == 403
    assert rows.json() == {"ok": False, "errors": ["Permission denied - need insert-row"]}
    # the update-row check comes before "Table is required"
    replace = await post(ds, CREATE, {"rows": [{"x": 1}], "pk": "x", "replace": True}, actor=alice)
    assert replace.status_code == 403
    assert replace.json()["errors"] == ["Permission denied - need update-row"]
    bob = await post(ds, CREATE, {"table": "b", "columns": [{"name": "x"}]}, actor={"id": "bob"})
    assert bob.status_code == 403
    assert bob.json()["errors"] == ["Permission denied"]
    assert "a1" in await table_names(ds)
    assert "a2" not in await table_names(ds) and "b" not in await table_names(ds)


@pytest.mark.asyncio
async def test_create_with_rows_and_replace_needs_all_three(
    make_ds, write_routes_registered, write_db_path
):
    alice_block = {"id": "alice"}
    ds = metadata_ds(
        make_ds,
        write_db_path,
        {"create-table": alice_block, "insert-row": alice_block, "update-row": alice_block},
    )
    response = await post(
        ds,
        CREATE,
        {"table": "docs", "rows": [{"id": 1, "title": "Replaced"}], "pk": "id", "replace": True},
        actor={"id": "alice"},
    )
    assert response.status_code == 201
    assert await select(ds, "select title from docs where id = 1") == [{"title": "Replaced"}]


@pytest.mark.asyncio
async def test_permission_is_checked_before_json(ds):
    response = await post(ds, CREATE, content=b"{", actor=None)
    assert response.status_code == 403
    assert response.json()["errors"] == ["Permission denied"]


# -- through a real server ---------------------------------------------------------------


def test_create_through_real_server(make_ds, write_routes_registered, write_db_path, serve_ds):
    ds = make_ds([str(write_db_path)])
    token = ds.create_token("root")
    auth = {"Authorization": f"Bearer {token}"}
    with serve_ds(ds) as server:
        with httpx.Client(base_url=server.url) as client:
            response = client.post(
                "/data/-/create",
                json={"table": "served", "rows": [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}],
                      "pk": "id"},
                headers=auth,
            )
            assert response.status_code == 201
            body = response.json()
            host = server.url.split("://", 1)[1]
            assert body["table_url"] == f"http://{host}/data/served"
            assert body["row_count"] == 2
            rows = client.get("/data/served.json?_shape=array").json()
            assert rows == [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]
            dropped = client.post("/data/served/-/drop", json={"confirm": True}, headers=auth)
            assert dropped.json() == {"ok": True}
            assert client.get("/data/served.json").status_code == 404
