"""Work done at start-up: what a reused `--internal` file saves, and what it must not.

A restart on an internal file whose catalog rows still describe the served databases keeps
those rows instead of reading every table again (internal/catalog_reuse.py); a database
whose schema changed while the server was down, or was replaced by another file, is read
and rewritten. Whatever was kept, the catalog equals the one a fresh start builds.
"""

import sqlite3

import pytest

from datasette.internal import catalog, catalog_fill
from datasette.utils import check_connection

CATALOG_TABLES = (
    "catalog_databases", "catalog_tables", "catalog_columns", "catalog_indexes",
    "catalog_foreign_keys",
)


def make_db(path, extra=""):
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        create table authors (id integer primary key, name text unique);
        create table books (
            id integer primary key, title text not null,
            author_id integer references authors(id) on delete cascade
        );
        create index books_title on books(title) where title != '';
        create table tags (tag text primary key, n integer) without rowid;
        create table pairs (a, b, primary key (a, b), foreign key (a, b) references pairs(b, a));
        """
        + extra
    )
    conn.close()
    return path


@pytest.fixture
def reads(monkeypatch):
    """Names of the databases whose tables the catalog read in full, ("write", name) for
    each whose rows it wrote, and ("copy", name) for each it copied straight from the file
    (a database with no rows yet, catalog_fill.py)."""
    seen = []
    original = catalog.read_snapshot
    original_copy = catalog_fill._copy_one

    def copying(conn, name, *args):
        seen.append(("copy", name))
        return original_copy(conn, name, *args)

    def counting(conn, database_name, path, is_memory):
        seen.append(database_name)
        return original(conn, database_name, path, is_memory)

    def writing(conn, snapshot):
        seen.append(("write", snapshot.database_name))
        return original_write(conn, snapshot)

    original_write = catalog.store_snapshot
    monkeypatch.setattr(catalog, "read_snapshot", counting)
    monkeypatch.setattr(catalog, "store_snapshot", writing)
    monkeypatch.setattr(catalog_fill, "_copy_one", copying)
    return seen


async def catalog_rows(ds):
    internal = ds.get_internal_database()
    found = {}
    for table in CATALOG_TABLES:
        result = await internal.execute(f"select * from {table}")
        found[table] = sorted((tuple(row) for row in result.rows), key=repr)
    return found


async def start(make_ds, files, internal):
    ds = make_ds([str(f) for f in files], internal=str(internal))
    await ds.invoke_startup()
    return ds


async def fresh_catalog(make_ds, files):
    ds = make_ds([str(f) for f in files])
    await ds.invoke_startup()
    return await catalog_rows(ds)


@pytest.mark.asyncio
async def test_restart_with_unchanged_databases_reads_and_writes_no_catalog(
    make_ds, tmp_path, reads
):
    a, b = make_db(tmp_path / "a.db"), make_db(tmp_path / "b.db")
    internal = tmp_path / "internal.db"
    first = await start(make_ds, [a, b], internal)
    assert sorted(reads, key=repr) == [("copy", "a"), ("copy", "b")]
    expected = await catalog_rows(first)
    first.close()

    reads.clear()
    second = await start(make_ds, [a, b], internal)
    assert reads == []
    assert await catalog_rows(second) == expected
    second.close()
    # And it is exactly what a start without the file builds.
    reads.clear()
    assert await fresh_catalog(make_ds, [a, b]) == expected


@pytest.mark.asyncio
async def test_a_database_changed_while_down_is_read_again(make_ds, tmp_path, reads):
    a, b = make_db(tmp_path / "a.db"), make_db(tmp_path / "b.db")
    internal = tmp_path / "internal.db"
    (await start(make_ds, [a, b], internal)).close()
    conn = sqlite3.connect(b)
    conn.execute("alter table books add column year integer")
    conn.execute("create table extra (x)")
    conn.close()

    reads.clear()
    second = await start(make_ds, [a, b], internal)
    assert reads == ["b", ("write", "b")]
    kept = await catalog_rows(second)
    columns = [row for row in kept["catalog_columns"] if row[:2] == ("b", "books")]
    assert "year" in {row[3] for row in columns}
    assert ("b", "extra") in {row[:2] for row in kept["catalog_tables"]}
    second.close()
    assert await fresh_catalog(make_ds, [a, b]) == kept


@pytest.mark.asyncio
async def test_a_replaced_file_with_the_same_schema_version_is_read_again(
    make_ds, tmp_path, reads
):
    path = make_db(tmp_path / "a.db")
    internal = tmp_path / "internal.db"
    (await start(make_ds, [path], internal)).close()
    version = sqlite3.connect(path).execute("pragma schema_version").fetchone()[0]
    path.unlink()
    # Another file at the same path, its schema counter forced to the old value.
    conn = sqlite3.connect(path)
    conn.executescript(
        "create table authors (id integer primary key, name text, born integer);"
        "create table other (x);"
    )
    conn.execute(f"pragma schema_version = {version}")
    conn.close()

    reads.clear()
    second = await start(make_ds, [path], internal)
    assert reads == ["a", ("write", "a")]
    kept = await catalog_rows(second)
    assert {row[1] for row in kept["catalog_tables"]} == {"authors", "other"}
    second.close()
    assert await fresh_catalog(make_ds, [path]) == kept


@pytest.mark.asyncio
async def test_an_index_added_while_down_is_seen(make_ds, tmp_path, reads):
    path = make_db(tmp_path / "a.db")
    internal = tmp_path / "internal.db"
    (await start(make_ds, [path], internal)).close()
    conn = sqlite3.connect(path)
    conn.execute("create unique index authors_name on authors(name)")
    conn.close()
    reads.clear()
    second = await start(make_ds, [path], internal)
    assert reads == ["a", ("write", "a")]
    names = {row[3] for row in (await catalog_rows(second))["catalog_indexes"]}
    assert "authors_name" in names


@pytest.mark.asyncio
async def test_a_database_with_a_virtual_table_is_always_read(make_ds, tmp_path, reads):
    path = make_db(tmp_path / "a.db", "create virtual table search using fts5(title);")
    internal = tmp_path / "internal.db"
    first = await start(make_ds, [path], internal)
    expected = await catalog_rows(first)
    first.close()
    reads.clear()
    second = await start(make_ds, [path], internal)
    # Read again (its module might be missing this time); store_snapshot finds the same
    # rows and leaves them.
    assert reads == ["a", ("write", "a")]
    assert await catalog_rows(second) == expected


@pytest.mark.asyncio
async def test_a_kept_catalog_still_reconciles_public_grants(make_ds, tmp_path, reads):
    path = make_db(tmp_path / "a.db")
    internal = tmp_path / "internal.db"
    first = await start(make_ds, [path], internal)
    await first.public.import_rows([("a", "books")], "test")
    await first.refresh_schemas()
    assert first.public.is_public_table("a", "books")
    first.close()

    reads.clear()
    second = await start(make_ds, [path], internal)
    assert reads == []
    assert second.public.is_public_table("a", "books")


def test_the_bulk_read_matches_reading_each_table(tmp_path):
    path = make_db(tmp_path / "a.db", "create virtual table search using fts5(title);")
    conn = sqlite3.connect(path)
    snapshot = catalog.read_snapshot(conn, "a", str(path), False)
    columns, indexes, foreign_keys = [], [], []
    for _, name, _, _ in snapshot.tables:
        c, i, f = catalog._details_of_table(conn, name)
        columns += [("a", name, *row) for row in c]
        indexes += [("a", name, *row) for row in i]
        foreign_keys += [("a", name, *row) for row in f]
    assert sorted(snapshot.columns, key=repr) == sorted(columns, key=repr)
    assert sorted(snapshot.indexes, key=repr) == sorted(indexes, key=repr)
    assert sorted(snapshot.foreign_keys, key=repr) == sorted(foreign_keys, key=repr)
    assert len(snapshot.foreign_keys) == 3 and len(snapshot.indexes) >= 4


def plant_undescribable_table(path):
    """A virtual table of a module nobody loads: its columns cannot be read."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "insert into sqlite_master (type, name, tbl_name, rootpage, sql) values "
        "('table', 'vec', 'vec', 0, 'CREATE VIRTUAL TABLE vec USING nosuchmodule()')"
    )
    conn.commit()
    conn.close()


