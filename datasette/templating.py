"""Templates: the Jinja environment and `render_template` with its plugin hooks.

Search order: `--template-dir`, then each plugin's `templates/` folder (in registration
order), then the built-in templates. `default:NAME` always loads the built-in one, so a
custom template can extend the template it replaces.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, List, Optional, Sequence, Union

from markupsafe import Markup

from .utils import (
    await_me_maybe,
    display_actor,
    escape_css_string,
    escape_sqlite,
    format_bytes,
    to_css_class,
)
from .utils.config import merge_dicts
from .permissions import database_cascade, table_cascade
from .plugins import get_plugins, pm
from .version import __version__

if TYPE_CHECKING:
    from jinja2 import Environment, Template

    from .app import Datasette
    from .utils.asgi import Request

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def build_jinja_env(template_dir: Optional[str], plugin_template_dirs: list) -> Environment:
    """An async, autoescaping environment with the extra filters templates use."""
    # Built at the first page that renders one: jinja2 is ~15 ms of every start, and
    # JSON pages and the command line never need it.
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader

    search_path = ([template_dir] if template_dir else []) + plugin_template_dirs
    search_path.append(str(BUILTIN_TEMPLATES))
    env = Environment(
        loader=ChoiceLoader(
            [
                PrefixLoader(
                    {"default": FileSystemLoader(str(BUILTIN_TEMPLATES))}, delimiter=":"
                ),
                FileSystemLoader(search_path),
            ]
        ),
        autoescape=True,
        enable_async=True,
    )
    env.filters["escape_css_string"] = escape_css_string
    env.filters["quote_plus"] = urllib.parse.quote_plus
    env.filters["escape_sqlite"] = escape_sqlite
    env.filters["to_css_class"] = to_css_class
    return env


_app_css_hash: dict = {}


def app_css_hash() -> str:
    """Six hex characters of the SHA-1 of the bundled `app.css` (cache busting)."""
    if "hash" not in _app_css_hash:
        _app_css_hash["hash"] = hashlib.sha1((STATIC / "app.css").read_bytes()).hexdigest()[:6]
    return _app_css_hash["hash"]


def _url_items(datasette: "Datasette", items: list) -> list:
    """URL strings or `{url, sri, module}` dicts as dicts, `/` URLs under `base_url`."""
    output = []
    for item in items:
        if isinstance(item, str):
            item = {"url": item}
        item = dict(item)
        if item["url"].startswith("/"):
            item["url"] = datasette.urls.path(item["url"])
        output.append(item)
    return output


async def collect_urls(datasette: "Datasette", hook_name: str, hook_kwargs: dict) -> list:
    """Plugin CSS/JS URLs then the root metadata list, de-duplicated by URL."""
    collected: list = []
    for result in getattr(pm.hook, hook_name)(**hook_kwargs):
        result = await await_me_maybe(result)
        if result:
            collected.extend(result)
    collected.extend(datasette.metadata(hook_name) or [])
    seen: set = set()
    unique = []
    for item in _url_items(datasette, collected):
        if item["url"] in seen:
            continue
        seen.add(item["url"])
        unique.append(item)
    return unique


def crumb_items_function(
    datasette: "Datasette", request: Optional["Request"]
) -> Callable[..., Awaitable[list]]:
    """The `crumb_items(request, database=None, table=None)` template function."""

    async def crumb_items(
        request: Optional["Request"] = request,
        database: Optional[str] = None,
        table: Optional[str] = None,
    ) -> list:
        actor = request.actor if request is not None else None
        crumbs = []
        visible, _ = await datasette.check_visibility(actor, action="view-instance")
        if visible:
            crumbs.append({"href": datasette.urls.instance(), "label": "home"})
        if database:
            visible, _ = await datasette.check_visibility(
                actor, permissions=database_cascade(database)
            )
            if visible:
                crumbs.append({"href": datasette.urls.database(database), "label": database})
            if table:
                visible, _ = await datasette.check_visibility(
                    actor,
                    permissions=table_cascade(database, table),
                )
                if visible:
                    crumbs.append(
                        {"href": datasette.urls.table(database, table), "label": table}
                    )
        return crumbs

    return crumb_items


async def render_template(
    datasette: "Datasette",
    templates: Union[str, Sequence[str], Template],
    context: Any = None,
    request: Optional["Request"] = None,
    view_name: Optional[str] = None,
) -> str:
    """Render the first existing template of `templates` with the core and plugin context.

    `context` may be a dict or a dataclass instance. Plugin variables
    (`extra_template_vars`) win over the core ones; with `?_context=1` and the
    `template_debug` setting the context is shown as JSON instead.
    """
    if not datasette._startup_invoked:
        raise Exception("render_template() called before await ds.invoke_startup()")
    context = context or {}
    if dataclasses.is_dataclass(context) and not isinstance(context, type):
        context = dataclasses.asdict(context)
    template = _select_template(datasette, templates)
    hook_kwargs = dict(
        template=template.name,
        database=context.get("database"),
        table=context.get("table"),
        columns=context.get("columns"),
        view_name=view_name,
        request=request,
        datasette=datasette,
    )
    body_scripts = await _body_scripts(hook_kwargs)
    extra_template_vars = await _extra_template_vars(hook_kwargs)
    template_context = {
        **context,
        **await _core_context(datasette, request, hook_kwargs, body_scripts),
        **extra_template_vars,
    }
    if (
        request is not None
        and request.args.get("_context")
        and datasette.setting("template_debug")
    ):
        return "<pre>{}</pre>".format(
            Markup.escape(json.dumps(template_context, default=repr, indent=4))
        )
    return await template.render_async(template_context)


def _select_template(
    datasette: "Datasette", templates: Union[str, Sequence[str], Template]
) -> Template:
    from jinja2 import Template  # loaded with the environment, which this page built

    if isinstance(templates, Template):
        return templates
    if isinstance(templates, str):
        templates = [templates]
    return datasette.jinja_env.select_template(templates)


async def _body_scripts(hook_kwargs: dict) -> List[dict]:
    """`extra_body_script` results as `{script, module}` dicts, scripts marked safe."""
    body_scripts = []
    for script in pm.hook.extra_body_script(**hook_kwargs):
        script = await await_me_maybe(script)
        if isinstance(script, dict):
            body_scripts.append(
                {"script": Markup(script["script"]), "module": bool(script.get("module"))}
            )
        elif script:
            body_scripts.append({"script": Markup(script), "module": False})
    return body_scripts


async def _extra_template_vars(hook_kwargs: dict) -> dict:
    """The `extra_template_vars` dicts merged in hook order; anything else is a TypeError."""
    return merge_dicts(
        [await await_me_maybe(v) for v in pm.hook.extra_template_vars(**hook_kwargs)],
        lambda extra_vars: TypeError(
            f"extra_template_vars must return a dict, got {type(extra_vars).__name__}"
        ),
    )


def hook_links(hook: Callable, **arguments: Any) -> Callable[[], Awaitable[list]]:
    """An async template function joining the link lists of a menu hook's plugins.

    For `menu_links` and the `*_actions` hooks: each implementation returns a list (or
    an awaitable of one, or None); the function returns them joined, in hook order.
    """

    async def links() -> list:
        found: list = []
        for result in hook(**arguments):
            extra = await await_me_maybe(result)
            if extra:
                found.extend(extra)
        return found

    return links


async def _core_context(
    datasette: "Datasette",
    request: Optional["Request"],
    hook_kwargs: dict,
    body_scripts: List[dict],
) -> dict:
    """The variables every page template can use, before the plugins' own."""
    actor = request.actor if request is not None else None
    csrftoken = (
        request.scope["csrftoken"]
        if request is not None and "csrftoken" in request.scope
        else (lambda: "")
    )
    return {
        "request": request,
        "crumb_items": crumb_items_function(datasette, request),
        "urls": datasette.urls,
        "actor": actor,
        "menu_links": hook_links(
            pm.hook.menu_links, datasette=datasette, actor=actor, request=request
        ),
        "display_actor": display_actor,
        "show_logout": request is not None
        and "ds_actor" in request.cookies
        and bool(actor),
        "app_css_hash": app_css_hash(),
        "zip": zip,
        "body_scripts": body_scripts,
        "format_bytes": format_bytes,
        "show_messages": lambda: datasette._show_messages(request),
        "extra_css_urls": await collect_urls(datasette, "extra_css_urls", hook_kwargs),
        "extra_js_urls": await collect_urls(datasette, "extra_js_urls", hook_kwargs),
        "base_url": datasette.setting("base_url"),
        "csrftoken": csrftoken,
        "datasette_version": __version__,
    }


def plugin_template_dirs() -> list:
    """`templates/` folders of registered plugins, in registration order."""
    return [p["templates_path"] for p in get_plugins() if p["templates_path"]]

