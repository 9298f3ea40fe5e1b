"""The HTML index page, plus the page-rendering helpers the other HTML pages share.

`render_page` picks the first existing template of a candidate list, records the
candidates in `select_templates` (the chosen one marked `*`), points the page at its JSON
twin (`alternate_url_json` in the context, a `Link` header on the response) and renders
through `datasette.render_template` so plugin hooks see the right `view_name`.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from ..utils import add_cors_headers, path_with_format
from ..utils.asgi import Response

# Keys a database, table or query page copies from the root metadata when its own
# metadata does not set them (they feed the footer).
INHERITED_METADATA_KEYS = (
    "source",
    "source_url",
    "license",
    "license_url",
    "about",
    "about_url",
)


def with_inherited_metadata(datasette: Any, metadata: Optional[dict]) -> dict:
    """A copy of `metadata` with missing source/license/about keys filled from the root."""
    metadata = dict(metadata or {})
    for key in INHERITED_METADATA_KEYS:
        if key not in metadata:
            value = datasette.metadata(key)
            if value is not None:
                metadata[key] = value
    return metadata


def alternate_json_url(datasette: Any, request: Any) -> str:
    """The absolute URL of the JSON twin of the current page (query string kept)."""
    return datasette.absolute_url(
        request, datasette.urls.path(path_with_format(request=request, format="json"))
    )


class DatabaseColor(str):
    """A database colour (six hex digits) that templates may also call.

    Older templates write `{{ database_color(database) }}`, newer ones
    `{{ database_color }}`; this value works in both.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        return str(self)


def plural(count: Optional[int], singular: str, plural_form: Optional[str] = None) -> str:
    """`1 row`, `2 rows`, `1,234 rows` (thousands separated)."""
    count = count or 0
    word = singular if count == 1 else (plural_form or singular + "s")
    return "{:,} {}".format(count, word)


async def render_page(
    datasette: Any,
    request: Any,
    candidates: Iterable[str],
    context: dict,
    *,
    view_name: str,
    headers: Optional[dict] = None,
    cors: bool = False,
    status: int = 200,
) -> Response:
    """Render the first existing template of `candidates` as an HTML response."""
    candidates = list(candidates)
    template = datasette.jinja_env.select_template(candidates)
    alternate = alternate_json_url(datasette, request)
    context = dict(context)
    context["select_templates"] = [
        ("*" + name) if name == template.name else name for name in candidates
    ]
    context["alternate_url_json"] = alternate
    html = await datasette.render_template(
        template, context, request=request, view_name=view_name
    )
    response_headers = dict(headers or {})
    response_headers["Link"] = '{}; rel="alternate"; type="application/json+datasette"'.format(
        alternate
    )
    if cors and datasette.cors:
        add_cors_headers(response_headers)
    return Response.html(html, status=status, headers=response_headers)


def database_summary_text(database: dict) -> str:
    """`2 rows in 1 table, 5 rows in 4 hidden tables, 1 view` for an index entry.

    Row totals only appear when every count is known. Parts with nothing in them are left
    out, except that an empty database still says `0 tables`.
    """
    show_counts = database.get("show_table_row_counts")
    tables_count = database.get("tables_count") or 0
    hidden_count = database.get("hidden_tables_count") or 0
    views_count = database.get("views_count") or 0
    parts = []
    if tables_count or not (hidden_count or views_count):
        text = plural(tables_count, "table")
        if show_counts:
            text = "{} in {}".format(plural(database.get("table_rows_sum"), "row"), text)
        parts.append(text)
    if hidden_count:
        text = plural(hidden_count, "hidden table")
        if show_counts:
            text = "{} in {}".format(plural(database.get("hidden_table_rows_sum"), "row"), text)
        parts.append(text)
    if views_count:
        parts.append(plural(views_count, "view"))
    return ", ".join(parts)


async def render_index_html(datasette: Any, request: Any, data: dict) -> Response:
    """The index page for `data` (what `/.json` returns, keyed by database name)."""
    databases = []
    for database in data.values():
        entry = dict(database)
        entry["summary"] = database_summary_text(database)
        entry["tables_and_views_truncated"] = [
            dict(
                item,
                count_title=(
                    plural(item["count"], "row") if item.get("count") is not None else None
                ),
            )
            for item in database.get("tables_and_views_truncated") or []
        ]
        databases.append(entry)
    context = {
        "databases": databases,
        "metadata": datasette.metadata(),
        "private": not await datasette.permission_allowed(
            None, "view-instance", default=True
        ),
    }
    return await render_page(
        datasette, request, ["index.html"], context, view_name="index", cors=True
    )
