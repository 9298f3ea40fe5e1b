"""`datasette.facets`: column, date and array facets, their sizes, toggles and suggestions
(http-cli.md section 4, plugins-auth-config.md 2.2), against a real SQLite file."""

import sqlite3

import pytest

from datasette.app import Datasette
from datasette.facets import (
    ArrayFacet,
    ColumnFacet,
    DateFacet,
    Facet,
    load_facet_configs,
    merge_facet_results,
    register_facet_classes,
)
from datasette.utils import detect_json1
from datasette.utils.asgi import Request

# `t` has: repeated text (state), an underscore column, a foreign key, datetimes, JSON
# arrays (one with a repeated element), a unique-but-for-NULL column, a constant column and
# an array-of-numbers column; NULLs in most of them.
FACET_SQL = """
create table cities (id integer primary key, name text);
insert into cities values (1, 'San Francisco'), (2, 'Los Angeles'), (3, 'Detroit');
create table t (
    pk integer primary key,
    state text,
    _neighborhood text,
    city_id integer references cities(id),
    created text,
    tags text,
    code text,
    constant text,
    nums text
);
insert into t values
    (1, 'CA', 'Mission', 1, '2019-01-14 08:00:00', '["tag1", "tag2"]', 'abcd-ef-1', 'same', '[1, 2]'),
    (2, 'CA', 'Dogpatch', 1, '2019-01-14 08:00:00', '["tag1", "tag3"]', 'abcd-ef-2', 'same', null),
    (3, 'CA', 'SOMA', 1, '2019-01-14 08:00:00', '[]', 'abcd-ef-3', 'same', null),
    (4, 'CA', 'Tenderloin', 1, '2019-01-15 08:00:00', '["tag1", "tag1"]', 'abcd-ef-4', 'same', null),
    (5, 'CA', 'Bernal', 1, '2019-01-15 08:00:00', null, 'abcd-ef-5', 'same', null),
    (6, 'CA', 'Hayes', 2, '2019-01-15 08:00:00', '[]', 'abcd-ef-6', 'same', null),
    (7, 'MI', 'Corktown', 3, '2019-01-16 08:00:00', '["tag2"]', 'abcd-ef-7', 'same', null),
    (8, 'MI', 'Mexicantown', 3, '2019-01-16 08:00:00', null, 'abcd-ef-8', 'same', null),
    (9, 'MC', 'Arcadia', null, '2019-01-17', null, 'abcd-ef-9', 'same', null),
    (10, null, 'Dogpatch', null, null, null, null, 'same', null);
"""

# Counts to a billion: far longer than any facet time limit used here.
SLOW_SQL = (
    "with recursive counter(x) as (select 1 union all select x + 1 from counter "
    "where x < 1000000000) select x as n from counter"
)

BASE = "http://localhost/db/t"


@pytest.fixture
def db_file(tmp_path):
    path = tmp_path / "db.db"
    conn = sqlite3.connect(str(path))
    conn.executescript(FACET_SQL)
    conn.close()
    return str(path)


@pytest.fixture
def start_ds(db_file):
    """Factory for started `Datasette` instances on the facet database, closed afterwards."""
    instances = []

    async def factory(**kwargs):
        ds = Datasette([db_file], **kwargs)
        instances.append(ds)
        await ds.invoke_startup()
        return ds

    yield factory
    for ds in instances:
        ds.close()


def make_facet(cls, ds, path, **kwargs):
    kwargs.setdefault("table", "t")
    return cls(ds, Request.fake(path), database="db", **kwargs)


async def run_facets(facet):
    """`facet_results()` keyed by facet name, after checking it returned 1.0a7's list form."""
    results, timed_out = await facet.facet_results()
    assert isinstance(results, list)
    return merge_facet_results({}, results), timed_out


def pairs(facet):
    """`(value, count)` for each result of a facet."""
    return [(r["value"], r["count"]) for r in facet["results"]]


# -- column facets ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_column_facet_exact_shape(start_ds):
    ds = await start_ds()
    facet = make_facet(ColumnFacet, ds, "/db/t?_facet=state")
    results, timed_out = await run_facets(facet)
    assert timed_out == []
    assert results == {
        "state": {
            "name": "state",
            "type": "column",
            "hideable": True,
            "toggle_url": "/db/t",
            "results": [
                {
                    "value": "CA",
                    "label": "CA",
                    "count": 6,
                    "toggle_url": BASE + "?_facet=state&state=CA",
                    "selected": False,
                },
                {
                    "value": "MI",
                    "label": "MI",
                    "count": 2,
                    "toggle_url": BASE + "?_facet=state&state=MI",
                    "selected": False,
                },
                {
                    "value": "MC",
                    "label": "MC",
                    "count": 1,
                    "toggle_url": BASE + "?_facet=state&state=MC",
                    "selected": False,
                },
            ],
            "truncated": False,
        }
    }


