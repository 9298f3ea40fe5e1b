"""Table filters: `?column__op=value` parsing, plus the default `filters_from_request` hooks.

`Filters` turns query string pairs into SQL where clauses and an English description.
The three hook implementations at the bottom handle `_where=`, full-text search
(`_search`, `_search_<col>`) and `_through=`; core awaits what each returns and ANDs the
clauses together.
"""

from __future__ import annotations

import json
import numbers
import re
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Iterable, List, Optional, Tuple

from .exceptions import BadRequest, DatasetteError
from .hookspecs import hookimpl
from .utils.bindable import value_problem
from .utils import (
    await_me_maybe,
    detect_json1,
    escape_fts,
    escape_sqlite,
    path_with_removed_args,
)

if TYPE_CHECKING:
    from .app import Datasette
    from .database import Database
    from .utils.asgi import Request

__all__ = [
    "FilterArguments",
    "Filters",
    "search_filters",
    "through_filters",
    "where_filters",
]

_DIGITS_RE = re.compile(r"^[0-9]+$")


def _quote_column(name: str) -> str:
    # Double quotes rather than brackets: SQLite reads a double-quoted name that matches no
    # column as a string literal, so a filter on a missing column gives no rows instead of
    # an error (the documented behaviour).
    return '"{}"'.format(name.replace('"', '""'))


def _is_digits(value: Any) -> bool:
    # str.isdigit() accepts characters such as "²" that int() rejects.
    return isinstance(value, str) and bool(_DIGITS_RE.match(value))


def _bindable(value: Any) -> Any:
    # Elements of a JSON `in` list or a `_through` value may be objects or arrays, which
    # sqlite3 cannot bind; compare them as their JSON text instead.
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


class FilterArguments:
    """What a `filters_from_request` hook contributes to a table query.

    `where_clauses` are ANDed into the query, `params` merged into its parameters,
    `human_descriptions` added to the English description of the filters and
    `extra_context` merged into the HTML template context.
    """

    def __init__(
        self,
        where_clauses: List[str],
        params: Optional[Dict[str, Any]] = None,
        human_descriptions: Optional[List[str]] = None,
        extra_context: Optional[Dict[str, Any]] = None,
    ):
        self.where_clauses = where_clauses
        self.params = params or {}
        self.human_descriptions = human_descriptions or []
        self.extra_context = extra_context or {}

    def __repr__(self) -> str:
        return (
            "FilterArguments(where_clauses={!r}, params={!r}, human_descriptions={!r}, "
            "extra_context={!r})".format(
                self.where_clauses,
                self.params,
                self.human_descriptions,
                self.extra_context,
            )
        )


