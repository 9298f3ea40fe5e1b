"""Page chrome shared by every HTML page: template choice, the JSON twin, footer metadata.

`render_page` picks the first existing template of a candidate list, records the
candidates in `select_templates` (the chosen one marked `*`), points the page at its JSON
twin (`alternate_url_json` in the context, a `Link` header on the response) and renders
through `datasette.render_template` so plugin hooks see the right `view_name`.

Nothing here reads a database; the table extras (JSON) use `with_inherited_metadata` too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from ..utils import await_me_maybe, path_with_format, to_css_class
from ..tracer import queries_ms
from ..utils.asgi import Response

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request

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


def with_inherited_metadata(datasette: Datasette, metadata: Optional[dict]) -> dict:
    """A copy of `metadata` with missing source/license/about keys filled from the root."""
    metadata = dict(metadata or {})
    for key in INHERITED_METADATA_KEYS:
        if key not in metadata:
            value = datasette.metadata(key)
            if value is not None:
                metadata[key] = value
    return metadata


def alternate_json_url(datasette: Datasette, request: Request) -> str:
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


def custom_table_templates(database: str, table: str, view_name: str) -> list:
    """The `_table.html` candidates of a table or row page, most specific first."""
    db_css, table_css = to_css_class(database), to_css_class(table)
    return [
        f"_table-{db_css}-{table_css}.html",
        f"_table-{view_name}-{db_css}-{table_css}.html",
        "_table.html",
    ]


def action_links(hook: Callable, **arguments: Any) -> Callable:
    """An async template function gathering the menu links of an `*_actions` hook."""

    async def links() -> list:
        answers = [await await_me_maybe(result) for result in hook(**arguments)]
        return [link for answer in answers if answer for link in answer]

    return links


async def render_page(
    datasette: Datasette,
    request: Request,
    candidates: Iterable[str],
    context: dict,
    *,
    view_name: str,
    headers: Optional[dict] = None,
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
    # The footer's "Queries took": what this request spent in SQL before rendering.
    if not context.get("query_ms"):
        context["query_ms"] = queries_ms()
    html = await datasette.render_template(
        template, context, request=request, view_name=view_name
    )
    response_headers = dict(headers or {})
    response_headers["Link"] = '{}; rel="alternate"; type="application/json+datasette"'.format(
        alternate
    )
    return Response.html(html, status=status, headers=response_headers)
