"""Column statistics against brute force: each statistic the indexer stores equals what one
plain SQL query over the whole table gives, on the read-API fixtures and on generated tables
with nulls, mixed types, JSON, dates, odd names, blobs, invalid UTF-8 and huge text.

The indexer runs in small batches (7 rows) so that merging across batches is exercised.
"""

import json
import sqlite3

import pytest

from datasette.internal.stats import compute, get_indexer, table_statistics
from datasette.internal.stats import store

from .fixtures import make_read_api_db

DATE = compute.DATE_GLOB

GENERATED_SQL = r"""
CREATE TABLE "odd ""name] with ]brackets" (
    id INTEGER PRIMARY KEY,
    [mixed value] ,
    "quoted""col" TEXT,
    doc TEXT,
    blob_col BLOB,
    many INTEGER,
    "select" TEXT
);
CREATE TABLE keyed (a TEXT, b INTEGER, note, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE TABLE shadowed (rowid TEXT, oid TEXT, value INTEGER);
CREATE TABLE empty_table (x INTEGER, y TEXT);
CREATE TABLE nocase (name TEXT COLLATE NOCASE);
CREATE VIEW not_indexed AS SELECT 1 AS one;
"""


def make_generated_db(path):
    conn = sqlite3.connect(str(path))
    conn.executescript(GENERATED_SQL)
    rows = []
    kinds = [
        None,
        7,
        7.0,
        2.5,
        "7",
        "2021-03-04",
        "2021-03-04T10:11:12Z",
        '{"a": [1, 2]}',
        "[1, 2, 3]",
        "[not json",
        b"\x00\x01binary",
        "",
        "Ünïcode ✓",
    ]
    for i in range(1, 241):
        mixed = kinds[i % len(kinds)]
        quoted = [None, "alpha", "Alpha", "beta", "2020-01-01"][i % 5]
        doc = json.dumps({"i": i}) if i % 3 == 0 else (json.dumps([i, "x"]) if i % 3 == 1 else None)
        blob = bytes([i % 256]) * (i % 4) if i % 6 else None
        rows.append((i, mixed, quoted, doc, blob, i * 10 % 1300, ["x", "y"][i % 2]))
    conn.executemany('INSERT INTO "odd ""name] with ]brackets" VALUES (?, ?, ?, ?, ?, ?, ?)', rows)
    # Invalid UTF-8 as text, and a huge text value (2 MB).
    conn.execute(
        'INSERT INTO "odd ""name] with ]brackets" VALUES (1000, cast(x\'ff61\' as text), '
        "cast(x'c3' as text), null, x'ffff', 5, 'x')"
    )
    conn.execute(
        'INSERT INTO "odd ""name] with ]brackets" VALUES (1001, ?, ?, ?, null, 6, null)',
        ("h" * 2_000_000, "z" * 300, "[" + "1," * 1000 + "1]"),
    )
    keyed = []
    for i in range(60):
        keyed.append((["a", "b", "ä", "A"][i % 4] + str(i % 7), i, [None, 1, "one", 1.5][i % 4]))
    conn.executemany("INSERT OR IGNORE INTO keyed VALUES (?, ?, ?)", keyed)
    conn.execute("INSERT INTO keyed VALUES (cast(x'ff' as text), 1, 'bad key')")
    conn.executemany(
        "INSERT INTO shadowed VALUES (?, ?, ?)", [(f"r{i}", f"o{i}", i % 3) for i in range(30)]
    )
    conn.executemany("INSERT INTO nocase VALUES (?)", [("abc",), ("ABC",), ("Abc",), ("b",)])
    conn.commit()
    conn.close()
    return path


def brute_force(conn, table, column):
    """Every statistic of one column, from one query over the whole table."""
    t, c = compute.quote(table), compute.quote(column)
    text = f"typeof({c}) = 'text'"
    kind = f"case when {text} then case when json_valid({c}) then json_type({c}) end end"
    row = conn.execute(
        f"""select count(*), sum({c} is null), count(distinct {c} collate binary),
        min({c} collate binary), max({c} collate binary),
        sum(typeof({c}) = 'integer'), sum(typeof({c}) = 'real'), sum({text}),
        sum(typeof({c}) = 'blob'), sum(({kind}) = 'object'), sum(({kind}) = 'array'),
        sum({text} and {c} glob '{DATE}'),
        avg(case when {text} then length({c}) end), max(case when {text} then length({c}) end)
        from {t}"""
    ).fetchone()
    names = (
        "rows null_count distinct min max integer_count real_count text_count blob_count "
        "json_object_count json_array_count date_count avg_text_length max_text_length"
    ).split()
    result = dict(zip(names, row))
    for key in names:
        if key.endswith("_count") and result[key] is None:
            result[key] = 0
    result["values"] = conn.execute(
        f"select {c}, count(*) from {t} where {c} is not null group by {c} collate binary"
    ).fetchall()
    return result


