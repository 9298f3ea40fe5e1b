"""`datasette.filters`: the `Filters` parser and the three default `filters_from_request` hooks."""

import json
import re
import sqlite3
import urllib.parse

import pytest

from datasette.exceptions import BadRequest, DatasetteError
from datasette.filters import (
    FilterArguments,
    Filters,
    search_filters,
    through_filters,
    where_filters,
)
from datasette.utils import detect_json1
from datasette.utils.asgi import Request

# ---------------------------------------------------------------------------
# FilterArguments


def test_filter_arguments_defaults():
    args = FilterArguments(["a = 1"])
    assert args.where_clauses == ["a = 1"]
    assert args.params == {}
    assert args.human_descriptions == []
    assert args.extra_context == {}


def test_filter_arguments_defaults_are_not_shared():
    first, second = FilterArguments([]), FilterArguments([])
    first.params["x"] = 1
    first.extra_context["y"] = 2
    assert second.params == {}
    assert second.extra_context == {}


def test_filter_arguments_keeps_given_values():
    args = FilterArguments(["x"], {"p": 1}, ["desc"], {"k": "v"})
    assert (args.where_clauses, args.params, args.human_descriptions, args.extra_context) == (
        ["x"],
        {"p": 1},
        ["desc"],
        {"k": "v"},
    )


# ---------------------------------------------------------------------------
# Filters: SQL for every operation


@pytest.mark.parametrize(
    "key,value,expected_sql,expected_params",
    [
        ("name", "x", ['"name" = :p0'], {"p0": "x"}),
        ("name__exact", "x", ['"name" = :p0'], {"p0": "x"}),
        ("name__not", "x", ['"name" != :p0'], {"p0": "x"}),
        ("name__contains", "foo", ['"name" like :p0'], {"p0": "%foo%"}),
        ("name__endswith", "foo", ['"name" like :p0'], {"p0": "%foo"}),
        ("name__startswith", "foo", ['"name" like :p0'], {"p0": "foo%"}),
        ("age__gt", "10", ['"age" > :p0'], {"p0": 10}),
        ("age__gte", "10", ['"age" >= :p0'], {"p0": 10}),
        ("age__lt", "10", ['"age" < :p0'], {"p0": 10}),
        ("age__lte", "10", ['"age" <= :p0'], {"p0": 10}),
        ("name__like", "a%b", ['"name" like :p0'], {"p0": "a%b"}),
        ("name__notlike", "a%b", ['"name" not like :p0'], {"p0": "a%b"}),
        ("name__glob", "a*", ['"name" glob :p0'], {"p0": "a*"}),
        ("name__in", "a,b", ['name in (:p0, :p1)'], {"p0": "a", "p1": "b"}),
        ("name__notin", "a,b", ['name not in (:p0, :p1)'], {"p0": "a", "p1": "b"}),
        ("created__date", "2020-01-02", ['date("created") = :p0'], {"p0": "2020-01-02"}),
        ("name__isnull", "1", ['"name" is null'], {}),
        ("name__notnull", "1", ['"name" is not null'], {}),
        ("name__isblank", "1", ['("name" is null or "name" = \'\')'], {}),
        ("name__notblank", "1", ['("name" is not null and "name" != \'\')'], {}),
    ],
)
def test_build_where_clauses_each_op(key, value, expected_sql, expected_params):
    assert Filters([(key, value)]).build_where_clauses("t") == (expected_sql, expected_params)


@pytest.mark.skipif(not detect_json1(), reason="needs JSON1")
@pytest.mark.parametrize(
    "op,expected",
    [
        ("arraycontains", ":p0 in (select value from json_each("),
        ("arraynotcontains", ":p0 not in (select value from json_each("),
    ],
)
def test_build_where_clauses_array_ops(op, expected):
    where, params = Filters([("tags__" + op, "x")]).build_where_clauses("t")
    assert where[0].startswith(expected)
    assert '"t"."tags"' in where[0]
    assert params == {"p0": "x"}


