"""The JSON write API (http-cli.md §8, §12 Q1/Q7): insert, upsert, update, delete, drop.

Create has its own file, `test_write_api_create.py`, which reuses the fixtures here.
The requests go through the core route table, as a client's would.
"""

import sqlite3
import uuid

import httpx
import pytest


WRITE_SQL = """
CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, score FLOAT, age INTEGER);
CREATE TABLE rowid_table (name TEXT, note TEXT);
CREATE TABLE compound (a TEXT, b TEXT, v TEXT, PRIMARY KEY (a, b));
CREATE TABLE named (id INTEGER PRIMARY KEY, name TEXT NOT NULL, tally INTEGER DEFAULT 7);
CREATE TABLE guarded (id INTEGER PRIMARY KEY, name TEXT);
CREATE TRIGGER guarded_no_delete BEFORE DELETE ON guarded
BEGIN SELECT RAISE(ABORT, 'guarded rows stay'); END;
CREATE TABLE keyed (code TEXT PRIMARY KEY, label TEXT) WITHOUT ROWID;
CREATE VIEW docs_view AS SELECT * FROM docs;
INSERT INTO docs VALUES (1, 'One', 1.5, 10), (2, 'Two', 2.5, 20);
INSERT INTO rowid_table (name, note) VALUES ('Cleo', 'dog'), ('Pancakes', 'cat');
INSERT INTO compound VALUES ('a', 'b', 'ab'), ('a/b', '.c-d', 'slashy');
INSERT INTO named VALUES (1, 'first', 1);
INSERT INTO guarded VALUES (1, 'keep');
"""

JSON = {"Content-Type": "application/json"}
ROOT = {"id": "root"}


def register_write_routes():
    """Generator for fixtures: the write routes are core routes, so there is nothing to set up."""
    yield


@pytest.fixture
def write_routes_registered():
    """Kept so tests can name it: the write routes are always in the core route table."""
    yield from register_write_routes()


def make_write_db(path, sql=WRITE_SQL):
    conn = sqlite3.connect(str(path))
    try:
        conn.executescript(sql)
    finally:
        conn.close()
    return path


@pytest.fixture
def write_db_path(tmp_path):
    return make_write_db(tmp_path / "data.db")


@pytest.fixture
def ds(make_ds, write_routes_registered, write_db_path):
    return make_ds([str(write_db_path)])


async def post(ds, path, body=None, actor=ROOT, headers=None, content=None, bearer=False):
    """POST `body` as JSON (or raw `content`), signed in as `actor` (None: anonymous).

    The actor travels in the `ds_actor` cookie, or with `bearer` in an API token (needed
    for bodies that are not JSON: cookies plus another content type fail CSRF).
    """
    headers = dict(JSON if headers is None else headers)
    cookies = None
    if actor and bearer:
        headers["Authorization"] = "Bearer " + ds.create_token(actor["id"])
    elif actor:
        cookies = {"ds_actor": ds.client.actor_cookie(actor)}
    kwargs = {"headers": headers, "cookies": cookies}
    if content is not None:
        kwargs["content"] = content
    elif body is not None:
        kwargs["json"] = body
    return await ds.client.post(path, **kwargs)


async def select(ds, sql, db="data"):
    return [dict(r) for r in (await ds.get_database(db).execute(sql)).rows]


async def count(ds, table, db="data"):
    return (await ds.get_database(db).execute(f"select count(*) from [{table}]")).single_value()


# -- insert ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_insert_single_row_returns_it(ds):
    response = await post(ds, "/data/docs/-/insert", {"row": {"title": "Three", "score": 3.5}})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "ok": True,
        "rows": [{"id": 3, "title": "Three", "score": 3.5, "age": None}],
    }
    assert await select(ds, "select title from docs where id = 3") == [{"title": "Three"}]


@pytest.mark.asyncio
async def test_insert_rows_without_return(ds):
    response = await post(
        ds, "/data/docs/-/insert", {"rows": [{"title": "A"}, {"title": "B", "age": 4}]}
    )
    assert response.status_code == 201
    assert response.json() == {"ok": True}
    assert await select(ds, "select id, title, age from docs where id > 2 order by id") == [
        {"id": 3, "title": "A", "age": None},
        {"id": 4, "title": "B", "age": 4},
    ]