def truncated(value):
    if isinstance(value, (str, bytes)):
        return value[: compute.STORED_VALUE_LIMIT]
    return value


def brute_connection(path):
    conn = sqlite3.connect(str(path))
    conn.text_factory = lambda b: b.decode("utf-8", "replace")
    return conn


async def index_all(ds, batch_rows=7):
    indexer = get_indexer(ds)
    indexer.fixed_batch_rows = batch_rows
    await indexer.run_until_idle()
    return indexer


def assert_matches(conn, stats, table):
    assert stats is not None, table
    assert stats["state"] == "done", (table, stats)
    assert stats["stale"] is False
    columns = {c["name"]: c for c in stats["columns"]}
    shape_columns = [r[1] for r in conn.execute(f"PRAGMA table_info({compute.quote(table)})")]
    assert list(columns) == shape_columns
    for name, got in columns.items():
        expected = brute_force(conn, table, name)
        label = (table, name)
        assert stats["row_count"] == expected["rows"], label
        assert got["null_count"] == expected["null_count"], label
        if expected["distinct"] <= compute.DISTINCT_CAP:
            assert got["distinct_exact"] is True, label
            assert got["distinct_count"] == expected["distinct"], label
        else:
            assert got["distinct_exact"] is False, label
            assert compute.DISTINCT_CAP < got["distinct_count"] <= expected["distinct"], label
        assert got["min_value"] == truncated(expected["min"]), label
        assert got["max_value"] == truncated(expected["max"]), label
        for key in (
            "integer_count",
            "real_count",
            "text_count",
            "blob_count",
            "json_object_count",
            "json_array_count",
            "date_count",
            "max_text_length",
        ):
            assert got[key] == expected[key], (label, key)
        if expected["avg_text_length"] is None:
            assert got["avg_text_length"] is None, label
        else:
            assert got["avg_text_length"] == pytest.approx(expected["avg_text_length"]), label
        if got["values_kept"]:
            assert expected["blob_count"] == 0, label
            expected_values = sorted(expected["values"], key=lambda r: (-r[1], repr(r[0])))
            got_values = sorted(
                [(v["value"], v["count"]) for v in got["values"]], key=lambda r: (-r[1], repr(r[0]))
            )
            assert len(got["values"]) == min(len(expected_values), 10_000_000), label
            # table_statistics lists the most frequent values; check them all.
            top = dict(expected["values"])
            for value, count in got_values:
                assert top[value] == count, (label, value)
        else:
            assert (
                expected["distinct"] > compute.DISTINCT_CAP
                or expected["blob_count"] > 0
                or (expected["max_text_length"] or 0) > compute.KEPT_VALUE_LIMIT
                or any(isinstance(v, str) and "\ufffd" in v for v, _ in expected["values"])
            ), label


@pytest.mark.asyncio
async def test_fixtures_match_brute_force(make_ds, tmp_path):
    path = make_read_api_db(tmp_path / "fixtures.db")
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    await index_all(ds)
    conn = brute_connection(path)
    tables = [
        r[0]
        for r in conn.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
        )
    ]
    assert "big" in tables and "compound_primary_key" in tables
    for table in tables:
        stats = await table_statistics(ds, "fixtures", table, top_values=10_000)
        assert_matches(conn, stats, table)
    # Views are not indexed.
    assert await table_statistics(ds, "fixtures", "simple_view") is None


@pytest.mark.asyncio
async def test_generated_tables_match_brute_force(make_ds, tmp_path):
    path = make_generated_db(tmp_path / "generated.db")
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    await index_all(ds)
    conn = brute_connection(path)
    for table in ('odd "name] with ]brackets', "keyed", "shadowed", "empty_table", "nocase"):
        stats = await table_statistics(ds, "generated", table, top_values=10_000)
        assert_matches(conn, stats, table)
    assert await table_statistics(ds, "generated", "not_indexed") is None


