"""The route table: plugin routes first, then core routes in 1.0a7 order.

This is the only module that imports the views. Each entry is `(compiled regex, view)`
where a view is an async callable `view(request, send)` returning a `Response` or None.
Core views are named by module and class and imported on their first request
(`LazyView`): start-up then imports only what the first pages need (issue 15).
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import introspection
from .plugins import get_plugins, pm
from .templating import STATIC
from .utils import await_me_maybe, call_with_supported_arguments
from .utils.asgi import Request, Response, Send, asgi_send_file, asgi_static
from .views.base import View
from .views.special import JsonDataView

if TYPE_CHECKING:
    from .app import Datasette


def wrap_view(view_fn_or_class: Any, datasette: Datasette) -> Callable:
    """Adapt a plugin view (function or class) or a core `View` to `view(request, send)`."""
    if isinstance(view_fn_or_class, View):
        view_instance = view_fn_or_class

        async def class_view(request: Request, send: Send) -> Any:
            return await view_instance(request, datasette)

        class_view.view_class = type(view_instance)  # type: ignore[attr-defined]
        class_view.__name__ = type(view_instance).__name__
        return class_view
    if isinstance(view_fn_or_class, type):
        view_class = view_fn_or_class

        async def instantiated_view(request: Request, send: Send) -> Any:
            instance = view_class()
            if isinstance(instance, View):
                return await instance(request, datasette)
            return await await_me_maybe(call_with_supported_arguments(
                instance.__call__,
                scope=request.scope,
                receive=request.receive,
                send=send,
                request=request,
                datasette=datasette,
            ))

        instantiated_view.view_class = view_class  # type: ignore[attr-defined]
        instantiated_view.__name__ = view_class.__name__
        return instantiated_view

    async def function_view(request: Request, send: Send) -> Any:
        # A plain function may return its Response directly; only await what needs it.
        return await await_me_maybe(
            call_with_supported_arguments(
                view_fn_or_class,
                scope=request.scope,
                receive=request.receive,
                send=send,
                request=request,
                datasette=datasette,
            )
        )

    function_view.__name__ = getattr(view_fn_or_class, "__name__", "view")
    return function_view


class LazyView:
    """A core view named by its module (under `datasette.views`) and class, imported and
    made on its first request: a server answering its first request should not pay for
    importing every page it has (issue 15)."""

    def __init__(self, datasette: Datasette, module: str, name: str):
        self.datasette = datasette
        self.module = module
        self.class_name = name
        self.__name__ = name  # what the route tests and 1.0a7 callers read; may be renamed
        self._view: Optional[Callable] = None

    def load(self) -> Callable:
        """The wrapped view, importing its module the first time."""
        if self._view is None:
            module = importlib.import_module(f"{__package__}.views.{self.module}")
            view_class = getattr(module, self.class_name)
            self._view = wrap_view(view_class(), self.datasette)
        return self._view

    async def __call__(self, request: Request, send: Send) -> Any:
        view = self._view
        if view is None:
            view = self.load()
        return await view(request, send)


def permanent_redirect(
    path: str,
    forward_query_string: bool = False,
    forward_rest: bool = False,
    datasette: Optional[Datasette] = None,
) -> Callable:
    """A view answering 301 to `path` under `base_url` (optionally keeping query / rest)."""

    async def view(request: Request, send: Send) -> Response:
        target = datasette.urls.path(path) if datasette is not None else path
        if forward_rest:
            target += request.url_vars.get("rest", "")
        if forward_query_string and request.query_string:
            target += "?" + request.query_string
        return Response.redirect(target, status=301)

    return view


async def favicon(request: Request, send: Send) -> None:
    """The bundled icon, cacheable for an hour."""
    await asgi_send_file(
        send,
        STATIC / "favicon.png",
        content_type="image/png",
        headers={"Cache-Control": "max-age=3600, immutable, public"},
    )


def database_cors(request: Request) -> bool:
    """The database page sends CORS headers for its JSON and for queries, not for its
    HTML page (http-cli.md §0.7)."""
    if request.method not in ("GET", "HEAD"):
        return False
    return bool(request.url_vars.get("format") or (request.args.get("sql") or "").strip())


def build_routes(datasette: Datasette) -> list:
    """Every route of the instance, plugin routes first.

    Long because it is the route table: one `add(view, regex, cors=...)` per route in
    first-match order (http-cli.md §1), which reads best as a single list. `cors`
    marks routes whose answers carry the CORS headers under `--cors` (§0.7).
    """
    routes: list = []
    for routes_to_add in pm.hook.register_routes(datasette=datasette):
        for regex, view_fn in routes_to_add or []:
            routes.append((regex, wrap_view(view_fn, datasette)))

    def add(view: Any, regex: str, cors: Any = False) -> None:
        # `cors`: True, or a function of the request; the router adds the headers.
        if cors:
            view.cors = cors
        routes.append((regex, view))

    def add_json_page(
        filename: str,
        callback: Callable,
        needs_request: bool = False,
        permission: Any = "view-instance",
    ) -> None:
        """`/-/FILENAME` and `/-/FILENAME.json`, readable cross-origin."""
        view = JsonDataView(
            datasette, filename, callback, needs_request=needs_request, permission=permission
        )
        add(wrap_view(view, datasette), r"/-/" + filename + r"(\.(?P<format>json))?$", cors=True)

    def lazy(module: str, name: str) -> LazyView:
        return LazyView(datasette, module, name)

    def for_asking_actor(info: Callable) -> Callable:
        return lambda request: info(datasette, request.actor)

    add(lazy("index", "IndexView"), r"/(\.(?P<format>jsono?))?$", cors=True)
    add(favicon, r"/favicon\.ico$")
    add(asgi_static(STATIC), r"/-/static/(?P<path>.*)$")
    for mount, directory in datasette.static_mounts:
        add(asgi_static(directory), r"/" + re.escape(mount) + r"/(?P<path>.*)$")
    for plugin in get_plugins():
        if plugin["static_path"]:
            view = asgi_static(plugin["static_path"])
            add(view, r"/-/static-plugins/" + re.escape(plugin["name"]) + r"/(?P<path>.*)$")
            underscored = plugin["name"].replace("-", "_")
            if underscored != plugin["name"]:
                add(view, r"/-/static-plugins/" + re.escape(underscored) + r"/(?P<path>.*)$")
    add(
        permanent_redirect(
            "/_memory", forward_query_string=True, forward_rest=True, datasette=datasette
        ),
        r"/:memory:(?P<rest>.*)$",
    )
    add_json_page("metadata", datasette.metadata)
    add_json_page("versions", datasette._versions)
    add_json_page("plugins", datasette._plugins, needs_request=True)
    add_json_page("settings", datasette.settings_dict)
    add(permanent_redirect("/-/settings.json", datasette=datasette), r"/-/config\.json")
    add(permanent_redirect("/-/settings", datasette=datasette), r"/-/config")
    # Both pages answer for the asking actor (issue 9: no internal database, no hidden
    # databases for anyone but root / those who may see them).
    add_json_page("threads", for_asking_actor(introspection.threads_info), needs_request=True)
    databases_info = for_asking_actor(introspection.visible_databases_info)
    add_json_page("databases", databases_info, needs_request=True)
    add_json_page("actor", datasette._actor, needs_request=True, permission=None)
    add(lazy("auth", "AuthTokenView"), r"/-/auth-token$")
    add(lazy("auth", "CreateTokenView"), r"/-/create-token$")
    add(lazy("debug", "ApiExplorerView"), r"/-/api$")
    add(lazy("auth", "LogoutView"), r"/-/logout$")
    add(lazy("public", "PublicView"), r"/-/public(\.(?P<format>json))?$")
    add(lazy("debug", "PermissionsDebugView"), r"/-/permissions$")
    add(lazy("debug", "MessagesDebugView"), r"/-/messages$")
    add(lazy("debug", "AllowDebugView"), r"/-/allow-debug$")
    add(lazy("debug", "PatternPortfolioView"), r"/-/patterns$")
    add(lazy("activity", "AuditView"), r"/-/audit(\.(?P<format>json|csv))?$")
    add(lazy("activity", "JobsView"), r"/-/jobs(\.(?P<format>json))?$")
    add(lazy("replication", "ReplicationView"), r"/-/litestream(\.(?P<format>json))?$")
    add(lazy("download", "DatabaseDownload"), r"/(?P<database>[^\/\.]+)\.db$", cors=True)
    add(
        lazy("database", "DatabaseView"),
        r"/(?P<database>[^\/\.]+)(\.(?P<format>\w+))?$",
        cors=database_cors,
    )
    database_part = r"/(?P<database>[^\/\.]+)"
    table_part = database_part + r"/(?P<table>[^\/\.]+)"
    row_part = database_part + r"/(?P<table>[^/]+?)/(?P<pks>[^/]+?)"
    add(lazy("database_create", "TableCreateView"), database_part + r"/-/create$", cors=True)
    add(lazy("table_write", "TableInsertView"), table_part + r"/-/insert$", cors=True)
    add(lazy("table_write", "TableUpsertView"), table_part + r"/-/upsert$", cors=True)
    add(lazy("table_write", "TableDropView"), table_part + r"/-/drop$", cors=True)
    add(lazy("stats", "TableStatsView"), table_part + r"/-/stats\.json$", cors=True)
    add(lazy("stats", "SuggestView"), table_part + r"/-/suggest\.json$", cors=True)
    add(lazy("stats", "TableFormView"), table_part + r"/-/form\.json$")
    add(lazy("stats", "TableInsertFormView"), table_part + r"/-/insert-form$")
    add(lazy("stats", "RowEditView"), row_part + r"/-/edit$")
    add(lazy("row_write", "RowDeleteView"), row_part + r"/-/delete$", cors=True)
    add(lazy("row_write", "RowUpdateView"), row_part + r"/-/update$", cors=True)
    table_view = lazy("table", "TableView")
    table_view.__name__ = "table_view"  # 1.0a7's name, which route tests look for
    add(
        table_view,
        r"/(?P<database>[^\/\.]+)/(?P<table>[^\/\.]+)(\.(?P<format>\w+))?$",
        cors=True,
    )
    add(
        lazy("row", "RowView"),
        r"/(?P<database>[^\/\.]+)/(?P<table>[^/]+?)/(?P<pks>[^/]+?)(\.(?P<format>\w+))?$",
        cors=True,
    )
    return [(re.compile(pattern) if isinstance(pattern, str) else pattern, view) for pattern, view in routes]