@dataclass(frozen=True)
class FilterDefinition:
    """One filter operation, e.g. `contains`.

    `sql_template` uses `{c}` (quoted column), `{t}` (quoted table) and `{p}` (parameter
    name); `value_template` wraps the bound value (`%{}%` for contains). `human_template`
    uses `{c}` (column) and `{v}` (value). `numeric` turns all-digit values into integers;
    `quote_non_digits` quotes the value in the description unless it is all digits;
    `multiple` marks `in`/`notin`, whose value is a list bound one parameter per element;
    `no_argument` marks the operations that ignore their value (`isnull`...).
    """

    key: str
    display: str
    sql_template: str
    human_template: str
    value_template: str = "{}"
    numeric: bool = False
    quote_non_digits: bool = False
    multiple: bool = False
    no_argument: bool = False

    def split_value(self, value: str) -> list:
        """The list an `in`/`notin` value stands for: a JSON array, or comma-separated.

        A JSON array too deep or holding what SQLite cannot bind is a 400 (utils/bindable).
        """
        if value.startswith("["):
            try:
                parsed = json.loads(value)
            except RecursionError:
                raise BadRequest(f"__{self.key} filter: JSON is nested too deeply") from None
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                problem = value_problem(parsed)
                if problem:
                    raise BadRequest(f"__{self.key} filter: {problem}")
                return [_bindable(item) for item in parsed]
        # Not valid JSON (e.g. "[a,b"): read it as the comma form rather than failing.
        return [part.strip() for part in value.split(",")]

    def convert_value(self, value: Any) -> Any:
        """The value to bind for a single-valued filter."""
        if isinstance(value, str):
            value = self.value_template.format(value)
            if self.numeric and _is_digits(value):
                number = int(value)
                problem = value_problem(number)
                if problem:  # out of 64-bit range: refused rather than compared as text
                    raise BadRequest(f"__{self.key} filter: {problem}")
                return number
        return value

    def where_clause(
        self, table: str, column: str, value: Any, param_counter: int
    ) -> Tuple[str, list]:
        """SQL for this filter and the values to bind, named from `p{param_counter}` on."""
        quoted_table = _quote_column(table)
        quoted_column = _quote_column(column)
        if self.no_argument:
            return self.sql_template.format(c=quoted_column, t=quoted_table), []
        if self.multiple:
            values = self.split_value(value) if isinstance(value, str) else [value]
            placeholders = ", ".join(":p{}".format(param_counter + i) for i in range(len(values)))
            # `in`/`not in` quote only names that need it, as 1.0a7's SQL text does.
            sql = self.sql_template.format(
                c=escape_sqlite(column), t=quoted_table, p=placeholders
            )
            return sql, values
        sql = self.sql_template.format(
            c=quoted_column, t=quoted_table, p="p{}".format(param_counter)
        )
        return sql, [self.convert_value(value)]

    def human_clause(self, column: str, value: str) -> str:
        """English for this filter, e.g. `age > 3` or `name contains "x"`."""
        if self.multiple:
            shown = json.dumps(self.split_value(value))
        elif self.quote_non_digits and not _is_digits(value):
            shown = '"{}"'.format(value)
        else:
            shown = value
        return self.human_template.format(c=column, v=shown)


def _filter_definitions(json1: bool) -> List[FilterDefinition]:
    definitions = [
        FilterDefinition("exact", "=", "{c} = :{p}", "{c} = {v}", quote_non_digits=True),
        FilterDefinition("not", "!=", "{c} != :{p}", "{c} != {v}", quote_non_digits=True),
        FilterDefinition("contains", "contains", "{c} like :{p}", '{c} contains "{v}"', "%{}%"),
        FilterDefinition("endswith", "ends with", "{c} like :{p}", '{c} ends with "{v}"', "%{}"),
        FilterDefinition(
            "startswith", "starts with", "{c} like :{p}", '{c} starts with "{v}"', "{}%"
        ),
        FilterDefinition("gt", ">", "{c} > :{p}", "{c} > {v}", numeric=True),
        FilterDefinition("gte", "\u2265", "{c} >= :{p}", "{c} \u2265 {v}", numeric=True),
        FilterDefinition("lt", "<", "{c} < :{p}", "{c} < {v}", numeric=True),
        FilterDefinition("lte", "\u2264", "{c} <= :{p}", "{c} \u2264 {v}", numeric=True),
        FilterDefinition("like", "like", "{c} like :{p}", '{c} like "{v}"'),
        FilterDefinition("notlike", "not like", "{c} not like :{p}", '{c} not like "{v}"'),
        FilterDefinition("glob", "glob", "{c} glob :{p}", '{c} glob "{v}"'),
        FilterDefinition("in", "in", "{c} in ({p})", "{c} in {v}", multiple=True),
        FilterDefinition("notin", "not in", "{c} not in ({p})", "{c} not in {v}", multiple=True),
    ]
    if json1:
        # The column is qualified by its table: unqualified, a column named like one of
        # json_each's own columns (value, key...) would resolve to json_each's. Values
        # that are not JSON count as empty arrays instead of failing the whole query.
        array_source = "json_each(case when json_valid({t}.{c}) then {t}.{c} else '[]' end)"
        definitions += [
            FilterDefinition(
                "arraycontains",
                "array contains",
                ":{p} in (select value from " + array_source + ")",
                '{c} contains "{v}"',
            ),
            FilterDefinition(
                "arraynotcontains",
                "array does not contain",
                ":{p} not in (select value from " + array_source + ")",
                '{c} does not contain "{v}"',
            ),
        ]
    definitions += [
        FilterDefinition("date", "date", "date({c}) = :{p}", '"{c}" is on date {v}'),
        FilterDefinition("isnull", "is null", "{c} is null", "{c} is null", no_argument=True),
        FilterDefinition(
            "notnull", "is not null", "{c} is not null", "{c} is not null", no_argument=True
        ),
        FilterDefinition(
            "isblank",
            "is blank",
            "({c} is null or {c} = '')",
            "{c} is blank",
            no_argument=True,
        ),
        FilterDefinition(
            "notblank",
            "is not blank",
            "({c} is not null and {c} != '')",
            "{c} is not blank",
            no_argument=True,
        ),
    ]
    return definitions


