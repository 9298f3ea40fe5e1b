"""Facets: counts of the distinct values of a column across a table's filtered rows.

Three facet types ship by default, registered through the `register_facet_classes` hook
implemented at the bottom of this module:

- `ColumnFacet` (`?_facet=C`): each distinct non-null value of a column;
- `DateFacet` (`?_facet_date=C`): each distinct `date(C)`;
- `ArrayFacet` (`?_facet_array=C`, JSON1 only): each element of a JSON array column.

A facet class is instantiated once per table request with the filtered table SQL (no
order or limit) and its parameters. `facet_results()` runs the requested facets and
`suggest()` probes the columns that would make useful facets (http-cli.md section 4).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple, Union

from .database import Results
from .exceptions import QueryInterrupted
from .hookspecs import hookimpl
from .internal.stats import current_statistics
from .internal.stats.suggestions import (
    all_json_arrays,
    may_be_array_facet,
    may_be_date_facet,
    suggested_column_facets,
)
from .utils import (
    detect_json1,
    escape_sqlite,
    path_with_added_args,
    path_with_removed_args,
)
from .utils.sqlite import sqlite3

if TYPE_CHECKING:
    from .app import Datasette
    from .utils.asgi import Request

__all__ = [
    "Facet",
    "ColumnFacet",
    "DateFacet",
    "ArrayFacet",
    "load_facet_configs",
    "merge_facet_results",
    "register_facet_classes",
]

# Errors a suggestion probe may hit on odd data (malformed JSON, a column that vanished);
# suggestions are a nicety, so these only mean "do not suggest this one".
_PROBE_ERRORS = (QueryInterrupted, sqlite3.OperationalError, sqlite3.DatabaseError)


@hookimpl
def register_facet_classes() -> list:
    """The built-in facet classes; `ArrayFacet` only where SQLite has the JSON1 functions."""
    classes: list = [ColumnFacet, DateFacet]
    if detect_json1():
        classes.append(ArrayFacet)
    return classes


def _facet_type_for_key(key: str) -> Optional[str]:
    """`_facet` -> "column", `_facet_<type>` -> type; None for keys that are not facets."""
    if key == "_facet":
        return "column"
    if key.startswith("_facet_"):
        return key[len("_facet_") :] or None
    return None


def load_facet_configs(request: Request, table_metadata: Optional[dict]) -> Dict[str, List[dict]]:
    """Every facet configuration for a table request, grouped by facet type.

    Each entry is `{"source": "metadata" | "request", "config": {...}}`. A plain column
    name becomes `{"simple": name}`; JSON configs (request values starting with `{`, or
    dict values in metadata) are kept as given. Request entries also carry `"param"`, the
    `(key, value)` pair that asked for them, so their toggle URL can remove exactly it.
    Metadata entries come first. `_facet_size` is also returned (as type "size") because
    it shares the prefix; no facet class has that type, so it is never used.
    """
    configs: Dict[str, List[dict]] = {}
    for item in (table_metadata or {}).get("facets") or []:
        if isinstance(item, str):
            facet_type, config = "column", {"simple": item}
        elif isinstance(item, dict) and len(item) == 1:
            facet_type, value = next(iter(item.items()))
            config = {"simple": value} if isinstance(value, str) else value
        else:
            # Malformed metadata entries are skipped rather than breaking the table page.
            continue
        if not isinstance(config, dict):
            continue
        configs.setdefault(facet_type, []).append({"source": "metadata", "config": config})
    # Blank values (`?_facet=`) are dropped: they name no column.
    for key, value in urllib.parse.parse_qsl(request.query_string):
        facet_type = _facet_type_for_key(key)
        if facet_type is None:
            continue
        if value.startswith("{"):
            try:
                config = json.loads(value)
            except (ValueError, RecursionError):  # not JSON, or nested past the parser
                continue
            if not isinstance(config, dict):
                continue
        else:
            config = {"simple": value}
        configs.setdefault(facet_type, []).append(
            {"source": "request", "config": config, "param": (key, value)}
        )
    return configs


def _config_column(config: dict) -> Optional[str]:
    """The column a facet config refers to: its `column` key, else its `simple` value."""
    column = config.get("column") or config.get("simple")
    return column if isinstance(column, str) else None


def _unique_key(existing: Dict[str, Any], name: str) -> str:
    """`name`, or `name_2`, `name_3`... the first one not already a key of `existing`."""
    key = name
    suffix = 1
    while key in existing:
        suffix += 1
        key = "{}_{}".format(name, suffix)
    return key


def merge_facet_results(
    target: Dict[str, dict], results: Union[Dict[str, dict], Iterable[dict]]
) -> Dict[str, dict]:
    """Add facets to `target` (name -> facet), suffixing clashing names `_2`, `_3`...

    Two facets on one column but of different types (`_facet=created&_facet_date=created`)
    would otherwise overwrite each other. `results` is what a facet class's
    `facet_results()` returned: a list of facet dicts (the built-in classes, as in 1.0a7)
    or a dict of them keyed by name (accepted too). Returns `target`.
    """
    facets = results.values() if isinstance(results, dict) else results
    for facet in facets:
        target[_unique_key(target, facet["name"])] = facet
    return target


class Facet:
    """Base class of facet types; plugins subclass it and register via `register_facet_classes`.

    :param ds: the `Datasette` instance
    :param request: the table request (its query string selects facets and values)
    :param database: database name
    :param sql: the filtered table query without order or limit; default every row of `table`
    :param table: table or view name
    :param params: parameters bound into `sql`
    :param metadata: the table's metadata dict (`facets`, `facet_size`); looked up when
        omitted and `table` is given
    :param row_count: rows matched by `sql`, when the caller already counted them
    """

    type: str = ""

    def __init__(
        self,
        ds: Datasette,
        request: Request,
        database: str,
        sql: Optional[str] = None,
        table: Optional[str] = None,
        params: Optional[Union[dict, list, tuple]] = None,
        metadata: Optional[dict] = None,
        row_count: Optional[int] = None,
    ):
        assert table or sql, "Must provide either table= or sql="
        self.ds = ds
        self.request = request
        self.database = database
        self.table = table
        self.sql = sql or "select * from {}".format(escape_sqlite(table))
        self.params = params if params is not None else []
        if metadata is None and table:
            # Callers normally pass the table's metadata; look it up for those that do not.
            metadata = ds.metadata(database=database, table=table, fallback=False)
        self.metadata = metadata or {}
        self.row_count = row_count

    # -- configuration ---------------------------------------------------------------------

    def get_configs(self) -> List[dict]:
        """This type's facet configs: `{"source", "config"[, "param"]}` dicts, metadata first.

        A column asked for twice (in metadata and the query string, say) is kept once, at
        its first position, so a metadata facet stays un-hideable.
        """
        configs = load_facet_configs(self.request, self.metadata).get(self.type, [])
        seen = set()
        unique = []
        for entry in configs:
            config = entry["config"]
            column = _config_column(config)
            extra = {k: v for k, v in config.items() if k not in ("simple", "column")}
            key = json.dumps([column, extra], sort_keys=True, default=str)
            if key in seen:
                continue
            seen.add(key)
            unique.append(entry)
        return unique

    def get_querystring_pairs(self) -> List[Tuple[str, str]]:
        """The request's query string as `(key, value)` pairs, blank values included."""
        return urllib.parse.parse_qsl(self.request.query_string, keep_blank_values=True)

    def get_facet_size(self) -> int:
        """Values to show per facet.

        `?_facet_size=N|max` wins (other values are ignored), then metadata `facet_size`
        (int or "max"), then the `default_facet_size` setting; never above
        `max_returned_rows`, which is also what "max" means.
        """
        max_returned_rows = self.ds.setting("max_returned_rows")
        facet_size = self.ds.setting("default_facet_size")
        from_metadata = _parse_size(self.metadata.get("facet_size"), max_returned_rows)
        from_request = _parse_size(self.request.args.get("_facet_size"), max_returned_rows)
        if from_request is not None:
            facet_size = from_request
        elif from_metadata is not None:
            facet_size = from_metadata
        if max_returned_rows:
            facet_size = min(facet_size, max_returned_rows)
        return facet_size

    # -- helpers for subclasses ------------------------------------------------------------

    async def _execute(
        self, sql: str, time_limit_ms: Optional[int], params: Any = None, probe: bool = False
    ) -> Any:
        """Run `sql` (with `self.params` unless given) against this facet's database.

        `probe` marks suggestion queries: failing is an expected answer for them (JSON
        functions on non-JSON text), so their errors are not logged.
        """
        db = self.ds.get_database(self.database)
        return await db.execute(
            sql,
            self.params if params is None else params,
            custom_time_limit=time_limit_ms,
            log_sql_errors=not probe,
        )

    async def _cached(self, sql: str, time_limit_ms: Optional[int], probe: bool = False) -> Any:
        """`_execute`, answered from the result cache while the database is unchanged
        (internal/cache); only the rows are kept, so the result has no columns."""
        cache = getattr(self.ds, "result_cache", None)
        if cache is None:
            return await self._execute(sql, time_limit_ms, probe=probe)
        db = self.ds.get_database(self.database)
        rows = await cache.rows(
            db, sql, self.params, lambda: self._execute(sql, time_limit_ms, probe=probe)
        )
        return Results(rows, False, None)

    async def _probe(self, sql: str) -> Any:
        """Run one suggestion probe under `facet_suggest_time_limit_ms`."""
        return await self._cached(sql, self.ds.setting("facet_suggest_time_limit_ms"), probe=True)

    async def get_columns(self, sql: str, params: Any = None) -> List[str]:
        """Column names of `sql`'s result, found without reading any row."""
        results = await self._execute(
            "select * from ({}) limit 0".format(sql),
            self.ds.setting("facet_suggest_time_limit_ms"),
            params,
        )
        return list(results.columns)

    async def get_row_count(self) -> int:
        """Rows matched by `self.sql`, counted once when the caller did not pass them."""
        if self.row_count is None:
            results = await self._cached(
                "select count(*) from ({})".format(self.sql),
                self.ds.setting("facet_suggest_time_limit_ms"),
            )
            self.row_count = results.rows[0][0]
        return self.row_count

    async def column_statistics(self) -> Optional[dict]:
        """The table's current column statistics (docs/column-statistics.md), or None:
        for SQL facets, views, and tables the background indexer has not finished."""
        if not self.table:
            return None
        return await current_statistics(self.ds, self.database, self.table)

    def may_suggest(self, stats: Optional[dict], column: str) -> bool:
        """False when the statistics rule `column` out, sparing its probe query."""
        return True

    def _absolute(self, path: str) -> str:
        return self.ds.absolute_url(self.request, self.ds.urls.path(path))

    def _suggestion_toggle_url(self, column: str) -> str:
        """Absolute URL of the current page with this facet type added for `column`."""
        key = "_facet" if self.type == "column" else "_facet_{}".format(self.type)
        return self._absolute(path_with_added_args(self.request, {key: column}))

    async def _suggest_where(self, accepts: Any) -> List[dict]:
        """`{"name", "type", "toggle_url"}` for each column not yet faceted by this type
        that `await accepts(quoted_column)` approves; a failing probe skips the column."""
        try:
            columns = await self.get_columns(self.sql, self.params)
        except _PROBE_ERRORS:
            return []
        already = {_config_column(entry["config"]) for entry in self.get_configs()}
        stats = await self.column_statistics()
        suggestions = []
        for column in columns:
            if column in already or not self.may_suggest(stats, column):
                continue
            try:
                accepted = await accepts(escape_sqlite(column))
            except _PROBE_ERRORS:
                continue
            if accepted:
                suggestions.append(
                    {
                        "name": column,
                        "type": self.type,
                        "toggle_url": self._suggestion_toggle_url(column),
                    }
                )
        return suggestions

    def _facet_toggle_url(self, entry: dict, column: str) -> str:
        """Relative URL of the current page without the parameter that asked for this facet.

        The router strips `base_url` from request paths, so it is added back here.
        """
        key, value = entry.get("param") or (
            "_facet" if self.type == "column" else "_facet_{}".format(self.type),
            column,
        )
        return self.ds.urls.path(path_with_removed_args(self.request, {key: value}))

    def _value_toggle_url(
        self, pairs: List[Tuple[str, str]], key: str, value: Any
    ) -> Tuple[str, bool]:
        """`(absolute toggle URL, selected)` for one facet value selected through `key`.

        A value is selected when exactly `key=value` is in the query string; its toggle
        then removes that pair, otherwise it adds it.
        """
        selected = (key, str(value)) in pairs
        if selected:
            path = path_with_removed_args(self.request, {key: str(value)})
        else:
            path = path_with_added_args(self.request, {key: value})
        return self._absolute(path), selected

    def _facet_dict(self, entry: dict, column: str, values: List[dict], truncated: bool) -> dict:
        return {
            "name": column,
            "type": self.type,
            "hideable": entry["source"] != "metadata",
            "toggle_url": self._facet_toggle_url(entry, column),
            "results": values,
            "truncated": truncated,
        }

    # -- running requested facets (shared by the built-in types) -----------------------------

    def _facet_sql(self, column: str, limit: int) -> str:
        """SQL returning `(value, count)` rows for `column`, best first, at most `limit`."""
        raise NotImplementedError

    def _selection_key(self, column: str) -> str:
        """The query-string key that filters the table to one value of this facet."""
        raise NotImplementedError

    async def _labels(self, column: str, values: List[Any]) -> dict:
        """`{(column, value): label}` for values whose label is not the value itself."""
        return {}

    async def _run_requested_facets(self) -> Tuple[List[dict], List[str]]:
        """Run every configured facet of this type, one after another.

        Fetching one row more than the facet size tells whether the list is truncated.
        A facet that runs past `facet_time_limit_ms` is left out and its name reported.
        """
        results: List[dict] = []
        timed_out: List[str] = []
        facet_size = self.get_facet_size()
        pairs = self.get_querystring_pairs()
        for entry in self.get_configs():
            column = _config_column(entry["config"])
            if column is None:
                continue
            sql = self._facet_sql(column, facet_size + 1)
            try:
                rows = (await self._cached(sql, self.ds.setting("facet_time_limit_ms"))).rows
            except QueryInterrupted:
                timed_out.append(column)
                continue
            shown = rows[:facet_size]
            labels = await self._labels(column, [row[0] for row in shown])
            key = self._selection_key(column)
            values = []
            for value, count in shown:
                toggle_url, selected = self._value_toggle_url(pairs, key, value)
                values.append(
                    {
                        "value": value,
                        "label": labels.get((column, value), value),
                        "count": count,
                        "toggle_url": toggle_url,
                        "selected": selected,
                    }
                )
            results.append(self._facet_dict(entry, column, values, len(rows) > facet_size))
        return results, timed_out

    # -- the interface -----------------------------------------------------------------------

    async def suggest(self) -> List[dict]:
        """Facets of this type worth offering: `{"name", "toggle_url", ...}` dicts."""
        return []

    async def facet_results(self) -> Tuple[List[dict], List[str]]:
        """Run this type's requested facets: `([facet dicts], [names that timed out])`."""
        return [], []