@pytest.mark.asyncio
async def test_column_facet_skips_null_and_breaks_ties_by_value(start_ds):
    ds = await start_ds()
    facet = make_facet(ColumnFacet, ds, "/db/t?_facet=_neighborhood&_facet=state")
    results, _ = await run_facets(facet)
    assert list(results) == ["_neighborhood", "state"]
    # Row 10 has a NULL state: 9 of the 10 rows are counted.
    assert None not in [value for value, _ in pairs(results["state"])]
    assert sum(count for _, count in pairs(results["state"])) == 9
    assert pairs(results["_neighborhood"]) == [
        ("Dogpatch", 2),
        ("Arcadia", 1),
        ("Bernal", 1),
        ("Corktown", 1),
        ("Hayes", 1),
        ("Mexicantown", 1),
        ("Mission", 1),
        ("SOMA", 1),
        ("Tenderloin", 1),
    ]


@pytest.mark.asyncio
async def test_underscore_column_selects_with_exact(start_ds):
    ds = await start_ds()
    facet = make_facet(ColumnFacet, ds, "/db/t?_facet=_neighborhood")
    results, _ = await run_facets(facet)
    first = results["_neighborhood"]["results"][0]
    assert first["toggle_url"] == BASE + "?_facet=_neighborhood&_neighborhood__exact=Dogpatch"
    # and the __exact pair is what marks it selected
    facet = make_facet(
        ColumnFacet,
        ds,
        "/db/t?_facet=_neighborhood&_neighborhood__exact=Dogpatch",
        sql="select * from t where _neighborhood = :p0",
        params={"p0": "Dogpatch"},
    )
    results, _ = await run_facets(facet)
    assert results["_neighborhood"]["results"] == [
        {
            "value": "Dogpatch",
            "label": "Dogpatch",
            "count": 2,
            "toggle_url": BASE + "?_facet=_neighborhood",
            "selected": True,
        }
    ]


@pytest.mark.asyncio
async def test_selected_value_toggle_removes_and_others_add(start_ds):
    ds = await start_ds()
    facet = make_facet(
        ColumnFacet,
        ds,
        "/db/t?_facet=state&_facet=city_id&state=CA",
        sql="select * from t where state = :p0",
        params={"p0": "CA"},
    )
    results, _ = await run_facets(facet)
    state = results["state"]
    assert state["toggle_url"] == "/db/t?_facet=city_id&state=CA"
    assert state["results"] == [
        {
            "value": "CA",
            "label": "CA",
            "count": 6,
            "toggle_url": BASE + "?_facet=state&_facet=city_id",
            "selected": True,
        }
    ]
    city = results["city_id"]
    assert [(r["value"], r["count"], r["selected"]) for r in city["results"]] == [
        (1, 5, False),
        (2, 1, False),
    ]
    assert city["results"][1]["toggle_url"] == (
        BASE + "?_facet=state&_facet=city_id&state=CA&city_id=2"
    )


@pytest.mark.asyncio
async def test_foreign_key_values_get_labels(start_ds):
    ds = await start_ds()
    facet = make_facet(ColumnFacet, ds, "/db/t?_facet=city_id")
    results, _ = await run_facets(facet)
    assert [(r["value"], r["label"], r["count"]) for r in results["city_id"]["results"]] == [
        (1, "San Francisco", 5),
        (3, "Detroit", 2),
        (2, "Los Angeles", 1),
    ]
    assert results["city_id"]["results"][0]["toggle_url"] == BASE + "?_facet=city_id&city_id=1"


class NoExpandDatasette:
    """A Datasette stand-in without `expand_foreign_keys`, delegating everything else."""

    def __init__(self, ds):
        self._ds = ds

    def __getattr__(self, name):
        if name == "expand_foreign_keys":
            raise AttributeError(name)
        return getattr(self._ds, name)


@pytest.mark.asyncio
async def test_labels_are_values_without_expand_foreign_keys(start_ds):
    ds = await start_ds()
    facet = make_facet(ColumnFacet, NoExpandDatasette(ds), "/db/t?_facet=city_id")
    results, _ = await run_facets(facet)
    assert [(r["value"], r["label"]) for r in results["city_id"]["results"]] == [
        (1, 1),
        (3, 3),
        (2, 2),
    ]


