"""The `?_extra=` values of table JSON, each computed only when asked for.

`EXTRA_VALUES` maps each name to a small function of `ExtrasInput`; the count and the
facets, which several extras share, are computed once beforehand when any needs them.

Extras whose values are not JSON (`display_rows`, `table_actions`, `filters`, `_html`)
are ignored rather than answered with a 500 as 1.0a7 did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from ..exceptions import BadRequest, DatasetteError, QueryInterrupted
from ..facets import merge_facet_results
from ..plugins import pm
from ..utils import await_me_maybe, path_with_added_args, path_with_removed_args
from ..utils.sqlite import sqlite3
from .chrome import custom_table_templates, with_inherited_metadata
from .page_data import TablePage, display_column
from .renderers import table_renderers

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database
    from ..utils.asgi import Request

EXTRAS = {
    "count": "Total number of rows matching these filters",
    "facet_results": "Results of facets calculated against this data",
    "facets_timed_out": "Facets that timed out",
    "suggested_facets": "Suggestions for facets that might return interesting results",
    "human_description_en": "Human-readable description of the filters",
    "next_url": "Full URL for the next page of results",
    "columns": "Column names returned by this query",
    "primary_keys": "Primary keys for this table",
    "display_columns": "Details of the columns shown",
    "debug": "Extra debug information",
    "request": "Details of the incoming HTTP request",
    "query": "Details of the underlying SQL query",
    "metadata": "Metadata about the table and database",
    "extras": "Available ?_extra= blocks",
    "database": "Database name",
    "table": "Table name",
    "database_color": "Color assigned to the database",
    "is_view": "Is this a view rather than a table?",
    "private": "Is this table private, visible only to this actor?",
    "renderers": "Links to alternative output formats",
    "custom_table_templates": "Templates considered for the rows of this table",
    "sorted_facet_results": "Facet results sorted by number of values",
    "table_definition": "SQL definition of this table",
    "view_definition": "SQL definition of this view",
    "expandable_columns": "Columns that can be expanded with labels",
    "form_hidden_args": "Hidden form fields used by the HTML page",
}

async def count_rows(
    datasette: Datasette, request: Request, db: Database, page: TablePage
) -> Optional[int]:
    """Rows matching the filters; None with `_nocount` or when counting times out."""
    if request.args.get("_nocount"):
        return None
    if not db.is_mutable and not page.query.where_clauses and db.cached_table_counts:
        cached = db.cached_table_counts.get(page.table)
        if cached is not None:
            return cached

    async def count() -> list:
        sql, params = page.query.count_sql(), page.query.params
        return await datasette.result_cache.rows(
            db, sql, params, lambda: db.execute(sql, params)
        )

    try:
        rows = await page.query.checked(count)
    except (QueryInterrupted, sqlite3.Error):
        return None
    return rows[0][0]


def facet_classes() -> list:
    """Facet classes from every `register_facet_classes` hook."""
    classes: list = []
    for hook_classes in pm.hook.register_facet_classes():
        classes.extend(hook_classes or [])
    return classes


def facet_params_present(request: Request) -> bool:
    """Whether the query string asks for any facet (`_facet_size` alone does not)."""
    return any(key.startswith("_facet") and key != "_facet_size" for key in request.args)


async def compute_facets(
    datasette: Datasette, request: Request, db: Database, page: TablePage, row_count: Optional[int]
) -> tuple:
    """`(facet results by name, timed-out names, facet instances)`."""
    if request.args.get("_nofacet"):
        return {}, [], []
    if not datasette.setting("allow_facet") and facet_params_present(request):
        raise BadRequest("_facet= is not allowed")
    # Checked: the facet SQL may name rowids read for this page (table_narrowing.py).
    return await page.query.checked(lambda: _run_facets(datasette, request, db, page, row_count))


def facet_instances(
    datasette: Datasette, request: Request, db: Database, page: TablePage, row_count: Optional[int]
) -> list:
    """One instance of each facet class over the page's filtered rows."""
    return [
        cls(
            datasette,
            request,
            db.name,
            sql=page.query.filtered_sql(),
            table=page.table,
            params=page.query.params,
            metadata=page.table_metadata,
            row_count=row_count,
        )
        for cls in facet_classes()
    ]


