"""`/-/audit` and `/-/jobs`: the audit log and the job ledger, as HTML, JSON and (audit) CSV.

Each page needs its own action (`view-audit`, `view-jobs`), which only root has unless a
`permissions` block grants it. Filters and keyset pagination are parsed and run by
`internal/activity/search.py`; a bad filter value is a 400 with one message.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
from typing import TYPE_CHECKING, Any, Optional

from ..exceptions import Forbidden, NotFound
from ..internal.activity import search
from ..utils.asgi import AsgiStream, Response
from .base import View

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request


AUDIT_COLUMNS = (
    "id", "created_at", "actor_id", "action", "database_name", "resource", "detail",
)
JOB_COLUMNS = (
    "id", "kind", "title", "status", "actor_id", "database_name", "resource", "done",
    "total", "message", "created_at", "updated_at", "finished_at", "lease_expires_at",
    "resumed",
)


def _decode(text: Optional[str]) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:  # written by hand into the table, perhaps: show it as it is
        return text


def _page_url(request: Request, format: Optional[str], **changes: Any) -> str:
    """This page's path (with `.format`) and query string, with `changes` applied."""
    pairs = [
        (key, value)
        for key, value in urllib.parse.parse_qsl(request.query_string, keep_blank_values=True)
        if key not in changes
    ]
    pairs += [(key, value) for key, value in changes.items() if value is not None]
    path = request.path
    for suffix in (".json", ".csv"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    if format:
        path += "." + format
    return path + ("?" + urllib.parse.urlencode(pairs) if pairs else "")


def _audit_row(row: dict) -> dict:
    row = dict(row)
    row["actor"] = _decode(row.get("actor"))
    row["detail"] = _decode(row.get("detail"))
    return row


def _job_row(row: dict) -> dict:
    row = {key: row.get(key) for key in JOB_COLUMNS + ("actor",)}
    row["actor"] = _decode(row.get("actor"))
    total, done = row.get("total"), row.get("done") or 0
    row["percent"] = round(100 * done / total, 1) if total else None
    return row


class _ActivityView(View):
    """An activity page: `name` also names its action (`view-NAME`) and template."""

    name = ""
    table = ""
    title = ""

    @property
    def action(self) -> str:
        return f"view-{self.name}"

    @property
    def template(self) -> str:
        return f"{self.name}.html"

    async def _check(self, request: Request, datasette: Datasette) -> None:
        if not await datasette.permission_allowed(request.actor, self.action, default=False):
            raise Forbidden(f"You need the {self.action} permission to see this page")

    async def _page(self, request: Request, datasette: Datasette) -> Any:
        await datasette.activity.audit.flush()  # read what was recorded before this request
        return await search.search(
            datasette.get_internal_database(), self.table, request.args
        )

    def _shape(self, row: dict) -> dict:
        return row

    async def get(self, request: Request, datasette: Datasette) -> Any:
        await self._check(request, datasette)
        format = request.url_vars.get("format")
        if format == "csv":
            await search.search(datasette.get_internal_database(), self.table, request.args)
            return await self._csv(request, datasette)
        page = await self._page(request, datasette)
        rows = [self._shape(row) for row in page.rows]
        next_url = _page_url(request, format, _next=page.next) if page.next else None
        if format == "json":
            return Response.json(
                {"ok": True, "rows": rows, "filters": page.filters, "next": page.next,
                 "next_url": next_url},
                default=repr,
            )
        context = {
            "rows": rows,
            "filters": page.filters,
            "next_url": next_url,
            "json_url": _page_url(request, "json"),
            "csv_url": _page_url(request, "csv", _next=None),
            "size": page.size,
            "page_title": self.title,
        }
        return Response.html(
            await datasette.render_template(
                self.template, context, request=request, view_name=self.table
            )
        )

    async def _csv(self, request: Request, datasette: Datasette) -> AsgiStream:
        raise NotFound("This page has no CSV")  # only the audit log's route offers .csv


class AuditView(_ActivityView):
    """`/-/audit`, `.json` and `.csv`: the audit log, newest first."""

    name = "audit"
    table = "audit_log"
    title = "Audit log"

    async def _csv(self, request: Request, datasette: Datasette) -> AsgiStream:
        """Every matching row, newest first, streamed as CSV with the actor last."""
        await datasette.activity.audit.flush()
        db = datasette.get_internal_database()

        def line(values: list) -> str:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerow(values)
            return buffer.getvalue()

        async def stream(writer: Any) -> None:
            await writer.write(line(list(AUDIT_COLUMNS) + ["actor"]))
            async for row in search.walk(db, self.table, request.args):
                await writer.write(
                    line([row[c] for c in AUDIT_COLUMNS] + [row["actor"]])
                )

        headers = {"content-disposition": 'attachment; filename="audit.csv"'}
        return AsgiStream(stream, headers=headers, content_type="text/csv; charset=utf-8")

    def _shape(self, row: dict) -> dict:
        return _audit_row(row)


class JobsView(_ActivityView):
    """`/-/jobs` and `.json`: the job ledger, newest first, with progress."""

    name = "jobs"
    table = "jobs"
    title = "Jobs"

    def _shape(self, row: dict) -> dict:
        return _job_row(row)