def test_a_table_that_cannot_be_described_falls_back_to_one_at_a_time(tmp_path):
    path = make_db(tmp_path / "a.db")
    plant_undescribable_table(path)
    snapshot = catalog.read_snapshot(sqlite3.connect(path), "a", str(path), False)
    described = {row[1] for row in snapshot.columns}
    assert described == {"authors", "books", "tags", "pairs"}
    assert "vec" in {row[1] for row in snapshot.tables}


def test_check_connection_still_refuses_a_missing_module_among_many_tables(tmp_path):
    path = make_db(tmp_path / "a.db")
    conn = sqlite3.connect(path)
    conn.executescript("".join(f"create table t{i} (x);" for i in range(50)))
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "insert into sqlite_master (type, name, tbl_name, rootpage, sql) values "
        "('table', 'vec', 'vec', 0, 'CREATE VIRTUAL TABLE vec USING nosuchmodule()')"
    )
    conn.commit()
    conn.close()
    with pytest.raises(Exception) as caught:
        check_connection(sqlite3.connect(path))
    assert "nosuchmodule" in str(caught.value)


def plant_latin1_schema(path, *more):
    """Table `t` whose CREATE statement holds a Latin-1 byte, not UTF-8 (and `more` tables)."""
    conn = sqlite3.connect(path)
    conn.execute("create table t (x text default 'cafe')")
    for statement in more:
        conn.execute(statement)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "update sqlite_master set sql = cast(? as text) where name = 't'",
        (b"CREATE TABLE t (x TEXT DEFAULT 'caf\xe9')",),
    )
    conn.commit()
    conn.close()


