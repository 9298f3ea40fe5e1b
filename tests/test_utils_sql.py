"""datasette.utils SQL helpers: validation, keyset clauses, parameters, row lookup."""

import sqlite3

import pytest

from datasette import utils
from datasette.utils import InvalidSql


class FakeResults:
    def __init__(self, rows):
        self.rows = rows


class FakeDatabase:
    """Just enough of `Database` for the helpers: execute() and primary_keys()."""

    def __init__(self, setup_sql=""):
        self.conn = sqlite3.connect(":memory:")
        self.conn.row_factory = sqlite3.Row
        if setup_sql:
            self.conn.executescript(setup_sql)
        self.executed = []

    async def execute(self, sql, params=None):
        self.executed.append(sql)
        return FakeResults(self.conn.execute(sql, params or {}).fetchall())

    async def primary_keys(self, table):
        rows = self.conn.execute(
            'PRAGMA table_info("{}")'.format(table.replace('"', '""'))
        ).fetchall()
        return [row["name"] for row in sorted(rows, key=lambda r: r["pk"]) if row["pk"]]


DISALLOWED_PRAGMA_MESSAGE = (
    "Statement contained a disallowed PRAGMA. Allowed pragma functions are "
    "pragma_database_list(), pragma_foreign_key_list(), pragma_function_list(), "
    "pragma_index_info(), pragma_index_list(), pragma_index_xinfo(), "
    "pragma_page_count(), pragma_max_page_count(), pragma_page_size(), "
    "pragma_schema_version(), pragma_table_info(), pragma_table_xinfo()"
)


@pytest.mark.parametrize(
    "sql",
    [
        "select count(*) from airports",
        "select foo from bar",
        "--sql comment\nselect foo from bar",
        "select '# Hello there\n\n* This is a list\n* of items\n--\n[And a link](https://example.com/).'\nas description",
        "select 1 + 1",
        "explain select 1 + 1",
        "explain\nselect 1 + 1",
        "explain query plan select 1 + 1",
        "explain  query  plan\nselect 1 + 1",
        "SELECT\nblah FROM foo",
        "WITH RECURSIVE cnt(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM cnt LIMIT 10) SELECT x FROM cnt;",
        "explain WITH RECURSIVE cnt(x) AS (SELECT 1) SELECT x FROM cnt;",
        "explain query plan WITH RECURSIVE cnt(x) AS (SELECT 1) SELECT x FROM cnt;",
        "SELECT * FROM pragma_index_info('idx52')",
        "select * from pragma_table_xinfo('table')",
        "select * from pragma_max_page_count()",
        "/* comment */ select 1",
        "/* comment */select 1",
        "/* multi\nline */\n-- and another\n  select 1",
        "   \n\tselect 1",
    ],
)
def test_validate_sql_select_accepts(sql):
    assert utils.validate_sql_select(sql) is None


@pytest.mark.parametrize(
    "sql",
    [
        "update blah set some_column='# Hello there\n\n* This is a list\n* of items\n--\n[And a link](https://example.com/).'\nas description;",
        "insert into foo values (1)",
        "selectx from foo",
        "explain update foo set bar = 1",
        "/* This comment is not valid. select 1",
        "/**/\nupdate foo set bar = 1\n/* test */ select 1",
        "",
        "-- only a comment",
    ],
)
def test_validate_sql_select_rejects_non_select(sql):
    with pytest.raises(InvalidSql) as e:
        utils.validate_sql_select(sql)
    assert str(e.value) == "Statement must be a SELECT"


@pytest.mark.parametrize(
    "sql",
    [
        "select * from pragma_not_on_allow_list('idx52')",
        "SELECT * FROM PRAGMA_user_version()",
        "select 'PRAGMA case_sensitive_like = true'",
        "with x as (select 1) select * from pragma_compile_options()",
    ],
)
def test_validate_sql_select_rejects_pragmas(sql):
    with pytest.raises(InvalidSql) as e:
        utils.validate_sql_select(sql)
    assert str(e.value) == DISALLOWED_PRAGMA_MESSAGE


def test_bare_pragma_statement_is_not_a_select():
    with pytest.raises(InvalidSql) as e:
        utils.validate_sql_select("PRAGMA case_sensitive_like = true")
    assert str(e.value) == "Statement must be a SELECT"


def test_validate_sql_select_is_fast_on_long_whitespace():
    # A nested-quantifier regex would take forever here
    with pytest.raises(InvalidSql):
        utils.validate_sql_select(" " * 5000 + "x")


def test_allowed_pragmas_order():
    assert utils.allowed_pragmas[0] == "database_list"
    assert utils.allowed_pragmas[-1] == "table_xinfo"
    assert len(utils.allowed_pragmas) == 12