async def _run_facets(
    datasette: Datasette, request: Request, db: Database, page: TablePage, row_count: Optional[int]
) -> tuple:
    instances = facet_instances(datasette, request, db, page, row_count)
    results: dict = {}
    timed_out: list = []
    # One after another: concurrent facet queries on one connection pool gain nothing.
    for facet in instances:
        try:
            facet_results, facets_timed_out = await facet.facet_results()
        except sqlite3.Error as e:
            # A facet over a column that does not exist is a client mistake, not a 500.
            raise DatasetteError(f"Cannot compute facet: {e}", title="Invalid facet", status=400)
        merge_facet_results(results, facet_results)
        timed_out.extend(facets_timed_out)
    return results, timed_out, instances


async def compute_suggestions(datasette: Datasette, request: Request, x: ExtrasInput) -> list:
    """Facets worth offering, unless suggestions are off or this is not the first page."""
    if (
        not datasette.setting("suggest_facets")
        or not datasette.setting("allow_facet")
        or request.args.get("_next")
        or request.args.get("_nofacet")
        or request.args.get("_nosuggest")
    ):
        return []
    instances = x.facet_instances

    async def suggest() -> list:
        nonlocal instances
        if instances is None:  # again after a change: new SQL without the rowids read
            instances = facet_instances(datasette, request, x.db, x.page, x.row_count)
        suggestions: list = []
        for facet in instances:
            suggestions.extend(await facet.suggest())
        instances = None
        return suggestions

    return await x.page.query.checked(suggest)


def human_description(page: TablePage) -> str:
    """`2 rows where x = 1 sorted by y descending`: the filters and the sort in words."""
    text = page.filters.human_description_en(extra=page.human_descriptions)
    if page.sort and page.sort.column:
        direction = " descending" if page.sort.desc else ""
        text = f"{text} sorted by {page.sort.column}{direction}".strip()
    return text


async def display_columns(db: Database, page: TablePage) -> list:
    """The result columns with their type, key and description (`notnull` a boolean here)."""
    details = {c.name: c for c in await db.table_column_details(page.table)}
    sortable = page.table_metadata.get("sortable_columns")
    descriptions = page.table_metadata.get("columns") or {}
    columns = []
    for name in page.columns:
        column = display_column(
            name,
            details.get(name),
            sortable=sortable is None or name in sortable,
            is_pk=name in page.pks,
            description=descriptions.get(name),
        )
        # No rowid row here: its type stays empty, as the table JSON always showed it.
        if name not in details:
            column["type"] = ""
        column["notnull"] = bool(column["notnull"])
        columns.append(column)
    return columns


@dataclass
class ExtrasInput:
    """What the extra functions read: the page, the request, and the shared results."""

    datasette: Datasette
    request: Request
    db: Database
    page: TablePage
    extras: set
    next_url: Optional[str]
    row_count: Optional[int] = None
    facets: dict = field(default_factory=dict)
    timed_out: list = field(default_factory=list)
    facet_instances: list = field(default_factory=list)


def _debug(x: ExtrasInput) -> dict:
    return {
        "resolved": repr((x.db.name, x.page.table, x.page.is_view)),
        "url_vars": x.request.url_vars,
        "nofacet": bool(x.request.args.get("_nofacet")),
        "nosuggest": bool(x.request.args.get("_nosuggest")),
    }


def _request(x: ExtrasInput) -> dict:
    request = x.request
    return {
        "url": request.url,
        "path": request.path,
        "full_path": request.full_path,
        "host": request.host,
        "args": {key: request.args.getlist(key) for key in request.args},
    }