def test_split_on_last_double_underscore():
    filters = Filters([("my__col__gt", "3"), ("a__b", "x")])
    # "a__b": "b" is not an operation, so the pair is dropped rather than read as a column.
    assert filters.selections() == [("my__col", "gt", "3")]
    assert filters.build_where_clauses("t") == (['"my__col" > :p0'], {"p0": 3})


def test_column_with_double_underscore_needs_explicit_op():
    assert Filters([("my__col__exact", "v")]).selections() == [("my__col", "exact", "v")]


def test_unknown_op_dropped():
    filters = Filters([("name__bogus", "x"), ("age__gt", "1")])
    assert filters.selections() == [("age", "gt", "1")]
    assert filters.build_where_clauses("t") == (['"age" > :p0'], {"p0": 1})


def test_special_keys_ignored():
    pairs = [("_size", "10"), ("_sort", "name"), ("_city_id", "1"), ("_city_id__exact", "1")]
    filters = Filters(pairs)
    assert filters.selections() == [("_city_id", "exact", "1")]


def test_has_selections():
    assert Filters([("a", "1")]).has_selections() is True
    assert Filters([]).has_selections() is False
    assert Filters([("_size", "1"), ("a__bogus", "1")]).has_selections() is False


@pytest.mark.parametrize(
    "value,expected",
    [("10", 10), ("007", 7), ("1.5", "1.5"), ("-3", "-3"), ("abc", "abc"), ("\u00b2", "\u00b2")],
)
def test_numeric_conversion_only_for_ascii_digits(value, expected):
    _, params = Filters([("n__gt", value)]).build_where_clauses("t")
    assert params == {"p0": expected}
    assert type(params["p0"]) is type(expected)


def test_exact_does_not_convert_to_int():
    assert Filters([("n", "10")]).build_where_clauses("t")[1] == {"p0": "10"}


@pytest.mark.parametrize(
    "value,expected",
    [
        ('["a", "b,c"]', ["a", "b,c"]),
        ("[1, 2]", [1, 2]),
        ("a, b ,c", ["a", "b", "c"]),
        ("single", ["single"]),
        # Not valid JSON: read as the comma form instead of failing.
        ("[a,b", ["[a", "b"]),
    ],
)
def test_in_json_and_comma_forms(value, expected):
    where, params = Filters([("c__in", value)]).build_where_clauses("t")
    placeholders = ", ".join(":p{}".format(i) for i in range(len(expected)))
    assert where == ['c in ({})'.format(placeholders)]
    assert params == {"p{}".format(i): v for i, v in enumerate(expected)}


def test_in_with_nested_json_binds_json_text():
    _, params = Filters([("c__in", '[{"a": 1}, [2]]')]).build_where_clauses("t")
    assert params == {"p0": '{"a": 1}', "p1": "[2]"}


def test_params_numbered_in_order_across_filters():
    pairs = [("a__in", "1,2,3"), ("b__isnull", "1"), ("c__gt", "5"), ("d", "x")]
    where, params = Filters(pairs).build_where_clauses("t")
    assert where == [
        'a in (:p0, :p1, :p2)',
        '"b" is null',
        '"c" > :p3',
        '"d" = :p4',
    ]
    assert params == {"p0": "1", "p1": "2", "p2": "3", "p3": 5, "p4": "x"}


def test_pairs_keep_given_order():
    where, _ = Filters([("b", "1"), ("a", "2")]).build_where_clauses("t")
    assert where == ['"b" = :p0', '"a" = :p1']


def test_column_names_with_quotes_are_escaped():
    where, _ = Filters([('we"ird', "1")]).build_where_clauses("t")
    assert where == ['"we""ird" = :p0']


def test_lookups_in_ui_order():
    lookups = Filters([]).lookups()
    keys = [key for key, _, _ in lookups]
    expected = ["exact", "not", "contains", "endswith", "startswith", "gt", "gte", "lt", "lte"]
    expected += ["like", "notlike", "glob", "in", "notin"]
    if detect_json1():
        expected += ["arraycontains", "arraynotcontains"]
    expected += ["date", "isnull", "notnull", "isblank", "notblank"]
    assert keys == expected
    labels = {key: (display, no_argument) for key, display, no_argument in lookups}
    assert labels["exact"] == ("=", False)
    assert labels["gte"] == ("\u2265", False)
    assert labels["lte"] == ("\u2264", False)
    assert labels["notlike"] == ("not like", False)
    assert labels["isnull"] == ("is null", True)
    assert labels["notblank"] == ("is not blank", True)


