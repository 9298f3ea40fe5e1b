"""The result cache (datasette/internal/cache): table counts and facet results reused while
their database is unchanged, kept in the internal database, and invalidated exactly when
the data or the schema changes, whoever changed it."""

import sqlite3
import subprocess
import sys

import httpx
import pytest

from datasette.internal.cache import deterministic
from datasette.tracer import capture_traces

# A filter, a count and two facets: the work the cache exists to spare.
PAGE = "/data/plants.json?_extra=count&_facet=colour&_facet_date=planted&colour=red"
PAGE_SQL_MARKERS = ("count(*)", "group by")


def make_plants(path, rows=30):
    conn = sqlite3.connect(str(path))
    with conn:
        conn.execute(
            "create table plants (id integer primary key, name text, colour text, planted text)"
        )
        conn.executemany(
            "insert into plants (name, colour, planted) values (?, ?, ?)",
            [
                (f"plant {n}", ("red", "green", "blue")[n % 3], f"2024-01-{1 + n % 4:02d}")
                for n in range(rows)
            ],
        )
    conn.close()
    return path


@pytest.fixture
def data_path(tmp_path):
    return make_plants(tmp_path / "data.db")


def expensive_sql(traces):
    """The count and facet queries among the traced SQL (not the page's own rows)."""
    return [
        t["sql"]
        for t in traces
        if t.get("type") == "sql"
        and "result_cache" not in t["sql"]
        and any(marker in t["sql"] for marker in PAGE_SQL_MARKERS)
    ]


async def get_traced(ds, path):
    traces = []
    with capture_traces(traces):
        response = await ds.client.get(path)
    assert response.status_code == 200, response.text
    return response.json(), expensive_sql(traces)


def summary(body):
    """The count and the facet values of a table JSON body."""
    facets = body["facet_results"]["results"]
    return body["count"], {
        name: [(v["value"], v["count"]) for v in facet["results"]]
        for name, facet in sorted(facets.items())
    }


@pytest.mark.asyncio
async def test_second_identical_request_runs_no_count_or_facet_sql(make_ds, data_path):
    ds = make_ds([str(data_path)])
    first, first_sql = await get_traced(ds, PAGE)
    second, second_sql = await get_traced(ds, PAGE)
    assert len(first_sql) >= 3  # the count and the two facets ran
    assert second_sql == []
    assert summary(first) == summary(second) == (
        10,
        {"colour": [("red", 10)], "planted": [(f"2024-01-0{d}", n) for d, n in
                                               ((1, 3), (4, 3), (2, 2), (3, 2))]},
    )
    assert ds.result_cache.hits >= 3


@pytest.mark.asyncio
async def test_entries_are_stored_in_the_internal_database(make_ds, data_path):
    ds = make_ds([str(data_path)])
    await get_traced(ds, PAGE)
    await ds.result_cache.flush()
    internal = ds.get_internal_database()
    rows = (
        await internal.execute("select database_name, scope, rows from result_cache")
    ).rows
    assert {(r[0], r[1]) for r in rows} == {("data", "mutable")}
    assert "[[10]]" in {r[2] for r in rows}
    # The table serves a hit when the in-memory front has forgotten it.
    ds.result_cache.clear_memory()
    _, sql = await get_traced(ds, PAGE)
    assert sql == []


@pytest.mark.asyncio
async def test_write_through_the_api_is_seen_on_the_next_request(make_ds, data_path):
    ds = make_ds([str(data_path)])
    before, _ = await get_traced(ds, PAGE)
    response = await ds.client.post(
        "/data/plants/-/insert",
        json={"row": {"name": "new", "colour": "red", "planted": "2024-01-09"}},
        headers={"Authorization": "Bearer " + ds.create_token("root")},
    )
    assert response.status_code == 201, response.text
    after, sql = await get_traced(ds, PAGE)
    assert sql  # recomputed
    assert before["count"] == 10 and after["count"] == 11
    planted = {v["value"] for v in after["facet_results"]["results"]["planted"]["results"]}
    assert "2024-01-09" in planted