def _parse_size(value: Any, max_returned_rows: int) -> Optional[int]:
    """A facet size from `N`, `"N"` or `"max"`; None for anything else (so it is ignored)."""
    if value == "max":
        return max_returned_rows
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _value_counts_sql(expression: str, sql: str, limit: int) -> str:
    """`(value, count)` rows of `expression` over `sql`: nulls left out, best first."""
    return (
        "select {e} as value, count(*) as count from ({sql}) "
        "where {e} is not null group by {e} "
        "order by count desc, value limit {limit}"
    ).format(e=expression, sql=sql, limit=limit)


class ColumnFacet(Facet):
    """Counts of each distinct non-null value of a column, labelled through foreign keys."""

    type = "column"

    async def suggest(self) -> List[dict]:
        """Columns with a few repeated values: `{"name", "toggle_url"}` each (no `type`).

        A column qualifies when it is not already faceted, has more than one but fewer
        distinct non-null values than there are rows, no more than the facet size, and
        at least one value occurs more than once.
        """
        try:
            columns = await self.get_columns(self.sql, self.params)
            row_count = await self.get_row_count()
        except _PROBE_ERRORS:
            return []
        facet_size = self.get_facet_size()
        already = {_config_column(entry["config"]) for entry in self.get_configs()}
        stats = await self.column_statistics()
        if stats is not None:
            # Indexed: decided from the statistics, the rest measured by one query.
            names = await suggested_column_facets(
                stats,
                [column for column in columns if column not in already],
                facet_size,
                row_count,
                self.sql,
                lambda sql, n: self._cached(
                    sql, self.ds.setting("facet_suggest_time_limit_ms") * n, probe=True
                ),
            )
            return [{"name": c, "toggle_url": self._suggestion_toggle_url(c)} for c in names]
        suggestions = []
        for column in columns:
            if column in already:
                continue
            quoted = escape_sqlite(column)
            sql = (
                "select {col} as value, count(*) as n from ({sql}) "
                "where {col} is not null group by {col} limit {limit}"
            ).format(col=quoted, sql=self.sql, limit=facet_size + 1)
            try:
                results = await self._probe(sql)
            except _PROBE_ERRORS:
                continue
            distinct = len(results.rows)
            if (
                1 < distinct < row_count
                and distinct <= facet_size
                and any(row[1] > 1 for row in results.rows)
            ):
                suggestions.append(
                    {"name": column, "toggle_url": self._suggestion_toggle_url(column)}
                )
        return suggestions

    async def _labels(self, column: str, values: List[Any]) -> dict:
        """`{(column, value): label}` when `column` is a foreign key of the table, else `{}`."""
        expand = getattr(self.ds, "expand_foreign_keys", None)
        if not self.table or expand is None or not values:
            return {}
        db = self.ds.get_database(self.database)
        fks = await db.foreign_keys_for_table(self.table)
        if not any(fk["column"] == column for fk in fks):
            return {}
        return await expand(self.request.actor, self.database, self.table, column, values)

    def _facet_sql(self, column: str, limit: int) -> str:
        return _value_counts_sql(escape_sqlite(column), self.sql, limit)

    def _selection_key(self, column: str) -> str:
        # `_x=1` would be read as a special parameter, so underscore columns use __exact.
        return "{}__exact".format(column) if column.startswith("_") else column

    async def facet_results(self) -> Tuple[List[dict], List[str]]:
        """Each requested column's values by count desc then value, up to the facet size."""
        return await self._run_requested_facets()