def _extras(x: ExtrasInput) -> list:
    """Every extra with a URL that toggles it on or off."""
    toggles = []
    for extra, description in EXTRAS.items():
        selected = extra in x.extras
        path = (
            path_with_removed_args(x.request, {"_extra": extra})
            if selected
            else path_with_added_args(x.request, {"_extra": extra})
        )
        toggles.append(
            {
                "name": extra,
                "description": description,
                "toggle_url": x.datasette.absolute_url(x.request, x.datasette.urls.path(path)),
                "selected": selected,
            }
        )
    return toggles


async def _expandable_columns(x: ExtrasInput) -> list:
    """`[foreign key, label column of the other table]` pairs (none for views)."""
    if x.page.is_view:
        return []
    expandable = []
    for fk in await x.db.foreign_keys_for_table(x.page.table):
        expandable.append([fk, await x.db.label_column_for_table(fk["other_table"])])
    return expandable


async def _table_definition(x: ExtrasInput) -> Optional[str]:
    return None if x.page.is_view else await x.db.get_table_definition(x.page.table)


async def _view_definition(x: ExtrasInput) -> Optional[str]:
    return await x.db.get_view_definition(x.page.table) if x.page.is_view else None


def _form_hidden_args(x: ExtrasInput) -> list:
    """The arguments the filter form must carry along as hidden fields.

    Everything except what the form sets itself: filters (plain keys, and `_` keys holding
    `__`, which are filters on `_`-named columns), the sort, the search and `_next`.
    """
    args = x.request.args
    return [
        (key, value)
        for key in args
        if key.startswith("_")
        and "__" not in key
        and key not in ("_sort", "_sort_desc", "_search", "_next")
        for value in args.getlist(key)
    ]


def _sorted_facet_results(x: ExtrasInput) -> list:
    return sorted(x.facets.values(), key=lambda f: (len(f["results"]), f["name"]), reverse=True)


# One function per extra; each may return a value or an awaitable.
EXTRA_VALUES: dict = {
    "count": lambda x: x.row_count,
    "facet_results": lambda x: {"results": x.facets, "timed_out": x.timed_out},
    "facets_timed_out": lambda x: x.timed_out,
    "suggested_facets": lambda x: compute_suggestions(x.datasette, x.request, x),
    "human_description_en": lambda x: human_description(x.page),
    "next_url": lambda x: x.next_url,
    "columns": lambda x: x.page.columns,
    "primary_keys": lambda x: x.page.pks,
    "display_columns": lambda x: display_columns(x.db, x.page),
    "debug": _debug,
    "request": _request,
    "query": lambda x: {"sql": x.page.sql, "params": x.page.params},
    "metadata": lambda x: with_inherited_metadata(x.datasette, x.page.table_metadata),
    "extras": _extras,
    "database": lambda x: x.db.name,
    "table": lambda x: x.page.table,
    "database_color": lambda x: x.db.color,
    "is_view": lambda x: x.page.is_view,
    "private": lambda x: x.page.private,
    "renderers": lambda x: table_renderers(x.datasette, x.request, x.page),
    "custom_table_templates": lambda x: custom_table_templates(x.db.name, x.page.table, "table"),
    "sorted_facet_results": _sorted_facet_results,
    "table_definition": _table_definition,
    "view_definition": _view_definition,
    "expandable_columns": _expandable_columns,
    "form_hidden_args": _form_hidden_args,
}

_NEEDS_COUNT = {"count", "suggested_facets"}
_NEEDS_FACETS = {"facet_results", "facets_timed_out", "suggested_facets", "sorted_facet_results"}


async def compute_extras(
    datasette: Datasette,
    request: Request,
    db: Database,
    page: TablePage,
    extras: set,
    next_url: Optional[str],
) -> dict:
    """The requested extras, in the order of `EXTRAS`, skipping unknown or non-JSON names."""
    x = ExtrasInput(datasette, request, db, page, extras, next_url)
    if extras & _NEEDS_COUNT:
        x.row_count = await count_rows(datasette, request, db, page)
    if extras & _NEEDS_FACETS:
        x.facets, x.timed_out, x.facet_instances = await compute_facets(
            datasette, request, db, page, x.row_count
        )
    return {
        name: await await_me_maybe(EXTRA_VALUES[name](x)) for name in EXTRAS if name in extras
    }
