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
from typing import Any, Optional

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, Template
from markupsafe import Markup

from .utils import (
    await_me_maybe,
    display_actor,
    escape_css_string,
    escape_sqlite,
    format_bytes,
    to_css_class,
)
from .permissions import database_cascade, table_cascade

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def build_jinja_env(template_dir: Optional[str], plugin_template_dirs: list) -> Environment:
    """An async, autoescaping environment with the extra filters templates use."""
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


def _url_items(datasette: Any, items: list) -> list:
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


async def collect_urls(datasette: Any, hook_name: str, hook_kwargs: dict) -> list:
    """Plugin CSS/JS URLs then the root metadata list, de-duplicated by URL."""
    from .plugins import pm

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


def crumb_items_function(datasette: Any, request: Any):
    """The `crumb_items(request, database=None, table=None)` template function."""

    async def crumb_items(request: Any = request, database: Optional[str] = None, table: Optional[str] = None) -> list:
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
    datasette: Any,
    templates: Any,
    context: Any = None,
    request: Any = None,
    view_name: Optional[str] = None,
) -> str:
    """Render the first existing template of `templates` with the core and plugin context."""
    from .plugins import pm
    from .version import __version__

    if not datasette._startup_invoked:
        raise Exception("render_template() called before await ds.invoke_startup()")
    context = context or {}
    if dataclasses.is_dataclass(context) and not isinstance(context, type):
        context = dataclasses.asdict(context)
    if isinstance(templates, Template):
        template = templates
    else:
        if isinstance(templates, str):
            templates = [templates]
        template = datasette.jinja_env.select_template(templates)
    hook_kwargs = dict(
        template=template.name,
        database=context.get("database"),
        table=context.get("table"),
        columns=context.get("columns"),
        view_name=view_name,
        request=request,
        datasette=datasette,
    )
    body_scripts = []
    for script in pm.hook.extra_body_script(**hook_kwargs):
        script = await await_me_maybe(script)
        if isinstance(script, dict):
            body_scripts.append(
                {"script": Markup(script["script"]), "module": bool(script.get("module"))}
            )
        elif script:
            body_scripts.append({"script": Markup(script), "module": False})
    extra_template_vars: dict = {}
    for extra_vars in pm.hook.extra_template_vars(**hook_kwargs):
        extra_vars = await await_me_maybe(extra_vars)
        if extra_vars is None:
            continue
        if not isinstance(extra_vars, dict):
            raise TypeError(
                f"extra_template_vars must return a dict, got {type(extra_vars).__name__}"
            )
        extra_template_vars.update(extra_vars)

    actor = request.actor if request is not None else None

    async def menu_links() -> list:
        links = []
        for hook in pm.hook.menu_links(datasette=datasette, actor=actor, request=request):
            extra_links = await await_me_maybe(hook)
            if extra_links:
                links.extend(extra_links)
        return links

    csrftoken = (
        request.scope["csrftoken"]
        if request is not None and "csrftoken" in request.scope
        else (lambda: "")
    )
    template_context = {
        **context,
        "request": request,
        "crumb_items": crumb_items_function(datasette, request),
        "urls": datasette.urls,
        "actor": actor,
        "menu_links": menu_links,
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
    template_context.update(extra_template_vars)
    if (
        request is not None
        and request.args.get("_context")
        and datasette.setting("template_debug")
    ):
        return "<pre>{}</pre>".format(
            Markup.escape(json.dumps(template_context, default=repr, indent=4))
        )
    return await template.render_async(template_context)


def plugin_template_dirs() -> list:
    """`templates/` folders of registered plugins, in registration order."""
    from .plugins import get_plugins

    return [p["templates_path"] for p in get_plugins() if p["templates_path"]]

