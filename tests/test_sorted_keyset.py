"""Sorted keyset pagination (`_sort` / `_sort_desc` with `_next`), written so SQLite can
seek an index on the sort column (issue 15).

Every walk pages through a whole table of a real SQLite file with `TableQuery`, following
the token of each page's last row, and compares the joined pages with one plain
`ORDER BY` of all rows: nothing missed, nothing repeated, same order. Walks cover NULL sort
values (ascending and descending), duplicates, mixed storage types, compound primary keys,
rowid and WITHOUT ROWID tables, NOT NULL columns, both the row-value form and the form
older SQLite needs. The plan tests ask SQLite's EXPLAIN QUERY PLAN whether the index is
searched; one test walks over real HTTP, where users meet the tokens.
"""

import re
import sqlite3

import httpx
import pytest

from datasette.table_query import TableQuery

PAGE = 7
COLUMNS = ["n", "t", "u", "r", "nn"]
TYPES = {"n": "INTEGER", "t": "TEXT", "u": "", "r": "REAL", "nn": "INTEGER"}


def column_values(i):
    """Duplicates, NULLs and awkward text in every sortable column of row `i`."""
    texts = ["a", "b,c", "$null", "~x", "caf\u00e9", "a b", "", "Z"]
    untyped = [1, 2.5, "1", "x", b"\x00\xff", None, 10, "10"]
    return (
        None if i % 5 == 0 else i % 4,
        None if i % 6 == 0 else texts[i % len(texts)],
        untyped[i % len(untyped)],
        None if i % 9 == 0 else (i % 3) / 2,
        i % 3,
    )