def test_filter_definitions_expose_attributes():
    definition = {f.key: f for f in Filters._filters}["contains"]
    assert definition.display == "contains"
    assert definition.human_template == '{c} contains "{v}"'
    assert definition.no_argument is False


# ---------------------------------------------------------------------------
# Filters: English descriptions


@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("content__contains", "d", 'where content contains "d"'),
        ("id", "5", "where id = 5"),
        ("name", "x", 'where name = "x"'),
        ("name__not", "x", 'where name != "x"'),
        ("name__not", "5", "where name != 5"),
        ("name__endswith", "x", 'where name ends with "x"'),
        ("name__startswith", "x", 'where name starts with "x"'),
        ("id__gt", "3", "where id > 3"),
        ("id__gte", "3", "where id \u2265 3"),
        ("id__lt", "3", "where id < 3"),
        ("id__lte", "3", "where id \u2264 3"),
        ("name__like", "a%", 'where name like "a%"'),
        ("name__notlike", "a%", 'where name not like "a%"'),
        ("name__glob", "a*", 'where name glob "a*"'),
        ("name__in", "a,b", 'where name in ["a", "b"]'),
        ("name__notin", "[1,2]", "where name not in [1, 2]"),
        ("created__date", "2020-01-02", 'where "created" is on date 2020-01-02'),
        ("name__isnull", "1", "where name is null"),
        ("name__notnull", "1", "where name is not null"),
        ("name__isblank", "1", "where name is blank"),
        ("name__notblank", "1", "where name is not blank"),
    ],
)
def test_human_description_each_op(key, value, expected):
    assert Filters([(key, value)]).human_description_en() == expected


@pytest.mark.skipif(not detect_json1(), reason="needs JSON1")
def test_human_description_array_ops():
    assert Filters([("t__arraycontains", "x")]).human_description_en() == 'where t contains "x"'
    assert (
        Filters([("t__arraynotcontains", "x")]).human_description_en()
        == 'where t does not contain "x"'
    )


def test_human_description_joins_with_commas_and_and():
    filters = Filters([("content__contains", "d"), ("id__gt", "3"), ("name", "x")])
    assert filters.human_description_en() == 'where content contains "d", id > 3 and name = "x"'
    assert (
        Filters([("content__contains", "d"), ("id__gt", "3")]).human_description_en()
        == 'where content contains "d" and id > 3'
    )


def test_human_description_extra_goes_first():
    filters = Filters([("id__gt", "3")])
    assert (
        filters.human_description_en(extra=['search matches "dog"'])
        == 'where search matches "dog" and id > 3'
    )
    assert Filters([]).human_description_en(extra=["a", "b"]) == "where a and b"


def test_human_description_empty():
    assert Filters([]).human_description_en() == ""
    assert Filters([("_size", "3"), ("x__nope", "1")]).human_description_en() == ""


# ---------------------------------------------------------------------------
# Filters: units


class FakeQuantity:
    """Enough of a Pint quantity: metres or kilometres, convertible to either."""

    factors = {"m": 1, "km": 1000}

    def __init__(self, magnitude, unit):
        self.magnitude = magnitude
        self.unit = unit

    def to(self, unit):
        if unit not in self.factors:
            raise ValueError("cannot convert to " + unit)
        return FakeQuantity(self.magnitude * self.factors[self.unit] / self.factors[unit], unit)


class FakeRegistry:
    """Enough of a Pint registry: `ureg("75km")` is a quantity, `ureg("75")` a number."""

    def __call__(self, text):
        if re.fullmatch(r"[0-9]+", text):
            return int(text)
        match = re.fullmatch(r"([0-9]+)\s*(km|m)", text)
        if not match:
            raise ValueError("cannot parse " + text)
        return FakeQuantity(int(match.group(1)), match.group(2))