# Operations whose value may carry a unit ("75km"); the others compare text or patterns.
_UNIT_AWARE_OPS = frozenset({"exact", "not", "gt", "gte", "lt", "lte"})


class Filters:
    """Column filters from query string pairs such as `("age__gt", "3")`.

    `pairs` may hold every query string pair: keys starting with `_` and containing no
    `__` are special parameters and are skipped. Pairs are used in the order given.
    `units` maps column names to units (table metadata `units`); `ureg` is a Pint unit
    registry used to convert values such as `75km` into the column's unit. Without `ureg`
    one is created on first need if Pint is installed; without Pint values stay as text.
    """

    _filters: List[FilterDefinition] = _filter_definitions(detect_json1())
    _filters_by_key: Dict[str, FilterDefinition] = {f.key: f for f in _filters}

    def __init__(
        self,
        pairs: Iterable[Tuple[str, str]],
        units: Optional[Dict[str, str]] = None,
        ureg: Any = None,
    ):
        self.pairs = list(pairs)
        self.units = units or {}
        self.ureg = ureg
        self.equalities: List[Tuple[str, str]] = []

    def lookups(self) -> List[Tuple[str, str, bool]]:
        """`(key, display label, no_argument)` for every operation, in UI order."""
        return [(f.key, f.display, f.no_argument) for f in self._filters]

    def selections(self) -> List[Tuple[str, str, str]]:
        """`(column, op, value)` for each filter pair; special keys and unknown ops dropped."""
        selections = []
        for key, value in self.pairs:
            if key.startswith("_") and "__" not in key:
                continue
            if "__" in key:
                column, lookup = key.rsplit("__", 1)
            else:
                column, lookup = key, "exact"
            if lookup in self._filters_by_key:
                selections.append((column, lookup, value))
        return selections

    def has_selections(self) -> bool:
        """True when at least one pair is a usable filter."""
        return bool(self.selections())

    def _unit_registry(self) -> Any:
        if self.ureg is None:
            try:
                import pint  # why: optional and slow to import; only unit filters need it
            except ImportError:
                return None
            self.ureg = pint.UnitRegistry()
        return self.ureg

    def convert_unit(self, column: str, value: Any) -> Any:
        """`value` in the column's unit when it carries a unit ("75km"); else unchanged."""
        if column not in self.units or not isinstance(value, str):
            return value
        ureg = self._unit_registry()
        if ureg is None:
            return value
        try:
            quantity = ureg(value)
            if isinstance(quantity, numbers.Number):
                # A bare number is already in the column's unit; keep the text so the
                # usual all-digit handling applies.
                return value
            return quantity.to(self.units[column]).magnitude
        except Exception:
            # Anything Pint cannot read or convert (dates, text, the wrong dimension) is
            # compared as given rather than failing the page.
            return value

    def build_where_clauses(self, table: str) -> Tuple[List[str], Dict[str, Any]]:
        """SQL where clauses and their parameters (`p0`, `p1`... in order) for `table`.

        Also sets `equalities`: `(column, parameter name)` of each `column = :param`
        clause, which an index intersection may repeat (table_narrowing.py).
        """
        where_clauses: List[str] = []
        params: Dict[str, Any] = {}
        self.equalities = []
        for column, lookup, value in self.selections():
            definition = self._filters_by_key[lookup]
            if lookup in _UNIT_AWARE_OPS:
                value = self.convert_unit(column, value)
            if lookup == "exact":
                self.equalities.append((column, "p{}".format(len(params))))
            sql, values = definition.where_clause(table, column, value, len(params))
            where_clauses.append(sql)
            for bound in values:
                params["p{}".format(len(params))] = bound
        return where_clauses, params

    def human_description_en(self, extra: Optional[Iterable[str]] = None) -> str:
        """English for all filters: `where A, B and C`, `extra` parts first; "" if none."""
        bits = list(extra or [])
        for column, lookup, value in self.selections():
            bits.append(self._filters_by_key[lookup].human_clause(column, value))
        if not bits:
            return ""
        if len(bits) == 1:
            return "where {}".format(bits[0])
        return "where {} and {}".format(", ".join(bits[:-1]), bits[-1])


