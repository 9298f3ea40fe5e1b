"""`/db/table/-/stats.json`, `/-/suggest.json` and `/-/form.json`: column statistics as JSON.

Both answer only for actors who may view the table (403 otherwise, after the 404s for a
missing database or table, as every table page does), and read what the background indexer
keeps in the internal database through `datasette.internal.stats`. `suggest.json` falls
back to a short query on the table itself until the column's values are indexed.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from ..exceptions import BadRequest, Forbidden, NotFound, QueryInterrupted
from ..internal.stats import suggest_values, table_statistics
from ..internal.stats.compute import quote
from ..internal.stats.controls import SELECT_LIMIT, choose_control
from ..internal.stats.indexer import database_enabled, stats_enabled
from ..permissions import table_cascade
from ..utils.asgi import Response
from .base import View

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request


# Longest prefix suggest.json accepts, and most suggestions it returns.
MAX_PREFIX = 100
DEFAULT_SUGGESTIONS = 10
MAX_SUGGESTIONS = 50
# Milliseconds the fallback query may take before suggest.json answers with nothing.
FALLBACK_TIME_LIMIT_MS = 100

_TYPE_FIELDS = (
    ("integer", "integer_count"),
    ("real", "real_count"),
    ("text", "text_count"),
    ("blob", "blob_count"),
    ("json_object", "json_object_count"),
    ("json_array", "json_array_count"),
    ("date", "date_count"),
)


async def _visible_table(datasette: Datasette, request: Request) -> Tuple[Any, str]:
    """The database and table of the URL, if it is a table the actor may view."""
    resolved = await datasette.resolve_table(request)
    visible, _ = await datasette.check_visibility(
        request.actor, permissions=table_cascade(resolved.db.name, resolved.table)
    )
    if not visible:
        raise Forbidden("You do not have permission to view this table")
    if resolved.is_view:
        raise NotFound(f"Statistics are kept for tables, not views: {resolved.table}")
    return resolved.db, resolved.table


def json_value(value: Any) -> Any:
    """A stored value as JSON: blobs as `{"$base64": true, "encoded": ...}`."""
    if isinstance(value, bytes):
        return {"$base64": True, "encoded": base64.b64encode(value).decode("ascii")}
    return value


_EXTREMES = ((1, "min"), (2, "max"), (4, "max_text_length"))


def column_json(column: dict) -> dict:
    """One column's statistics in the shape stats.json documents."""
    return {
        "name": column["name"],
        "null_count": column["null_count"],
        "distinct_count": column["distinct_count"],
        "distinct_exact": column["distinct_exact"],
        "min": json_value(column["min_value"]),
        "max": json_value(column["max_value"]),
        "types": {name: column[field] for name, field in _TYPE_FIELDS},
        "avg_text_length": column["avg_text_length"],
        "max_text_length": column["max_text_length"],
        # Sides a write may have made wrong (it removed the value they were): being
        # recomputed, not to be taken as current.
        "possibly_stale": [
            name for bit, name in _EXTREMES if column.get("stale_extremes", 0) & bit
        ],
        "values": (
            [{"value": json_value(v["value"]), "count": v["count"]} for v in column["values"]]
            if column["values"] is not None
            else None
        ),
    }


class TableStatsView(View):
    """Every column's statistics, with the indexing state of the table."""

    name = "table-stats"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        db, table = await _visible_table(datasette, request)
        data: dict = {"ok": True, "database": db.name, "table": table}
        if not stats_enabled(datasette) or not database_enabled(datasette, db):
            data.update({"state": "off", "stale": False, "row_count": None, "columns": []})
            return Response.json(data)
        stats = await table_statistics(datasette, db.name, table)
        if stats is None:
            data.update({"state": "pending", "stale": False, "row_count": None, "columns": []})
            return Response.json(data)
        data.update(
            {
                "state": stats["state"],
                "stale": stats["stale"],
                "row_count": stats["row_count"],
                "indexed_at": stats["indexed_at"],
                "updated_at": stats.get("updated_at"),
                "error": stats["error"],
                "columns": [column_json(c) for c in stats["columns"]],
            }
        )
        return Response.json(data)