def test_units_convert_to_column_unit():
    filters = Filters([("distance__lt", "75km")], units={"distance": "m"}, ureg=FakeRegistry())
    assert filters.build_where_clauses("t") == (['"distance" < :p0'], {"p0": 75000})
    # The description shows what the user typed.
    assert filters.human_description_en() == "where distance < 75km"


def test_units_bare_number_and_unparseable_values_stay_as_given():
    filters = Filters(
        [("distance__gt", "75"), ("distance", "far"), ("height__lt", "3km")],
        units={"distance": "m"},
        ureg=FakeRegistry(),
    )
    # "75" stays text and gets the usual integer conversion; "far" is compared as text;
    # height has no unit in metadata so "3km" is not converted.
    assert filters.build_where_clauses("t")[1] == {"p0": 75, "p1": "far", "p2": "3km"}


def test_units_wrong_unit_left_unconverted():
    filters = Filters([("distance__lt", "5km")], units={"distance": "kg"}, ureg=FakeRegistry())
    assert filters.build_where_clauses("t")[1] == {"p0": "5km"}


def test_units_not_applied_to_text_operations():
    filters = Filters([("distance__contains", "5km")], units={"distance": "m"}, ureg=FakeRegistry())
    assert filters.build_where_clauses("t")[1] == {"p0": "%5km%"}


def test_units_without_pint_leave_values_plain(monkeypatch):
    import sys

    # A None entry makes `import pint` raise ImportError whether or not Pint is installed.
    monkeypatch.setitem(sys.modules, "pint", None)
    filters = Filters([("distance__lt", "75km")], units={"distance": "m"})
    assert filters.build_where_clauses("t") == (['"distance" < :p0'], {"p0": "75km"})


# ---------------------------------------------------------------------------
# Filters: the SQL runs and selects the right rows


@pytest.fixture
def conn():
    conn = sqlite3.connect(":memory:")
    conn.executescript(
        """
        create table t (id integer primary key, name text, age integer, tags text,
            created text);
        insert into t values (1, 'alpha', 10, '["a", "b"]', '2020-01-02 10:00:00');
        insert into t values (2, 'beta', 20, '["b"]', '2021-05-06 11:00:00');
        insert into t values (3, '', 30, 'not json', null);
        insert into t values (4, null, 40, null, null);
        """
    )
    yield conn
    conn.close()


def _ids(conn, pairs):
    where, params = Filters(pairs).build_where_clauses("t")
    sql = "select id from t"
    if where:
        sql += " where " + " and ".join(where)
    return [row[0] for row in conn.execute(sql + " order by id", params)]


@pytest.mark.parametrize(
    "pairs,expected",
    [
        ([("name", "alpha")], [1]),
        ([("name__not", "alpha")], [2, 3]),
        ([("name__contains", "ph")], [1]),
        ([("name__endswith", "ta")], [2]),
        ([("name__startswith", "al")], [1]),
        ([("age__gt", "20")], [3, 4]),
        ([("age__gte", "20")], [2, 3, 4]),
        ([("age__lt", "20")], [1]),
        ([("age__lte", "20")], [1, 2]),
        ([("name__like", "b%")], [2]),
        ([("name__notlike", "b%")], [1, 3]),
        ([("name__glob", "a*")], [1]),
        ([("id__in", "1, 3")], [1, 3]),
        ([("id__in", "[2, 4]")], [2, 4]),
        ([("id__notin", "1,3")], [2, 4]),
        ([("created__date", "2020-01-02")], [1]),
        ([("name__isnull", "1")], [4]),
        ([("name__notnull", "1")], [1, 2, 3]),
        ([("name__isblank", "1")], [3, 4]),
        ([("name__notblank", "1")], [1, 2]),
        ([("age__gt", "15"), ("age__lt", "35")], [2, 3]),
        # A column that does not exist yields no rows rather than an error.
        ([("nope", "1")], []),
    ],
)
def test_filters_select_rows(conn, pairs, expected):
    assert _ids(conn, pairs) == expected