# ---------------------------------------------------------------------------
# Default filters_from_request hooks. Pluggy calls them synchronously, so each returns an
# async closure that core awaits.

FilterHookResult = Callable[[], Awaitable[FilterArguments]]


def _table_metadata(datasette: Datasette, database: str, table: str) -> dict:
    # fallback=False: fts_table, fts_pk and searchmode are table keys; a value at database
    # or instance level must not leak into every table.
    metadata = datasette.metadata(database=database, table=table, fallback=False)
    return metadata if isinstance(metadata, dict) else {}


@hookimpl(specname="filters_from_request")
def where_filters(request: Request, database: str, datasette: Datasette) -> FilterHookResult:
    """`_where=` (repeatable raw SQL), allowed when the actor may use execute-sql."""

    async def inner() -> FilterArguments:
        # Blank values would make the joined SQL invalid; a blank _where means nothing.
        clauses = [c for c in request.args.getlist("_where") if c.strip()]
        extra_wheres_for_ui: List[dict] = []
        if clauses:
            # permission_allowed may not exist on every Datasette yet; missing means allowed,
            # which is also execute-sql's default.
            check = getattr(datasette, "permission_allowed", None)
            if check is not None:
                allowed = await await_me_maybe(
                    check(request.actor, "execute-sql", resource=database, default=True)
                )
                if not allowed:
                    raise DatasetteError("_where= is not allowed", status=403)
            extra_wheres_for_ui = [
                {
                    "text": clause,
                    "remove_url": path_with_removed_args(request, {"_where": clause}),
                }
                for clause in clauses
            ]
        return FilterArguments(clauses, extra_context={"extra_wheres_for_ui": extra_wheres_for_ui})

    return inner


def _raw_search_mode(request: Request, table_metadata: dict) -> bool:
    """`_searchmode=raw|escaped` wins over the table's `searchmode` metadata."""
    requested_mode = request.args.get("_searchmode")
    if requested_mode == "raw":
        return True
    if requested_mode == "escaped":
        return False
    return table_metadata.get("searchmode") == "raw"


class _SearchClauses:
    """The where clauses, parameters and descriptions of the searches of one FTS table."""

    def __init__(self, fts_table: str, fts_pk: str, raw_mode: bool):
        self.fts = escape_sqlite(fts_table)
        self.pk = escape_sqlite(fts_pk)
        self.raw_mode = raw_mode
        self.where_clauses: List[str] = []
        self.params: Dict[str, Any] = {}
        self.human_descriptions: List[str] = []

    def usable(self, text: str) -> bool:
        # Blank searches (an empty search box) mean "no search"; so does escaped text
        # with no terms left (a lone quote), which FTS5 would reject as a syntax error.
        if not text.strip():
            return False
        return self.raw_mode or bool(escape_fts(text))

    def add(self, param: str, text: str, target: str, description: str) -> None:
        """Match `text` against `target` (the FTS table, or one of its columns)."""
        match = ":{}".format(param) if self.raw_mode else "escape_fts(:{})".format(param)
        self.where_clauses.append(
            "{pk} in (select rowid from {fts} where {target} match {match})".format(
                pk=self.pk, fts=self.fts, target=target, match=match
            )
        )
        self.params[param] = text
        self.human_descriptions.append(description)


