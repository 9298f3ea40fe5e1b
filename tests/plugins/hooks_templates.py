"""Test plugin: hooks that shape rendered pages.

extra_css_urls, extra_js_urls, extra_body_script, extra_template_vars,
prepare_jinja2_environment, menu_links, table_actions, database_actions, render_cell.
Every AMM hook has a plain implementation and one answering with an async function or a
coroutine, so tests see both paths.
"""

import json

from markupsafe import Markup, escape

from datasette import hookimpl


def _record(datasette, event):
    datasette.__dict__.setdefault("_hooks_events", []).append(event)


# -- extra_css_urls / extra_js_urls -------------------------------------------------------


@hookimpl
def extra_css_urls(template, database, table, columns, view_name, request, datasette):
    return [
        "/hooks-static/sync.css",
        {"url": "https://example.com/hooks-sri.css", "sri": "sha384-hooks"},
    ]


@hookimpl(specname="extra_css_urls")
def extra_css_urls_async(view_name):
    async def inner():
        return ["/hooks-static/async.css?view={}".format(view_name)]

    return inner


@hookimpl
def extra_js_urls():
    return [{"url": "/hooks-static/module.js", "module": True}]


@hookimpl(specname="extra_js_urls")
async def extra_js_urls_async(template):
    return ["https://example.com/hooks-async.js?template={}".format(template)]


# -- extra_body_script --------------------------------------------------------------------


@hookimpl
def extra_body_script(template, database, table, columns, view_name, request, datasette):
    details = {
        "template": template,
        "database": database,
        "table": table,
        "columns": columns,
        "view_name": view_name,
        "has_request": request is not None,
    }
    return "var hooksSync = {};".format(json.dumps(details))


@hookimpl(specname="extra_body_script")
def extra_body_script_async():
    async def inner():
        return {"script": "var hooksAsync = 1;", "module": True}

    return inner


# -- extra_template_vars ------------------------------------------------------------------


@hookimpl
def extra_template_vars(template, database, table, columns, view_name, request, datasette):
    extra = {"hooks_sync_var": "sync:{}:{}".format(view_name, template)}
    if request is not None and request.args.get("_hooks_override"):
        # Plugin variables win over core context and the view's own variables.
        extra["app_css_hash"] = "hooksoverride"
        extra["slug"] = "overridden-slug"
    return extra


@hookimpl(specname="extra_template_vars")
def extra_template_vars_async(request, datasette):
    async def hooks_async_fn(value):
        return "async fn got {}".format(value)

    async def inner():
        actor = request.actor if request is not None else None
        return {
            "hooks_async_var": "async for {}".format((actor or {}).get("id", "anonymous")),
            "hooks_async_fn": hooks_async_fn,
        }

    return inner


# -- prepare_jinja2_environment -----------------------------------------------------------


@hookimpl
def prepare_jinja2_environment(env, datasette):
    env.filters["hooks_shout"] = lambda value: str(value).upper() + "!"
    _record(datasette, "prepare_jinja2_environment")


@hookimpl(specname="prepare_jinja2_environment")
async def prepare_jinja2_environment_async(env, datasette):
    env.globals["hooks_async_global"] = "global from async hook"
    _record(datasette, "prepare_jinja2_environment_async")


# -- menu_links, table_actions, database_actions ------------------------------------------


@hookimpl
def menu_links(datasette, actor, request):
    if not actor:
        return None
    return [{"href": datasette.urls.path("/-/hooks/menu/sync"), "label": "Hooks menu sync"}]


@hookimpl(specname="menu_links")
def menu_links_async(datasette, actor):
    async def inner():
        if not actor:
            return []
        return [
            {
                "href": datasette.urls.path("/-/hooks/menu/async"),
                "label": "Hooks menu async for {}".format(actor["id"]),
            }
        ]

    return inner


@hookimpl
def table_actions(datasette, actor, database, table, request):
    if not actor:
        return None
    return [
        {
            "href": datasette.urls.path("/-/hooks/table-action"),
            "label": "Hooks table action {}/{}".format(database, table),
        }
    ]


@hookimpl(specname="table_actions")
async def table_actions_async(actor, table):
    if not actor:
        return []
    return [{"href": "/-/hooks/async-table-action", "label": "Hooks async table action " + table}]


@hookimpl
def database_actions(datasette, actor, database, request):
    if not actor:
        return None
    return [
        {
            "href": datasette.urls.path("/-/hooks/database-action"),
            "label": "Hooks database action {}".format(database),
        }
    ]


@hookimpl(specname="database_actions")
def database_actions_async(actor, database):
    async def inner():
        if not actor:
            return []
        return [{"href": "/-/hooks/async-database-action", "label": "Hooks async database action " + database}]

    return inner


# -- render_cell --------------------------------------------------------------------------


@hookimpl(specname="render_cell", tryfirst=True)
def render_cell_first(value):
    # Asked first, answers nothing: the next implementation decides.
    return None


@hookimpl
def render_cell(row, value, column, table, database, datasette, request):
    if value == "hooks-markup":
        return Markup('<b class="hooks-markup">markup from plugin</b>')
    if value == "hooks-escape":
        return "<b>escaped</b>"
    if value == "hooks-args":
        return Markup('<span class="hooks-args">{}|{}|{}|{}|{}</span>').format(
            database, table, column, row["id"], request.path if request is not None else None
        )
    if value == "hooks-order":
        return "first non-None"
    if value == "hooks-falsy":
        return ""
    return None


@hookimpl(specname="render_cell", trylast=True)
def render_cell_last(value):
    if value in ("hooks-order", "hooks-last"):
        return Markup('<em class="hooks-last">last</em>')
    return None


@hookimpl(specname="render_cell")
def render_cell_async(value, column):
    if value != "hooks-async":
        return None

    async def inner():
        return Markup('<i class="hooks-async">async cell {}</i>').format(escape(column))

    return inner
