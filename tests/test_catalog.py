"""The catalog tables of the internal database (internals.md 7.2 and 7.3,
internal-db.md points 6 and 13)."""

import asyncio
import sqlite3 as stdlib_sqlite3

import pytest
import pytest_asyncio

from datasette.database import Database

CATALOG_COLUMNS = {
    "catalog_databases": ["database_name", "path", "is_memory", "schema_version"],
    "catalog_tables": ["database_name", "table_name", "rootpage", "sql"],
    "catalog_columns": [
        "database_name",
        "table_name",
        "cid",
        "name",
        "type",
        "notnull",
        "default_value",
        "is_pk",
        "hidden",
    ],
    "catalog_indexes": [
        "database_name",
        "table_name",
        "seq",
        "name",
        "unique",
        "origin",
        "partial",
    ],
    "catalog_foreign_keys": [
        "database_name",
        "table_name",
        "id",
        "seq",
        "table",
        "from",
        "to",
        "on_update",
        "on_delete",
        "match",
    ],
}
CATALOG_TABLES = list(CATALOG_COLUMNS)


async def rows(ds, sql, params=None):
    results = await ds.get_internal_database().execute(sql, params)
    return [tuple(row) for row in results.rows]


async def names_per_table(ds):
    """{catalog table: set of database names with rows in it}."""
    return {
        table: {r[0] for r in await rows(ds, f"select distinct database_name from {table}")}
        for table in CATALOG_TABLES
    }


async def catalog_table_names(ds, database):
    return {
        r[0]
        for r in await rows(
            ds,
            "select table_name from catalog_tables where database_name = ?",
            [database],
        )
    }


@pytest_asyncio.fixture
async def started(make_ds, db_path):
    ds = make_ds([db_path])
    await ds.invoke_startup()
    return ds


@pytest.mark.asyncio
async def test_catalog_column_sets(started):
    internal = started.get_internal_database()
    for table, columns in CATALOG_COLUMNS.items():
        results = await internal.execute(f"select * from {table}")
        assert results.columns == columns, table
        assert len(results) > 0, table


@pytest.mark.asyncio
async def test_catalog_filled_at_startup_for_attached_databases_only(make_ds, db_path):
    ds = make_ds([db_path], memory=True)
    await ds.invoke_startup()
    per_table = await names_per_table(ds)
    assert per_table["catalog_databases"] == {"sample", "_memory"}
    # _memory has no tables; the sample database has rows everywhere.
    for table in CATALOG_TABLES[1:]:
        assert per_table[table] == {"sample"}, table
    assert "__INTERNAL__" not in per_table["catalog_databases"]


@pytest.mark.asyncio
async def test_immutable_database_in_catalog(make_ds, db_path):
    ds = make_ds(immutables=[str(db_path)])
    await ds.invoke_startup()
    assert await rows(ds, "select database_name, path, is_memory from catalog_databases") == [
        ("sample", str(db_path), 0)
    ]
    assert await catalog_table_names(ds, "sample") == {"authors", "books", "tags"}


@pytest.mark.asyncio
async def test_catalog_databases_row(started, db_path):
    conn = stdlib_sqlite3.connect(str(db_path))
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.close()
    assert await rows(started, "select * from catalog_databases") == [
        ("sample", str(db_path), 0, version)
    ]


@pytest.mark.asyncio
async def test_catalog_tables_rows_no_views(started, db_path):
    conn = stdlib_sqlite3.connect(str(db_path))
    expected = {
        tuple(r)
        for r in conn.execute(
            "select 'sample', name, rootpage, sql from sqlite_master where type = 'table'"
        )
    }
    conn.close()
    actual = set(await rows(started, "select * from catalog_tables"))
    assert actual == expected
    assert {r[1] for r in actual} == {"authors", "books", "tags"}
    assert "recent_books" not in await catalog_table_names(started, "sample")


@pytest.mark.asyncio
async def test_catalog_columns_match_table_column_details(started):
    db = started.get_database("sample")
    for table in ("authors", "books", "tags"):
        details = [tuple(c) for c in await db.table_column_details(table)]
        catalog = await rows(
            started,
            "select cid, name, type, \"notnull\", default_value, is_pk, hidden"
            " from catalog_columns where database_name = ? and table_name = ?"
            " order by cid",
            ["sample", table],
        )
        assert catalog == details, table