@pytest.mark.asyncio
async def test_json_config_and_its_toggle(start_ds):
    ds = await start_ds()
    facet = make_facet(ColumnFacet, ds, '/db/t?_facet={"column": "state"}&x=1')
    results, _ = await run_facets(facet)
    assert pairs(results["state"]) == [("CA", 6), ("MI", 2), ("MC", 1)]
    # The toggle removes the JSON parameter that asked for the facet, nothing else.
    assert results["state"]["toggle_url"] == "/db/t?x=1"


# -- facet size --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_facet_size_truncates(start_ds):
    ds = await start_ds()
    facet = make_facet(ColumnFacet, ds, "/db/t?_facet=state&_facet_size=2")
    assert facet.get_facet_size() == 2
    results, _ = await run_facets(facet)
    assert pairs(results["state"]) == [("CA", 6), ("MI", 2)]
    assert results["state"]["truncated"] is True
    # exactly as many values as the size: not truncated
    facet = make_facet(ColumnFacet, ds, "/db/t?_facet=state&_facet_size=3")
    results, _ = await run_facets(facet)
    assert len(results["state"]["results"]) == 3
    assert results["state"]["truncated"] is False


@pytest.mark.asyncio
async def test_facet_size_max_invalid_and_cap(start_ds):
    ds = await start_ds(settings={"max_returned_rows": 5, "default_facet_size": 4})
    sizes = {
        query: make_facet(ColumnFacet, ds, "/db/t?" + query).get_facet_size()
        for query in ["", "_facet_size=max", "_facet_size=abc", "_facet_size=50", "_facet_size=1"]
    }
    assert sizes == {
        "": 4,
        "_facet_size=max": 5,
        "_facet_size=abc": 4,
        "_facet_size=50": 5,
        "_facet_size=1": 1,
    }
    facet = make_facet(ColumnFacet, ds, "/db/t?_facet=_neighborhood&_facet_size=max")
    results, _ = await run_facets(facet)
    assert len(results["_neighborhood"]["results"]) == 5
    assert results["_neighborhood"]["truncated"] is True


@pytest.mark.asyncio
async def test_metadata_facet_size_and_request_override(start_ds):
    ds = await start_ds(settings={"max_returned_rows": 6})
    meta = {"facet_size": 2}
    assert make_facet(ColumnFacet, ds, "/db/t", metadata=meta).get_facet_size() == 2
    assert make_facet(ColumnFacet, ds, "/db/t?_facet_size=3", metadata=meta).get_facet_size() == 3
    assert make_facet(ColumnFacet, ds, "/db/t?_facet_size=bad", metadata=meta).get_facet_size() == 2
    assert (
        make_facet(ColumnFacet, ds, "/db/t", metadata={"facet_size": "max"}).get_facet_size() == 6
    )
    assert make_facet(ColumnFacet, ds, "/db/t", metadata={"facet_size": 99}).get_facet_size() == 6


# -- metadata facets ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_metadata_facets_are_not_hideable(start_ds):
    table_meta = {"facets": ["state", {"date": "created"}, {"array": "tags"}]}
    ds = await start_ds(metadata={"databases": {"db": {"tables": {"t": table_meta}}}})
    path = "/db/t?_facet=city_id"
    # no metadata= argument: the facet looks up the table's metadata itself
    column, _ = await run_facets(make_facet(ColumnFacet, ds, path))
    date, _ = await run_facets(make_facet(DateFacet, ds, path))
    assert [(name, f["hideable"]) for name, f in column.items()] == [
        ("state", False),
        ("city_id", True),
    ]
    assert column["state"]["toggle_url"] == "/db/t?_facet=city_id"
    assert column["city_id"]["toggle_url"] == "/db/t"
    assert date["created"]["hideable"] is False
    if detect_json1():
        array, _ = await run_facets(make_facet(ArrayFacet, ds, path))
        assert array["tags"]["hideable"] is False


@pytest.mark.asyncio
async def test_facet_in_metadata_and_request_runs_once(start_ds):
    ds = await start_ds()
    facet = make_facet(ColumnFacet, ds, "/db/t?_facet=state", metadata={"facets": ["state"]})
    results, _ = await run_facets(facet)
    assert list(results) == ["state"]
    assert results["state"]["hideable"] is False


def test_load_facet_configs():
    request = Request.fake('/db/t?_facet=a&_facet_date=b&_facet={"column": "c"}&_facet=&_size=1')
    configs = load_facet_configs(
        request, {"facets": ["m", {"array": "n"}, {"date": {"column": "o"}}]}
    )
    assert configs == {
        "column": [
            {"source": "metadata", "config": {"simple": "m"}},
            {"source": "request", "config": {"simple": "a"}, "param": ("_facet", "a")},
            {
                "source": "request",
                "config": {"column": "c"},
                "param": ("_facet", '{"column": "c"}'),
            },
        ],
        "array": [{"source": "metadata", "config": {"simple": "n"}}],
        "date": [
            {"source": "metadata", "config": {"column": "o"}},
            {"source": "request", "config": {"simple": "b"}, "param": ("_facet_date", "b")},
        ],
    }