def test_write_through_the_api_on_a_real_server(make_ds, data_path, serve_ds):
    ds = make_ds([str(data_path)])
    token = ds.create_token("root")
    with serve_ds(ds) as server, httpx.Client(base_url=server.url) as client:
        counts = [client.get(PAGE).json()["count"] for _ in range(2)]
        for n in range(3):
            inserted = client.post(
                "/data/plants/-/insert",
                json={"row": {"name": f"n{n}", "colour": "red"}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert inserted.status_code == 201
            counts.append(client.get(PAGE).json()["count"])
    assert counts == [10, 10, 11, 12, 13]


@pytest.mark.asyncio
@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
async def test_write_by_another_connection_is_seen(make_ds, data_path, journal_mode):
    conn = sqlite3.connect(str(data_path))
    assert conn.execute(f"pragma journal_mode = {journal_mode}").fetchone()[0] == journal_mode
    conn.close()
    ds = make_ds([str(data_path)])
    before, _ = await get_traced(ds, PAGE)
    other = sqlite3.connect(str(data_path))
    with other:
        other.execute("update plants set colour = 'red' where colour = 'green'")
    other.close()
    after, sql = await get_traced(ds, PAGE)
    assert sql
    assert (before["count"], after["count"]) == (10, 20)
    again, sql = await get_traced(ds, PAGE)
    assert sql == [] and again["count"] == 20  # cached again until the next change


@pytest.mark.asyncio
async def test_write_by_another_process_is_seen(make_ds, data_path):
    ds = make_ds([str(data_path)])
    assert (await get_traced(ds, PAGE))[0]["count"] == 10
    script = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1])\n"
        "conn.execute(\"delete from plants where colour = 'red' and id > 20\")\n"
        "conn.commit()\n"
    )
    subprocess.run([sys.executable, "-c", script, str(data_path)], check=True, timeout=60)
    after, sql = await get_traced(ds, PAGE)
    assert sql
    assert after["count"] == 7


@pytest.mark.asyncio
async def test_schema_change_is_seen(make_ds, data_path):
    ds = make_ds([str(data_path)])
    path = "/data/plants.json?_extra=count&_facet=colour"
    await get_traced(ds, path)
    other = sqlite3.connect(str(data_path))
    with other:
        # Rebuilt under the same name with other data: only the schema tells them apart.
        other.execute("alter table plants rename to old_plants")
        other.execute("create table plants (id integer primary key, colour text)")
        other.execute("insert into plants (colour) values ('violet'), ('violet')")
    other.close()
    body, sql = await get_traced(ds, path)
    assert sql
    assert body["count"] == 2
    assert [v["value"] for v in body["facet_results"]["results"]["colour"]["results"]] == [
        "violet"
    ]


def test_immutable_entries_survive_a_restart(tmp_path, data_path):
    import asyncio

    from datasette.app import Datasette

    internal = str(tmp_path / "internal.db")

    async def visit():
        ds = Datasette(immutables=[str(data_path)], internal=internal)
        try:
            body, sql = await get_traced(ds, PAGE)
            await ds.result_cache.flush()
            return body["count"], sql
        finally:
            ds.close()

    first_count, first_sql = asyncio.run(visit())
    second_count, second_sql = asyncio.run(visit())
    assert first_sql and first_count == 10
    assert second_sql == [] and second_count == 10


def test_mutable_entries_do_not_survive_a_restart(tmp_path, data_path):
    import asyncio

    from datasette.app import Datasette

    internal = str(tmp_path / "internal.db")

    async def visit():
        ds = Datasette([str(data_path)], internal=internal)
        try:
            _, sql = await get_traced(ds, PAGE)
            await ds.result_cache.flush()
            kept = (
                await ds.get_internal_database().execute(
                    "select count(distinct process) from result_cache"
                )
            ).single_value()
            return sql, kept
        finally:
            ds.close()

    first_sql, _ = asyncio.run(visit())
    second_sql, processes = asyncio.run(visit())
    assert first_sql and second_sql  # computed both times
    assert processes == 1  # the earlier process's entries were cleared