def test_text_that_is_not_utf8_is_read_with_the_connections_own_decoding(tmp_path):
    path = str(tmp_path / "bad.db")
    plant_latin1_schema(path, "create table u (y)")
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    replacing = conn.text_factory = lambda b: str(b, "utf-8", "replace")
    snapshot = catalog.read_snapshot(conn, "bad", path, False)
    assert ("bad", "t", 0, "x", "TEXT", 0, "'caf\ufffd'", 0, 0) in snapshot.columns
    assert {row[1] for row in snapshot.columns} == {"t", "u"}
    # The connection's own factories are back for the next query.
    assert conn.row_factory is sqlite3.Row and conn.text_factory is replacing


def test_rows_written_many_per_statement_are_every_row_and_replace_as_before():
    conn = sqlite3.connect(":memory:")
    catalog.create_catalog_tables(conn)
    # 450 rows: two full statements of 200 rows and a short one; NULLs among them.
    rows = [("db", f"t{n // 4}", n % 4, f"c{n}", "TEXT", 0, None if n % 2 else "'x'", 0, 0)
            for n in range(450)]
    catalog.insert_rows(conn, "catalog_columns", rows)
    stored = conn.execute("select * from catalog_columns order by cid, name").fetchall()
    assert sorted(stored) == sorted(rows)
    # Same key again: replaced, as `INSERT OR REPLACE` one row at a time did.
    catalog.insert_rows(conn, "catalog_columns", [("db", "t0", 0, "c0", "INTEGER", 1, None, 1, 0)])
    assert conn.execute(
        "select type, \"notnull\" from catalog_columns where table_name = 't0' and name = 'c0'"
    ).fetchall() == [("INTEGER", 1)]
    assert conn.execute("select count(*) from catalog_columns").fetchone()[0] == 450
    catalog.insert_rows(conn, "catalog_columns", [])  # nothing to write is no statement


@pytest.mark.asyncio
async def test_a_fresh_catalog_of_many_tables_is_every_row_of_every_table(make_ds, tmp_path):
    path = tmp_path / "wide.db"
    conn = sqlite3.connect(path)
    for n in range(130):  # 520 columns: more than two statements' worth of rows
        conn.execute(f"create table t{n} (id integer primary key, a text, b real, c)")
    conn.commit()
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    internal = ds.get_internal_database()
    stored = await internal.execute(
        "select table_name, cid, name, type, is_pk from catalog_columns"
        " where database_name = 'wide'"
    )
    expected = sorted(
        (f"t{n}", cid, name, kind, int(cid == 0))
        for n in range(130)
        for cid, (name, kind) in enumerate(
            [("id", "INTEGER"), ("a", "TEXT"), ("b", "REAL"), ("c", "")]
        )
    )
    assert sorted(tuple(row) for row in stored.rows) == expected
    tables = await internal.execute(
        "select count(*) from catalog_tables where database_name = 'wide'"
    )
    assert tables.first()[0] == 130


# -- databases new to the catalog are copied straight from their files (catalog_fill.py) --


def read_catalog(path, name):
    """The catalog rows of the database at `path`, read the usual way (`read_snapshot`)."""
    conn = sqlite3.connect(path)
    snapshot = catalog.read_snapshot(conn, name, str(path), False)
    conn.close()
    return {
        "catalog_databases": [(name, str(path), 0, snapshot.schema_version)],
        "catalog_tables": sorted(snapshot.tables, key=repr),
        "catalog_columns": sorted(snapshot.columns, key=repr),
        "catalog_indexes": sorted(snapshot.indexes, key=repr),
        "catalog_foreign_keys": sorted(snapshot.foreign_keys, key=repr),
    }