def _suggest_args(request: Request, columns: List[str]) -> Tuple[str, str, int]:
    column = request.args.get("column")
    if not column:
        raise BadRequest("column= is required: the column to suggest values for")
    # The filter form offers `rowid` on tables without a primary key: nothing to suggest.
    if column not in columns and column != "rowid":
        raise BadRequest(f"Unknown column: {column}")
    prefix = request.args.get("q") or ""
    if len(prefix) > MAX_PREFIX:
        raise BadRequest(f"q= must be at most {MAX_PREFIX} characters")
    size_arg = request.args.get("_size")
    size = DEFAULT_SUGGESTIONS
    if size_arg:
        if not size_arg.isdigit() or not 1 <= int(size_arg) <= MAX_SUGGESTIONS:
            raise BadRequest(f"_size= must be a whole number from 1 to {MAX_SUGGESTIONS}")
        size = int(size_arg)
    return column, prefix, size


class SuggestView(View):
    """The most frequent values of a column starting with `q` (case-insensitive)."""

    name = "table-suggest"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        db, table = await _visible_table(datasette, request)
        columns = await db.table_columns(table)
        column, prefix, size = _suggest_args(request, columns)
        suggestions: Optional[list] = None
        source = "statistics"
        if column not in columns:  # rowid
            suggestions, source = [], "none"
        elif stats_enabled(datasette) and database_enabled(datasette, db):
            suggestions = await suggest_values(datasette, db.name, table, column, prefix, size)
        if suggestions is None and source == "statistics":
            source = "query"
            suggestions = await _suggest_by_query(datasette, db, table, column, prefix, size)
            if suggestions is None:
                source, suggestions = "none", []
        return Response.json(
            {
                "ok": True,
                "database": db.name,
                "table": table,
                "column": column,
                "q": prefix,
                "source": source,
                "suggestions": [
                    {"value": json_value(s["value"]), "count": s["count"]} for s in suggestions
                ],
            }
        )