async def _add_column_searches(
    request: Request, db: Database, fts_table: str, search: _SearchClauses
) -> None:
    """`_search_<column>=` searches, used only when there is no `_search=`."""
    column_searches = [
        (key[len("_search_") :], request.args[key])
        for key in request.args
        if key.startswith("_search_")
    ]
    fts_columns: Optional[list] = None
    for column, text in column_searches:
        if fts_columns is None:
            fts_columns = await db.table_columns(fts_table)
        if column not in fts_columns:
            raise BadRequest("Cannot search by that column")
        if not search.usable(text):
            continue
        # Parameters are numbered: column names need not be valid parameter names.
        # fts_pk rather than 1.0a7's hard-coded rowid, so column searches work
        # for the same tables (views, custom keys) as _search does.
        search.add(
            "search_{}".format(len(search.params)),
            text,
            escape_sqlite(column),
            'search column "{}" matches "{}"'.format(column, text),
        )


@hookimpl(specname="filters_from_request")
def search_filters(
    request: Request, database: str, table: str, datasette: Datasette
) -> FilterHookResult:
    """Full-text search: `_search=`, `_search_<column>=`, `_searchmode=raw|escaped`."""

    async def inner() -> FilterArguments:
        db = datasette.get_database(database)
        table_metadata = _table_metadata(datasette, database, table)
        fts_table = (
            request.args.get("_fts_table")
            or table_metadata.get("fts_table")
            or await db.fts_table(table)
        )
        if not fts_table:
            return FilterArguments([], extra_context={"supports_search": False, "search": ""})
        fts_pk = request.args.get("_fts_pk") or table_metadata.get("fts_pk") or "rowid"
        clauses = _SearchClauses(fts_table, fts_pk, _raw_search_mode(request, table_metadata))
        search = request.args.get("_search") or ""
        if clauses.usable(search):
            clauses.add("search", search, clauses.fts, 'search matches "{}"'.format(search))
        else:
            await _add_column_searches(request, db, fts_table, clauses)
        return FilterArguments(
            clauses.where_clauses,
            clauses.params,
            clauses.human_descriptions,
            {"supports_search": True, "search": search},
        )

    return inner


def _column_filter_param_count(request: Request, table: str) -> int:
    # Column filters bind p0, p1...; counting them here lets _through continue the numbering
    # so both can share one query without a parameter silently overwriting another.
    pairs = urllib.parse.parse_qsl(request.query_string, keep_blank_values=True)
    return len(Filters(pairs).build_where_clauses(table)[1])


@hookimpl(specname="filters_from_request")
def through_filters(request: Request, database: str, table: str, datasette: Datasette) -> FilterHookResult:
    """`_through={"table": T2, "column": C, "value": V}`: rows that T2 rows with C = V
    reference through T2's foreign key to this table."""

    async def inner() -> FilterArguments:
        where_clauses: List[str] = []
        params: Dict[str, Any] = {}
        human_descriptions: List[str] = []
        # A blank _through (an emptied form field) means no _through at all.
        throughs = [t for t in request.args.getlist("_through") if t.strip()]
        if not throughs:
            return FilterArguments([])
        db = datasette.get_database(database)
        first_param = _column_filter_param_count(request, table)
        for through in throughs:
            try:
                data = json.loads(through)
                through_table = data["table"]
                through_column = data["column"]
                value = data["value"]
                if not isinstance(through_table, str) or not isinstance(through_column, str):
                    raise TypeError
            except (ValueError, KeyError, TypeError, RecursionError):  # deep JSON too
                raise DatasetteError(
                    'Invalid _through - expected JSON with "table", "column" and "value"',
                    status=400,
                )
            fks_to_us = [
                fk
                for fk in await db.foreign_keys_for_table(through_table)
                if fk["other_table"] == table
            ]
            if not fks_to_us:
                raise DatasetteError(
                    "Invalid _through - could not find corresponding foreign key",
                    status=400,
                )
            fk = fks_to_us[0]
            param = "p{}".format(first_param + len(params))
            where_clauses.append(
                "{our_column} in (select {their_column} from {through_table} "
                "where {through_column} = :{param})".format(
                    our_column=escape_sqlite(fk["other_column"]),
                    their_column=escape_sqlite(fk["column"]),
                    through_table=escape_sqlite(through_table),
                    through_column=escape_sqlite(through_column),
                    param=param,
                )
            )
            params[param] = _bindable(value)
            human_descriptions.append('{}.{} = "{}"'.format(through_table, through_column, value))
        return FilterArguments(where_clauses, params, human_descriptions)

    return inner
