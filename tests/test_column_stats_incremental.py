"""Column statistics kept current by the write API's inserts, updates and deletes.

After each sequence of writes through the write API (datasette.client), every statistic
equals a brute-force computation with plain SQL, or is flagged as possibly stale (min,
max, longest text) and equal once the indexer has rechecked it; and no table was indexed
again (no new column-stats job, `indexed_at` unchanged). Writes whose rows are not known
(upsert, replace, `execute_write`, another process) still queue the table for indexing.
"""

import asyncio
import json
import sqlite3

import pytest

from datasette.internal.stats import compute, get_indexer, table_statistics
from datasette.internal.stats.changes import get_ledger, track, write_tracked
from datasette.app import Datasette
from datasette.internal.stats.indexer import BUSY_PAUSE_RATIO

from .test_column_stats import brute_connection, brute_force, truncated

KINDS = [
    None,
    7,
    -3,
    2.5,
    "7",
    "2021-03-04",
    '{"a": [1, 2]}',
    "[1, 2, 3]",
    "[not json",
    "",
    "Ünïcode ✓",
    "zeta",
]


def make_db(path, rows=60):
    conn = sqlite3.connect(str(path))
    conn.executescript(
        """
        CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, score REAL, mixed, tag TEXT);
        CREATE TABLE keyed (code TEXT, n INTEGER, note, PRIMARY KEY (code, n)) WITHOUT ROWID;
        CREATE TABLE other (x INTEGER);
        """
    )
    conn.executemany(
        "INSERT INTO items VALUES (?, ?, ?, ?, ?)",
        [
            (i, f"name {i % 17}", i * 1.5 if i % 5 else None, KINDS[i % len(KINDS)],
             ["red", "green", "blue", None][i % 4])
            for i in range(1, rows + 1)
        ],
    )
    conn.executemany(
        "INSERT INTO keyed VALUES (?, ?, ?)", [(f"c{i % 3}", i, KINDS[i % len(KINDS)]) for i in range(12)]
    )
    conn.executemany("INSERT INTO other VALUES (?)", [(i,) for i in range(5)])
    conn.commit()
    conn.close()
    return path


async def start(make_ds, path):
    ds = make_ds([str(path)], settings={"column_stats": True})
    await ds.invoke_startup()
    indexer = get_indexer(ds)
    indexer.fixed_batch_rows = 7
    await indexer.run_until_idle()
    token = ds.create_token("root")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return ds, indexer, headers