# -- date facets -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_date_facet(start_ds):
    ds = await start_ds()
    facet = make_facet(DateFacet, ds, "/db/t?_facet_date=created")
    results, timed_out = await run_facets(facet)
    assert timed_out == []
    created = results["created"]
    assert {k: v for k, v in created.items() if k != "results"} == {
        "name": "created",
        "type": "date",
        "hideable": True,
        "toggle_url": "/db/t",
        "truncated": False,
    }
    assert pairs(created) == [
        ("2019-01-14", 3),
        ("2019-01-15", 3),
        ("2019-01-16", 2),
        ("2019-01-17", 1),
    ]
    assert created["results"][0] == {
        "value": "2019-01-14",
        "label": "2019-01-14",
        "count": 3,
        "toggle_url": BASE + "?_facet_date=created&created__date=2019-01-14",
        "selected": False,
    }


@pytest.mark.asyncio
async def test_date_facet_selected(start_ds):
    ds = await start_ds()
    facet = make_facet(
        DateFacet,
        ds,
        "/db/t?_facet_date=created&created__date=2019-01-16",
        sql="select * from t where date(created) = :p0",
        params={"p0": "2019-01-16"},
    )
    results, _ = await run_facets(facet)
    assert results["created"]["results"] == [
        {
            "value": "2019-01-16",
            "label": "2019-01-16",
            "count": 2,
            "toggle_url": BASE + "?_facet_date=created",
            "selected": True,
        }
    ]


# -- array facets ------------------------------------------------------------------------------

needs_json1 = pytest.mark.skipif(not detect_json1(), reason="SQLite without JSON1")


@needs_json1
@pytest.mark.asyncio
async def test_array_facet(start_ds):
    ds = await start_ds()
    facet = make_facet(ArrayFacet, ds, "/db/t?_facet_array=tags")
    results, timed_out = await run_facets(facet)
    assert timed_out == []
    tags = results["tags"]
    assert tags["type"] == "array"
    assert tags["toggle_url"] == "/db/t"
    # row 4 holds tag1 twice but counts once
    assert pairs(tags) == [("tag1", 3), ("tag2", 2), ("tag3", 1)]
    assert tags["results"][1] == {
        "value": "tag2",
        "label": "tag2",
        "count": 2,
        "toggle_url": BASE + "?_facet_array=tags&tags__arraycontains=tag2",
        "selected": False,
    }


@needs_json1
@pytest.mark.asyncio
async def test_array_facet_selected_and_truncated(start_ds):
    ds = await start_ds()
    facet = make_facet(
        ArrayFacet,
        ds,
        "/db/t?_facet_array=tags&tags__arraycontains=tag1&_facet_size=1",
        sql="select * from t where :p0 in (select value from json_each(tags))",
        params={"p0": "tag1"},
    )
    results, _ = await run_facets(facet)
    tags = results["tags"]
    assert tags["truncated"] is True
    assert tags["results"] == [
        {
            "value": "tag1",
            "label": "tag1",
            "count": 3,
            "toggle_url": BASE + "?_facet_array=tags&_facet_size=1",
            "selected": True,
        }
    ]


@needs_json1
@pytest.mark.asyncio
async def test_array_facet_ignores_values_that_are_not_arrays(start_ds):
    ds = await start_ds()
    # `state` holds plain text, which is not JSON at all: no values, no error.
    facet = make_facet(ArrayFacet, ds, "/db/t?_facet_array=state")
    results, timed_out = await run_facets(facet)
    assert timed_out == []
    assert results["state"]["results"] == []


# -- name clashes --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_name_clashes_get_suffixes(start_ds):
    ds = await start_ds()
    path = "/db/t?_facet=created&_facet_date=created"
    merged = {}
    for cls in (ColumnFacet, DateFacet):
        results, _ = await run_facets(make_facet(cls, ds, path))
        merge_facet_results(merged, results)
    # a plugin class returning a list of facets is merged the same way
    merge_facet_results(merged, [dict(merged["created"], type="other")])
    assert list(merged) == ["created", "created_2", "created_3"]
    assert [f["type"] for f in merged.values()] == ["column", "date", "other"]
    assert pairs(merged["created"])[0] == ("2019-01-14 08:00:00", 3)
    assert pairs(merged["created_2"])[0] == ("2019-01-14", 3)


