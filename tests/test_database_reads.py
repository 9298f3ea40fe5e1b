"""`Database` reads: `execute`, `Results`, truncation, the time limit, connections and
schema introspection (internals.md sections 3 and 4)."""

import hashlib
import os
import sqlite3 as stdlib_sqlite3
import uuid

import pytest

from datasette.database import Database, MultipleValues, QueryInterrupted, Results
from datasette.utils import Column
from datasette.utils.sqlite import sqlite3, supports_generated_columns

# Counts to a billion: far longer than any time limit used here.
SLOW_SQL = """
with recursive counter(x) as (
    select 1 union all select x + 1 from counter where x < :n
)
select count(*) from counter
"""
SLOW_PARAMS = {"n": 10**9}


def add_sql(path, sql):
    """Run extra SQL against a database file before a Datasette instance opens it."""
    conn = stdlib_sqlite3.connect(str(path))
    try:
        conn.executescript(sql)
    finally:
        conn.close()


@pytest.fixture
def numbers_path(tmp_path):
    """A database with one table `numbers` holding the integers 1..20."""
    path = tmp_path / "numbers.db"
    add_sql(
        path,
        "create table numbers (n integer);"
        + "".join(f"insert into numbers values ({i});" for i in range(1, 21)),
    )
    return path


# -- execute and Results ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_execute_params_sequence_dict_and_none(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    by_position = await db.execute("select name from authors where id = ?", [2])
    assert by_position.single_value() == "Grace"
    by_tuple = await db.execute("select name from authors where id = ?", (1,))
    assert by_tuple.single_value() == "Ada"
    by_name = await db.execute("select name from authors where id = :id", {"id": 1})
    assert by_name.single_value() == "Ada"
    no_params = await db.execute("select count(*) from books", None)
    assert no_params.single_value() == 3
    default_params = await db.execute("select count(*) from books")
    assert default_params.single_value() == 3