@pytest.mark.asyncio
async def test_insert_rows_with_return_keeps_the_order_sent(ds):
    response = await post(
        ds,
        "/data/docs/-/insert",
        {"rows": [{"id": 9, "title": "nine"}, {"id": 5, "title": "five"}], "return": True},
    )
    assert response.status_code == 201
    assert [r["id"] for r in response.json()["rows"]] == [9, 5]
    assert response.json()["rows"][1] == {"id": 5, "title": "five", "score": None, "age": None}


@pytest.mark.asyncio
async def test_insert_row_return_false_is_overridden_by_row(ds):
    response = await post(ds, "/data/docs/-/insert", {"row": {"title": "x"}, "return": False})
    assert response.json()["rows"][0]["title"] == "x"


@pytest.mark.asyncio
async def test_insert_into_rowid_table_accepts_rowid(ds):
    response = await post(
        ds,
        "/data/rowid_table/-/insert",
        {"rows": [{"rowid": 10, "name": "Ten"}, {"name": "Eleven"}], "return": True},
    )
    assert response.status_code == 201
    assert response.json()["rows"] == [
        {"name": "Ten", "note": None},
        {"name": "Eleven", "note": None},
    ]
    assert await select(ds, "select rowid, name from rowid_table where rowid >= 10") == [
        {"rowid": 10, "name": "Ten"},
        {"rowid": 11, "name": "Eleven"},
    ]


@pytest.mark.asyncio
async def test_insert_empty_row_uses_column_defaults(ds):
    response = await post(ds, "/data/named/-/insert", {"row": {"name": "n"}})
    assert response.json()["rows"] == [{"id": 2, "name": "n", "tally": 7}]


@pytest.mark.asyncio
async def test_insert_lists_and_objects_are_stored_as_json(ds):
    response = await post(
        ds, "/data/docs/-/insert", {"row": {"title": ["a", "b"], "age": True}}
    )
    assert response.json()["rows"][0]["title"] == '["a", "b"]'
    assert response.json()["rows"][0]["age"] == 1


@pytest.mark.asyncio
async def test_insert_failing_row_leaves_table_unchanged(ds):
    before = await select(ds, "select * from docs order by id")
    response = await post(
        ds,
        "/data/docs/-/insert",
        {"rows": [{"id": 3, "title": "new"}, {"id": 1, "title": "clash"}]},
    )
    assert response.status_code == 400
    assert response.json() == {"ok": False, "errors": ["UNIQUE constraint failed: docs.id"]}
    assert await select(ds, "select * from docs order by id") == before


@pytest.mark.asyncio
async def test_insert_not_null_failure_is_400(ds):
    response = await post(ds, "/data/named/-/insert", {"rows": [{"tally": 1}]})
    assert response.status_code == 400
    assert response.json()["errors"] == ["NOT NULL constraint failed: named.name"]


@pytest.mark.asyncio
async def test_insert_integer_too_large_is_400(ds):
    response = await post(ds, "/data/docs/-/insert", {"row": {"age": 2**70}})
    assert response.status_code == 400
    assert response.json()["errors"] == ["Python int too large to convert to SQLite INTEGER"]
    assert await count(ds, "docs") == 2


@pytest.mark.asyncio
async def test_insert_and_upsert_without_rowid_table(ds):
    inserted = await post(
        ds, "/data/keyed/-/insert", {"rows": [{"code": "b", "label": "B"}, {"code": "a"}],
                                     "return": True}
    )
    assert inserted.status_code == 201
    assert inserted.json()["rows"] == [{"code": "b", "label": "B"}, {"code": "a", "label": None}]
    upserted = await post(ds, "/data/keyed/-/upsert", {"row": {"code": "a", "label": "A"}})
    assert upserted.json() == {"ok": True, "rows": [{"code": "a", "label": "A"}]}
    updated = await post(ds, "/data/keyed/b/-/update", {"update": {"label": "BB"}, "return": True})
    assert updated.json()["row"] == {"code": "b", "label": "BB"}
    assert (await post(ds, "/data/keyed/b/-/delete")).json() == {"ok": True}
    assert await select(ds, "select * from keyed") == [{"code": "a", "label": "A"}]


@pytest.mark.asyncio
async def test_insert_ignore_skips_existing_keys(ds):
    response = await post(
        ds,
        "/data/docs/-/insert",
        {"rows": [{"id": 1, "title": "ignored"}, {"id": 3, "title": "new"}], "ignore": True,
         "return": True},
    )
    assert response.status_code == 201
    # The skipped row comes back as stored (issue 9: 1.0a7 returns it too).
    assert [(r["id"], r["title"]) for r in response.json()["rows"]] == [(1, "One"), (3, "new")]
    assert await select(ds, "select title from docs where id in (1, 3) order by id") == [
        {"title": "One"},
        {"title": "new"},
    ]


