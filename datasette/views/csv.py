"""CSV for tables, rows and queries, streamed as it is written.

Binary cells become absolute `.blob` URLs; expanded foreign keys add a `<col>_label`
column; `_stream` walks every page of a table; `max_csv_mb` caps the size, and any error
after the first byte is written into the body, since the status is already sent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import urllib.parse
from typing import Any, Optional

from ..exceptions import BadRequest, WriteLimitExceeded
from ..utils import LimitedWriter, path_from_row_pks, to_css_class, value_as_boolean
from ..utils.asgi import AsgiStream

CRLF = "\r\n"


def _csv_line(values: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=CRLF).writerow(values)
    return buffer.getvalue()


def _headers(datasette: Any, request: Any, filename: str) -> tuple:
    headers: dict = {}
    if datasette.cors:
        from ..utils import add_cors_headers

        add_cors_headers(headers)
    if request.args.get("_dl"):
        headers["content-disposition"] = f'attachment; filename="{filename}.csv"'
        return headers, "text/csv; charset=utf-8"
    return headers, "text/plain; charset=utf-8"


def _include_header(request: Any) -> bool:
    value = request.args.get("_header")
    if value is None:
        return True
    try:
        return value_as_boolean(value)
    except ValueError:
        return True


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return value


async def table_csv(datasette: Any, request: Any, db: Any, table: str, is_view: bool) -> AsgiStream:
    """CSV of a table page, or with `_stream` of every matching row."""
    from .table import _expand_labels, load_table_page

    stream = bool(request.args.get("_stream"))
    if stream:
        if not datasette.setting("allow_csv_stream"):
            raise BadRequest("CSV streaming is disabled")
        if request.args.get("_next"):
            raise BadRequest("_next not allowed for CSV streaming")
    page = await load_table_page(datasette, request, db, table, is_view, default_labels=False)
    if stream:
        page.query.page_size = datasette.setting("max_returned_rows")
        page.query.next_token = None
    headers, content_type = _headers(datasette, request, table)
    from .table import cache_headers

    headers.update(cache_headers(datasette, request))
    key_columns = page.query.pks

    def blob_url(row: Any, column: str) -> str:
        row_path = path_from_row_pks(row, key_columns, page.query.use_rowid)
        return datasette.absolute_url(
            request, datasette.urls.row_blob(db.name, table, row_path, column)
        )

    async def write_rows(writer: Any, columns: list, rows: list) -> None:
        for row in rows:
            values = []
            for column, value in zip(columns, row):
                if isinstance(value, dict) and "value" in value:
                    values += [_cell(value["value"]), _cell(value["label"])]
                    continue
                if column in page.labels:
                    values += [_cell(value), ""]
                    continue
                if isinstance(value, bytes):
                    values.append(blob_url(row, column))
                else:
                    values.append(_cell(value))
            await writer.write(_csv_line(values))

    async def stream_fn(raw_writer: Any) -> None:
        writer = LimitedWriter(raw_writer, datasette.setting("max_csv_mb"))
        columns = page.columns
        try:
            if _include_header(request):
                header = []
                for column in columns:
                    header.append(column)
                    if column in page.labels:
                        header.append(f"{column}_label")
                await writer.write(_csv_line(header))
            if not stream:
                await write_rows(writer, columns, page.rows)
                return
            query = page.query
            next_token: Optional[str] = None
            while True:
                query.next_token = next_token
                sql, params = query.page_sql_and_params()
                results = await db.execute(sql, params, custom_time_limit=None)
                rows = list(results.rows)
                more = len(rows) > query.page_size
                rows = rows[: query.page_size]
                if page.labels and rows:
                    rows = await _expand_labels(
                        datasette, request, db.name, table, page.labels, columns, rows
                    )
                await write_rows(writer, columns, rows)
                if not more or not rows:
                    return
                offset = int(next_token or 0) + query.page_size if is_view else 0
                next_token = query.next_token_for(rows[-1], offset)
        except WriteLimitExceeded as e:
            await raw_writer.write(f"\n{e}")
        except Exception as e:
            await raw_writer.write(f"\nError: {e}")

    return AsgiStream(stream_fn, headers=headers, content_type=content_type)


async def query_csv(
    datasette: Any, request: Any, db: Any, results: Any, name: Optional[str] = None
) -> AsgiStream:
    """CSV of a query result (always one result set)."""
    headers, content_type = _headers(datasette, request, name or db.name)
    columns = results.columns

    def blob_url(column: str, value: bytes) -> str:
        path = request.path.rsplit(".csv", 1)[0] + ".blob"
        args = [(k, v) for k in request.args for v in request.args.getlist(k)]
        args += [("_blob_column", column), ("_blob_hash", hashlib.sha256(value).hexdigest())]
        return datasette.absolute_url(
            request, datasette.urls.path(path) + "?" + urllib.parse.urlencode(args)
        )

    async def stream_fn(raw_writer: Any) -> None:
        writer = LimitedWriter(raw_writer, datasette.setting("max_csv_mb"))
        try:
            if _include_header(request):
                await writer.write(_csv_line(columns))
            for row in results.rows:
                await writer.write(
                    _csv_line(
                        [
                            blob_url(column, value) if isinstance(value, bytes) else _cell(value)
                            for column, value in zip(columns, row)
                        ]
                    )
                )
        except WriteLimitExceeded as e:
            await raw_writer.write(f"\n{e}")

    return AsgiStream(stream_fn, headers=headers, content_type=content_type)


def blob_filename(table: Optional[str], row_path: Optional[str], column: str, hash: Optional[str]) -> str:
    """`<table css>-<row path>-<column css>-<hash6>.blob`, leaving out parts not given."""
    parts = []
    if table:
        parts.append(to_css_class(table))
    if row_path:
        parts.append(row_path)
    parts.append(to_css_class(column))
    if hash:
        parts.append(hash[:6])
    return "-".join(parts) + ".blob"
