"""Test plugin: hooks that shape data, metadata and permissions.

prepare_connection, register_output_renderer, register_facet_classes,
filters_from_request, canned_queries, register_magic_parameters, get_metadata,
permission_allowed, register_permissions, actors_from_ids, startup.
"""

from datasette import Permission, Response, hookimpl
from datasette.facets import Facet
from datasette.filters import FilterArguments
from datasette.utils import escape_sqlite


def _record(datasette, event):
    datasette.__dict__.setdefault("_hooks_events", []).append(event)


# -- prepare_connection (sync, side effects) ----------------------------------------------


@hookimpl
def prepare_connection(conn, database, datasette):
    conn.create_function("hooks_reverse", 1, lambda value: None if value is None else str(value)[::-1])
    datasette.__dict__.setdefault("_hooks_prepared", []).append(database)


# -- register_output_renderer -------------------------------------------------------------


def render_hookstxt(columns, rows, table):
    # A plain function naming a few of the arguments.
    lines = [",".join(columns)] + [",".join(str(value) for value in row) for row in rows]
    return Response.text("table={}\n".format(table) + "\n".join(lines))


async def can_render_hookstxt(columns):
    # can_render is AMM: an async function works too.
    return "title" in columns


async def render_hooksargs(
    datasette, columns, rows, sql, query_name, database, table, request, view_name, truncated, error
):
    return Response.json(
        {
            "columns": columns,
            "rows": [list(row) for row in rows],
            "sql": sql,
            "query_name": query_name,
            "database": database,
            "table": table,
            "path": request.path,
            "view_name": view_name,
            "truncated": truncated,
            "error": error,
            "has_datasette": datasette is not None,
        },
        headers={"x-hooks-renderer": "async"},
    )


def legacy_callback(args, data):
    # The deprecated form: `callback`, `args` and `data`, answering a dict.
    return {
        "body": "legacy rows={} q={}".format(len(data["rows"]), args.get("_hooks_q", "")),
        "content_type": "text/x-hooks; charset=utf-8",
        "status_code": 201,
        "headers": {"x-hooks-legacy": "yes"},
    }


def legacy_default_dict():
    return {"body": "just a body"}


def render_nothing():
    return None


@hookimpl
def register_output_renderer(datasette):
    return [
        {"extension": "hookstxt", "render": render_hookstxt, "can_render": can_render_hookstxt},
        {"extension": "hooksargs", "render": render_hooksargs},
        {"extension": "hookslegacy", "callback": legacy_callback},
        {"extension": "hooksdefaults", "render": legacy_default_dict, "can_render": lambda: False},
        {"extension": "hooksnone", "render": render_nothing, "can_render": lambda: False},
    ]


# -- register_facet_classes ---------------------------------------------------------------


class FirstLetterFacet(Facet):
    """`?_facet_first_letter=COLUMN`: rows counted by the first letter of a column."""

    type = "first_letter"

    async def suggest(self):
        columns = await self.get_columns(self.sql, self.params)
        already = {entry["config"].get("simple") for entry in self.get_configs()}
        return [
            {
                "name": column,
                "type": self.type,
                "toggle_url": self.ds.urls.path("?_facet_first_letter={}".format(column)),
            }
            for column in columns
            if column == "title" and column not in already
        ]

    async def facet_results(self):
        results = {}
        for entry in self.get_configs():
            column = entry["config"].get("simple")
            sql = (
                "select substr({col}, 1, 1) as letter, count(*) from ({sql}) "
                "group by letter order by letter"
            ).format(col=escape_sqlite(column), sql=self.sql)
            rows = (await self.ds.get_database(self.database).execute(sql, self.params)).rows
            results[column] = {
                "name": column,
                "type": self.type,
                "hideable": True,
                "toggle_url": self.ds.urls.path(self.request.path),
                "results": [
                    {
                        "value": row[0],
                        "label": row[0],
                        "count": row[1],
                        "toggle_url": self.ds.urls.path(self.request.path),
                        "selected": False,
                    }
                    for row in rows
                ],
                "truncated": False,
            }
        return results, []


@hookimpl
def register_facet_classes():
    return [FirstLetterFacet]


# -- filters_from_request -----------------------------------------------------------------


@hookimpl
def filters_from_request(request, database, table, datasette):
    min_id = request.args.get("_hooks_min_id")
    if not min_id:
        return None
    return FilterArguments(
        ["id >= :hooks_min_id"],
        {"hooks_min_id": int(min_id)},
        ["id is at least {}".format(min_id)],
    )