@pytest.mark.asyncio
async def test_insert_replace_overwrites_whole_row(ds):
    response = await post(
        ds, "/data/docs/-/insert", {"rows": [{"id": 1, "title": "Replaced"}], "replace": True}
    )
    assert response.status_code == 201
    # replace writes a new row: columns not given are null, not kept
    assert await select(ds, "select * from docs where id = 1") == [
        {"id": 1, "title": "Replaced", "score": None, "age": None}
    ]


@pytest.mark.asyncio
async def test_insert_compound_key_table(ds):
    response = await post(ds, "/data/compound/-/insert", {"row": {"a": "x", "b": "y", "v": "xy"}})
    assert response.status_code == 201
    assert response.json()["rows"] == [{"a": "x", "b": "y", "v": "xy"}]
    clash = await post(ds, "/data/compound/-/insert", {"row": {"a": "a", "b": "b"}})
    assert clash.status_code == 400
    assert clash.json()["errors"] == ["UNIQUE constraint failed: compound.a, compound.b"]


@pytest.mark.parametrize(
    "kwargs,errors",
    [
        ({"content": b'{"row": {"title": "x"}}', "headers": {}, "bearer": True},
         ["Invalid content-type, must be application/json"]),
        ({"content": b'{"row": {"title": "x"}}', "bearer": True,
          "headers": {"Content-Type": "application/json; charset=utf-8"}},
         ["Invalid content-type, must be application/json"]),
        ({"content": b'{"row": {"title": "x"}}', "bearer": True,
          "headers": {"Content-Type": "text/plain"}},
         ["Invalid content-type, must be application/json"]),
        ({"content": b"{bad"},
         ["Invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"]),
        ({"content": b""}, ["Invalid JSON: Expecting value: line 1 column 1 (char 0)"]),
        ({"body": ["row"]}, ["JSON must be a dictionary"]),
        ({"body": {"title": "x"}}, ['JSON must have one or other of "row" or "rows"']),
        ({"body": {"row": {}, "rows": []}}, ['Cannot use "row" and "rows" at the same time']),
        ({"body": {"row": [1]}}, ['"row" must be a dictionary']),
        ({"body": {"rows": {"title": "x"}}}, ['"rows" must be a list']),
        ({"body": {"rows": [{"title": "x"}, 3]}}, ['"rows" must be a list of dictionaries']),
        ({"body": {"rows": [{}] * 101}}, ["Too many rows, maximum allowed is 100"]),
        ({"body": {"rows": [], "zeta": 1, "alter": True}}, ['Invalid parameter: "alter", "zeta"']),
        ({"body": {"rows": [], "ignore": True, "replace": True}},
         ['Cannot use "ignore" and "replace" at the same time']),
        ({"body": {"rows": [{"title": "ok"}, {"nope": 1, "bad": 2}, {"rowid": 1}]}},
         ["Row 1 has invalid columns: bad, nope", "Row 2 has invalid columns: rowid"]),
    ],
)
@pytest.mark.asyncio
async def test_insert_validation_errors(ds, kwargs, errors):
    response = await post(ds, "/data/docs/-/insert", **kwargs)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "errors": errors}
    assert await count(ds, "docs") == 2


@pytest.mark.asyncio
async def test_insert_max_insert_rows_setting(make_ds, write_routes_registered, write_db_path):
    ds = make_ds([str(write_db_path)], settings={"max_insert_rows": 3})
    allowed = await post(ds, "/data/docs/-/insert", {"rows": [{"title": "x"}] * 3})
    assert allowed.status_code == 201
    refused = await post(ds, "/data/docs/-/insert", {"rows": [{"title": "x"}] * 4})
    assert refused.status_code == 400
    assert refused.json()["errors"] == ["Too many rows, maximum allowed is 3"]
    assert await count(ds, "docs") == 5