@pytest.mark.asyncio
async def test_catalog_indexes(started):
    indexes = await rows(
        started,
        "select table_name, name, \"unique\", origin, partial from catalog_indexes"
        " where database_name = 'sample' order by table_name, name",
    )
    assert ("books", "books_author", 0, "c", 0) in indexes
    assert ("tags", "sqlite_autoindex_tags_1", 1, "pk", 0) in indexes
    assert len(indexes) == 2


@pytest.mark.asyncio
async def test_catalog_foreign_keys(started):
    assert await rows(
        started,
        "select * from catalog_foreign_keys where database_name = 'sample'",
    ) == [
        ("sample", "books", 0, 0, "authors", "author_id", "id", "NO ACTION", "NO ACTION", "NONE")
    ]


@pytest.mark.asyncio
async def test_compound_foreign_keys_included(make_ds, db_path):
    conn = stdlib_sqlite3.connect(str(db_path))
    conn.executescript(
        "create table tag_notes (book_id integer, tag text, note text,"
        " foreign key (book_id, tag) references tags(book_id, tag));"
    )
    conn.close()
    ds = make_ds([db_path])
    await ds.invoke_startup()
    assert await rows(
        ds,
        "select id, seq, \"table\", \"from\", \"to\" from catalog_foreign_keys"
        " where table_name = 'tag_notes' order by seq",
    ) == [(0, 0, "tags", "book_id", "book_id"), (0, 1, "tags", "tag", "tag")]


@pytest.mark.asyncio
async def test_created_and_dropped_table_follow_refresh(started):
    db = started.get_database("sample")
    await db.execute_write("create table fresh (id integer primary key, label text)")
    await started.refresh_schemas()
    assert "fresh" in await catalog_table_names(started, "sample")
    assert await rows(
        started,
        "select name from catalog_columns where table_name = 'fresh' order by cid",
    ) == [("id",), ("label",)]

    await db.execute_write("drop table fresh")
    await started.refresh_schemas()
    assert "fresh" not in await catalog_table_names(started, "sample")
    assert await rows(started, "select * from catalog_columns where table_name = 'fresh'") == []


@pytest.mark.asyncio
async def test_change_made_outside_datasette_seen_by_refresh(started, db_path):
    conn = stdlib_sqlite3.connect(str(db_path))
    conn.execute("create table outsider (x)")
    conn.close()
    await started.refresh_schemas()
    assert "outsider" in await catalog_table_names(started, "sample")


@pytest.mark.asyncio
async def test_schema_version_updated_on_refresh(started):
    db = started.get_database("sample")
    await db.execute_write("create index books_year on books(year)")
    await started.refresh_schemas()
    version = (await db.execute("PRAGMA schema_version")).single_value()
    assert await rows(
        started,
        "select schema_version from catalog_databases where database_name = 'sample'",
    ) == [(version,)]
    assert ("books_year",) in await rows(
        started, "select name from catalog_indexes where table_name = 'books'"
    )


@pytest.mark.asyncio
async def test_remove_database_purges_its_rows(make_ds, db_path, tmp_path):
    other = tmp_path / "other.db"
    other.write_bytes(db_path.read_bytes())
    ds = make_ds([db_path, other])
    await ds.invoke_startup()
    before = await names_per_table(ds)
    assert all(names == {"sample", "other"} for names in before.values())

    ds.remove_database("other")
    await ds.refresh_schemas()
    after = await names_per_table(ds)
    assert all(names == {"sample"} for names in after.values()), after


@pytest.mark.asyncio
async def test_add_memory_database_then_refresh(started):
    db = started.add_memory_database("catalog_mem_test")
    await db.execute_write("create table scratch (id integer primary key, v text)")
    await started.refresh_schemas()
    assert await rows(
        started,
        "select path, is_memory from catalog_databases"
        " where database_name = 'catalog_mem_test'",
    ) == [(None, 1)]
    assert await catalog_table_names(started, "catalog_mem_test") == {"scratch"}
    assert len(
        await rows(
            started,
            "select * from catalog_columns where database_name = 'catalog_mem_test'",
        )
    ) == 2


@pytest.mark.asyncio
async def test_database_replaced_under_same_name(make_ds, db_path, tmp_path):
    ds = make_ds([db_path])
    await ds.invoke_startup()
    ds.remove_database("sample")
    replacement = tmp_path / "replacement.db"
    conn = stdlib_sqlite3.connect(str(replacement))
    conn.execute("create table only_table (x)")
    conn.close()
    ds.add_database(Database(ds, path=str(replacement)), name="sample")
    await ds.refresh_schemas()
    assert await catalog_table_names(ds, "sample") == {"only_table"}
    assert await rows(
        ds, "select path from catalog_databases where database_name = 'sample'"
    ) == [(str(replacement),)]