@pytest.mark.asyncio
async def test_specific_statistics_of_generated_table(make_ds, tmp_path):
    """A few values spelled out, so a shared mistake in both computations is caught too."""
    path = make_generated_db(tmp_path / "generated.db")
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    await index_all(ds)
    stats = await table_statistics(ds, "generated", 'odd "name] with ]brackets')
    columns = {c["name"]: c for c in stats["columns"]}
    assert stats["row_count"] == 242
    doc = columns["doc"]
    assert doc["json_object_count"] == 80 and doc["json_array_count"] == 81
    assert doc["max_text_length"] == 2003
    mixed = columns["mixed value"]
    # 7 and 7.0 are one value, "7" another; blobs mean no per-value counts.
    assert mixed["blob_count"] > 0 and mixed["values_kept"] is False
    assert mixed["date_count"] == sum(1 for i in range(1, 241) if i % 13 in (5, 6))
    assert mixed["max_text_length"] == 2_000_000
    quoted = columns['quoted"col']
    assert quoted["values_kept"] is False  # a 300-character value is never kept
    many = columns["many"]
    assert many["distinct_exact"] is True and many["distinct_count"] == 132
    nocase = {c["name"]: c for c in (await table_statistics(ds, "generated", "nocase"))["columns"]}
    # Compared as BINARY: three spellings of abc are three values.
    assert nocase["name"]["distinct_count"] == 4
    assert nocase["name"]["min_value"] == "ABC" and nocase["name"]["max_value"] == "b"
    assert [v["value"] for v in nocase["name"]["values"]] == ["ABC", "Abc", "abc", "b"]


@pytest.mark.asyncio
async def test_distinct_beyond_cap_is_a_lower_bound(make_ds, tmp_path):
    path = tmp_path / "wide.db"
    conn = sqlite3.connect(str(path))
    conn.execute("create table wide (n integer, label text)")
    conn.executemany("insert into wide values (?, ?)", [(i, f"label {i % 3}") for i in range(1500)])
    conn.commit()
    conn.close()
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    await index_all(ds, batch_rows=400)
    stats = await table_statistics(ds, "wide", "wide")
    n, label = stats["columns"]
    assert n["distinct_exact"] is False and n["distinct_count"] == compute.DISTINCT_CAP + 1
    assert n["values"] is None and n["min_value"] == 0 and n["max_value"] == 1499
    assert label["distinct_exact"] is True and label["distinct_count"] == 3
    assert label["values"] == [
        {"value": "label 0", "count": 500},
        {"value": "label 1", "count": 500},
        {"value": "label 2", "count": 500},
    ]


@pytest.mark.asyncio
async def test_batches_merge_to_the_single_batch_result(make_ds, tmp_path):
    """However the rows are cut into batches, the result is the same."""
    path = make_generated_db(tmp_path / "generated.db")
    conn = sqlite3.connect(str(path))
    compute.prepare_connection(conn)
    results = []
    for limit in (1, 5, 64, 100_000):
        shape = compute.table_shape(conn, "keyed")
        state, position, finished = compute.new_state(shape), None, False
        while not finished:
            position, _, finished = compute.run_batch(conn, shape, state, position, limit)
        results.append(compute.finish(shape, state))
    assert all(r == results[0] for r in results)
    assert results[0][0] == 61


@pytest.mark.asyncio
async def test_values_are_stored_once_across_columns(make_ds, tmp_path):
    path = tmp_path / "shared.db"
    conn = sqlite3.connect(str(path))
    conn.execute("create table one (a text, b text)")
    conn.executemany("insert into one values (?, ?)", [("same", "same"), ("other", "same")])
    conn.commit()
    conn.close()
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    await index_all(ds)
    internal = ds.get_internal_database()
    values = await internal.execute_fn(
        lambda c: c.execute("select value from stats_value_ids order by value").fetchall()
    )
    assert [tuple(v) for v in values] == [("other",), ("same",)]
    counts = await internal.execute_fn(
        lambda c: c.execute("select count(*) from stats_value_counts").fetchone()[0]
    )
    assert counts == 3


@pytest.mark.asyncio
async def test_unreadable_table_is_recorded_as_error(make_ds, tmp_path):
    path = tmp_path / "vt.db"
    conn = sqlite3.connect(str(path))
    conn.execute("create table fine (x)")
    conn.execute("insert into fine values (1)")
    conn.commit()
    conn.close()
    ds = make_ds([str(path)])
    await ds.invoke_startup()
    indexer = get_indexer(ds)
    await indexer.discover()
    internal = ds.get_internal_database()
    # A table that vanished between discovery and indexing: an error, then the rest goes on.
    await internal.execute_write_fn(lambda c: store.sync_tables(c, "vt", ["ghost", "fine"]))
    while await indexer.step(pause=False):
        pass
    states = {r["table"]: r for r in await internal.execute_fn(store.tables_state)}
    assert states["ghost"]["state"] == "error"
    assert "ghost" in states["ghost"]["error"]
    assert states["fine"]["state"] == "done"
