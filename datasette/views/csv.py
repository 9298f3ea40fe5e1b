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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator, Optional

from ..exceptions import BadRequest, WriteLimitExceeded
from ..utils import LimitedWriter, path_from_row_pks, value_as_boolean
from ..utils.asgi import AsgiStream
from .page_data import TablePage, cache_headers, expand_labels, load_table_page

if TYPE_CHECKING:
    from ..app import Datasette
    from ..database import Database, Results
    from ..utils.asgi import Request

CRLF = "\r\n"


def _csv_line(values: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=CRLF).writerow(values)
    return buffer.getvalue()


def _headers(datasette: Datasette, request: Request, filename: str) -> tuple:
    headers: dict = {}
    if request.args.get("_dl"):
        headers["content-disposition"] = f'attachment; filename="{filename}.csv"'
        return headers, "text/csv; charset=utf-8"
    return headers, "text/plain; charset=utf-8"


def _include_header(request: Request) -> bool:
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


@dataclass
class _TableCsv:
    """The CSV lines of a table page, or with `_stream` of every page, labels included."""

    datasette: Datasette
    request: Request
    db: Database
    page: TablePage

    def header(self) -> list:
        header = []
        for column in self.page.columns:
            header.append(column)
            if column in self.page.labels:
                header.append(f"{column}_label")
        return header

    def blob_url(self, row: Any, column: str) -> str:
        query = self.page.query
        row_path = path_from_row_pks(row, query.pks, query.use_rowid)
        return self.datasette.absolute_url(
            self.request, self.datasette.urls.row_blob(self.db.name, self.page.table, row_path, column)
        )

    def values(self, row: Any) -> list:
        """One row's cells: a label column after each expanded key, blobs as URLs."""
        values = []
        for column, value in zip(self.page.columns, row):
            if isinstance(value, dict) and "value" in value:
                values += [_cell(value["value"]), _cell(value["label"])]
            elif column in self.page.labels:
                values += [_cell(value), ""]
            elif isinstance(value, bytes):
                values.append(self.blob_url(row, column))
            else:
                values.append(_cell(value))
        return values

    async def pages(self) -> AsyncIterator[list]:
        """Every page of rows matching the filters, from the first (for `_stream`)."""
        page, query = self.page, self.page.query
        next_token: Optional[str] = None
        while True:
            query.next_token = next_token
            sql, params = query.page_sql_and_params()
            results = await self.db.execute(sql, params, custom_time_limit=None)
            rows = list(results.rows)
            more = len(rows) > query.page_size
            rows = rows[: query.page_size]
            if page.labels and rows:
                rows = await expand_labels(
                    self.datasette, self.request, self.db.name, page.table, page.labels,
                    page.columns, rows,
                )
            yield rows
            if not more or not rows:
                return
            offset = int(next_token or 0) + query.page_size if page.is_view else 0
            next_token = query.next_token_for(rows[-1], offset)

    async def write(self, raw_writer: Any, stream: bool) -> None:
        """Write the CSV; an error after the first byte goes into the body."""
        writer = LimitedWriter(raw_writer, self.datasette.setting("max_csv_mb"))
        try:
            if _include_header(self.request):
                await writer.write(_csv_line(self.header()))
            if not stream:
                for row in self.page.rows:
                    await writer.write(_csv_line(self.values(row)))
                return
            async for rows in self.pages():
                for row in rows:
                    await writer.write(_csv_line(self.values(row)))
        except WriteLimitExceeded as e:
            # Every CSV line ends in CRLF, so the message is a line of its own.
            await raw_writer.write(str(e))
        except Exception as e:
            # The status line is already sent: the body is the only place left to say it.
            await raw_writer.write(f"\nError: {e}")


async def table_csv(
    datasette: Datasette, request: Request, db: Database, table: str, is_view: bool
) -> AsgiStream:
    """CSV of a table page, or with `_stream` of every matching row."""
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
    headers.update(cache_headers(datasette, request))
    csv_writer = _TableCsv(datasette, request, db, page)

    async def stream_fn(raw_writer: Any) -> None:
        await csv_writer.write(raw_writer, stream)

    return AsgiStream(stream_fn, headers=headers, content_type=content_type)


async def query_csv(
    datasette: Datasette,
    request: Request,
    db: Database,
    results: Results,
    name: Optional[str] = None,
) -> AsgiStream:
    """CSV of a query result (always one result set)."""
    headers, content_type = _headers(datasette, request, name or db.name)
    columns = results.columns

    def blob_url(column: str, value: bytes) -> str:
        path = request.path.rsplit(".csv", 1)[0] + ".blob"
        # The request's query string as sent (not re-encoded), then the blob's own keys.
        blob_args = urllib.parse.urlencode(
            [("_blob_column", column), ("_blob_hash", hashlib.sha256(value).hexdigest())]
        )
        query = "&".join(part for part in (request.query_string, blob_args) if part)
        return datasette.absolute_url(request, datasette.urls.path(path) + "?" + query)

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
            await raw_writer.write(str(e))

    return AsgiStream(stream_fn, headers=headers, content_type=content_type)