@pytest.mark.parametrize(
    "path,message",
    [
        ("/nope/docs/-/insert", "Database not found: nope"),
        ("/data/nope/-/insert", "Table not found: nope"),
        ("/data/docs_view/-/insert", "Table not found: docs_view"),
        ("/data/docs_view/-/upsert", "Table not found: docs_view"),
        ("/data/nope/-/drop", "Table not found: nope"),
        ("/data/docs_view/-/drop", "Table not found: docs_view"),
        ("/nope/docs/-/drop", "Database not found: nope"),
        ("/data/nope/1/-/update", "Table not found: nope"),
        ("/data/docs_view/1/-/delete", "Table not found: docs_view"),
        ("/data/docs/99/-/update", "Record not found: ['99']"),
        ("/data/docs/99/-/delete", "Record not found: ['99']"),
        ("/data/compound/x,y/-/delete", "Record not found: ['x', 'y']"),
        ("/data/compound/a/-/update", "Record not found: ['a']"),
        ("/nope/docs/1/-/delete", "Database not found: nope"),
    ],
)
@pytest.mark.asyncio
async def test_not_found_errors(ds, path, message):
    # 404 comes before the permission check: anonymous sees it too
    for actor in (ROOT, None):
        response = await post(ds, path, {"row": {}, "update": {}}, actor=actor)
        assert response.status_code == 404
        assert response.json() == {"ok": False, "errors": [message]}


@pytest.mark.asyncio
async def test_internal_database_is_not_addressable(ds):
    for name in ("_internal", "__INTERNAL__"):
        response = await post(ds, f"/{name}/catalog_tables/-/insert", {"row": {}})
        assert response.status_code == 404
        assert response.json()["errors"] == [f"Database not found: {name}"]


# -- order of checks ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_permission_is_checked_before_the_body(ds):
    response = await post(ds, "/data/docs/-/insert", content=b"not json", actor=None)
    assert response.status_code == 403
    assert response.json() == {"ok": False, "errors": ["Permission denied"]}


@pytest.mark.asyncio
async def test_immutable_is_checked_after_permission_and_before_the_body(
    make_ds, write_routes_registered, write_db_path
):
    ds = make_ds(immutables=[str(write_db_path)])
    anonymous = await post(ds, "/data/docs/-/insert", content=b"{", actor=None)
    assert anonymous.status_code == 403
    assert anonymous.json()["errors"] == ["Permission denied"]
    root = await post(ds, "/data/docs/-/insert", content=b"{", headers={}, bearer=True)
    assert root.status_code == 403
    assert root.json() == {"ok": False, "errors": ["Database is immutable"]}


@pytest.mark.parametrize(
    "path,body",
    [
        ("/data/docs/-/insert", {"row": {"title": "x"}}),
        ("/data/docs/-/upsert", {"row": {"id": 1, "title": "x"}}),
        ("/data/docs/-/drop", {"confirm": True}),
        ("/data/docs/-/drop", {}),
        ("/data/docs/1/-/update", {"update": {"title": "x"}}),
        ("/data/docs/1/-/delete", None),
        ("/data/-/create", {"table": "new", "columns": [{"name": "a"}]}),
    ],
)
@pytest.mark.asyncio
async def test_immutable_database_refuses_every_write(
    make_ds, write_routes_registered, write_db_path, path, body
):
    ds = make_ds(immutables=[str(write_db_path)])
    response = await post(ds, path, body)
    assert response.status_code == 403
    assert response.json() == {"ok": False, "errors": ["Database is immutable"]}
    assert await select(ds, "select id, title from docs order by id") == [
        {"id": 1, "title": "One"},
        {"id": 2, "title": "Two"},
    ]
    assert not await ds.get_database("data").table_exists("new")


@pytest.mark.asyncio
async def test_memory_database_is_immutable(make_ds, write_routes_registered):
    ds = make_ds(memory=True)
    response = await post(ds, "/_memory/-/create", {"table": "t", "columns": [{"name": "a"}]})
    assert response.status_code == 403
    assert response.json()["errors"] == ["Database is immutable"]


@pytest.mark.asyncio
async def test_named_memory_database_is_writable(make_ds, write_routes_registered):
    ds = make_ds()
    name = "scratch_" + uuid.uuid4().hex[:12]  # named memory databases live per process
    ds.add_memory_database(name)
    created = await post(
        ds, f"/{name}/-/create", {"table": "t", "rows": [{"id": 1, "v": "a"}], "pk": "id"}
    )
    assert created.status_code == 201
    inserted = await post(ds, f"/{name}/t/-/insert", {"row": {"id": 2, "v": "b"}})
    assert inserted.status_code == 201
    assert await count(ds, "t", db=name) == 2