@pytest.mark.skipif(not detect_json1(), reason="needs JSON1")
def test_array_filters_select_rows(conn):
    assert _ids(conn, [("tags__arraycontains", "b")]) == [1, 2]
    assert _ids(conn, [("tags__arraycontains", "a")]) == [1]
    # Non-JSON and null values count as empty arrays.
    assert _ids(conn, [("tags__arraynotcontains", "a")]) == [2, 3, 4]


# ---------------------------------------------------------------------------
# The hooks, against a real Datasette


SCHEMA = """
create table docs (id integer primary key, title text, body text);
insert into docs values (1, 'Tennis', 'tennis doubles');
insert into docs values (2, 'Literal', 'te and do');
insert into docs values (3, 'Cats', 'cats only');
create virtual table docs_fts using fts4(title, body, content="docs");
insert into docs_fts (rowid, title, body) select id, title, body from docs;

create table notes (id integer primary key, title text, body text);
insert into notes select * from docs;
create virtual table notes_fts using fts5(title, body, content=[notes]);
insert into notes_fts (rowid, title, body) select id, title, body from notes;

create view docs_view as select id, title from docs;

create table plain (id integer primary key, name text);
insert into plain values (1, 'one'), (2, 'two'), (3, 'three');

create table tags (id integer primary key, name text);
insert into tags values (1, 'red'), (2, 'blue');
create table doc_tags (
    doc_id integer references docs(id),
    tag_id integer references tags(id)
);
insert into doc_tags values (1, 1), (2, 1), (3, 2);
"""


@pytest.fixture
def data_path(tmp_path):
    path = tmp_path / "data.db"
    conn = sqlite3.connect(str(path))
    try:
        conn.executescript(SCHEMA)
    finally:
        conn.close()
    return str(path)


@pytest.fixture
def build_ds(make_ds, data_path):
    async def build(metadata=None):
        ds = make_ds([data_path], metadata=metadata)
        await ds.invoke_startup()
        return ds

    return build


def fake(table, query):
    return Request.fake("/data/{}?{}".format(table, query))


async def rows_for(ds, table, filter_args, extra_where=(), extra_params=None):
    clauses = list(extra_where) + filter_args.where_clauses
    params = dict(extra_params or {})
    params.update(filter_args.params)
    sql = "select * from [{}]".format(table)
    if clauses:
        # Parenthesised, as a raw _where may contain "or".
        sql += " where " + " and ".join("({})".format(c) for c in clauses)
    results = await ds.get_database("data").execute(sql + " order by id", params)
    return [row["id"] for row in results.rows]


def _through_arg(**kwargs):
    return urllib.parse.quote(json.dumps(kwargs))


# -- _where


@pytest.mark.asyncio
async def test_where_filters_allowed(build_ds):
    ds = await build_ds()
    request = fake("plain", "_where=id+>+1&_where=name+!%3D+%27three%27&x=1")
    args = await where_filters(request=request, database="data", datasette=ds)()
    assert args.where_clauses == ["id > 1", "name != 'three'"]
    assert args.params == {}
    assert args.human_descriptions == []
    assert args.extra_context == {
        "extra_wheres_for_ui": [
            {
                "text": "id > 1",
                "remove_url": "/data/plain?_where=name+%21%3D+%27three%27&x=1",
            },
            {"text": "name != 'three'", "remove_url": "/data/plain?_where=id+%3E+1&x=1"},
        ]
    }
    assert await rows_for(ds, "plain", args) == [2]


@pytest.mark.asyncio
async def test_where_filters_or_clause_kept_whole(build_ds):
    ds = await build_ds()
    request = fake("plain", "_where=" + urllib.parse.quote("id = 1 or id = 3"))
    args = await where_filters(request=request, database="data", datasette=ds)()
    assert await rows_for(ds, "plain", args, ["id > 1"]) == [3]


@pytest.mark.asyncio
async def test_where_filters_without_where(build_ds):
    ds = await build_ds()
    args = await where_filters(request=fake("plain", "_where="), database="data", datasette=ds)()
    assert args.where_clauses == []
    assert args.extra_context == {"extra_wheres_for_ui": []}