@pytest.mark.asyncio
async def test_results_rows_columns_first_len_iteration(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    results = await db.execute("select id, title from books order by id")
    assert isinstance(results, Results)
    assert results.columns == ["id", "title"]
    assert len(results) == 3
    assert bool(results)
    assert results.truncated is False
    assert all(type(row) is sqlite3.Row for row in results.rows)
    assert [tuple(row) for row in results] == [
        (1, "Engines"),
        (2, "Compilers"),
        (3, "Cobol"),
    ]
    first = results.first()
    assert first is results.rows[0]
    assert first["TITLE"] == "Engines"  # sqlite3.Row: case-insensitive keys
    assert first[0] == 1
    assert first.keys() == ["id", "title"]
    assert dict(first) == {"id": 1, "title": "Engines"}


@pytest.mark.asyncio
async def test_results_empty(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    results = await db.execute("select id, title from books where id > 100")
    assert results.rows == []
    assert len(results) == 0
    assert not results
    assert results.first() is None
    assert list(results) == []
    assert results.columns == ["id", "title"]


@pytest.mark.asyncio
async def test_single_value(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    assert (await db.execute("select title from books where id = 2")).single_value() == (
        "Compilers"
    )
    assert (await db.execute("select null")).single_value() is None


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "sql",
    [
        "select title from books where id > 100",  # no rows
        "select title from books where id in (1, 2)",  # two rows
        "select id, title from books where id = 1",  # two columns
    ],
    ids=["no-rows", "two-rows", "two-columns"],
)
async def test_single_value_multiple_values(make_ds, db_path, sql):
    db = make_ds([db_path]).get_database("sample")
    results = await db.execute(sql)
    with pytest.raises(MultipleValues):
        results.single_value()


# -- truncation -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_truncate_uses_max_returned_rows(make_ds, numbers_path):
    ds = make_ds(
        [numbers_path], settings={"max_returned_rows": 5, "default_page_size": 3}
    )
    db = ds.get_database("numbers")
    results = await db.execute("select n from numbers order by n", truncate=True)
    assert [row[0] for row in results] == [1, 2, 3, 4, 5]
    assert results.truncated is True


@pytest.mark.asyncio
async def test_truncate_false_returns_everything(make_ds, numbers_path):
    ds = make_ds(
        [numbers_path], settings={"max_returned_rows": 5, "default_page_size": 3}
    )
    db = ds.get_database("numbers")
    default = await db.execute("select n from numbers order by n")
    assert len(default) == 20
    assert default.truncated is False
    explicit = await db.execute("select n from numbers order by n", truncate=False)
    assert len(explicit) == 20
    assert explicit.truncated is False


@pytest.mark.asyncio
async def test_truncate_exactly_max_rows_is_not_truncated(make_ds, numbers_path):
    ds = make_ds(
        [numbers_path], settings={"max_returned_rows": 5, "default_page_size": 3}
    )
    db = ds.get_database("numbers")
    results = await db.execute("select n from numbers where n <= 5", truncate=True)
    assert len(results) == 5
    assert results.truncated is False


@pytest.mark.asyncio
async def test_truncate_plus_one_when_max_equals_default_page_size(make_ds, numbers_path):
    ds = make_ds(
        [numbers_path], settings={"max_returned_rows": 5, "default_page_size": 5}
    )
    db = ds.get_database("numbers")
    results = await db.execute("select n from numbers order by n", truncate=True)
    assert [row[0] for row in results] == [1, 2, 3, 4, 5, 6]
    assert results.truncated is True


@pytest.mark.asyncio
async def test_truncate_plus_one_when_max_equals_page_size_argument(
    make_ds, numbers_path
):
    ds = make_ds(
        [numbers_path], settings={"max_returned_rows": 5, "default_page_size": 3}
    )
    db = ds.get_database("numbers")
    results = await db.execute(
        "select n from numbers order by n", truncate=True, page_size=5
    )
    assert len(results) == 6
    assert results.truncated is True
    # A page_size different from max_returned_rows does not change the cut-off.
    other = await db.execute("select n from numbers order by n", truncate=True, page_size=2)
    assert len(other) == 5
    assert other.truncated is True


# -- time limit -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_time_limit_interrupts_slow_query(make_ds, db_path):
    ds = make_ds([db_path], settings={"sql_time_limit_ms": 50})
    db = ds.get_database("sample")
    with pytest.raises(QueryInterrupted) as excinfo:
        await db.execute(SLOW_SQL, SLOW_PARAMS)
    assert excinfo.value.sql == SLOW_SQL
    assert excinfo.value.params == SLOW_PARAMS
    assert isinstance(excinfo.value.e, sqlite3.OperationalError)
    # The connection is still usable afterwards.
    assert (await db.execute("select count(*) from authors")).single_value() == 2


@pytest.mark.asyncio
async def test_custom_time_limit_lowers_the_limit(make_ds, db_path):
    ds = make_ds([db_path], settings={"sql_time_limit_ms": 60_000})
    db = ds.get_database("sample")
    with pytest.raises(QueryInterrupted):
        await db.execute(SLOW_SQL, SLOW_PARAMS, custom_time_limit=50)


@pytest.mark.asyncio
async def test_custom_time_limit_never_raises_the_limit(make_ds, db_path):
    ds = make_ds([db_path], settings={"sql_time_limit_ms": 50})
    db = ds.get_database("sample")
    # A huge custom limit leaves fast queries alone...
    fast = await db.execute("select count(*) from books", custom_time_limit=10**9)
    assert fast.single_value() == 3
    # ...and does not lift the instance's 50ms limit for slow ones.
    with pytest.raises(QueryInterrupted):
        await db.execute(SLOW_SQL, SLOW_PARAMS, custom_time_limit=60_000)


# -- SQL errors -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_sql_error_logged_to_stderr_and_reraised(make_ds, db_path, capsys):
    db = make_ds([db_path]).get_database("sample")
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await db.execute("select * from no_such_table where id = ?", [7])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("ERROR: conn=")]
    assert len(lines) == 1
    assert "no_such_table" in lines[0]
    assert "no such table" in lines[0]


@pytest.mark.asyncio
async def test_sql_error_not_logged_when_disabled(make_ds, db_path, capsys):
    db = make_ds([db_path]).get_database("sample")
    with pytest.raises(sqlite3.OperationalError):
        await db.execute("select * from no_such_table", log_sql_errors=False)
    assert "ERROR: conn=" not in capsys.readouterr().err


# -- execute_fn and connections ---------------------------------------------------------


@pytest.mark.asyncio
async def test_execute_fn(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")

    def fn(conn):
        return [row[0] for row in conn.execute("select name from authors order by id")]

    assert await db.execute_fn(fn) == ["Ada", "Grace"]


@pytest.mark.asyncio
async def test_execute_fn_reraises(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")

    def fn(conn):
        raise ValueError("from fn")

    with pytest.raises(ValueError, match="from fn"):
        await db.execute_fn(fn)


@pytest.mark.asyncio
async def test_immutable_reads_work_and_write_connection_refused(make_ds, db_path):
    ds = make_ds(immutables=[str(db_path)])
    db = ds.get_database("sample")
    assert db.is_mutable is False
    assert (await db.execute("select count(*) from books")).single_value() == 3
    with pytest.raises(AssertionError):
        db.connect(write=True)


@pytest.mark.asyncio
async def test_mutable_read_connection_cannot_write(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    with pytest.raises(sqlite3.OperationalError):
        await db.execute("insert into authors (name) values ('Eve')")
    assert (await db.execute("select count(*) from authors")).single_value() == 2


@pytest.mark.asyncio
async def test_num_sql_threads_zero_reads_and_writes_inline(make_ds, db_path):
    ds = make_ds([db_path], settings={"num_sql_threads": 0})
    db = ds.get_database("sample")
    assert (await db.execute("select count(*) from authors")).single_value() == 2
    await db.execute_write("insert into authors (name) values (?)", ["Eve"])
    assert (await db.execute("select count(*) from authors")).single_value() == 3
    assert await db.execute_fn(lambda conn: conn.execute("select 41 + 1").fetchone()[0]) == 42
    # block=False is ignored without threads: the result comes back.
    cursor = await db.execute_write(
        "insert into authors (name) values (?)", ["Zed"], block=False
    )
    assert not isinstance(cursor, uuid.UUID)
    assert cursor.rowcount == 1
    assert (await db.execute("select count(*) from authors")).single_value() == 4
    assert db.write_thread is None


# -- counts and attachments -------------------------------------------------------------


@pytest.mark.asyncio
async def test_table_counts(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    assert await db.table_counts() == {"authors": 2, "books": 3, "tags": 3}


@pytest.mark.asyncio
async def test_table_counts_immutable(make_ds, db_path):
    db = make_ds(immutables=[str(db_path)]).get_database("sample")
    assert await db.table_counts() == {"authors": 2, "books": 3, "tags": 3}


@pytest.mark.asyncio
async def test_attached_databases(make_ds, db_path):
    ds = make_ds([db_path], crossdb=True)
    assert await ds.get_database("sample").attached_databases() == []
    attached = await ds.get_database("_memory").attached_databases()
    assert [(a.seq, a.name) for a in attached] == [(2, "sample")]
    assert os.path.samefile(attached[0].file, db_path)


# -- introspection ----------------------------------------------------------------------


@pytest.fixture
def rich_path(db_path):
    """The sample database plus an FTS5 index on books, a rowid table, a two-column
    id/label table and a table whose primary key is declared out of column order."""
    add_sql(
        db_path,
        """
        CREATE VIRTUAL TABLE books_fts USING fts5(title, content="books");
        CREATE TABLE notes (body TEXT);
        CREATE TABLE colors (id INTEGER PRIMARY KEY, label TEXT);
        CREATE TABLE pairs (a TEXT, b TEXT, c TEXT, PRIMARY KEY (b, a));
        CREATE TABLE kv (pk TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE people (id INTEGER PRIMARY KEY, Name TEXT, age INTEGER);
        """,
    )
    return db_path


@pytest.mark.asyncio
async def test_table_and_view_exists(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    assert await db.table_exists("books") is True
    assert await db.table_exists("nope") is False
    assert await db.table_exists("recent_books") is False
    assert await db.view_exists("recent_books") is True
    assert await db.view_exists("books") is False


@pytest.mark.asyncio
async def test_table_names_and_view_names(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    assert await db.table_names() == ["authors", "books", "tags"]
    assert await db.view_names() == ["recent_books"]


@pytest.mark.asyncio
async def test_table_names_include_fts_shadow_tables(make_ds, rich_path):
    db = make_ds([rich_path]).get_database("sample")
    names = await db.table_names()
    assert names[:3] == ["authors", "books", "tags"]
    assert {"books_fts", "books_fts_data", "books_fts_idx", "books_fts_config"} <= set(
        names
    )
    assert {"notes", "colors", "pairs"} <= set(names)


@pytest.mark.asyncio
async def test_table_columns(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    assert await db.table_columns("books") == ["id", "title", "author_id", "year"]
    assert await db.table_columns("recent_books") == ["id", "title", "author_id", "year"]


@pytest.mark.asyncio
async def test_table_column_details(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    details = await db.table_column_details("books")
    assert all(isinstance(c, Column) for c in details)
    assert details == [
        Column(0, "id", "INTEGER", 0, None, 1, 0),
        Column(1, "title", "TEXT", 0, None, 0, 0),
        Column(2, "author_id", "INTEGER", 0, None, 0, 0),
        Column(3, "year", "INTEGER", 0, None, 0, 0),
    ]
    authors = await db.table_column_details("authors")
    assert authors[1] == Column(1, "name", "TEXT", 1, None, 0, 0)
    tags = await db.table_column_details("tags")
    assert [(c.name, c.is_pk) for c in tags] == [("book_id", 1), ("tag", 2)]


@pytest.mark.asyncio
@pytest.mark.skipif(not supports_generated_columns(), reason="needs SQLite >= 3.31")
async def test_table_column_details_hidden_generated_columns(make_ds, db_path):
    add_sql(
        db_path,
        """
        CREATE TABLE prices (
            net INTEGER DEFAULT 10,
            gross INTEGER GENERATED ALWAYS AS (net * 2) VIRTUAL,
            stored INTEGER GENERATED ALWAYS AS (net * 3) STORED
        );
        """,
    )
    db = make_ds([db_path]).get_database("sample")
    details = await db.table_column_details("prices")
    assert [(c.name, c.default_value, c.hidden) for c in details] == [
        ("net", "10", 0),
        ("gross", None, 2),
        ("stored", None, 3),
    ]


@pytest.mark.asyncio
async def test_primary_keys(make_ds, rich_path):
    db = make_ds([rich_path]).get_database("sample")
    assert await db.primary_keys("books") == ["id"]
    assert await db.primary_keys("tags") == ["book_id", "tag"]
    assert await db.primary_keys("pairs") == ["b", "a"]  # key order, not column order
    assert await db.primary_keys("notes") == []  # rowid table


@pytest.mark.asyncio
async def test_fts_table(make_ds, rich_path):
    db = make_ds([rich_path]).get_database("sample")
    assert await db.fts_table("books") == "books_fts"
    assert await db.fts_table("authors") is None


@pytest.mark.asyncio
async def test_label_column_for_table(make_ds, rich_path):
    db = make_ds([rich_path]).get_database("sample")
    assert await db.label_column_for_table("authors") == "name"
    assert await db.label_column_for_table("books") == "title"
    assert await db.label_column_for_table("colors") == "label"  # id + one other
    assert await db.label_column_for_table("kv") == "value"  # pk + one other
    assert await db.label_column_for_table("people") == "Name"  # any case
    assert await db.label_column_for_table("notes") is None  # one column
    assert await db.label_column_for_table("tags") is None
    assert await db.label_column_for_table("pairs") is None


@pytest.mark.asyncio
async def test_label_column_from_metadata_wins(make_ds, db_path):
    ds = make_ds(
        [db_path],
        metadata={"databases": {"sample": {"tables": {"authors": {"label_column": "id"}}}}},
    )
    db = ds.get_database("sample")
    assert await db.label_column_for_table("authors") == "id"
    assert await db.label_column_for_table("books") == "title"


@pytest.mark.asyncio
async def test_foreign_keys_for_table(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    assert await db.foreign_keys_for_table("books") == [
        {"column": "author_id", "other_table": "authors", "other_column": "id"}
    ]
    assert await db.foreign_keys_for_table("authors") == []


@pytest.mark.asyncio
async def test_hidden_table_names_fts_and_shadow_tables(make_ds, rich_path):
    db = make_ds([rich_path]).get_database("sample")
    hidden = await db.hidden_table_names()
    assert {"books_fts", "books_fts_data", "books_fts_idx", "books_fts_config"} <= set(
        hidden
    )
    assert not {"authors", "books", "tags", "notes", "colors", "pairs"} & set(hidden)
    assert len(hidden) == len(set(hidden))


@pytest.mark.asyncio
async def test_hidden_table_names_sqlite_stat1(make_ds, db_path):
    add_sql(db_path, "ANALYZE;")
    db = make_ds([db_path]).get_database("sample")
    assert "sqlite_stat1" in await db.table_names()
    assert "sqlite_stat1" in await db.hidden_table_names()


@pytest.mark.asyncio
async def test_hidden_table_names_from_metadata(make_ds, db_path):
    ds = make_ds(
        [db_path],
        metadata={"databases": {"sample": {"tables": {"tags": {"hidden": True}}}}},
    )
    hidden = await ds.get_database("sample").hidden_table_names()
    assert hidden == ["tags"]


@pytest.mark.asyncio
async def test_hidden_table_names_prefix_of_hidden_table(make_ds, db_path):
    add_sql(db_path, "CREATE TABLE tags_archive (x);")
    ds = make_ds(
        [db_path],
        metadata={"databases": {"sample": {"tables": {"tags": {"hidden": True}}}}},
    )
    hidden = await ds.get_database("sample").hidden_table_names()
    assert sorted(hidden) == ["tags", "tags_archive"]


@pytest.mark.asyncio
async def test_hidden_table_names_plain_database(make_ds, db_path):
    assert await make_ds([db_path]).get_database("sample").hidden_table_names() == []


@pytest.mark.asyncio
async def test_get_all_foreign_keys(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    assert await db.get_all_foreign_keys() == {
        "authors": {
            "incoming": [
                {"other_table": "books", "column": "id", "other_column": "author_id"}
            ],
            "outgoing": [],
        },
        "books": {
            "incoming": [],
            "outgoing": [
                {"other_table": "authors", "column": "author_id", "other_column": "id"}
            ],
        },
        "tags": {"incoming": [], "outgoing": []},
    }


BOOKS_SQL = """CREATE TABLE books (
    id INTEGER PRIMARY KEY,
    title TEXT,
    author_id INTEGER REFERENCES authors(id),
    year INTEGER
)"""


@pytest.mark.asyncio
async def test_get_table_definition(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    assert await db.get_table_definition("books") == (
        BOOKS_SQL + ";\nCREATE INDEX books_author ON books(author_id);"
    )
    # The automatic index behind tags' primary key has no SQL and is left out.
    assert await db.get_table_definition("tags") == (
        "CREATE TABLE tags (book_id INTEGER, tag TEXT, PRIMARY KEY (book_id, tag));"
    )
    assert await db.get_table_definition("missing") is None
    assert await db.get_table_definition("recent_books") is None


@pytest.mark.asyncio
async def test_get_view_definition(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    assert await db.get_view_definition("recent_books") == (
        "CREATE VIEW recent_books AS SELECT * FROM books WHERE year > 2000;"
    )
    assert await db.get_view_definition("books") is None


# -- properties -------------------------------------------------------------------------


def test_hash_size_color_of_immutable_file(make_ds, db_path):
    db = make_ds(immutables=[str(db_path)]).get_database("sample")
    expected = hashlib.sha256(db_path.read_bytes()).hexdigest()
    assert db.hash == expected
    assert db.size == os.path.getsize(db_path)
    assert db.color == expected[:6]
    assert repr(db) == f"<Database: sample (hash={expected}, size={db.size})>"


def test_hash_size_color_of_mutable_file(make_ds, db_path):
    db = make_ds([db_path]).get_database("sample")
    assert db.hash is None
    assert db.size == os.path.getsize(db_path)
    assert db.color == hashlib.md5(b"sample").hexdigest()[:6]
    assert repr(db) == f"<Database: sample (mutable, size={db.size})>"


def test_memory_database_properties(make_ds):
    ds = make_ds(memory=True)
    db = ds.get_database("_memory")
    assert db.is_memory is True
    assert db.hash is None
    assert db.size == 0
    assert db.color == hashlib.md5(b"_memory").hexdigest()[:6]
    assert repr(db) == "<Database: _memory (memory, size=0)>"


def test_suggest_name(make_ds, db_path):
    ds = make_ds()
    assert Database(ds, path=str(db_path)).suggest_name() == "sample"
    assert Database(ds, memory_name="scratchpad").suggest_name() == "scratchpad"
    assert Database(ds, is_memory=True).suggest_name() == "db"


def test_memory_name_forces_is_memory(make_ds):
    db = Database(make_ds(), memory_name="forced_" + uuid.uuid4().hex)
    assert db.is_memory is True
    assert db.is_mutable is True
    assert db.name is None and db.route is None


# -- named memory databases -------------------------------------------------------------


@pytest.mark.asyncio
async def test_memory_name_shares_data_and_reads_are_query_only(make_ds):
    ds = make_ds()
    name = "shared_" + uuid.uuid4().hex
    db = ds.add_memory_database(name)
    await db.execute_write_script(
        "create table things (id integer primary key, label text);"
        "insert into things (label) values ('one'), ('two');"
    )
    assert (await db.execute("select count(*) from things")).single_value() == 2
    # A second Database object with the same memory name sees the same data.
    other = Database(ds, memory_name=name)
    other_conn = other.connect()
    try:
        assert other_conn.execute("select label from things order by id").fetchall()[
            1
        ][0] == "two"
    finally:
        other_conn.close()
    # Reads are query-only; writes through execute_write work.
    with pytest.raises(sqlite3.OperationalError):
        await db.execute("insert into things (label) values ('three')")
    with pytest.raises(sqlite3.OperationalError):
        await db.execute("create table nope (x)")
    await db.execute_write("insert into things (label) values ('three')")
    assert (await db.execute("select count(*) from things")).single_value() == 3


def test_anonymous_memory_connections_are_separate(make_ds):
    db = Database(make_ds(), is_memory=True)
    first, second = db.connect(), db.connect()
    try:
        first.execute("create table only_here (x)")
        assert second.execute("select count(*) from sqlite_master").fetchone()[0] == 0
    finally:
        first.close()
        second.close()