class DateFacet(Facet):
    """Counts of each distinct `date(column)`, for date and datetime text columns."""

    type = "date"

    def may_suggest(self, stats: Optional[dict], column: str) -> bool:
        return may_be_date_facet(stats, column)

    async def suggest(self) -> List[dict]:
        """Columns holding dates: `{"name", "type": "date", "toggle_url"}` each.

        Among the first 100 values shaped like `????-??-*`, at least one must be a date
        SQLite's `date()` understands.
        """

        async def accepts(quoted: str) -> bool:
            sql = (
                "select date({col}) from ({sql}) where {col} glob '????-??-*' limit 100"
            ).format(col=quoted, sql=self.sql)
            return any(row[0] for row in (await self._probe(sql)).rows)

        return await self._suggest_where(accepts)

    def _facet_sql(self, column: str, limit: int) -> str:
        return _value_counts_sql("date({})".format(escape_sqlite(column)), self.sql, limit)

    def _selection_key(self, column: str) -> str:
        return "{}__date".format(column)

    async def facet_results(self) -> Tuple[List[dict], List[str]]:
        """Each requested column's dates by count desc then date; selection is `C__date=v`."""
        return await self._run_requested_facets()


def _is_array_of_strings(raw: Any) -> bool:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError, RecursionError):  # a cell nested past the parser too
        return False
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