@pytest.mark.asyncio
async def test_refresh_never_touches_plugin_tables(started):
    internal = started.get_internal_database()
    await internal.execute_write_script(
        "create table myplugin_state (key text primary key, value text);"
        "insert into myplugin_state values ('greeting', 'hello');"
    )
    db = started.get_database("sample")
    for i in range(10):
        await db.execute_write(f"create table churn_{i} (x)")
        await started.refresh_schemas()
        await started.refresh_schemas()
    started.add_memory_database("catalog_plugin_mem")
    await started.refresh_schemas()
    started.remove_database("catalog_plugin_mem")
    await started.refresh_schemas()
    assert await rows(started, "select * from myplugin_state") == [("greeting", "hello")]


@pytest.mark.asyncio
async def test_plugin_table_survives_restart_with_internal_file(make_ds, db_path, tmp_path):
    internal_path = tmp_path / "internal.db"
    first = make_ds([db_path], internal=str(internal_path))
    await first.invoke_startup()
    await first.get_internal_database().execute_write_script(
        "create table myplugin_state (v text); insert into myplugin_state values ('kept');"
    )
    first.close()

    second = make_ds([db_path], internal=str(internal_path))
    await second.invoke_startup()
    assert await rows(second, "select v from myplugin_state") == [("kept",)]
    # The catalog was rebuilt for this instance.
    assert await catalog_table_names(second, "sample") == {"authors", "books", "tags"}


@pytest.mark.asyncio
async def test_catalog_rebuilt_on_start_drops_stale_databases(make_ds, db_path, tmp_path):
    internal_path = tmp_path / "internal.db"
    other = tmp_path / "other.db"
    other.write_bytes(db_path.read_bytes())
    first = make_ds([db_path, other], internal=str(internal_path))
    await first.invoke_startup()
    assert (await names_per_table(first))["catalog_databases"] == {"sample", "other"}
    first.close()

    second = make_ds([db_path], internal=str(internal_path))
    await second.invoke_startup()
    per_table = await names_per_table(second)
    assert all(names == {"sample"} for names in per_table.values()), per_table


@pytest.mark.asyncio
@pytest.mark.parametrize("internal_file", [False, True], ids=["default", "file"])
async def test_refresh_is_atomic_per_database(make_ds, db_path, tmp_path, internal_file):
    kwargs = {"internal": str(tmp_path / "internal.db")} if internal_file else {}
    started = make_ds([db_path], **kwargs)
    await started.invoke_startup()
    db = started.get_database("sample")
    internal = started.get_internal_database()
    count_sql = "select count(*) from catalog_columns where database_name = ?"

    async def column_count():
        return (await internal.execute(count_sql, ["sample"])).single_value()

    old_count = await column_count()
    wide = ", ".join(f"c{i} text" for i in range(30))
    await db.execute_write(f"create table wide ({wide})")
    await started.refresh_schemas()
    new_count = await column_count()
    assert new_count == old_count + 30
    await db.execute_write("drop table wide")
    await started.refresh_schemas()
    assert await column_count() == old_count

    seen = []
    done = asyncio.Event()

    async def reader():
        while not done.is_set():
            seen.append(await column_count())
            await asyncio.sleep(0)

    async def changer():
        try:
            for _ in range(15):
                await db.execute_write(f"create table wide ({wide})")
                await started.refresh_schemas()
                await db.execute_write("drop table wide")
                await started.refresh_schemas()
        finally:
            done.set()

    await asyncio.gather(changer(), reader(), reader(), reader())
    assert len(seen) > 0
    assert set(seen) <= {old_count, new_count}, sorted(set(seen))


@pytest.mark.asyncio
async def test_concurrent_refreshes_leave_correct_catalog(started):
    db = started.get_database("sample")

    async def change(i):
        await db.execute_write(f"create table conc_{i} (x)")
        await started.refresh_schemas()

    await asyncio.gather(
        *(change(i) for i in range(10)), *(started.refresh_schemas() for _ in range(10))
    )
    await started.refresh_schemas()
    expected = set(await db.table_names())
    assert await catalog_table_names(started, "sample") == expected
    assert {f"conc_{i}" for i in range(10)} <= expected