async def _suggest_by_query(
    datasette: Datasette, db: Any, table: str, column: str, prefix: str, size: int
) -> Optional[list]:
    """The same answer from the table itself, within a short time limit (None if slow)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    quoted = quote(column)
    sql = (
        f"select {quoted} as value, count(*) as n from {quote(table)} "
        f"where {quoted} is not null and typeof({quoted}) != 'blob' "
        f"and cast({quoted} as text) like :prefix escape '\\' "
        f"group by {quoted} order by n desc, {quoted} limit {size * 4}"
    )
    try:
        results = await db.execute(
            sql, {"prefix": escaped + "%"}, custom_time_limit=FALLBACK_TIME_LIMIT_MS
        )
    except QueryInterrupted:
        return None
    folded = prefix.casefold()
    # LIKE folds ASCII only: keep the values whose full case-folded text matches.
    found = [
        {"value": row[0], "count": row[1]}
        for row in results.rows
        if str(row[0]).casefold().startswith(folded)
    ]
    return found[:size]


class TableFormView(View):
    """What the edit and insert forms need: may the actor insert or update rows, and
    which control suits each column (chosen from its statistics, see `controls.py`)."""

    name = "table-form"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        db, table = await _visible_table(datasette, request)
        resource = (db.name, table)
        can_insert = db.is_mutable and await datasette.permission_allowed(
            request.actor, "insert-row", resource
        )
        can_update = db.is_mutable and await datasette.permission_allowed(
            request.actor, "update-row", resource
        )
        fields = await form_fields(datasette, db, table)
        return Response.json(
            {
                "ok": True,
                "database": db.name,
                "table": table,
                "can_insert": bool(can_insert),
                "can_update": bool(can_update),
                "pks": await db.primary_keys(table),
                "fields": fields,
            }
        )


async def form_fields(datasette: Datasette, db: Any, table: str) -> List[dict]:
    """One dict per visible column: name, type, not_null, is_pk and the chosen control."""
    stats = None
    if stats_enabled(datasette) and database_enabled(datasette, db):
        stats = await table_statistics(datasette, db.name, table, top_values=SELECT_LIMIT)
    by_name = {c["name"]: c for c in (stats or {}).get("columns", [])}
    row_count = (stats or {}).get("row_count") or 0
    fks = {fk["column"]: fk for fk in await db.foreign_keys_for_table(table)}
    fields = []
    for column in await db.table_column_details(table):
        if column.hidden:
            continue
        fk = fks.get(column.name)
        field = {
            "name": column.name,
            "type": column.type,
            "not_null": bool(column.notnull),
            "is_pk": bool(column.is_pk),
            **choose_control(column.type, by_name.get(column.name), row_count, fk),
        }
        if fk is not None:
            field["references"] = {"table": fk["other_table"], "column": fk["other_column"]}
        fields.append(field)
    return fields


def form_value(field: dict, raw: str) -> Any:
    """A submitted form value as the write API takes it: numbers for number inputs,
    null for an empty field unless the column is NOT NULL."""
    if raw == "":
        return "" if field["not_null"] else None
    if field["control"] == "number":
        try:
            return int(raw)
        except ValueError:
            try:
                return float(raw)
            except ValueError:
                return raw  # the write API reports what SQLite makes of it
    return raw


class _FormPage(View):
    """A form page for browsers without JavaScript (edit-forms.js builds the same form
    inline): GET shows it, POST saves through the write API and redirects back."""

    action = ""  # the permission needed
    suffix = ""  # the path after the table or row URL
    title = ""

    async def _resolve(self, request: Request, datasette: Datasette) -> Tuple[Any, str, Any]:
        raise NotImplementedError

    async def _prepare(self, request: Request, datasette: Datasette) -> Tuple[Any, str, Any, List[dict]]:
        db, table, row = await self._resolve(request, datasette)
        visible, _ = await datasette.check_visibility(
            request.actor, permissions=table_cascade(db.name, table)
        )
        allowed = db.is_mutable and await datasette.permission_allowed(
            request.actor, self.action, (db.name, table)
        )
        if not visible or not allowed:
            raise Forbidden(f"You do not have permission to {self.title.lower()}")
        fields = await form_fields(datasette, db, table)
        if row is not None:
            fields = [f for f in fields if not f["is_pk"]]
        return db, table, row, fields

    async def _page(
        self, request: Request, datasette: Datasette, prepared: tuple, errors: list, submitted: dict
    ) -> Response:
        db, table, row, fields = prepared
        for field in fields:
            name = field["name"]
            value = row[name] if row is not None and name in row.keys() else None
            value = submitted.get(name, value)
            field["value"] = value
            field["shown"] = "" if value is None else str(value)
        html = await datasette.render_template(
            "_row_edit.html",
            {
                "database": db.name,
                "table": table,
                "heading": self.title,
                "fields": fields,
                "errors": errors,
                "action": request.path,
                "back_url": request.path.rsplit(self.suffix, 1)[0],
                "submit": "Save" if row is not None else "Insert",
            },
            request=request,
            view_name=self.name,
        )
        return Response.html(html, status=400 if errors else 200)

    async def get(self, request: Request, datasette: Datasette) -> Response:
        prepared = await self._prepare(request, datasette)
        return await self._page(request, datasette, prepared, [], {})

    async def post(self, request: Request, datasette: Datasette) -> Response:
        prepared = await self._prepare(request, datasette)
        _, _, row, fields = prepared
        submitted = await request.post_vars()
        values = {}
        for field in fields:
            if field["name"] not in submitted:
                continue
            value = form_value(field, submitted[field["name"]])
            if row is None and value is None and field["is_pk"]:
                continue  # SQLite assigns the key
            values[field["name"]] = value
        back = request.path.rsplit(self.suffix, 1)[0]
        write = back + ("/-/update" if row is not None else "/-/insert")
        response = await datasette.client.post(
            write,
            json={"update": values} if row is not None else {"row": values},
            cookies={"ds_actor": datasette.client.actor_cookie(request.actor)},
        )
        data = response.json()
        if response.status_code in (200, 201) and data.get("ok"):
            datasette.add_message(request, "Row saved" if row is not None else "Row inserted")
            return Response.redirect(back)
        errors = data.get("errors") or ["Could not save"]
        return await self._page(request, datasette, prepared, errors, dict(submitted))


class RowEditView(_FormPage):
    """`/db/table/pk/-/edit`: the edit form of a row (needs `update-row`)."""

    name = "row-edit"
    action = "update-row"
    suffix = "/-/edit"
    title = "Edit this row"

    async def _resolve(self, request: Request, datasette: Datasette) -> Tuple[Any, str, Any]:
        resolved = await datasette.resolve_row(request)
        return resolved.db, resolved.table, resolved.row


class TableInsertFormView(_FormPage):
    """`/db/table/-/insert-form`: a form inserting one row (needs `insert-row`)."""

    name = "table-insert-form"
    action = "insert-row"
    suffix = "/-/insert-form"
    title = "Insert a row"

    async def _resolve(self, request: Request, datasette: Datasette) -> Tuple[Any, str, Any]:
        resolved = await datasette.resolve_table(request)
        if resolved.is_view:
            raise NotFound(f"Rows cannot be inserted into a view: {resolved.table}")
        return resolved.db, resolved.table, None