# -- upsert ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_upsert_updates_given_columns_and_inserts_new_rows(ds):
    response = await post(
        ds,
        "/data/docs/-/upsert",
        {"rows": [{"id": 1, "title": "Uno"}, {"id": 7, "title": "Seven", "age": 7}]},
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert await select(ds, "select * from docs order by id") == [
        {"id": 1, "title": "Uno", "score": 1.5, "age": 10},
        {"id": 2, "title": "Two", "score": 2.5, "age": 20},
        {"id": 7, "title": "Seven", "score": None, "age": 7},
    ]


@pytest.mark.asyncio
async def test_upsert_return_rereads_rows_by_key(ds):
    response = await post(
        ds,
        "/data/docs/-/upsert",
        {"rows": [{"id": 2, "age": 21}, {"id": 8}, {"id": 2, "score": 9.0}], "return": True},
    )
    assert response.status_code == 200
    assert response.json()["rows"] == [
        {"id": 2, "title": "Two", "score": 9.0, "age": 21},
        {"id": 8, "title": None, "score": None, "age": None},
    ]


@pytest.mark.asyncio
async def test_upsert_single_row_is_returned(ds):
    response = await post(ds, "/data/docs/-/upsert", {"row": {"id": "1", "title": "text key"}})
    assert response.status_code == 200
    assert response.json()["rows"] == [{"id": 1, "title": "text key", "score": 1.5, "age": 10}]
    assert await count(ds, "docs") == 2


@pytest.mark.asyncio
async def test_upsert_rowid_table_returns_rowid(ds):
    response = await post(
        ds,
        "/data/rowid_table/-/upsert",
        {"rows": [{"rowid": 2, "note": "kitten"}, {"rowid": 5, "name": "Five"}], "return": True},
    )
    assert response.status_code == 200
    assert response.json()["rows"] == [
        {"rowid": 2, "name": "Pancakes", "note": "kitten"},
        {"rowid": 5, "name": "Five", "note": None},
    ]


@pytest.mark.asyncio
async def test_upsert_compound_key(ds):
    response = await post(
        ds,
        "/data/compound/-/upsert",
        {"rows": [{"a": "a", "b": "b", "v": "changed"}, {"a": "n", "b": "m", "v": "new"}]},
    )
    assert response.status_code == 200
    assert await select(ds, "select * from compound order by a, b") == [
        {"a": "a", "b": "b", "v": "changed"},
        {"a": "a/b", "b": ".c-d", "v": "slashy"},
        {"a": "n", "b": "m", "v": "new"},
    ]


@pytest.mark.asyncio
async def test_upsert_row_errors_are_collected(ds):
    response = await post(
        ds,
        "/data/compound/-/upsert",
        {"rows": [{"a": "x", "v": 1}, {"v": 2, "zz": 3}, {"a": "a", "b": "b"}]},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        'Row 0 is missing primary key column(s): "b"',
        'Row 1 is missing primary key column(s): "a", "b"',
        "Row 1 has invalid columns: zz",
    ]
    rowid = await post(ds, "/data/rowid_table/-/upsert", {"rows": [{"name": "no key"}]})
    assert rowid.json()["errors"] == ['Row 0 is missing primary key column(s): "rowid"']


@pytest.mark.parametrize("option", ["ignore", "replace"])
@pytest.mark.asyncio
async def test_upsert_does_not_support_ignore_or_replace(ds, option):
    response = await post(ds, "/data/docs/-/upsert", {"rows": [{"id": 1}], option: True})
    assert response.status_code == 400
    assert response.json()["errors"] == ["Upsert does not support ignore or replace"]


@pytest.mark.asyncio
async def test_upsert_failing_row_rolls_back_earlier_rows(ds):
    response = await post(
        ds,
        "/data/named/-/upsert",
        {"rows": [{"id": 1, "name": "renamed"}, {"id": 2, "tally": 3}]},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == ["NOT NULL constraint failed: named.name"]
    assert await select(ds, "select * from named") == [{"id": 1, "name": "first", "tally": 1}]


# -- permissions -------------------------------------------------------------------------

WRITE_ENDPOINTS = [
    ("/data/docs/-/insert", {"row": {"title": "x"}}, "Permission denied"),
    ("/data/docs/-/upsert", {"row": {"id": 1}}, "Permission denied: need both insert-row and update-row"),
    ("/data/docs/-/drop", {"confirm": True}, "Permission denied"),
    ("/data/docs/1/-/update", {"update": {"title": "x"}}, "Permission denied"),
    ("/data/docs/1/-/delete", None, "Permission denied"),
    ("/data/-/create", {"table": "t", "columns": [{"name": "a"}]}, "Permission denied"),
]


@pytest.mark.parametrize("path,body,message", WRITE_ENDPOINTS)
@pytest.mark.asyncio
async def test_anonymous_and_plain_actors_are_denied(ds, path, body, message):
    for actor in (None, {"id": "alice"}):
        response = await post(ds, path, body, actor=actor)
        assert response.status_code == 403
        assert response.json() == {"ok": False, "errors": [message]}
    assert await select(ds, "select id, title from docs order by id") == [
        {"id": 1, "title": "One"},
        {"id": 2, "title": "Two"},
    ]


def metadata_ds(make_ds, path, permissions, table_permissions=None):
    database = {"permissions": permissions}
    if table_permissions:
        database["tables"] = {t: {"permissions": p} for t, p in table_permissions.items()}
    return make_ds([str(path)], metadata={"databases": {"data": database}})


@pytest.mark.asyncio
async def test_database_level_insert_row_allows_insert_only(
    make_ds, write_routes_registered, write_db_path
):
    ds = metadata_ds(make_ds, write_db_path, {"insert-row": {"id": "alice"}})
    alice = {"id": "alice"}
    inserted = await post(ds, "/data/docs/-/insert", {"row": {"title": "by alice"}}, actor=alice)
    assert inserted.status_code == 201
    # Q1: upsert needs update-row as well
    upsert = await post(ds, "/data/docs/-/upsert", {"row": {"id": 1, "title": "x"}}, actor=alice)
    assert upsert.status_code == 403
    assert upsert.json()["errors"] == ["Permission denied: need both insert-row and update-row"]
    for path, body, _ in WRITE_ENDPOINTS[2:]:
        response = await post(ds, path, body, actor=alice)
        assert response.status_code == 403, path
    bob = await post(ds, "/data/docs/-/insert", {"row": {"title": "by bob"}}, actor={"id": "bob"})
    assert bob.status_code == 403
    assert await select(ds, "select title from docs where id > 2") == [{"title": "by alice"}]


@pytest.mark.asyncio
async def test_update_row_only_cannot_upsert(make_ds, write_routes_registered, write_db_path):
    ds = metadata_ds(make_ds, write_db_path, {"update-row": {"id": "alice"}})
    alice = {"id": "alice"}
    upsert = await post(ds, "/data/docs/-/upsert", {"row": {"id": 1, "title": "x"}}, actor=alice)
    assert upsert.status_code == 403
    assert upsert.json()["errors"] == ["Permission denied: need both insert-row and update-row"]
    update = await post(ds, "/data/docs/1/-/update", {"update": {"title": "y"}}, actor=alice)
    assert update.status_code == 200
    assert await select(ds, "select title from docs where id = 1") == [{"title": "y"}]


@pytest.mark.asyncio
async def test_table_level_permissions_apply_to_that_table_only(
    make_ds, write_routes_registered, write_db_path
):
    alice_only = {"id": "alice"}
    ds = metadata_ds(
        make_ds,
        write_db_path,
        {},
        {
            "docs": {"insert-row": alice_only, "update-row": alice_only},
            "rowid_table": {"delete-row": alice_only, "drop-table": alice_only},
        },
    )
    alice = {"id": "alice"}
    upsert = await post(ds, "/data/docs/-/upsert", {"row": {"id": 1, "title": "x"}}, actor=alice)
    assert upsert.status_code == 200
    other = await post(ds, "/data/compound/-/upsert", {"row": {"a": "1", "b": "2"}}, actor=alice)
    assert other.status_code == 403
    deleted = await post(ds, "/data/rowid_table/1/-/delete", actor=alice)
    assert deleted.status_code == 200
    not_docs = await post(ds, "/data/docs/1/-/delete", actor=alice)
    assert not_docs.status_code == 403
    dropped = await post(ds, "/data/rowid_table/-/drop", {"confirm": True}, actor=alice)
    assert dropped.json() == {"ok": True}
    assert not await ds.get_database("data").table_exists("rowid_table")


# -- update ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_update_changes_only_given_columns(ds):
    response = await post(ds, "/data/docs/1/-/update", {"update": {"title": "Changed", "age": 11}})
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert await select(ds, "select * from docs where id = 1") == [
        {"id": 1, "title": "Changed", "score": 1.5, "age": 11}
    ]


@pytest.mark.asyncio
async def test_update_return_row(ds):
    response = await post(
        ds, "/data/docs/2/-/update", {"update": {"score": None, "title": {"k": 1}}, "return": True}
    )
    assert response.json() == {
        "ok": True,
        "row": {"id": 2, "title": '{"k": 1}', "score": None, "age": 20},
    }


@pytest.mark.asyncio
async def test_update_rowid_table_and_compound_key(ds):
    rowid = await post(
        ds, "/data/rowid_table/2/-/update", {"update": {"note": "kitten"}, "return": True}
    )
    assert rowid.json()["row"] == {"rowid": 2, "name": "Pancakes", "note": "kitten"}
    compound = await post(
        ds, "/data/compound/a~2Fb,~2Ec-d/-/update", {"update": {"v": "new"}, "return": True}
    )
    assert compound.status_code == 200
    assert compound.json()["row"] == {"a": "a/b", "b": ".c-d", "v": "new"}
    assert await select(ds, "select v from compound where a = 'a'") == [{"v": "ab"}]


@pytest.mark.asyncio
async def test_update_of_the_key_returns_the_moved_row(ds):
    response = await post(ds, "/data/docs/1/-/update", {"update": {"id": 50}, "return": True})
    assert response.status_code == 200
    assert response.json()["row"] == {"id": 50, "title": "One", "score": 1.5, "age": 10}


@pytest.mark.asyncio
async def test_update_ignores_unknown_keys_and_accepts_empty_update(ds):
    response = await post(ds, "/data/docs/1/-/update", {"update": {}, "alter": True})
    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"content": b"{x"},
         "Invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ({"body": [1]}, "JSON must be a dictionary"),
        ({"body": {"return": True}}, "JSON must contain an update dictionary"),
        ({"body": {"update": [1]}}, "JSON must contain an update dictionary"),
        ({"body": {"update": {"nope": 1}}}, "no such column: nope"),
        ({"body": {"update": {"id": 2}}}, "UNIQUE constraint failed: docs.id"),
    ],
)
@pytest.mark.asyncio
async def test_update_errors(ds, kwargs, message):
    response = await post(ds, "/data/docs/1/-/update", **kwargs)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "errors": [message]}
    assert await select(ds, "select title from docs where id = 1") == [{"title": "One"}]