@pytest.mark.asyncio
async def test_setting_turns_it_off(make_ds, data_path):
    ds = make_ds([str(data_path)], settings={"result_cache": False})
    await get_traced(ds, PAGE)
    _, sql = await get_traced(ds, PAGE)
    assert len(sql) >= 3
    assert ds.result_cache.hits == 0 and ds.result_cache.misses == 0


@pytest.mark.asyncio
async def test_a_broken_cache_does_not_fail_requests(make_ds, data_path):
    ds = make_ds([str(data_path)])
    await ds.get_internal_database().execute_write("drop table result_cache")
    for _ in range(2):
        body, sql = await get_traced(ds, PAGE)
        assert body["count"] == 10
    await ds.result_cache.flush()  # the failed write is logged, not raised
    ds.result_cache.clear_memory()
    body, sql = await get_traced(ds, PAGE)
    assert sql and body["count"] == 10


@pytest.mark.asyncio
async def test_memory_and_view_pages_are_not_cached(make_ds, data_path):
    conn = sqlite3.connect(str(data_path))
    conn.execute("create view red_plants as select * from plants where colour = 'red'")
    conn.close()
    ds = make_ds([str(data_path)])
    for _ in range(2):
        _, sql = await get_traced(ds, "/data/red_plants.json?_extra=count&_facet=colour")
    assert sql  # the view's definition is hidden from the SQL, so never trusted
    assert ds.result_cache.hits == 0


@pytest.mark.parametrize(
    "sql,expected",
    [
        ("select count(*) from [plants] where colour = :p0", True),
        ("select date(planted) as value, count(*) as count from (select * from t) group by 1",
         True),
        ("select count(*) from t where rowid in (select rowid from t_fts where t_fts match "
         "escape_fts(:search))", True),
        ("with page_rows as materialized (select a from (select * from t)) "
         "select (select json_array(count(*), max(n)) from (select 1 as n))", True),
        ("select count(*) from t where random() > 0", False),
        ("select count(*) from t where planted > date('now')", False),
        ("select count(*) from t where planted > datetime()", False),
        ("select count(*) from t where my_plugin_function(x)", False),
        ("select count(*) from t where x > CURRENT_TIMESTAMP", False),
    ],
)
def test_only_deterministic_sql_is_cached(sql, expected):
    assert deterministic(sql) is expected


@pytest.mark.asyncio
async def test_size_is_bounded_oldest_entries_go_first(make_ds, data_path):
    ds = make_ds([str(data_path)])
    cache = ds.result_cache
    cache.max_entries = 3
    cache.memory_entries = 2
    for colour in ("red", "green", "blue", "pink", "grey"):
        await get_traced(ds, f"/data/plants.json?_extra=count&colour={colour}")
        await cache.flush()
    rows = (
        await ds.get_internal_database().execute("select rows from result_cache order by id")
    ).rows
    assert [r[0] for r in rows] == ["[[10]]", "[[0]]", "[[0]]"]  # blue, pink, grey
    assert len(cache._memory) == 2
    # The evicted red count is computed again; pink, kept in the table (not in memory), is not.
    assert (await get_traced(ds, "/data/plants.json?_extra=count&colour=red"))[1]
    await cache.flush()
    assert not (await get_traced(ds, "/data/plants.json?_extra=count&colour=pink"))[1]


@pytest.mark.asyncio
async def test_html_page_count_and_suggestions_are_cached_and_follow_writes(make_ds, data_path):
    ds = make_ds([str(data_path)], settings={"column_stats": False})
    path = "/data/plants?colour=red"
    pages = []
    for _ in range(2):
        traces = []
        with capture_traces(traces):
            response = await ds.client.get(path)
        assert response.status_code == 200
        pages.append((response.text, expensive_sql(traces)))
    assert pages[0][1] and pages[1][1] == []  # count and suggestion probes ran once
    assert "10 rows" in pages[1][0]
    other = sqlite3.connect(str(data_path))
    with other:
        other.execute("insert into plants (name, colour) values ('late', 'red')")
    other.close()
    response = await ds.client.get(path)
    assert "11 rows" in response.text