@pytest.mark.asyncio
async def test_where_filters_checks_execute_sql(build_ds):
    ds = await build_ds()
    calls = []

    async def permission_allowed(actor, action, resource=None, default=None):
        calls.append((actor, action, resource, default))
        return False

    ds.permission_allowed = permission_allowed
    request = fake("plain", "_where=id+>+1")
    request.scope["actor"] = {"id": "bob"}
    with pytest.raises(DatasetteError) as excinfo:
        await where_filters(request=request, database="data", datasette=ds)()
    assert excinfo.value.status == 403
    assert str(excinfo.value) == "_where= is not allowed"
    assert calls == [({"id": "bob"}, "execute-sql", "data", True)]


@pytest.mark.asyncio
async def test_where_filters_permission_granted(build_ds):
    ds = await build_ds()

    async def permission_allowed(actor, action, resource=None, default=None):
        return True

    ds.permission_allowed = permission_allowed
    args = await where_filters(
        request=fake("plain", "_where=id+%3D+2"), database="data", datasette=ds
    )()
    assert await rows_for(ds, "plain", args) == [2]


# -- search


@pytest.mark.asyncio
@pytest.mark.parametrize("table,fts", [("docs", "docs_fts"), ("notes", "notes_fts")])
async def test_search_escaped(build_ds, table, fts):
    ds = await build_ds()
    request = fake(table, "_search=" + urllib.parse.quote("te* AND do*"))
    args = await search_filters(request=request, database="data", table=table, datasette=ds)()
    assert args.where_clauses == [
        "rowid in (select rowid from {0} where {0} match escape_fts(:search))".format(fts)
    ]
    assert args.params == {"search": "te* AND do*"}
    assert args.human_descriptions == ['search matches "te* AND do*"']
    assert args.extra_context == {"supports_search": True, "search": "te* AND do*"}
    # Escaped, the words are literal: only the row with "te", "and" and "do".
    assert await rows_for(ds, table, args) == [2]


@pytest.mark.asyncio
@pytest.mark.parametrize("table,fts", [("docs", "docs_fts"), ("notes", "notes_fts")])
async def test_search_raw(build_ds, table, fts):
    ds = await build_ds()
    request = fake(table, "_searchmode=raw&_search=" + urllib.parse.quote("te* AND do*"))
    args = await search_filters(request=request, database="data", table=table, datasette=ds)()
    assert args.where_clauses == [
        "rowid in (select rowid from {0} where {0} match :search)".format(fts)
    ]
    # Raw, prefix queries and AND work.
    assert await rows_for(ds, table, args) == [1, 2]


@pytest.mark.asyncio
async def test_searchmode_from_metadata_and_escaped_override(build_ds):
    ds = await build_ds({"databases": {"data": {"tables": {"docs": {"searchmode": "raw"}}}}})
    query = "_search=" + urllib.parse.quote("te* AND do*")
    raw = await search_filters(
        request=fake("docs", query), database="data", table="docs", datasette=ds
    )()
    assert "match :search" in raw.where_clauses[0]
    assert await rows_for(ds, "docs", raw) == [1, 2]
    escaped = await search_filters(
        request=fake("docs", query + "&_searchmode=escaped"),
        database="data",
        table="docs",
        datasette=ds,
    )()
    assert "match escape_fts(:search)" in escaped.where_clauses[0]
    assert await rows_for(ds, "docs", escaped) == [2]


@pytest.mark.asyncio
async def test_searchmode_metadata_is_per_table(build_ds):
    ds = await build_ds({"databases": {"data": {"searchmode": "raw"}}})
    args = await search_filters(
        request=fake("docs", "_search=te*"), database="data", table="docs", datasette=ds
    )()
    assert "escape_fts(:search)" in args.where_clauses[0]


@pytest.mark.asyncio
@pytest.mark.parametrize("table,fts", [("docs", "docs_fts"), ("notes", "notes_fts")])
async def test_search_column(build_ds, table, fts):
    ds = await build_ds()
    request = fake(table, "_search_title=tennis")
    args = await search_filters(request=request, database="data", table=table, datasette=ds)()
    assert args.where_clauses == [
        "rowid in (select rowid from {} where title match escape_fts(:search_0))".format(fts)
    ]
    assert args.params == {"search_0": "tennis"}
    assert args.human_descriptions == ['search column "title" matches "tennis"']
    assert args.extra_context == {"supports_search": True, "search": ""}
    assert await rows_for(ds, table, args) == [1]