# -- delete ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_delete_row(ds):
    response = await post(ds, "/data/docs/1/-/delete")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert await select(ds, "select id from docs") == [{"id": 2}]
    again = await post(ds, "/data/docs/1/-/delete")
    assert again.status_code == 404
    assert again.json()["errors"] == ["Record not found: ['1']"]


@pytest.mark.asyncio
async def test_delete_rowid_and_compound_rows(ds):
    assert (await post(ds, "/data/rowid_table/1/-/delete")).status_code == 200
    assert await select(ds, "select name from rowid_table") == [{"name": "Pancakes"}]
    assert (await post(ds, "/data/compound/a~2Fb,~2Ec-d/-/delete")).status_code == 200
    assert await select(ds, "select a from compound") == [{"a": "a"}]


@pytest.mark.asyncio
async def test_delete_failure_is_400_and_keeps_the_row(ds):
    # 1.0a7 answers 500 here; a failure the request caused is a 400
    response = await post(ds, "/data/guarded/1/-/delete")
    assert response.status_code == 400
    assert response.json() == {"ok": False, "errors": ["guarded rows stay"]}
    assert await count(ds, "guarded") == 1


# -- drop --------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, {}, {"confirm": False}, [1]])
@pytest.mark.asyncio
async def test_drop_without_confirm_only_counts(ds, body):
    response = await post(ds, "/data/docs/-/drop", body)
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "database": "data",
        "table": "docs",
        "row_count": 2,
        "message": 'Pass "confirm": true to confirm',
    }
    assert await ds.get_database("data").table_exists("docs")


