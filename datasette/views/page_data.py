"""Data for table and row pages, shared by their JSON, CSV and HTML forms.

The lowest floor of the read views: it reads a request into a `TableQuery`, runs it,
expands foreign key labels and finds the tables that point at a row. Nothing here
renders HTML, so the JSON and CSV paths never load an HTML module.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from markupsafe import escape

from ..exceptions import DatasetteError, QueryInterrupted
from ..filters import Filters
from ..permissions import table_cascade
from ..plugins import pm
from ..table_narrowing import plan_narrowing
from ..table_query import TableQuery
from ..utils import await_me_maybe, escape_sqlite
from .table_args import label_columns, page_size, selected_columns, sort_choice, timelimit_of

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database, Results
    from ..utils.asgi import Request

SQL_TIME_LIMIT_DOCS = "https://docs.datasette.io/en/stable/settings.html#sql-time-limit-ms"


def interrupted_message(sql: str) -> str:
    """The HTML message shown when a query runs past the time limit."""
    return (
        "<p>SQL query took too long. The time limit is controlled by the\n"
        f'<a href="{SQL_TIME_LIMIT_DOCS}">sql_time_limit_ms</a>\n'
        "configuration option.</p>\n"
        f'<textarea style="width: 90%">{escape(sql)}</textarea>\n'
        "<script>\n"
        'let ta = document.querySelector("textarea");\n'
        'ta.style.height = ta.scrollHeight + "px";\n'
        "</script>"
    )


def interrupted_error(sql: str) -> DatasetteError:
    """The 400 `SQL Interrupted` error for a read that ran past the time limit."""
    return DatasetteError(
        interrupted_message(sql), title="SQL Interrupted", status=400, message_is_html=True
    )


@dataclass
class TablePage:
    """One page of a table or view, with what the extras and renderers need."""

    database: str
    table: str
    is_view: bool
    query: TableQuery
    all_columns: list
    columns: list
    rows: list
    pks: list
    next_token: Optional[str]
    human_descriptions: list = field(default_factory=list)
    extra_context: dict = field(default_factory=dict)
    sql: str = ""
    params: dict = field(default_factory=dict)
    labels: list = field(default_factory=list)
    filters: Any = None
    table_metadata: dict = field(default_factory=dict)
    sort: Any = None
    human: list = field(default_factory=list)
    private: bool = False


@dataclass
class _PageWhere:
    """The where clauses of a table page: from the query string and from plugins."""

    filters: Filters
    clauses: list
    params: dict
    descriptions: list
    context: dict


def filter_pairs(request: Request) -> list:
    """Query-string pairs that are filters: not `_`-prefixed, or holding `__`."""
    pairs = []
    for key in request.args:
        if key.startswith("_") and "__" not in key:
            continue
        for value in request.args.getlist(key):
            pairs.append((key, value))
    return pairs


async def combined_filter_arguments(
    datasette: Datasette, request: Request, database: str, table: str
) -> tuple:
    """Where clauses, params, descriptions and context from `filters_from_request` hooks."""
    clauses: list = []
    params: dict = {}
    descriptions: list = []
    context: dict = {}
    for result in pm.hook.filters_from_request(
        request=request, database=database, table=table, datasette=datasette
    ):
        arguments = await await_me_maybe(result)
        if arguments is None:
            continue
        clauses.extend(arguments.where_clauses or [])
        params.update(arguments.params or {})
        descriptions.extend(arguments.human_descriptions or [])
        context.update(arguments.extra_context or {})
    return clauses, params, descriptions, context


async def _page_where(
    datasette: Datasette, request: Request, database: str, table: str, table_metadata: dict
) -> _PageWhere:
    """Filters from the query string, then the clauses the plugins add."""
    units = table_metadata.get("units") or {}
    filters = Filters(
        filter_pairs(request), units=units, ureg=datasette.unit_registry() if units else None
    )
    clauses, params = filters.build_where_clauses(table)
    hook_clauses, hook_params, descriptions, context = await combined_filter_arguments(
        datasette, request, database, table
    )
    params.update(hook_params)
    return _PageWhere(filters, clauses + hook_clauses, params, descriptions, context)


async def _run_page_query(db: Database, sql: str, params: dict, request: Request) -> Results:
    """Run the page SQL; a time-out is the client's 400 `SQL Interrupted`.

    SQL that SQLite refuses (filters can form such SQL) reaches the one error handler,
    which answers it as a 400 `Invalid SQL`.
    """
    try:
        return await db.execute(sql, params, custom_time_limit=timelimit_of(request))
    except QueryInterrupted:
        raise interrupted_error(sql)


async def _trim_to_page(
    db: Database, query: TableQuery, rows: list, size: int, is_view: bool
) -> tuple:
    """`(rows, next_token)`: the page query asks for one row more to know if there is more."""
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    if not size:
        return rows, None
    offset = int(query.next_token or 0) + size if is_view else 0
    last = rows[-1]
    if query.sort and query.sort not in last.keys():
        last = await row_with_sort_value(db, query, last)
    return rows, query.next_token_for(last, offset)


async def load_table_page(
    datasette: Datasette,
    request: Request,
    db: Database,
    table: str,
    is_view: bool,
    default_labels: bool,
) -> TablePage:
    """Parse the request and run the page query."""
    table_metadata = datasette.metadata(database=db.name, table=table, fallback=False) or {}
    details = await db.table_column_details(table)
    # Every column `PRAGMA table_xinfo` lists, as 1.0a7 selects them: generated columns,
    # and the hidden columns of virtual tables (an FTS table's own-name and rank columns).
    all_columns = [c.name for c in details]
    pks = [] if is_view else await db.primary_keys(table)
    use_rowid = not is_view and not pks
    size = page_size(request, datasette, table_metadata)
    sort = sort_choice(request, table_metadata, all_columns, use_rowid, is_view)
    columns = selected_columns(request, all_columns, pks)
    where = await _page_where(datasette, request, db.name, table, table_metadata)
    query = TableQuery(
        table=table,
        is_view=is_view,
        pks=[] if is_view else (["rowid"] if use_rowid else pks),
        use_rowid=use_rowid,
        select_columns=columns,
        where_clauses=where.clauses,
        params=where.params,
        sort=sort.column,
        sort_desc=sort.desc,
        next_token=request.args.get("_next") or None,
        page_size=size,
        column_types={c.name: c.type for c in details},
        not_null=frozenset(c.name for c in details if c.notnull),
    )
    if not is_view:
        query.narrowing = await plan_narrowing(
            datasette, db, table, all_columns, where.filters.equalities, where.params
        )
    # Shown: the plain SQL; run: the same with any index intersection (same rows).
    sql, sql_params = query.page_sql_and_params()
    results = await query.checked(
        lambda: _run_page_query(db, *query.page_sql_and_params(narrowed=True), request)
    )
    rows, next_token = await _trim_to_page(db, query, list(results.rows), size, is_view)
    result_columns = [d[0] for d in results.description or ()]
    fk_columns = [] if is_view else [fk["column"] for fk in await db.foreign_keys_for_table(table)]
    labels = label_columns(request, default_labels, fk_columns)
    if labels and rows:
        rows = await expand_labels(datasette, request, db.name, table, labels, result_columns, rows)
    return TablePage(
        database=db.name,
        table=table,
        is_view=is_view,
        query=query,
        all_columns=all_columns,
        columns=result_columns,
        rows=rows,
        pks=pks,
        next_token=next_token,
        human_descriptions=where.descriptions,
        extra_context=where.context,
        sql=sql,
        params=sql_params,
        labels=labels,
        filters=where.filters,
        table_metadata=table_metadata,
        sort=sort,
        human=where.descriptions + [d for d in [where.filters.human_description_en()] if d],
    )


async def row_with_sort_value(db: Database, query: TableQuery, row: Any) -> dict:
    """The last row plus its sort column's value, read by key (the column was not selected)."""
    values = dict(zip(row.keys(), row))
    match = " and ".join(f"{escape_sqlite(pk)} = :k{i}" for i, pk in enumerate(query.pks))
    params = {f"k{i}": values[pk] for i, pk in enumerate(query.pks)}
    result = await db.execute(
        f"select {escape_sqlite(query.sort)} {query.from_sql} where {match}", params
    )
    values[query.sort] = result.rows[0][0] if result.rows else None
    return values