@pytest.mark.asyncio
async def test_search_several_columns(build_ds):
    ds = await build_ds()
    request = fake("docs", "_search_title=literal&_search_body=do")
    args = await search_filters(request=request, database="data", table="docs", datasette=ds)()
    assert args.params == {"search_0": "literal", "search_1": "do"}
    assert len(args.where_clauses) == 2
    assert await rows_for(ds, "docs", args) == [2]


@pytest.mark.asyncio
async def test_search_column_ignored_when_search_given(build_ds):
    ds = await build_ds()
    request = fake("docs", "_search=cats&_search_title=tennis")
    args = await search_filters(request=request, database="data", table="docs", datasette=ds)()
    assert args.params == {"search": "cats"}
    assert await rows_for(ds, "docs", args) == [3]


@pytest.mark.asyncio
async def test_search_unknown_column(build_ds):
    ds = await build_ds()
    with pytest.raises(BadRequest) as excinfo:
        await search_filters(
            request=fake("docs", "_search_nope=x"), database="data", table="docs", datasette=ds
        )()
    assert str(excinfo.value) == "Cannot search by that column"


@pytest.mark.asyncio
async def test_search_without_fts_table_is_ignored(build_ds):
    ds = await build_ds()
    args = await search_filters(
        request=fake("plain", "_search=x&_search_name=y"),
        database="data",
        table="plain",
        datasette=ds,
    )()
    assert args.where_clauses == []
    assert args.params == {}
    assert args.human_descriptions == []
    assert args.extra_context == {"supports_search": False, "search": ""}


@pytest.mark.asyncio
async def test_search_supported_but_not_requested(build_ds):
    ds = await build_ds()
    args = await search_filters(
        request=fake("docs", "_search="), database="data", table="docs", datasette=ds
    )()
    assert args.where_clauses == []
    assert args.extra_context == {"supports_search": True, "search": ""}


@pytest.mark.asyncio
async def test_search_lone_quote_is_no_search(build_ds):
    ds = await build_ds()
    # Escaped, a lone quote has no terms left; FTS5 would reject an empty MATCH.
    args = await search_filters(
        request=fake("notes", "_search=%22"), database="data", table="notes", datasette=ds
    )()
    assert args.where_clauses == []
    assert await rows_for(ds, "notes", args) == [1, 2, 3]


@pytest.mark.asyncio
async def test_search_view_with_fts_table_and_pk_from_query_string(build_ds):
    ds = await build_ds()
    view_request = fake("docs_view", "_search=cats")
    # A view has no FTS table of its own: nothing happens without the overrides.
    plain = await search_filters(
        request=view_request, database="data", table="docs_view", datasette=ds
    )()
    assert plain.extra_context["supports_search"] is False
    request = fake("docs_view", "_search=cats&_fts_table=docs_fts&_fts_pk=id")
    args = await search_filters(request=request, database="data", table="docs_view", datasette=ds)()
    assert args.where_clauses == [
        "id in (select rowid from docs_fts where docs_fts match escape_fts(:search))"
    ]
    assert await rows_for(ds, "docs_view", args) == [3]
    # Column searches use the same key, so they work on the view too.
    request = fake("docs_view", "_search_title=literal&_fts_table=docs_fts&_fts_pk=id")
    args = await search_filters(request=request, database="data", table="docs_view", datasette=ds)()
    assert args.where_clauses[0].startswith("id in (select rowid from docs_fts")
    assert await rows_for(ds, "docs_view", args) == [2]


@pytest.mark.asyncio
async def test_search_fts_table_and_pk_from_metadata(build_ds):
    ds = await build_ds(
        {
            "databases": {
                "data": {"tables": {"docs_view": {"fts_table": "notes_fts", "fts_pk": "id"}}}
            }
        }
    )
    args = await search_filters(
        request=fake("docs_view", "_search=tennis"),
        database="data",
        table="docs_view",
        datasette=ds,
    )()
    assert args.where_clauses == [
        "id in (select rowid from notes_fts where notes_fts match escape_fts(:search))"
    ]
    assert await rows_for(ds, "docs_view", args) == [1]