@pytest.mark.asyncio
async def test_drop_with_confirm_drops_and_catalog_follows(ds):
    before = await ds.client.get("/data.json")
    assert "docs" in [t["name"] for t in before.json()["tables"]]
    response = await post(ds, "/data/docs/-/drop", {"confirm": True})
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    after = await ds.client.get("/data.json")
    assert "docs" not in [t["name"] for t in after.json()["tables"]]
    await ds.refresh_schemas()
    catalog = await ds.get_internal_database().execute(
        "select table_name from catalog_tables where database_name = 'data'"
    )
    assert "docs" not in [r[0] for r in catalog.rows]
    assert "rowid_table" in [r[0] for r in catalog.rows]
    gone = await post(ds, "/data/docs/-/drop", {"confirm": True})
    assert gone.status_code == 404


# -- methods and CORS --------------------------------------------------------------------

ALL_PATHS = [
    "/data/-/create",
    "/data/docs/-/insert",
    "/data/docs/-/upsert",
    "/data/docs/-/drop",
    "/data/docs/1/-/update",
    "/data/docs/1/-/delete",
]


@pytest.mark.parametrize("path", ALL_PATHS)
@pytest.mark.asyncio
async def test_non_post_methods_get_405(ds, path):
    text = await ds.client.get(path)
    assert text.status_code == 405
    assert text.text == "Method not allowed"
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await ds.client.request(method, path, headers=JSON)
        assert response.status_code == 405
        assert response.json() == {"ok": False, "error": "Method not allowed"}
    assert (await ds.client.head(path)).status_code == 405
    options = await ds.client.options(path)
    assert options.status_code == 200
    assert options.text == "ok"
    assert options.headers["allow"] == "POST"
    assert await count(ds, "docs") == 2