@hookimpl(specname="filters_from_request")
def filters_from_request_async(request, table):
    prefix = request.args.get("_hooks_prefix")
    if not prefix:
        return None

    async def inner():
        return FilterArguments(
            ["title like :hooks_prefix"],
            {"hooks_prefix": prefix + "%"},
            ["title starts with {}".format(prefix)],
            {"hooks_extra_context": "prefix " + prefix},
        )

    return inner


# -- canned_queries -----------------------------------------------------------------------


@hookimpl
def canned_queries(datasette, database, actor):
    if database != "sample":
        return None
    return {
        "hooks_sync_query": "select 'from sync hook' as source",
        "hooks_magic": {
            "sql": "select :_hooks_greeting as greeting, :_hooks_upper as shouted",
            "title": "Magic parameter query",
        },
        # Overrides the metadata definition of the same name.
        "overridden": {"sql": "select 'hook wins' as who"},
    }


@hookimpl(specname="canned_queries")
def canned_queries_async(database, actor):
    async def inner():
        if database != "sample" or not actor:
            return {}
        return {
            "hooks_actor_query": {
                "sql": "select :who as who",
                "title": "Query for {}".format(actor["id"]),
            }
        }

    return inner


# -- register_magic_parameters ------------------------------------------------------------


def _hooks_magic(key, request):
    if key == "greeting":
        return "hello " + request.args.get("name", "nobody")
    if key == "upper":
        return "MAGIC"
    raise KeyError(key)


@hookimpl
def register_magic_parameters(datasette):
    return [("hooks", _hooks_magic)]


# -- get_metadata (sync) ------------------------------------------------------------------


@hookimpl
def get_metadata(datasette, key, database, table):
    return {
        "title": "Title from get_metadata",
        "description": "Description from get_metadata",
        "databases": {
            "sample": {
                "description": "Database description from get_metadata",
                "tables": {"books": {"description": "Books from get_metadata"}},
            }
        },
    }


# -- permission_allowed (AMM) -------------------------------------------------------------


@hookimpl
def permission_allowed(datasette, actor, action, resource):
    if actor and actor.get("id") == "hooks-denied" and action == "view-instance":
        return False
    if action == "hooks-permission" and actor and actor.get("id") == "hooks-allowed":
        return True
    return None


@hookimpl(specname="permission_allowed")
def permission_allowed_async(actor, action, resource):
    if action != "view-table" or resource != ("sample", "authors"):
        return None

    async def inner():
        # Metadata denies this table to everyone; this later opinion wins for one actor.
        if actor and actor.get("id") == "hooks-allowed":
            return True
        return None

    return inner


@hookimpl(specname="permission_allowed", trylast=True)
def permission_allowed_last(actor, action, resource):
    # Asked last, so its opinion beats everyone's: books is closed to this actor.
    if action == "view-table" and resource == ("sample", "books"):
        if actor and actor.get("id") == "hooks-allowed":
            return False
    return None


# -- register_permissions -----------------------------------------------------------------


@hookimpl
def register_permissions(datasette):
    _record(datasette, "register_permissions")
    return [
        Permission(
            name="hooks-permission",
            abbr="hp",
            description="A permission registered by the hooks_data test plugin",
            takes_database=True,
            takes_resource=False,
            default=False,
        )
    ]


# -- actors_from_ids (firstresult, AMM) ---------------------------------------------------


@hookimpl
def actors_from_ids(datasette, actor_ids):
    async def inner():
        return {actor_id: {"id": actor_id, "name": "Actor {}".format(actor_id)} for actor_id in actor_ids}

    return inner


# -- startup (AMM) ------------------------------------------------------------------------


@hookimpl
def startup(datasette):
    _record(datasette, "startup")
    datasette._hooks_startup_saw = {
        "permission_registered": "hooks-permission" in datasette.permissions,
        "jinja_filter": "hooks_shout" in datasette.jinja_env.filters,
    }


@hookimpl(specname="startup")
def startup_async(datasette):
    async def inner():
        db = datasette.get_database("sample") if "sample" in datasette.databases else None
        if db is not None and db.is_mutable:
            await db.execute_write(
                "create table if not exists hooks_startup (note text)"
            )
            await db.execute_write("insert into hooks_startup values (?)", ["async startup ran"])
        _record(datasette, "startup_async")

    return inner

