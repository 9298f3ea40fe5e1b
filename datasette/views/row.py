"""The row page `/db/table/pk(.json|.csv|.blob)`."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from ..exceptions import Forbidden, NotFound
from ..renderer import json_response, newline_delimited, rows_as_arrays, rows_as_objects
from ..utils import path_from_row_pks
from ..utils.asgi import Response
from .base import View
from .table import cache_headers
from .table_args import SHAPES, extras_requested
from ..permissions import table_cascade

ROOT_METADATA = ("source", "source_url", "license", "license_url")


async def foreign_key_tables(datasette: Any, db: Any, table: str, pk_values: list) -> list:
    """Incoming foreign keys with a count of the rows referencing this one."""
    if len(pk_values) != 1:
        return []
    all_fks = await db.get_all_foreign_keys()
    incoming = (all_fks.get(table) or {}).get("incoming", [])
    found = []
    for fk in incoming:
        sql = "select count(*) from [{}] where [{}] = :id".format(
            fk["other_table"].replace("]", "]]"), fk["other_column"].replace("]", "]]")
        )
        try:
            count = (await db.execute(sql, {"id": pk_values[0]})).rows[0][0]
        except Exception:
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


class RowView(View):
    """One row of a table, by primary key (or rowid)."""

    name = "row"

    async def get(self, request: Any, datasette: Any) -> Response:
        format = request.url_vars.get("format")
        if format == "jsono":
            path = request.path.rsplit(".jsono", 1)[0] + ".json"
            query = request.query_string
            target = datasette.urls.path(path) + "?" + ((query + "&") if query else "") + "_shape=objects"
            return Response.redirect(target)
        start = time.perf_counter()
        resolved = await datasette.resolve_row(request)
        db, table = resolved.db, resolved.table
        visible, private = await datasette.check_visibility(
            request.actor,
            permissions=table_cascade(db.name, table),
        )
        if not visible:
            raise Forbidden("You do not have permission to view this table")
        columns = list(resolved.row.keys())
        rows = [resolved.row]
        if format == "csv":
            from ..database import Results
            from .csv import query_csv

            results = Results(rows, False, [(c,) for c in columns])
            return await query_csv(datasette, request, db, results, name=table)
        if format not in (None, "json"):
            if format not in datasette.renderers:
                raise NotFound(f"Invalid format: {format}")
            from .renderers import render_output

            return await render_output(
                datasette,
                request,
                format,
                columns=columns,
                rows=rows,
                sql=resolved.sql,
                database=db.name,
                table=table,
                query_name=None,
                view_name="row",
                headers=cache_headers(datasette, request),
            )
        headers = cache_headers(datasette, request)
        if format is None:
            from .row_html import render_row_html

            return await render_row_html(
                datasette, request, db, table, resolved, columns, rows, private, headers
            )
        shape = request.args.get("_shape") or "objects"
        if shape not in SHAPES:
            from ..exceptions import DatasetteError

            raise DatasetteError(f"Invalid _shape: {shape}", status=400)
        if shape == "arrayfirst":
            return json_response(datasette, [row[0] for row in rows], headers=headers, request=request)
        if shape == "array":
            objects = rows_as_objects(columns, rows, request)
            if request.args.get("_nl"):
                return newline_delimited(datasette, objects, headers=headers, request=request)
            return json_response(datasette, objects, headers=headers, request=request)
        if shape == "object":
            objects = rows_as_objects(columns, rows, request)
            return json_response(
                datasette,
                {path_from_row_pks(row, resolved.pks, False): obj for row, obj in zip(rows, objects)},
                headers=headers, request=request)
        convert = rows_as_arrays if shape == "arrays" else rows_as_objects
        body: dict = {
            "database": db.name,
            "table": table,
            "rows": convert(columns, rows, request),
            "primary_keys": resolved.pks,
            "primary_key_values": resolved.pk_values,
            "units": (datasette.metadata("units", database=db.name, table=table, fallback=False) or {}),
            "query_ms": (time.perf_counter() - start) * 1000,
        }
        extras = extras_requested(request)
        if "columns" in extras:
            body["columns"] = columns
        requested = set()
        for value in request.args.getlist("_extras"):
            requested.update(part.strip() for part in value.split(","))
        if "foreign_key_tables" in requested:
            body["foreign_key_tables"] = await foreign_key_tables(
                datasette, db, table, resolved.pk_values
            )
        for key in ROOT_METADATA:
            value = datasette.metadata(key)
            if value is not None:
                body[key] = value
        body["ok"] = True
        body["truncated"] = False
        return json_response(datasette, body, headers=headers, request=request)