def test_compound_keys_after_sql():
    assert utils.compound_keys_after_sql(["a"]) == "((a > :p0))"
    assert utils.compound_keys_after_sql(["a", "b"]) == (
        "((a > :p0)\n  or\n(a = :p0 and b > :p1))"
    )
    assert utils.compound_keys_after_sql(["a", "b", "c"]) == (
        "((a > :p0)\n  or\n(a = :p0 and b > :p1)\n  or\n"
        "(a = :p0 and b = :p1 and c > :p2))"
    )


def test_compound_keys_after_sql_start_index_and_escaping():
    assert utils.compound_keys_after_sql(["select", "b c"], start_index=2) == (
        "(([select] > :p2)\n  or\n([select] = :p2 and [b c] > :p3))"
    )


def test_compound_keys_after_sql_is_valid_sql():
    conn = sqlite3.connect(":memory:")
    conn.executescript(
        "create table t (a, b, primary key (a, b));"
        "insert into t values (1, 1), (1, 2), (2, 1), (2, 2);"
    )
    clause = utils.compound_keys_after_sql(["a", "b"])
    rows = conn.execute(
        "select a, b from t where {} order by a, b".format(clause), {"p0": 1, "p1": 2}
    ).fetchall()
    assert rows == [(2, 1), (2, 2)]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "sql,expected",
    [
        ("select 1", []),
        ("select 1 + :one", ["one"]),
        ("select 1 + :one + :two", ["one", "two"]),
        ("select 'bob' || '0:00' || :cat", ["cat"]),
        ("select :a + :a + :b", ["a", "b"]),
        ("select :one;", ["one"]),
        ("select this is invalid :one, :two, :three", ["one", "two", "three"]),
    ],
)
async def test_derive_named_parameters(sql, expected):
    db = FakeDatabase()
    assert await utils.derive_named_parameters(db, sql) == expected
    assert db.executed[0].startswith("explain ")


@pytest.mark.asyncio
async def test_row_sql_params_pks_with_primary_key():
    db = FakeDatabase(
        "create table compound (a text, b text, c text, primary key (a, b));"
        "insert into compound values ('x', 'y', 'found');"
    )
    sql, params, pks = await utils.row_sql_params_pks(db, "compound", ["x", "y"])
    assert sql == 'select * from compound where "a"=:p0 AND "b"=:p1'
    assert params == {"p0": "x", "p1": "y"}
    assert pks == ["a", "b"]
    assert db.conn.execute(sql, params).fetchone()["c"] == "found"


@pytest.mark.asyncio
async def test_row_sql_params_pks_rowid_table():
    db = FakeDatabase(
        "create table [no pk] (name text); insert into [no pk] values ('one');"
    )
    sql, params, pks = await utils.row_sql_params_pks(db, "no pk", ["1"])
    assert sql == 'select rowid, * from [no pk] where "rowid"=:p0'
    assert params == {"p0": "1"}
    assert pks == ["rowid"]
    row = db.conn.execute(sql, params).fetchone()
    assert (row["rowid"], row["name"]) == (1, "one")


def test_check_connection_ok():
    conn = sqlite3.connect(":memory:")
    conn.execute('create table "weird]name" (id integer)')
    conn.execute("create table plain (id integer)")
    assert utils.check_connection(conn) is None


def test_check_connection_missing_module(tmp_path):
    path = str(tmp_path / "broken.db")
    conn = sqlite3.connect(path)
    conn.execute("create table t (id integer)")
    # A virtual table for a module this connection does not have
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "insert into sqlite_master (type, name, tbl_name, rootpage, sql) values "
        "('table', 'spatial', 'spatial', 0, "
        "'CREATE VIRTUAL TABLE spatial USING VirtualSpatialIndex()')"
    )
    conn.commit()
    conn.close()
    with pytest.raises(utils.SpatialiteConnectionProblem):
        utils.check_connection(sqlite3.connect(path))


def test_check_connection_other_problem(tmp_path):
    path = str(tmp_path / "broken2.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "insert into sqlite_master (type, name, tbl_name, rootpage, sql) values "
        "('table', 'vec', 'vec', 0, 'CREATE VIRTUAL TABLE vec USING nosuchmodule()')"
    )
    conn.commit()
    conn.close()
    with pytest.raises(utils.ConnectionProblem) as e:
        utils.check_connection(sqlite3.connect(path))
    assert not isinstance(e.value, utils.SpatialiteConnectionProblem)


class QuietCapableDatabase(FakeDatabase):
    async def execute(self, sql, params=None, log_sql_errors=True):
        self.log_sql_errors = log_sql_errors
        return await super().execute(sql, params)


@pytest.mark.asyncio
async def test_derive_named_parameters_silences_expected_errors():
    db = QuietCapableDatabase()
    assert await utils.derive_named_parameters(db, "select nonsense :x :y") == ["x", "y"]
    assert db.log_sql_errors is False
