"""Custom pages: templates under `templates/pages/` answer paths no route claims.

`/about/map` renders `pages/about/map.html`; a template named with `{placeholders}`
(`pages/people/{slug}.html`) matches one path segment per placeholder, and the captured
values become template variables. Templates can set the status, headers or a redirect,
or give up with a 404, through the functions `custom_status`, `custom_header`,
`custom_redirect` and `raise_404`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from .exceptions import NotFound
from .utils.asgi import Response

if TYPE_CHECKING:
    from .app import Datasette
    from .utils.asgi import Request

_PLACEHOLDER = re.compile(r"(\{[a-zA-Z_][a-zA-Z0-9_]*\})")


def _pattern(template_path: str) -> "re.Pattern[str]":
    parts = ["^/"]
    for part in _PLACEHOLDER.split(template_path):
        if _PLACEHOLDER.fullmatch(part):
            parts.append(f"(?P<{part[1:-1]}>[^/]*)")
        else:
            parts.append(re.escape(part))
    parts.append("$")
    return re.compile("".join(parts))


def find_page(datasette: Datasette, path: str) -> Optional[tuple]:
    """`(template name, captured variables)` for a path, or None."""
    env = datasette.jinja_env
    from jinja2 import TemplateNotFound  # loaded by the environment just built or read

    exact = "pages" + path.rstrip("/") + ".html"
    try:
        env.get_template(exact)
        return exact, {}
    except TemplateNotFound:
        pass
    names = sorted(
        name
        for name in env.list_templates()
        if name.startswith("pages/") and name.endswith(".html") and "{" in name
    )
    for name in names:
        match = _pattern(name[len("pages/") : -len(".html")]).match(path)
        if match:
            return name, match.groupdict()
    return None


class _PageControls:
    """The functions a custom page template calls to shape its response."""

    def __init__(self) -> None:
        self.status = 200
        self.headers: dict = {}
        self.redirect: Optional[tuple] = None
        self.not_found: Optional[str] = None

    def custom_status(self, code: int) -> str:
        self.status = code
        return ""

    def custom_header(self, name: str, value: str) -> str:
        self.headers[name] = value
        return ""

    def custom_redirect(self, location: str, code: int = 302) -> str:
        self.redirect = (location, code)
        return ""

    def raise_404(self, message: str = "") -> str:
        self.not_found = message
        return ""


async def render_page(datasette: Datasette, request: Request, path: str) -> Optional[Response]:
    """The custom page for `path`, or None when no template matches.

    Raises `NotFound` when the template called `raise_404()`.
    """
    found = find_page(datasette, path)
    if found is None:
        return None
    template_name, variables = found
    controls = _PageControls()
    context = dict(variables)
    context.update(
        custom_status=controls.custom_status,
        custom_header=controls.custom_header,
        custom_redirect=controls.custom_redirect,
        raise_404=controls.raise_404,
    )
    body = await datasette.render_template(
        [template_name], context, request=request, view_name="page"
    )
    if controls.not_found is not None:
        raise NotFound(controls.not_found or "404")
    if controls.redirect is not None:
        location, code = controls.redirect
        return Response.redirect(location, status=code)
    content_type = "text/html; charset=utf-8"
    headers = {}
    for name, value in controls.headers.items():
        if name.lower() == "content-type":
            content_type = value
        else:
            headers[name] = value
    return Response(body, status=controls.status, headers=headers, content_type=content_type)