# -- suggestions ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_column_suggestions(start_ds):
    ds = await start_ds()
    suggestions = await make_facet(ColumnFacet, ds, "/db/t").suggest()
    # pk: all unique; code: unique apart from a NULL; constant: one value; nums: one value
    assert suggestions == [
        {"name": "state", "toggle_url": BASE + "?_facet=state"},
        {"name": "_neighborhood", "toggle_url": BASE + "?_facet=_neighborhood"},
        {"name": "city_id", "toggle_url": BASE + "?_facet=city_id"},
        {"name": "created", "toggle_url": BASE + "?_facet=created"},
        {"name": "tags", "toggle_url": BASE + "?_facet=tags"},
    ]


@pytest.mark.asyncio
async def test_column_suggestions_skip_faceted_and_too_many(start_ds):
    ds = await start_ds()
    facet = make_facet(ColumnFacet, ds, "/db/t?_facet=state&_facet_size=4", row_count=10)
    names = [s["name"] for s in await facet.suggest()]
    # state is already faceted; _neighborhood (9 values) and tags (5) exceed the size of 4
    assert names == ["city_id", "created"]
    suggestion = (await facet.suggest())[0]
    assert suggestion["toggle_url"] == BASE + "?_facet=state&_facet_size=4&_facet=city_id"


@pytest.mark.asyncio
async def test_column_suggestions_need_fewer_values_than_rows(start_ds):
    ds = await start_ds()
    # Only rows 1 and 9: state has 2 distinct values for 2 rows, so nothing is worth it.
    facet = make_facet(
        ColumnFacet, ds, "/db/t", sql="select * from t where pk in (1, 9)", table=None
    )
    assert await facet.suggest() == []


@pytest.mark.asyncio
async def test_date_suggestions(start_ds):
    ds = await start_ds()
    suggestions = await make_facet(DateFacet, ds, "/db/t").suggest()
    # `code` looks like ????-??-* but is not a date
    assert suggestions == [
        {
            "name": "created",
            "type": "date",
            "toggle_url": BASE + "?_facet_date=created",
        }
    ]
    already = await make_facet(DateFacet, ds, "/db/t?_facet_date=created").suggest()
    assert already == []


@needs_json1
@pytest.mark.asyncio
async def test_array_suggestions(start_ds, capsys):
    ds = await start_ds()
    suggestions = await make_facet(ArrayFacet, ds, "/db/t").suggest()
    # `nums` holds an array of numbers; text columns make json_type() fail and are skipped
    assert suggestions == [
        {
            "name": "tags",
            "type": "array",
            "toggle_url": BASE + "?_facet_array=tags",
        }
    ]
    # expected probe failures are not logged as SQL errors
    assert "ERROR" not in capsys.readouterr().err
    already = await make_facet(ArrayFacet, ds, "/db/t?_facet_array=tags").suggest()
    assert already == []


# -- time limits -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_facet_timeout_is_reported_not_raised(start_ds):
    ds = await start_ds(settings={"facet_time_limit_ms": 1})
    facet = ColumnFacet(ds, Request.fake("/db/t?_facet=n"), database="db", sql=SLOW_SQL)
    results, timed_out = await run_facets(facet)
    assert results == {}
    assert timed_out == ["n"]


@pytest.mark.asyncio
async def test_suggestion_timeouts_are_skipped(start_ds):
    ds = await start_ds(settings={"facet_suggest_time_limit_ms": 1})
    for cls in (ColumnFacet, DateFacet, ArrayFacet):
        facet = cls(ds, Request.fake("/db/t"), database="db", sql=SLOW_SQL, row_count=5)
        assert await facet.suggest() == []


# -- the base class and the hook ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_base_class_defaults(start_ds):
    ds = await start_ds()
    facet = Facet(ds, Request.fake("/db/t"), database="db", table="t", params={"p0": 1})
    assert facet.sql == "select * from t"
    assert (facet.database, facet.table, facet.params, facet.row_count) == (
        "db",
        "t",
        {"p0": 1},
        None,
    )
    assert await facet.suggest() == []
    assert await facet.facet_results() == ([], [])
    assert await facet.get_row_count() == 10
    odd = Facet(ds, Request.fake("/db/t"), database="db", table="select")
    assert odd.sql == "select * from [select]"


def test_register_facet_classes():
    classes = register_facet_classes()
    expected = [ColumnFacet, DateFacet] + ([ArrayFacet] if detect_json1() else [])
    assert classes == expected
    assert [cls.type for cls in classes] == ["column", "date", "array"][: len(classes)]