class ArrayFacet(Facet):
    """Counts of the elements of a JSON array column; needs SQLite's JSON1 functions.

    A row counts once towards each distinct element it holds (`["a", "a"]` adds 1 to
    "a"). Values that are not JSON arrays, and null elements, are left out (as column
    facets leave out NULL).
    """

    type = "array"
    # Set by may_suggest() just before accepts() probes the same column (below).
    _only_arrays = False

    def may_suggest(self, stats: Optional[dict], column: str) -> bool:
        self._only_arrays = all_json_arrays(stats, column)
        return may_be_array_facet(stats, column)

    async def suggest(self) -> List[dict]:
        """JSON array-of-strings columns: `{"name", "type": "array", "toggle_url"}` each.

        Every non-null, non-empty value must be a JSON array, and the first 100 non-empty
        arrays must hold only strings.
        """

        async def accepts(quoted: str) -> bool:
            # json_type() raises on malformed JSON, which skips the column as intended.
            types_sql = (
                "select distinct json_type({col}) from ({sql}) "
                "where {col} is not null and {col} != ''"
            ).format(col=quoted, sql=self.sql)
            # The statistics may already show every value is an array (see may_suggest).
            if not self._only_arrays:
                types = await self._probe(types_sql)
                if [row[0] for row in types.rows] != ["array"]:
                    return False
            first_sql = (
                "select {col} from ({sql}) where {col} is not null and {col} != '' "
                "and json_array_length({col}) > 0 limit 100"
            ).format(col=quoted, sql=self.sql)
            first = await self._probe(first_sql)
            return bool(first.rows) and all(_is_array_of_strings(row[0]) for row in first.rows)

        return await self._suggest_where(accepts)

    def _facet_sql(self, column: str, limit: int) -> str:
        quoted = escape_sqlite(column)
        # The CASE keeps json_type() away from malformed JSON (it would raise); the
        # NOT EXISTS keeps only an element's first occurrence within its row.
        return (
            "with facet_rows as (select * from ({sql})), "
            "arrays as (select {col} as facet_array from facet_rows "
            "where case when json_valid({col}) then json_type({col}) end = 'array') "
            "select j.value as value, count(*) as count "
            "from arrays join json_each(arrays.facet_array) as j "
            "where not exists (select 1 from json_each(arrays.facet_array) as e "
            "where e.key < j.key and e.type = j.type and e.value = j.value) "
            "and j.type != 'null' "
            "group by j.value order by count desc, value limit {limit}"
        ).format(col=quoted, sql=self.sql, limit=limit)

    def _selection_key(self, column: str) -> str:
        return "{}__arraycontains".format(column)

    async def facet_results(self) -> Tuple[List[dict], List[str]]:
        """Each requested column's elements by count desc then value; selection is
        `C__arraycontains=v`."""
        return await self._run_requested_facets()