@pytest.mark.asyncio
async def test_a_copied_catalog_is_exactly_the_catalog_read_the_usual_way(
    make_ds, tmp_path, reads
):
    path = make_db(tmp_path / "a.db", "create virtual table search using fts5(title);")
    ds = make_ds([str(path)])
    heard = []
    ds._catalog.listeners.append(
        lambda conn, snapshot: heard.append((snapshot.database_name, snapshot.tables))
    )
    await ds.invoke_startup()
    assert reads == [("copy", "a")]
    copied = await catalog_rows(ds)
    assert copied == read_catalog(path, "a")
    assert len(copied["catalog_foreign_keys"]) == 3 and len(copied["catalog_indexes"]) >= 4
    # Listeners (the public grants) hear of the copied tables as of written ones.
    assert [(name, sorted(tables)) for name, tables in heard] == [
        ("a", sorted(tuple(row) for row in copied["catalog_tables"]))
    ]


@pytest.mark.asyncio
async def test_copies_of_many_databases_leave_nothing_attached(make_ds, tmp_path, reads):
    files = [make_db(tmp_path / f"db{n}.db") for n in range(11)]  # more than one group
    ds = make_ds([str(f) for f in files])
    await ds.invoke_startup()
    assert sorted(reads) == sorted(("copy", f"db{n}") for n in range(11))
    rows = await catalog_rows(ds)
    assert [row[0] for row in rows["catalog_databases"]] == sorted(f"db{n}" for n in range(11))
    attached = await ds.get_internal_database().execute_write_fn(
        lambda conn: [row[1] for row in conn.execute("pragma database_list")]
    )
    assert attached == ["main"]


@pytest.mark.asyncio
async def test_a_database_the_copy_cannot_describe_is_read_the_usual_way(
    make_ds, tmp_path, reads
):
    path = make_db(tmp_path / "a.db")
    other = make_db(tmp_path / "b.db")
    plant_undescribable_table(path)
    ds = make_ds([str(path), str(other)])
    await ds.invoke_startup()
    # b copied; a's copy failed (and was undone), so a was read and written as before.
    assert sorted(reads, key=repr) == sorted([("copy", "a"), ("copy", "b"), "a", ("write", "a")], key=repr)
    rows = await catalog_rows(ds)
    described = {row[1] for row in rows["catalog_columns"] if row[0] == "a"}
    assert described == {"authors", "books", "tags", "pairs"}
    assert "vec" in {row[1] for row in rows["catalog_tables"] if row[0] == "a"}
    assert {row[0] for row in rows["catalog_databases"]} == {"a", "b"}


@pytest.mark.asyncio
async def test_a_new_database_with_text_that_is_not_utf8_reads_as_the_usual_way_decodes_it(make_ds, tmp_path):
    path = str(tmp_path / "bad.db")
    plant_latin1_schema(path)
    ds = make_ds([path])
    await ds.invoke_startup()
    rows = await catalog_rows(ds)
    assert ("bad", "t", 0, "x", "TEXT", 0, "'caf\ufffd'", 0, 0) in rows["catalog_columns"]


@pytest.mark.asyncio
async def test_a_file_whose_only_difference_is_an_index_name_is_read_again(
    make_ds, tmp_path, reads
):
    # Same schema version, same tables (name, root page, statement); another index.
    path = tmp_path / "a.db"
    for index in ("first_index", "second_index"):
        if path.exists():
            path.unlink()
        conn = sqlite3.connect(path)
        conn.executescript(f"create table t (a); create index {index} on t(a);")
        conn.close()
        if index == "first_index":
            internal = tmp_path / "internal.db"
            (await start(make_ds, [path], internal)).close()
            reads.clear()
    second = await start(make_ds, [path], internal)
    assert reads == ["a", ("write", "a")]
    names = {row[3] for row in (await catalog_rows(second))["catalog_indexes"]}
    assert names == {"second_index"}


@pytest.mark.asyncio
async def test_rows_of_a_database_detached_while_down_go_and_otherwise_nothing_is_purged(
    make_ds, tmp_path, monkeypatch
):
    purges = []
    original = catalog.purge_detached

    def purging(conn, attached):
        purges.append(sorted(attached))
        return original(conn, attached)

    monkeypatch.setattr(catalog, "purge_detached", purging)
    a, b = make_db(tmp_path / "a.db"), make_db(tmp_path / "b.db")
    internal = tmp_path / "internal.db"
    (await start(make_ds, [a, b], internal)).close()
    # A new internal file has nothing stored of any other database: no purge.
    assert purges == []
    (await start(make_ds, [a, b], internal)).close()
    assert purges == []
    third = await start(make_ds, [a], internal)
    assert purges == [["a"]]
    rows = await catalog_rows(third)
    assert all(row[0] == "a" for table in CATALOG_TABLES for row in rows[table])
    assert rows["catalog_columns"]
