"""The `?_extra=` values of table JSON, each computed only when asked for.

Extras whose values are not JSON (`display_rows`, `table_actions`, `filters`, `_html`)
are ignored rather than answered with a 500 as 1.0a7 did.
"""

from __future__ import annotations

from typing import Any, Optional

from ..exceptions import BadRequest, DatasetteError, QueryInterrupted
from ..facets import merge_facet_results
from ..plugins import pm
from ..utils import path_with_added_args, path_with_removed_args
from ..utils.sqlite import sqlite3

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

INHERITED_METADATA = ("source", "source_url", "license", "license_url", "about", "about_url")


async def count_rows(datasette: Any, request: Any, db: Any, page: Any) -> Optional[int]:
    """Rows matching the filters; None with `_nocount` or when counting times out."""
    if request.args.get("_nocount"):
        return None
    if not db.is_mutable and not page.query.where_clauses and db.cached_table_counts:
        cached = db.cached_table_counts.get(page.table)
        if cached is not None:
            return cached
    try:
        result = await db.execute(page.query.count_sql(), page.query.params)
    except (QueryInterrupted, sqlite3.Error):
        return None
    return result.rows[0][0]


def facet_classes() -> list:
    classes: list = []
    for hook_classes in pm.hook.register_facet_classes():
        classes.extend(hook_classes or [])
    return classes


def facet_params_present(request: Any) -> bool:
    return any(key.startswith("_facet") and key != "_facet_size" for key in request.args)


async def compute_facets(
    datasette: Any, request: Any, db: Any, page: Any, row_count: Optional[int]
) -> tuple:
    """`(facet results by name, timed-out names, facet instances)`."""
    if request.args.get("_nofacet"):
        return {}, [], []
    if not datasette.setting("allow_facet") and facet_params_present(request):
        raise BadRequest("_facet= is not allowed")
    instances = [
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


async def compute_suggestions(datasette: Any, request: Any, instances: list) -> list:
    if (
        not datasette.setting("suggest_facets")
        or not datasette.setting("allow_facet")
        or request.args.get("_next")
        or request.args.get("_nofacet")
        or request.args.get("_nosuggest")
    ):
        return []
    suggestions: list = []
    for facet in instances:
        suggestions.extend(await facet.suggest())
    return suggestions


def human_description(page: Any) -> str:
    text = page.filters.human_description_en(extra=page.human_descriptions)
    if page.sort and page.sort.column:
        direction = " descending" if page.sort.desc else ""
        text = f"{text} sorted by {page.sort.column}{direction}".strip()
    return text


async def display_columns(datasette: Any, db: Any, page: Any) -> list:
    details = {c.name: c for c in await db.table_column_details(page.table)}
    sortable = page.table_metadata.get("sortable_columns")
    descriptions = page.table_metadata.get("columns") or {}
    columns = []
    for name in page.columns:
        detail = details.get(name)
        columns.append(
            {
                "name": name,
                "sortable": sortable is None or name in sortable,
                "is_pk": name in page.pks,
                "type": (detail.type if detail else "") or "",
                "notnull": bool(detail.notnull) if detail else False,
                "description": descriptions.get(name),
            }
        )
    return columns


async def compute_extras(
    datasette: Any, request: Any, db: Any, page: Any, extras: set, next_url: Optional[str]
) -> dict:
    """The requested extras, in a stable order, skipping unknown or non-JSON names."""
    values: dict = {}
    needs_count = extras & {"count", "suggested_facets"}
    row_count = await count_rows(datasette, request, db, page) if needs_count else None
    needs_facets = extras & {
        "facet_results",
        "facets_timed_out",
        "suggested_facets",
        "sorted_facet_results",
    }
    facets: dict = {}
    timed_out: list = []
    instances: list = []
    if needs_facets:
        facets, timed_out, instances = await compute_facets(
            datasette, request, db, page, row_count
        )
    for name in sorted(extras, key=lambda n: list(EXTRAS).index(n) if n in EXTRAS else 999):
        if name not in EXTRAS:
            continue
        if name == "count":
            values["count"] = row_count
        elif name == "facet_results":
            values["facet_results"] = {"results": facets, "timed_out": timed_out}
        elif name == "facets_timed_out":
            values["facets_timed_out"] = timed_out
        elif name == "suggested_facets":
            values["suggested_facets"] = await compute_suggestions(datasette, request, instances)
        elif name == "sorted_facet_results":
            values["sorted_facet_results"] = sorted(
                facets.values(), key=lambda f: (len(f["results"]), f["name"]), reverse=True
            )
        elif name == "human_description_en":
            values["human_description_en"] = human_description(page)
        elif name == "next_url":
            values["next_url"] = next_url
        elif name == "columns":
            values["columns"] = page.columns
        elif name == "primary_keys":
            values["primary_keys"] = page.pks
        elif name == "display_columns":
            values["display_columns"] = await display_columns(datasette, db, page)
        elif name == "debug":
            values["debug"] = {
                "resolved": repr((db.name, page.table, page.is_view)),
                "url_vars": request.url_vars,
                "nofacet": bool(request.args.get("_nofacet")),
                "nosuggest": bool(request.args.get("_nosuggest")),
            }
        elif name == "request":
            values["request"] = {
                "url": request.url,
                "path": request.path,
                "full_path": request.full_path,
                "host": request.host,
                "args": {key: request.args.getlist(key) for key in request.args},
            }
        elif name == "query":
            values["query"] = {"sql": page.sql, "params": page.params}
        elif name == "metadata":
            metadata = dict(page.table_metadata)
            for key in INHERITED_METADATA:
                if key not in metadata and datasette.metadata(key) is not None:
                    metadata[key] = datasette.metadata(key)
            values["metadata"] = metadata
        elif name == "extras":
            values["extras"] = [
                {
                    "name": extra,
                    "description": description,
                    "toggle_url": datasette.absolute_url(
                        request,
                        datasette.urls.path(
                            path_with_removed_args(request, {"_extra": extra})
                            if extra in extras
                            else path_with_added_args(request, {"_extra": extra})
                        ),
                    ),
                    "selected": extra in extras,
                }
                for extra, description in EXTRAS.items()
            ]
        elif name == "database":
            values["database"] = db.name
        elif name == "table":
            values["table"] = page.table
        elif name == "database_color":
            values["database_color"] = db.color
        elif name == "is_view":
            values["is_view"] = page.is_view
        elif name == "private":
            values["private"] = page.private
        elif name == "renderers":
            from .table_html import renderers_for

            values["renderers"] = await renderers_for(datasette, request, page)
        elif name == "custom_table_templates":
            from ..utils import to_css_class

            values["custom_table_templates"] = [
                f"_table-{to_css_class(db.name)}-{to_css_class(page.table)}.html",
                f"_table-table-{to_css_class(db.name)}-{to_css_class(page.table)}.html",
                "_table.html",
            ]
        elif name == "table_definition":
            values["table_definition"] = (
                None if page.is_view else await db.get_table_definition(page.table)
            )
        elif name == "view_definition":
            values["view_definition"] = (
                await db.get_view_definition(page.table) if page.is_view else None
            )
        elif name == "expandable_columns":
            expandable = []
            if not page.is_view:
                for fk in await db.foreign_keys_for_table(page.table):
                    label = await db.label_column_for_table(fk["other_table"])
                    expandable.append([fk, label])
            values["expandable_columns"] = expandable
        elif name == "form_hidden_args":
            values["form_hidden_args"] = [
                (key, value)
                for key in request.args
                if key.startswith("_") and key not in ("_sort", "_sort_desc", "_search", "_next")
                for value in request.args.getlist(key)
            ]
    return values
