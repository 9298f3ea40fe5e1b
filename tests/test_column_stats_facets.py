"""Suggested facets from column statistics: the same suggestions as the probe queries give,
on every table of the read-API fixtures and the generated tables, filtered or not, with no
column probe at all on pages that show a whole indexed table."""

import copy

import pytest

from datasette.internal.stats import get_indexer
from datasette.tracer import capture_traces

from .fixtures import READ_API_METADATA, make_read_api_db
from .test_column_stats import make_generated_db

# The per-column probe, and the one query that measures the columns left undecided.
COLUMN_PROBES = ("as n from (", "page_rows")


async def suggestions(ds, path, **args):
    traces = []
    with capture_traces(traces):
        response = await ds.client.get(path, params={"_extra": "suggested_facets", **args})
    assert response.status_code == 200, response.text
    probes = [
        t
        for t in traces
        if t.get("type") == "sql" and any(p in t.get("sql", "") for p in COLUMN_PROBES)
    ]
    return response.json()["suggested_facets"], len(probes)


async def pair(make_ds, path, metadata=None):
    """Two instances over one file: one with statistics indexed, one without."""
    instances = []
    for indexed in (True, False):
        ds = make_ds([str(path)], metadata=copy.deepcopy(metadata or {}))
        await ds.invoke_startup()
        if indexed:
            await get_indexer(ds).run_until_idle()
        instances.append(ds)
    return instances


PAGES = [
    ("places", {}),
    ("places", {"state": "MI"}),
    ("places", {"_search": "Mission"}),
    ("places", {"state": "CA", "_facet": "city_id"}),
    ("places", {"_facet_size": "2"}),
    ("facetable_like", {}),
    ("sortable", {}),
    ("sortable", {"sortable__gt": "3"}),
    ("big", {}),
    ("big", {"colour": "red"}),
    ("cities", {}),
    ("compound_primary_key", {}),
    ("simple_primary_key", {}),
]


@pytest.mark.asyncio
async def test_fixture_suggestions_match_the_probes(make_ds, tmp_path):
    path = make_read_api_db(tmp_path / "fixtures.db")
    indexed, plain = await pair(make_ds, path, READ_API_METADATA)
    tables = await indexed.get_database("fixtures").table_names()
    checked = 0
    for table, args in PAGES:
        if table not in tables:
            continue
        url = f"/fixtures/{table}.json"
        with_stats, probes = await suggestions(indexed, url, **args)
        without, plain_probes = await suggestions(plain, url, **args)
        assert with_stats == without, (table, args)
        if not args:
            assert probes == 0, (table, "a whole indexed table needs no probe")
            assert plain_probes > 0
        else:
            assert probes <= 1, (table, args, "one query measures the undecided columns")
        checked += 1
    assert checked >= 10


@pytest.mark.asyncio
async def test_generated_suggestions_match_the_probes(make_ds, tmp_path):
    path = make_generated_db(tmp_path / "generated.db")
    indexed, plain = await pair(make_ds, path)
    for table, args in [
        ("shadowed", {}),
        ("shadowed", {"value": "1"}),
        ("keyed", {}),
        ("nocase", {}),
        ("empty_table", {}),
    ]:
        url = f"/generated/{table}.json"
        assert (await suggestions(indexed, url, **args))[0] == (
            await suggestions(plain, url, **args)
        )[0], (table, args)


@pytest.mark.asyncio
async def test_stale_statistics_are_not_used(make_ds, tmp_path):
    path = make_read_api_db(tmp_path / "fixtures.db")
    ds = make_ds([str(path)], metadata=copy.deepcopy(READ_API_METADATA))
    await ds.invoke_startup()
    indexer = get_indexer(ds)
    await indexer.run_until_idle()
    _, probes = await suggestions(ds, "/fixtures/cities.json")
    assert probes == 0
    await ds.get_database("fixtures").execute_write(
        "insert into cities (name, state) values ('Lansing', 'MI')"
    )
    await indexer.poll_changes()
    ds._column_stats_cache.clear()  # what CACHE_SECONDS would do a second later
    suggested, probes = await suggestions(ds, "/fixtures/cities.json")
    assert probes > 0  # flagged stale: probed as before
