"""Index intersection for equality filters on separately indexed columns (issue 15).

A page filtered by `a=...&b=...` (one index each) that must visit every filtered row (a
sort on an unindexed column, a count, a facet) gains a redundant `rowid in (...)`
conjunct that intersects the two indexes (datasette/table_narrowing.py). These tests
check on a real SQLite file that it is chosen only where it can be written and pays, and
that every answer over real HTTP is the same as without it: rows, order, `_next` tokens
walked to the end, counts, and column, date and array facets. Rowid tables, an integer
and a text primary key, a column named `rowid`, WITHOUT ROWID tables and views.
"""

import json
import sqlite3

import httpx
import pytest

from datasette.app import Datasette
from datasette.table_narrowing import plan_narrowing
from datasette.table_query import TableQuery
from datasette.views import page_data

ROWS = 24_000
A_VALUES = 24  # 1,000 rows each: just enough to drive an intersection
B_VALUES = 13  # ~1,850 rows each, 8% of the table: selective enough to join it
COLUMNS = "a text, b integer, price real, created text, tags text"
ROWID_TABLES = ("plain", "keyed", "texty", "shadow")


def row(i):
    """Filter columns spread evenly and independently (24 and 13 are coprime, so about
    77 rows share each pair); sort values with NULLs and ties."""
    tags = json.dumps(["red", "blue", "green"][: i % 4])
    price = None if i % 13 == 0 else (i * 7) % 500 / 4
    created = f"2024-0{1 + i % 9}-{10 + i % 19} 12:00"
    return (f"a{i % A_VALUES}", i % B_VALUES, price, created, tags)