async def expand_labels(
    datasette: Datasette,
    request: Request,
    database: str,
    table: str,
    labels: list,
    columns: list,
    rows: list,
) -> list:
    """Replace foreign key values with `{"value", "label"}` dicts."""
    expanded_rows = [list(row) for row in rows]
    for column in labels:
        if column not in columns:
            continue
        index = columns.index(column)
        values = [row[index] for row in expanded_rows]
        labels_by_value = await datasette.expand_foreign_keys(
            request.actor, database, table, column, values
        )
        if not labels_by_value:
            continue
        for row in expanded_rows:
            value = row[index]
            if value is None:
                continue
            row[index] = {"value": value, "label": labels_by_value.get((column, value))}
    return [LabelledRow(columns, row) for row in expanded_rows]


class LabelledRow:
    """A row whose cells may be label dicts; indexable by position and by column name."""

    def __init__(self, columns: list, values: list):
        self._columns = columns
        self._values = values

    def keys(self) -> list:
        """The column names, as `sqlite3.Row.keys()` gives them."""
        return list(self._columns)

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, slice)):
            return self._values[key]
        return self._values[self._columns.index(key)]


def display_column(
    name: str, detail: Any, *, sortable: bool, is_pk: bool, description: Optional[str]
) -> dict:
    """One `display_columns` entry; `detail` is the column's `ColumnDetails` or None."""
    if detail is not None:
        type_, notnull = detail.type or "", int(bool(detail.notnull))
    elif name == "rowid":
        type_, notnull = "integer", 0
    else:
        type_, notnull = "", 0
    return {
        "name": name,
        "sortable": sortable,
        "is_pk": is_pk,
        "type": type_,
        "notnull": notnull,
        "description": description,
    }