@pytest.mark.asyncio
async def test_cors_headers_on_every_write_response(
    make_ds, write_routes_registered, write_db_path
):
    ds = make_ds([str(write_db_path)], cors=True)
    responses = [
        await post(ds, "/data/docs/-/insert", {"row": {"title": "x"}}),
        await post(ds, "/data/docs/-/insert", {"row": {"nope": 1}}),
        await post(ds, "/data/docs/-/insert", {"row": {}}, actor=None),
        await ds.client.get("/data/docs/-/insert", headers=JSON),
        await post(ds, "/data/docs/-/drop", {}),
    ]
    assert [r.status_code for r in responses] == [201, 400, 403, 405, 200]
    for response in responses:
        assert response.headers["access-control-allow-origin"] == "*"
    plain = await post(make_ds([str(write_db_path)]), "/data/docs/-/drop", {})
    assert "access-control-allow-origin" not in plain.headers


# -- through a real server ---------------------------------------------------------------


def test_real_server_with_bearer_tokens(make_ds, write_routes_registered, write_db_path, serve_ds):
    ds = make_ds([str(write_db_path)])
    root_token = ds.create_token("root")
    insert_only = ds.create_token("root", restrict_all=["insert-row"])
    with serve_ds(ds) as server:
        with httpx.Client(base_url=server.url) as client:

            def call(path, body, token):
                return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

            inserted = call("/data/docs/-/insert", {"row": {"title": "served"}}, root_token)
            assert inserted.status_code == 201
            assert inserted.json()["rows"][0]["id"] == 3
            # Q1: a token restricted to insert-row cannot upsert
            upsert = call("/data/docs/-/upsert", {"row": {"id": 3, "title": "x"}}, insert_only)
            assert upsert.status_code == 403
            assert upsert.json()["errors"] == [
                "Permission denied: need both insert-row and update-row"
            ]
            restricted_insert = call("/data/docs/-/insert", {"row": {"title": "r"}}, insert_only)
            assert restricted_insert.status_code == 201
            updated = call("/data/docs/3/-/update", {"update": {"age": 3}, "return": True}, root_token)
            assert updated.json()["row"]["age"] == 3
            deleted = client.post(
                "/data/docs/3/-/delete", headers={"Authorization": f"Bearer {root_token}"}
            )
            assert deleted.json() == {"ok": True}
            assert client.get("/data/docs/3.json").status_code == 404
            anonymous = client.post("/data/docs/-/insert", json={"row": {"title": "anon"}})
            assert anonymous.status_code == 403
            assert anonymous.json() == {"ok": False, "errors": ["Permission denied"]}
            not_allowed = client.get("/data/docs/-/insert", headers=JSON)
            assert not_allowed.status_code == 405
            assert not_allowed.json() == {"ok": False, "error": "Method not allowed"}
            titles = [r["title"] for r in client.get("/data/docs.json").json()["rows"]]
            assert titles == ["One", "Two", "r"]