@pytest.fixture(scope="module")
def keyset_db(tmp_path_factory):
    """Tables of 60 rows: rowid, integer key, compound key, WITHOUT ROWID compound key."""
    path = tmp_path_factory.mktemp("keyset") / "keyset.db"
    conn = sqlite3.connect(path)
    columns = "n INTEGER, t TEXT, u, r REAL, nn INTEGER NOT NULL"
    conn.executescript(
        f"""
        create table plain ({columns});
        create table keyed (id integer primary key, {columns});
        create table pair (a text, b integer, {columns}, primary key (a, b));
        create table pair_nr (a text, b integer, {columns}, primary key (a, b)) without rowid;
        create index plain_n on plain (n);
        create index keyed_nn on keyed (nn);
        create index pair_nr_t on pair_nr (t);
        """
    )
    for i in range(60):
        values = column_values(i)
        conn.execute("insert into plain values (?, ?, ?, ?, ?)", values)
        conn.execute("insert into keyed values (?, ?, ?, ?, ?, ?)", (i * 3 + 1, *values))
        key = ("k" + str(i % 4), i // 4)
        conn.execute("insert into pair values (?, ?, ?, ?, ?, ?, ?)", (*key, *values))
        conn.execute("insert into pair_nr values (?, ?, ?, ?, ?, ?, ?)", (*key, *values))
    conn.commit()
    conn.close()
    return path


TABLES = {"plain": ["rowid"], "keyed": ["id"], "pair": ["a", "b"], "pair_nr": ["a", "b"]}


def make_query(table, sort, desc, row_values, token=None, not_null=()):
    pks = TABLES[table]
    key_columns = [] if pks == ["rowid"] else pks
    return TableQuery(
        table=table,
        is_view=False,
        pks=pks,
        use_rowid=pks == ["rowid"],
        select_columns=key_columns + COLUMNS,
        sort=sort,
        sort_desc=desc,
        next_token=token,
        page_size=PAGE,
        column_types={**TYPES, "id": "INTEGER", "a": "TEXT", "b": "INTEGER"},
        not_null=frozenset(not_null),
        row_values=row_values,
    )


def walk(conn, table, sort, desc, row_values, not_null=()):
    """Every page of the table, joined; fails if the walk does not end."""
    rows, token = [], None
    for _ in range(100):
        query = make_query(table, sort, desc, row_values, token, not_null)
        sql, params = query.page_sql_and_params()
        page = conn.execute(sql, params).fetchall()
        rows.extend(tuple(row) for row in page[:PAGE])
        if len(page) <= PAGE:
            return rows
        token = query.next_token_for(page[PAGE - 1], 0)
    raise AssertionError("pagination did not end")


def all_rows(conn, table, sort, desc):
    query = make_query(table, sort, desc, True)
    sql = f"select {query.select_clause()} from {table} {query.order_by()}"
    return [tuple(row) for row in conn.execute(sql).fetchall()]


@pytest.fixture
def conn(keyset_db):
    connection = sqlite3.connect(keyset_db)
    connection.row_factory = sqlite3.Row
    yield connection
    connection.close()


@pytest.mark.parametrize("row_values", [True, False], ids=["row-values", "fallback"])
@pytest.mark.parametrize("desc", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort", COLUMNS)
@pytest.mark.parametrize("table", list(TABLES))
def test_walk_matches_plain_order_by(conn, table, sort, desc, row_values):
    expected = all_rows(conn, table, sort, desc)
    assert len(expected) == 60
    not_null = ["nn"] if sort == "nn" else []
    assert walk(conn, table, sort, desc, row_values, not_null) == expected


@pytest.mark.parametrize("desc", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("table", list(TABLES))
def test_walk_sorted_on_a_primary_key_column(conn, table, desc):
    sort = TABLES[table][0]
    expected = all_rows(conn, table, sort, desc)
    assert walk(conn, table, sort, desc, True) == expected


@pytest.mark.parametrize("desc", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort", ["n", "t", "r"])
def test_token_of_a_deleted_row_falls_back_to_its_text(tmp_path, sort, desc):
    """The stored value is looked up by key; once that row is gone, the token's own text
    is compared, converted by the column's type affinity."""
    path = tmp_path / "gone.db"
    with sqlite3.connect(path) as setup:
        setup.execute("create table keyed (id integer primary key, n INTEGER, t TEXT, u,"
                      " r REAL, nn INTEGER NOT NULL)")
        setup.executemany(
            "insert into keyed values (?, ?, ?, ?, ?, ?)",
            [(i * 3 + 1, *column_values(i)) for i in range(60)],
        )
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    expected = all_rows(conn, "keyed", sort, desc)
    # A row with a non-NULL sort value, a third of the way in.
    position = next(
        i for i, row in enumerate(expected) if i >= 20 and row[COLUMNS.index(sort) + 1] is not None
    )
    last = conn.execute("select * from keyed where id = ?", (expected[position][0],)).fetchone()
    token = make_query("keyed", sort, desc, True).next_token_for(last, 0)
    conn.execute("delete from keyed where id = ?", (last["id"],))
    for row_values in (True, False):
        query = make_query("keyed", sort, desc, row_values, token)
        sql, params = query.page_sql_and_params()
        page = [tuple(row) for row in conn.execute(sql, params).fetchall()]
        assert page == expected[position + 1 : position + 2 + PAGE]
    conn.close()


def test_view_pages_by_offset():
    query = TableQuery(
        table="v", is_view=True, pks=[], use_rowid=False, select_columns=["n", "t"],
        sort="n", next_token="14", page_size=PAGE,
    )
    sql, _ = query.page_sql_and_params()
    assert sql.endswith(f"limit {PAGE + 1} offset 14")
    assert "coalesce" not in sql


# -- the plan: an index on the sort column is searched, not scanned -----------------------


@pytest.fixture(scope="module")
def big_db(tmp_path_factory):
    """5,000 rows with an index on `category` (NOT NULL) and on `state` (nullable)."""
    path = tmp_path_factory.mktemp("plan") / "plan.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "create table items (id integer primary key, category integer not null,"
            " state text, price real)"
        )
        conn.executemany(
            "insert into items values (?, ?, ?, ?)",
            [(i, i % 50, None if i % 11 == 0 else f"s{i % 30}", i * 0.5) for i in range(1, 5001)],
        )
        conn.execute("create index items_category on items (category)")
        conn.execute("create index items_state on items (state)")
        conn.execute("create table pairs (a text, b integer, c integer, primary key (a, b))"
                     " without rowid")
        conn.executemany(
            "insert into pairs values (?, ?, ?)",
            [(f"k{i % 40}", i, i % 7) for i in range(4000)],
        )
        conn.execute("analyze")
    return path


def plan_of(path, query):
    sql, params = query.page_sql_and_params()
    with sqlite3.connect(path) as conn:
        return " | ".join(row[3] for row in conn.execute("explain query plan " + sql, params))


def items_query(sort, desc, token, not_null=("category",), row_values=True):
    return TableQuery(
        table="items", is_view=False, pks=["id"], use_rowid=False,
        select_columns=["id", "category", "state", "price"], sort=sort, sort_desc=desc,
        next_token=token, page_size=100,
        column_types={"id": "INTEGER", "category": "INTEGER", "state": "TEXT", "price": "REAL"},
        not_null=frozenset(not_null), row_values=row_values,
    )


def test_ascending_deep_page_searches_the_sort_index(big_db):
    plan = plan_of(big_db, items_query("category", False, "45,4000"))
    assert re.search(r"SEARCH items USING (COVERING )?INDEX items_category \(category>", plan), plan
    assert "SCAN items" not in plan, plan


def test_ascending_nullable_column_searches_its_index(big_db):
    plan = plan_of(big_db, items_query("state", False, "s7,4000"))
    assert re.search(r"SEARCH items USING (COVERING )?INDEX items_state \(state>", plan), plan


def test_descending_not_null_column_searches_its_index(big_db):
    plan = plan_of(big_db, items_query("category", True, "5,4000"))
    assert re.search(r"SEARCH items USING (COVERING )?INDEX items_category \(category<", plan), plan


def test_ascending_without_row_values_keeps_the_or_form(big_db):
    query = items_query("category", False, "45,4000", row_values=False)
    sql, _ = query.page_sql_and_params()
    assert "category > coalesce(" in sql
    assert ") > (" not in sql


def test_compound_key_without_rowid_searches_the_key(big_db):
    query = TableQuery(
        table="pairs", is_view=False, pks=["a", "b"], use_rowid=False,
        select_columns=["a", "b", "c"], sort="a", next_token="k30,k30,3900", page_size=100,
        column_types={"a": "TEXT", "b": "INTEGER", "c": "INTEGER"},
    )
    plan = plan_of(big_db, query)
    assert plan.startswith("SEARCH pairs USING PRIMARY KEY"), plan


# -- over HTTP: the page the user meets ---------------------------------------------------


def test_http_walk_sorted_on_not_null_and_nullable_columns(big_db, make_ds, serve_ds):
    ds = make_ds([str(big_db)], settings={"default_page_size": 400})
    with sqlite3.connect(big_db) as conn:
        expected = {
            sort: [row[0] for row in conn.execute(f"select id from items order by {sort}, id")]
            for sort in ("category", "state", "category desc", "state desc")
        }
    with serve_ds(ds) as server:
        for sort, ids in expected.items():
            column, _, desc = sort.partition(" ")
            params = {("_sort_desc" if desc else "_sort"): column}
            url, seen = f"{server.url}/plan/items.json", []
            while True:
                data = httpx.get(url, params=params, timeout=60).json()
                seen.extend(row["id"] for row in data["rows"])
                if not data["next"]:
                    break
                params["_next"] = data["next"]
            assert seen == ids, sort