@pytest.mark.asyncio
async def test_search_query_string_fts_table_beats_metadata(build_ds):
    ds = await build_ds({"databases": {"data": {"tables": {"docs": {"fts_table": "nope"}}}}})
    args = await search_filters(
        request=fake("docs", "_search=cats&_fts_table=notes_fts"),
        database="data",
        table="docs",
        datasette=ds,
    )()
    assert "from notes_fts where notes_fts match" in args.where_clauses[0]


# -- _through


@pytest.mark.asyncio
async def test_through_filters(build_ds):
    ds = await build_ds()
    request = fake("docs", "_through=" + _through_arg(table="doc_tags", column="tag_id", value="1"))
    args = await through_filters(request=request, database="data", table="docs", datasette=ds)()
    assert args.where_clauses == ["id in (select doc_id from doc_tags where tag_id = :p0)"]
    assert args.params == {"p0": "1"}
    assert args.human_descriptions == ['doc_tags.tag_id = "1"']
    assert args.extra_context == {}
    assert await rows_for(ds, "docs", args) == [1, 2]


@pytest.mark.asyncio
async def test_through_filters_repeated(build_ds):
    ds = await build_ds()
    query = "_through={}&_through={}".format(
        _through_arg(table="doc_tags", column="tag_id", value=1),
        _through_arg(table="doc_tags", column="doc_id", value=2),
    )
    args = await through_filters(
        request=fake("tags", query), database="data", table="tags", datasette=ds
    )()
    assert args.params == {"p0": 1, "p1": 2}
    assert await rows_for(ds, "tags", args) == [1]


@pytest.mark.asyncio
async def test_through_params_do_not_collide_with_column_filters(build_ds):
    ds = await build_ds()
    query = "title__in=Tennis,Cats&_through=" + _through_arg(
        table="doc_tags", column="tag_id", value=1
    )
    request = fake("docs", query)
    filter_where, filter_params = Filters(
        urllib.parse.parse_qsl(request.query_string)
    ).build_where_clauses("docs")
    args = await through_filters(request=request, database="data", table="docs", datasette=ds)()
    assert args.params == {"p2": 1}
    assert set(args.params).isdisjoint(filter_params)
    assert await rows_for(ds, "docs", args, filter_where, filter_params) == [1]


@pytest.mark.asyncio
async def test_through_without_foreign_key(build_ds):
    ds = await build_ds()
    request = fake("plain", "_through=" + _through_arg(table="doc_tags", column="tag_id", value=1))
    with pytest.raises(DatasetteError) as excinfo:
        await through_filters(request=request, database="data", table="plain", datasette=ds)()
    assert excinfo.value.status == 400
    assert str(excinfo.value) == "Invalid _through - could not find corresponding foreign key"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "value", ["not json", json.dumps({"table": "doc_tags"}), json.dumps([1, 2])]
)
async def test_through_malformed(build_ds, value):
    ds = await build_ds()
    request = fake("docs", "_through=" + urllib.parse.quote(value))
    with pytest.raises(DatasetteError) as excinfo:
        await through_filters(request=request, database="data", table="docs", datasette=ds)()
    assert excinfo.value.status == 400
    assert str(excinfo.value).startswith("Invalid _through")


@pytest.mark.asyncio
async def test_through_absent(build_ds):
    ds = await build_ds()
    args = await through_filters(
        request=fake("docs", "_through=&x=1"), database="data", table="docs", datasette=ds
    )()
    assert (args.where_clauses, args.params, args.human_descriptions) == ([], {}, [])


# -- registration


def test_hooks_are_filters_from_request_implementations():
    from datasette.hookspecs import hookimpl  # noqa: F401 - the marker the hooks carry

    for fn in (where_filters, search_filters, through_filters):
        opts = fn.datasette_impl
        assert opts["specname"] == "filters_from_request"