async def post(ds, path, body, headers):
    response = await ds.client.post(path, content=json.dumps(body), headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def indexed_at(ds, table):
    stats = await table_statistics(ds, "data", table)
    return stats["indexed_at"]


async def column_stats_jobs(ds):
    internal = ds.get_internal_database()
    return await internal.execute_fn(
        lambda c: c.execute("select count(*) from jobs where kind = 'column-stats'").fetchone()[0]
    )


def same(value):
    """Kept values merge 1 and 1.0, as SQLite's DISTINCT does."""
    return repr(float(value)) if isinstance(value, (int, float)) else repr(value)


def check(conn, stats, table, allow_flags=True):
    """Every statistic equals brute force; a flagged side is skipped (returns the flags)."""
    assert stats["state"] == "done" and stats["stale"] is False, stats
    flags = {}
    for got in stats["columns"]:
        name = got["name"]
        label = (table, name)
        expected = brute_force(conn, table, name)
        assert stats["row_count"] == expected["rows"], label
        assert got["null_count"] == expected["null_count"], label
        for key in (
            "integer_count", "real_count", "text_count", "blob_count",
            "json_object_count", "json_array_count", "date_count",
        ):
            assert got[key] == expected[key], (label, key)
        if expected["avg_text_length"] is None:
            assert got["avg_text_length"] is None, label
        else:
            assert got["avg_text_length"] == pytest.approx(expected["avg_text_length"]), label
        stale = got["stale_extremes"]
        flags[name] = stale
        assert allow_flags or not stale, label
        if not stale & 1:
            assert got["min_value"] == truncated(expected["min"]), label
        if not stale & 2:
            assert got["max_value"] == truncated(expected["max"]), label
        if not stale & 4:
            assert got["max_text_length"] == expected["max_text_length"], label
        if got["distinct_exact"]:
            assert got["distinct_count"] == expected["distinct"], label
        else:  # "at least": never more than there are
            assert got["distinct_count"] <= expected["distinct"], label
        if got["values_kept"]:
            assert sorted((same(v["value"]), v["count"]) for v in got["values"]) == sorted(
                (same(v), n) for v, n in expected["values"]
            ), label
    return flags


async def check_all(ds, path, tables=("items", "keyed", "other"), allow_flags=True):
    conn = brute_connection(path)
    try:
        flags = {}
        for table in tables:
            stats = await table_statistics(ds, "data", table, top_values=100_000)
            flags[table] = check(conn, stats, table, allow_flags)
        return flags
    finally:
        conn.close()


@pytest.mark.asyncio
async def test_inserts_updates_deletes_match_brute_force_without_reindexing(make_ds, tmp_path):
    path = make_db(tmp_path / "data.db")
    ds, indexer, headers = await start(make_ds, path)
    await check_all(ds, path, allow_flags=False)
    jobs, first_indexed = await column_stats_jobs(ds), await indexed_at(ds, "items")
    new_rows = [
        {"name": "aardvark", "score": -100, "mixed": '{"new": true}', "tag": "purple"},
        {"name": None, "score": 1e9, "mixed": "2030-01-01", "tag": None},
        {"id": 5000, "name": "zzz top", "mixed": 42},
        {"name": "x" * 300, "mixed": [1, 2]},  # longer than the stored min/max cut
    ]
    await post(ds, "/data/items/-/insert", {"rows": new_rows}, headers)
    await post(ds, "/data/items/-/insert", {"row": {"id": 0, "name": "first"}}, headers)
    await post(ds, "/data/items/3/-/update", {"update": {"tag": "teal", "mixed": None}}, headers)
    await post(ds, "/data/items/5000/-/update", {"update": {"name": "mid"}}, headers)
    await post(ds, "/data/items/4/-/update", {"update": {"id": 4004, "score": 3.25}}, headers)
    await post(ds, "/data/keyed/c1,4/-/update", {"update": {"note": "changed"}}, headers)
    await post(ds, "/data/keyed/-/insert", {"row": {"code": "c9", "n": 99, "note": 1.5}}, headers)
    for pk in ("0", "61", "7"):  # the smallest id, the new smallest score, a plain row
        await post(ds, f"/data/items/{pk}/-/delete", {}, headers)
    await post(ds, "/data/keyed/c0,0/-/delete", {}, headers)
    await indexer.poll_changes()
    flags = await check_all(ds, path)
    # Deleting the row holding the min id and the smallest score flagged those sides.
    assert flags["items"]["id"] & 1 and flags["items"]["score"] & 1
    stats_json = (await ds.client.get("/data/items/-/stats.json")).json()
    by_name = {c["name"]: c for c in stats_json["columns"]}
    assert "min" in by_name["id"]["possibly_stale"] and "max" not in by_name["id"]["possibly_stale"]
    assert stats_json["updated_at"] is not None
    await indexer.run_until_idle()
    await check_all(ds, path, allow_flags=False)
    assert await column_stats_jobs(ds) == jobs
    assert await indexed_at(ds, "items") == first_indexed
    assert get_ledger(ds).events_applied == 11


@pytest.mark.asyncio
async def test_until_applied_the_statistics_are_not_presented_as_current(make_ds, tmp_path):
    path = make_db(tmp_path / "data.db")
    ds, indexer, headers = await start(make_ds, path)
    await post(ds, "/data/items/-/insert", {"row": {"name": "new"}}, headers)
    early = (await ds.client.get("/data/items/-/stats.json")).json()
    assert early["stale"] is True and early["state"] == "done"
    await indexer.poll_changes()
    settled = (await ds.client.get("/data/items/-/stats.json")).json()
    assert settled["stale"] is False and settled["row_count"] == 61


@pytest.mark.asyncio
async def test_concurrent_writes_apply_in_commit_order(make_ds, tmp_path):
    path = make_db(tmp_path / "data.db")
    ds, indexer, headers = await start(make_ds, path)
    jobs = await column_stats_jobs(ds)

    async def insert_then_delete(i):
        body = await post(
            ds, "/data/items/-/insert", {"row": {"name": f"c{i}", "score": 1000 + i}}, headers
        )
        await post(ds, f"/data/items/{body['rows'][0]['id']}/-/delete", {}, headers)

    await asyncio.gather(*(insert_then_delete(i) for i in range(15)))
    await asyncio.gather(
        *(post(ds, "/data/items/-/insert", {"row": {"name": f"k{i}", "score": -i}}, headers)
          for i in range(15))
    )
    await indexer.poll_changes()
    await check_all(ds, path, ("items",))
    await indexer.run_until_idle()
    await check_all(ds, path, ("items",), allow_flags=False)
    assert await column_stats_jobs(ds) == jobs


@pytest.mark.asyncio
async def test_writes_with_unknown_old_rows_reindex(make_ds, tmp_path):
    path = make_db(tmp_path / "data.db")
    ds, indexer, headers = await start(make_ds, path)
    first = await indexed_at(ds, "items")
    await post(ds, "/data/items/-/upsert", {"rows": [{"id": 2, "name": "upserted"}]}, headers)
    await indexer.poll_changes()
    queued = await table_statistics(ds, "data", "items")
    assert queued["stale"] is True and queued["state"] == "queued"
    await indexer.run_until_idle()
    assert await indexed_at(ds, "items") != first
    await check_all(ds, path, allow_flags=False)
    # A tracked write after an untracked one is exact again.
    again = await indexed_at(ds, "items")
    await post(ds, "/data/items/-/insert", {"row": {"name": "after"}}, headers)
    await indexer.run_until_idle()
    assert await indexed_at(ds, "items") == again
    await check_all(ds, path, allow_flags=False)


@pytest.mark.asyncio
async def test_sql_writes_and_other_processes_still_reindex(make_ds, tmp_path):
    path = make_db(tmp_path / "data.db")
    ds, indexer, headers = await start(make_ds, path)
    await post(ds, "/data/items/-/insert", {"row": {"name": "tracked"}}, headers)
    await indexer.run_until_idle()
    first = await indexed_at(ds, "items")
    # execute_write between two tracked writes: the whole database is indexed again.
    await ds.get_database("data").execute_write("update items set score = 0 where id = 1")
    await post(ds, "/data/items/-/insert", {"row": {"name": "tracked 2"}}, headers)
    await indexer.run_until_idle()
    second = await indexed_at(ds, "items")
    assert second != first
    await check_all(ds, path, allow_flags=False)
    # Another process.
    conn = sqlite3.connect(str(path))
    conn.execute("delete from items where id = 2")
    conn.commit()
    conn.close()
    await post(ds, "/data/items/-/insert", {"row": {"name": "tracked 3"}}, headers)
    await indexer.run_until_idle()
    assert await indexed_at(ds, "items") != second
    await check_all(ds, path, allow_flags=False)


@pytest.mark.asyncio
async def test_a_table_being_indexed_starts_over(make_ds, tmp_path):
    path = make_db(tmp_path / "data.db", rows=80)
    ds, indexer, headers = await start(make_ds, path)
    await ds.get_database("data").execute_write("update items set tag = 'x' where id = 1")
    await indexer.poll_changes()
    indexer.fixed_batch_rows = 10
    while indexer._run is None or indexer._run.table != "items":
        assert await indexer.step(pause=False)
    await indexer.step(pause=False)  # part way through the table
    await post(ds, "/data/items/-/insert", {"row": {"name": "during", "score": 1e12}}, headers)
    await post(ds, "/data/items/10/-/delete", {}, headers)
    await indexer.run_until_idle()
    await check_all(ds, path, allow_flags=False)


@pytest.mark.asyncio
async def test_distinct_without_a_list_stays_a_true_lower_bound(make_ds, tmp_path):
    path = tmp_path / "data.db"
    conn = sqlite3.connect(str(path))
    conn.execute("create table wide (id integer primary key, v integer, b blob)")
    conn.executemany(
        "insert into wide values (?, ?, ?)",
        [(i, i, bytes([i % 7])) for i in range(1, compute.DISTINCT_CAP + 20)],
    )
    conn.commit()
    conn.close()
    ds, indexer, headers = await start(make_ds, path)
    for pk in range(1, 40):
        await post(ds, f"/data/wide/{pk}/-/delete", {}, headers)
    await post(ds, "/data/wide/-/insert", {"row": {"v": 5}}, headers)
    await indexer.run_until_idle()
    stats = await table_statistics(ds, "data", "wide")
    columns = {c["name"]: c for c in stats["columns"]}
    assert columns["v"]["distinct_exact"] is False
    assert columns["v"]["distinct_count"] <= compute.DISTINCT_CAP + 18 - 39
    assert columns["b"]["distinct_exact"] is False and columns["b"]["distinct_count"] <= 7
    check(brute_connection(path), stats, "wide", allow_flags=False)


@pytest.mark.asyncio
async def test_a_restart_after_tracked_writes_does_not_reindex(make_ds, tmp_path):
    path = make_db(tmp_path / "data.db")
    internal = tmp_path / "internal.db"
    ds = make_ds([str(path)], internal=str(internal), settings={"column_stats": True})
    await ds.invoke_startup()
    indexer = get_indexer(ds)
    await indexer.run_until_idle()
    token = ds.create_token("root")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    await post(ds, "/data/items/-/insert", {"row": {"name": "kept"}}, headers)
    await indexer.run_until_idle()
    first = await indexed_at(ds, "items")
    ds.close()
    again = make_ds([str(path)], internal=str(internal), settings={"column_stats": True})
    await again.invoke_startup()
    await get_indexer(again).run_until_idle()
    assert await indexed_at(again, "items") == first
    await check_all(again, path, allow_flags=False)


@pytest.mark.asyncio
async def test_a_trigger_touching_other_rows_reindexes_the_database(make_ds, tmp_path):
    path = make_db(tmp_path / "data.db")
    conn = sqlite3.connect(str(path))
    conn.execute(
        "create trigger count_items after insert on items begin "
        "insert into other (x) values (new.id); end"
    )
    conn.commit()
    conn.close()
    ds, indexer, headers = await start(make_ds, path)
    first_other = await indexed_at(ds, "other")
    await post(ds, "/data/items/-/insert", {"row": {"name": "with trigger"}}, headers)
    await indexer.poll_changes()
    other = await table_statistics(ds, "data", "other")
    assert other["stale"] is True
    await indexer.run_until_idle()
    assert await indexed_at(ds, "other") != first_other
    await check_all(ds, path, allow_flags=False)


@pytest.mark.asyncio
async def test_a_write_whose_outcome_is_unknown_reindexes_its_table(make_ds, tmp_path):
    path = make_db(tmp_path / "data.db")
    ds, indexer, headers = await start(make_ds, path)
    db = ds.get_database("data")
    first_items, first_other = await indexed_at(ds, "items"), await indexed_at(ds, "other")

    async def committed_then_lost(fn):
        # The write commits, but the request never hears so (a failure after the work,
        # a cancelled request): the statistics must not guess.
        def run(conn):
            conn.execute("BEGIN")
            fn(conn)
            conn.commit()

        await db.execute_write_fn(run)
        raise RuntimeError("the answer was lost")

    def insert(conn):
        conn.execute("insert into items (name) values ('lost answer')")

    tracked = await track(ds, db, "items", rows=[{"name": "lost answer"}])
    assert tracked is not None
    with pytest.raises(RuntimeError):
        await write_tracked(tracked, committed_then_lost, insert)
    await get_ledger(ds).apply_now()
    assert (await table_statistics(ds, "data", "items"))["state"] == "queued"
    await indexer.run_until_idle()
    assert await indexed_at(ds, "items") != first_items
    assert await indexed_at(ds, "other") == first_other  # only that table
    await check_all(ds, path, allow_flags=False)


@pytest.mark.asyncio
async def test_ignored_rows_count_for_nothing(make_ds, tmp_path):
    path = make_db(tmp_path / "data.db")
    ds, indexer, headers = await start(make_ds, path)
    jobs = await column_stats_jobs(ds)
    rows = [{"id": 1, "name": "exists"}, {"id": 900, "name": "new"}, {"name": "auto"}]
    await post(ds, "/data/items/-/insert", {"rows": rows, "ignore": True}, headers)
    keyed = [{"code": "c0", "n": 0, "note": "exists"}, {"code": "new", "n": 1, "note": "new"}]
    await post(ds, "/data/keyed/-/insert", {"rows": keyed, "ignore": True}, headers)
    await indexer.run_until_idle()
    await check_all(ds, path, allow_flags=False)
    assert await column_stats_jobs(ds) == jobs
    assert get_ledger(ds).events_applied == 2


@pytest.mark.asyncio
async def test_rows_that_cannot_be_found_again_reindex(make_ds, tmp_path):
    path = make_db(tmp_path / "data.db")
    conn = sqlite3.connect(str(path))
    conn.execute("create table defaulted (code text default 'd' primary key, v) without rowid")
    conn.commit()
    conn.close()
    ds, indexer, headers = await start(make_ds, path)
    first = await indexed_at(ds, "items")
    await post(ds, "/data/defaulted/-/insert", {"row": {"v": 1}}, headers)
    await indexer.run_until_idle()
    assert (await table_statistics(ds, "data", "defaulted"))["row_count"] == 1
    assert await indexed_at(ds, "items") != first  # not carried over: indexed again
    await check_all(ds, path, ("items", "keyed", "other", "defaulted"), allow_flags=False)


def test_indexer_backs_off_while_requests_arrive(tmp_path):
    path = tmp_path / "busy.db"
    sqlite3.connect(path).execute("create table t (id integer primary key)").connection.close()
    ds = Datasette([str(path)])
    indexer = get_indexer(ds)
    assert indexer._pause_ratio_now() == indexer.pause_ratio  # idle
    asyncio.run(ds.client.get("/-/versions.json"))
    assert ds.requests_started >= 1
    assert indexer._pause_ratio_now() == indexer.pause_ratio * BUSY_PAUSE_RATIO
    assert indexer._pause_ratio_now() == indexer.pause_ratio  # quiet again