@pytest.fixture(scope="module")
def plans_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("plans") / "plans.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        f"""
        create table plain ({COLUMNS});
        create table keyed (id integer primary key, {COLUMNS});
        create table texty (code text primary key, {COLUMNS});
        create table shadow (rowid text, {COLUMNS});
        create table nr (code text primary key, {COLUMNS}) without rowid;
        create table pair ({COLUMNS});
        create index pair_ab on pair (a, b);
        create index pair_b on pair (b);
        create view v as select * from keyed;
        """
    )
    for table in ("plain", "keyed", "texty", "shadow", "nr"):
        conn.execute(f"create index {table}_a on {table} (a)")
        conn.execute(f"create index {table}_b on {table} (b)")
    rows = [row(i) for i in range(ROWS)]
    conn.executemany("insert into plain values (?, ?, ?, ?, ?)", rows)
    conn.executemany("insert into pair values (?, ?, ?, ?, ?)", rows)
    conn.executemany(
        "insert into keyed values (?, ?, ?, ?, ?, ?)", [(i * 2, *r) for i, r in enumerate(rows)]
    )
    for table in ("texty", "shadow", "nr"):
        conn.executemany(
            f"insert into {table} values (?, ?, ?, ?, ?, ?)",
            [(f"k{i:05}", *r) for i, r in enumerate(rows)],
        )
    conn.execute("analyze")
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def server(plans_db):
    from tests.conftest import ServerThread

    ds = Datasette([str(plans_db)], settings={"result_cache": False})
    with ServerThread(ds) as running:
        yield running
    ds.close()


# -- choosing ------------------------------------------------------------------------------


async def narrowing_for(path, table, equalities, params=None, ds=None):
    own = ds is None
    ds = ds or Datasette([str(path)])
    try:
        db = ds.get_database("plans")
        columns = await db.table_columns(table)
        params = params or {param: "a5" if column == "a" else 5 for column, param in equalities}
        return await plan_narrowing(ds, db, table, columns, equalities, params)
    finally:
        if own:
            ds.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("table", ["plain", "keyed", "texty"])
async def test_chosen_for_two_selective_indexed_equalities(plans_db, table):
    narrowing = await narrowing_for(plans_db, table, [("b", "p0"), ("a", "p1")])
    # The filter matching fewer rows (a: 1,000 per value) drives the join.
    assert narrowing.probes == (("a", "p1", f"{table}_a"), ("b", "p0", f"{table}_b"))
    assert narrowing.rowid == "rowid"
    assert {"a", "b"} <= narrowing.indexed
    # Its rowids are read once for the page: those of the rows with both values.
    with sqlite3.connect(plans_db) as conn:
        expected = [r[0] for r in conn.execute(
            f"select rowid from {table} where a = 'a5' and b = 5 order by rowid"
        )]
    assert len(expected) == 77
    assert sorted(int(i) for i in narrowing.ids.split(", ")) == expected


@pytest.mark.asyncio
async def test_a_column_named_rowid_leaves_another_name(plans_db):
    narrowing = await narrowing_for(plans_db, "shadow", [("a", "p0"), ("b", "p1")])
    assert narrowing.rowid == "_rowid_"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "table, equalities",
    [
        ("nr", [("a", "p0"), ("b", "p1")]),  # WITHOUT ROWID: no rowid to intersect on
        ("v", [("a", "p0"), ("b", "p1")]),  # a view has no indexes
        ("pair", [("a", "p0"), ("b", "p1")]),  # one index already covers both
        ("plain", [("a", "p0")]),  # nothing to intersect with
        ("plain", [("a", "p0"), ("price", "p1")]),  # price has no index
        ("plain", [("a", "p0"), ("missing", "p1")]),  # not a column
    ],
)
async def test_not_chosen_where_it_cannot_be_written(plans_db, table, equalities):
    assert await narrowing_for(plans_db, table, equalities) is None


@pytest.mark.asyncio
async def test_not_chosen_without_row_estimates(plans_db, tmp_path):
    copy = tmp_path / "plans.db"
    copy.write_bytes(plans_db.read_bytes())
    with sqlite3.connect(copy) as conn:
        conn.execute("drop table sqlite_stat1")
    assert await narrowing_for(copy, "plain", [("a", "p0"), ("b", "p1")]) is None


@pytest.mark.asyncio
async def test_not_chosen_when_a_filter_matches_much_of_the_table(tmp_path):
    path = tmp_path / "plans.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table t (a integer, b integer)")
        conn.executemany("insert into t values (?, ?)", [(i % 2, i % 3) for i in range(6000)])
        conn.execute("create index t_a on t (a)")
        conn.execute("create index t_b on t (b)")
        conn.execute("analyze")
    assert await narrowing_for(path, "t", [("a", "p0"), ("b", "p1")]) is None


# -- the SQL -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_rowids_not_read_when_too_many(plans_db, monkeypatch):
    from datasette import table_narrowing

    monkeypatch.setattr(table_narrowing, "MAX_IDS", 76)
    narrowing = await narrowing_for(plans_db, "plain", [("a", "p0"), ("b", "p1")])
    assert narrowing.probes and narrowing.ids is None


def query_for(narrowing, sort=None, desc=False, pks=("id",)):
    return TableQuery(
        table="keyed", is_view=False, pks=list(pks), use_rowid=False,
        select_columns=["id", "a", "b", "price"], where_clauses=['"a" = :p0', '"b" = :p1'],
        params={"p0": "a5", "p1": 5}, sort=sort, sort_desc=desc, page_size=7,
        column_types={"id": "INTEGER", "a": "TEXT", "b": "INTEGER", "price": "REAL"},
        narrowing=narrowing,
    )


@pytest.mark.asyncio
async def test_intersection_added_where_every_filtered_row_is_read(plans_db):
    narrowing = await narrowing_for(plans_db, "keyed", [("a", "p0"), ("b", "p1")])
    narrowing = narrowing.without_ids()
    marker = "rowid in (select n0.rowid"
    # Counts and facets always read every filtered row.
    assert marker in query_for(narrowing).count_sql()
    assert marker in query_for(narrowing).filtered_sql()
    # A page in key order, or in an indexed column's order, can stop after a page.
    for sort in (None, "id", "a"):
        assert marker not in query_for(narrowing, sort).page_sql_and_params(narrowed=True)[0]
    sorted_query = query_for(narrowing, "price", desc=True)
    assert marker in sorted_query.page_sql_and_params(narrowed=True)[0]
    # The SQL shown to users is the plain one.
    assert marker not in sorted_query.page_sql_and_params()[0]
    with sqlite3.connect(plans_db) as conn:
        sql, params = sorted_query.page_sql_and_params(narrowed=True)
        plan = " | ".join(r[3] for r in conn.execute("explain query plan " + sql, params))
        assert "COVERING INDEX keyed_a" in plan and "COVERING INDEX keyed_b" in plan
        plain_sql, _ = sorted_query.page_sql_and_params()
        assert conn.execute(sql, params).fetchall() == conn.execute(plain_sql, params).fetchall()


@pytest.mark.asyncio
async def test_rowids_read_serve_every_query(plans_db):
    narrowing = await narrowing_for(plans_db, "keyed", [("a", "p0"), ("b", "p1")])
    marker = f"rowid in ({narrowing.ids})"
    assert marker in query_for(narrowing).count_sql()
    for sort in (None, "id", "price"):
        sql, params = query_for(narrowing, sort).page_sql_and_params(narrowed=True)
        assert marker in sql
        plain_sql, _ = query_for(narrowing, sort).page_sql_and_params()
        assert marker not in plain_sql
        with sqlite3.connect(plans_db) as conn:
            narrowed_rows = conn.execute(sql, params).fetchall()
            assert narrowed_rows == conn.execute(plain_sql, params).fetchall()


@pytest.mark.asyncio
async def test_a_write_after_the_rowids_are_read_is_not_missed(plans_db, tmp_path):
    """A row written between reading the rowids and a query using them: the query is run
    again with the intersection written out, so the new row is counted."""
    path = tmp_path / "plans.db"
    path.write_bytes(plans_db.read_bytes())
    ds = Datasette([str(path)])
    try:
        narrowing = await narrowing_for(path, "keyed", [("a", "p0"), ("b", "p1")], ds=ds)
        query = query_for(narrowing)
        assert not narrowing.stale()
        with sqlite3.connect(path) as conn:
            conn.execute("insert into keyed (id, a, b, price) values (1000001, 'a5', 5, 1.0)")
        assert narrowing.stale()
        db = ds.get_database("plans")
        runs = []

        async def count():
            runs.append(query.count_sql())
            return (await db.execute(query.count_sql(), query.params)).rows[0][0]

        assert await query.checked(count) == 78
        assert len(runs) == 2 and "n0" in runs[1] and query.narrowing.ids is None
    finally:
        ds.close()


# -- the same answers over HTTP --------------------------------------------------------------

FILTERS = [
    "a=a5&b=5",
    "b=5&a=a5&price__gt=40",
    "a=a7&b=7&price__lt=90&created__startswith=2024-0",
    "a=a5&b=99",  # no row has that b
    "a=a5&b=5&_where=price is not null",
]
ORDERS = ["", "_sort_desc=price", "_sort=created", "_sort_desc=b"]
EXTRAS = (
    "_extra=count&_extra=facet_results&_extra=suggested_facets"
    "&_facet=a&_facet=created&_facet_date=created&_facet_array=tags"
)


def pages(server, path, walk=True):
    """Every page of `path`, following `next` links, as JSON bodies."""
    bodies = []
    url = server.url + path
    while url:
        response = httpx.get(url, timeout=60)
        assert response.status_code == 200, (url, response.text[:300])
        body = response.json()
        bodies.append(body)
        url = body.get("next_url") if walk else None
        assert len(bodies) < 20
    return bodies


def all_answers(server, table):
    answers = {}
    for filters in FILTERS:
        for order in ORDERS:
            path = f"/plans/{table}.json?{filters}&{order}&_size=30&_extra=next_url&{EXTRAS}"
            # Known and not this feature's: `_next` tokens of a table whose column
            # named `rowid` hides the rowid do not work, so only its first pages compare.
            answers[path] = pages(server, path, walk=table != "shadow")
    return answers


async def no_narrowing(*args, **kwargs):
    return None


@pytest.mark.parametrize(
    "table, rowids",
    [*((t, True) for t in ROWID_TABLES), ("keyed", False), ("shadow", False), ("nr", True),
     ("v", True)],
)
def test_same_answers_as_without_narrowing(server, monkeypatch, table, rowids):
    """Every answer with the narrowing (its rowids read once, or, when there would be too
    many, the intersection written into each query) equals the answer without."""
    from datasette import table_narrowing

    if not rowids:
        monkeypatch.setattr(table_narrowing, "MAX_IDS", -1)
    chosen = []

    async def spy(*args, **kwargs):
        narrowing = await plan_narrowing(*args, **kwargs)
        chosen.append(narrowing)
        return narrowing

    monkeypatch.setattr(page_data, "plan_narrowing", spy)
    narrowed = all_answers(server, table)
    # Rowid tables are narrowed; WITHOUT ROWID tables never; views are not even asked.
    assert any(chosen) == (table in ROWID_TABLES)
    assert chosen or table == "v"
    assert all((n.ids is not None) == rowids for n in chosen if n)
    monkeypatch.setattr(page_data, "plan_narrowing", no_narrowing)
    plain = all_answers(server, table)
    assert narrowed == plain
    path = f"/plans/{table}.json?a=a5&b=5&_sort_desc=price&_size=30&_extra=next_url&{EXTRAS}"
    first = narrowed[path]
    # The walks are real: several pages, counted and faceted rows.
    assert first[0]["count"] == 77
    if table != "shadow":
        assert len(first) == 3 and sum(len(page["rows"]) for page in first) == 77
    assert first[0]["facet_results"]["results"]["a"]["results"][0]["count"] == first[0]["count"]
    assert first[0]["facet_results"]["results"]["tags"]["results"]


def test_shown_sql_stays_plain(server):
    body = httpx.get(
        server.url + "/plans/keyed.json?a=a5&b=5&_sort=price&_extra=query", timeout=60
    ).json()
    assert body["query"]["sql"] == (
        'select id, a, b, price, created, tags from keyed where ("a" = :p0) and ("b" = :p1)'
        " order by price, id limit 101"
    )


@pytest.mark.asyncio
async def test_odd_table_column_and_index_names(tmp_path):
    path = tmp_path / "plans.db"
    with sqlite3.connect(path) as conn:
        conn.execute('create table [odd table] ([the a] text, "b]x" integer, price real)')
        conn.executemany(
            "insert into [odd table] values (?, ?, ?)",
            [(a, b, price) for a, b, price, _, _ in (row(i) for i in range(ROWS))],
        )
        conn.execute('create index [idx "one"] on [odd table] ([the a])')
        conn.execute('create index "idx]two" on [odd table] ("b]x")')
        conn.execute("analyze")
    ds = Datasette([str(path)])
    try:
        db = ds.get_database("plans")
        equalities = [("the a", "p0"), ("b]x", "p1")]
        params = {"p0": "a5", "p1": 5}
        columns = await db.table_columns("odd table")
        narrowing = await plan_narrowing(ds, db, "odd table", columns, equalities, params)
    finally:
        ds.close()
    assert narrowing is not None and narrowing.ids is not None
    for form in (narrowing, narrowing.without_ids()):
        query = TableQuery(
            table="odd table", is_view=False, pks=["rowid"], use_rowid=True,
            select_columns=["the a", "b]x", "price"],
            where_clauses=['"the a" = :p0', '"b]x" = :p1'], params=params, sort="price",
            narrowing=form,
        )
        with sqlite3.connect(path) as conn:
            narrowed = conn.execute(*query.page_sql_and_params(narrowed=True)).fetchall()
            plain = conn.execute(*query.page_sql_and_params()).fetchall()
            assert narrowed == plain and len(plain) == 77
            assert conn.execute(query.count_sql(), params).fetchone()[0] == 77


@pytest.mark.asyncio
async def test_column_statistics_tell_a_common_value_from_a_rare_one(
    make_ds, tmp_path, monkeypatch
):
    """With column statistics, a skewed column's common value (60% of the rows, far above
    its column's average) does not get the intersection; a rare value of it does."""
    from datasette import table_narrowing
    from datasette.internal.stats import get_indexer

    # A small table, so a driving filter of 100 rows counts.
    monkeypatch.setattr(table_narrowing, "MIN_DRIVING_ROWS", 50)

    path = tmp_path / "plans.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table t (id integer primary key, a integer, b integer)")
        rows = [(i, 0 if i % 5 < 3 else i % 400, i % 97) for i in range(40000)]
        conn.executemany("insert into t values (?, ?, ?)", rows)
        conn.execute("create index t_a on t (a)")
        conn.execute("create index t_b on t (b)")
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    await get_indexer(ds).run_until_idle()
    db = ds.get_database("plans")
    columns = await db.table_columns("t")
    equalities = [("a", "p0"), ("b", "p1")]

    async def plan(a_value):
        return await plan_narrowing(ds, db, "t", columns, equalities, {"p0": a_value, "p1": "5"})

    # a = 0 holds 24,000 rows, far over a tenth of the table: no intersection. (Its
    # column's average, 40,000 rows over 161 values, would have said 248 and chosen it.)
    assert await plan("0") is None
    # a = 3 (100 rows) drives, b = 5 (413 rows) is a selective probe.
    rare = await plan("3")
    assert [probe[0] for probe in rare.probes] == ["a", "b"]
    with sqlite3.connect(path) as conn:
        expected = [r[0] for r in conn.execute("select id from t where a = 3 and b = 5")]
    assert sorted(int(i) for i in rare.ids.split(", ")) == sorted(expected)
    # The counts it planned with: the filter's text matched as the typed column would.
    from datasette.internal.stats import value_counts

    counts = await value_counts(ds, "plans", "t", {"a": "0", "b": "5.0", "missing": "1"})
    assert counts == {"a": 24000, "b": 413}
    assert await value_counts(ds, "plans", "t", {"a": "nothing"}) == {"a": 0}