async def visible_tables(
    datasette: Datasette, actor: Optional[dict], database: str, names: list
) -> list:
    """`(name, private)` for each table or view of `names` the actor may see."""
    visible_names = []
    for name in names:
        visible, private = await datasette.check_visibility(
            actor, permissions=table_cascade(database, name)
        )
        if visible:
            visible_names.append((name, private))
    return visible_names


def cache_headers(datasette: Datasette, request: Request) -> dict:
    """`Cache-Control` and `Referrer-Policy` for table and row responses."""
    if not datasette.cache_headers:
        return {}
    ttl_arg = request.args.get("_ttl")
    ttl = int(ttl_arg) if ttl_arg and ttl_arg.isdigit() else datasette.setting("default_cache_ttl")
    return {
        "Cache-Control": f"max-age={ttl}" if ttl else "no-cache",
        "Referrer-Policy": "no-referrer",
    }


async def foreign_key_tables(
    datasette: Datasette, db: Database, table: str, pk_values: list
) -> list:
    """Incoming foreign keys with a count of the rows referencing this one."""
    if len(pk_values) != 1:
        return []
    all_fks = await db.get_all_foreign_keys()
    incoming = (all_fks.get(table) or {}).get("incoming", [])
    found = []
    for fk in incoming:
        sql = "select count(*) from {} where {} = :id".format(
            escape_sqlite(fk["other_table"]), escape_sqlite(fk["other_column"])
        )
        try:
            count = (await db.execute(sql, {"id": pk_values[0]})).rows[0][0]
        except Exception:
            # The list is a courtesy on the row page: one failing count hides it, not the row.
            return []
        key = fk["other_column"]
        if key.startswith("_"):
            key += "__exact"
        link = "{}?{}".format(
            datasette.urls.table(db.name, fk["other_table"]),
            urllib.parse.urlencode({key: str(pk_values[0])}),
        )
        found.append(
            {
                "other_table": fk["other_table"],
                "column": fk["column"],
                "other_column": fk["other_column"],
                "count": count,
                "link": link,
            }
        )
    return found
