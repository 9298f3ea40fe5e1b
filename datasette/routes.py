"""The route table: plugin routes first, then core routes in 1.0a7 order.

This is the only module that imports the views. Each entry is `(compiled regex, view)`
where a view is an async callable `view(request, send)` returning a `Response` or None.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .plugins import get_plugins, pm
from .templating import STATIC
from .utils import await_me_maybe, call_with_supported_arguments
from .utils.asgi import Response, asgi_send_file, asgi_static
from .views.base import View
from .views.database import DatabaseView
from .views.index import IndexView
from .views.auth import AuthTokenView, CreateTokenView, LogoutView
from .views.debug import (
    AllowDebugView,
    ApiExplorerView,
    MessagesDebugView,
    PatternPortfolioView,
    PermissionsDebugView,
)
from .views.database_create import TableCreateView
from .views.download import DatabaseDownload
from .views.row import RowView
from .views.row_write import RowDeleteView, RowUpdateView
from .views.special import JsonDataView
from .views.table import TableView
from .views.table_write import TableDropView, TableInsertView, TableUpsertView


def wrap_view(view_fn_or_class: Any, datasette: Any) -> Callable:
    """Adapt a plugin view (function or class) or a core `View` to `view(request, send)`."""
    if isinstance(view_fn_or_class, View):
        view_instance = view_fn_or_class

        async def class_view(request: Any, send: Any) -> Any:
            return await view_instance(request, datasette)

        class_view.view_class = type(view_instance)  # type: ignore[attr-defined]
        class_view.__name__ = type(view_instance).__name__
        return class_view
    if isinstance(view_fn_or_class, type):
        view_class = view_fn_or_class

        async def instantiated_view(request: Any, send: Any) -> Any:
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

    async def function_view(request: Any, send: Any) -> Any:
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


def permanent_redirect(
    path: str,
    forward_query_string: bool = False,
    forward_rest: bool = False,
    datasette: Any = None,
) -> Callable:
    """A view answering 301 to `path` under `base_url` (optionally keeping query / rest)."""

    async def view(request: Any, send: Any) -> Response:
        target = datasette.urls.path(path) if datasette is not None else path
        if forward_rest:
            target += request.url_vars.get("rest", "")
        if forward_query_string and request.query_string:
            target += "?" + request.query_string
        return Response.redirect(target, status=301)

    return view


async def favicon(request: Any, send: Any) -> None:
    """The bundled icon, cacheable for an hour."""
    await asgi_send_file(
        send,
        STATIC / "favicon.png",
        content_type="image/png",
        headers={"Cache-Control": "max-age=3600, immutable, public"},
    )


def build_routes(datasette: Any) -> list:
    """Every route of the instance, plugin routes first."""
    routes: list = []
    for routes_to_add in pm.hook.register_routes(datasette=datasette):
        for regex, view_fn in routes_to_add or []:
            routes.append((regex, wrap_view(view_fn, datasette)))

    def add(view: Any, regex: str) -> None:
        routes.append((regex, view))

    def json_page(
        filename: str,
        callback: Callable,
        needs_request: bool = False,
        permission: Any = "view-instance",
    ) -> Any:
        return wrap_view(
            JsonDataView(
                datasette, filename, callback, needs_request=needs_request, permission=permission
            ),
            datasette,
        )

    add(wrap_view(IndexView(), datasette), r"/(\.(?P<format>jsono?))?$")
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
    add(json_page("metadata", datasette.metadata), r"/-/metadata(\.(?P<format>json))?$")
    add(json_page("versions", datasette._versions), r"/-/versions(\.(?P<format>json))?$")
    add(
        json_page("plugins", datasette._plugins, needs_request=True),
        r"/-/plugins(\.(?P<format>json))?$",
    )
    add(json_page("settings", datasette.settings_dict), r"/-/settings(\.(?P<format>json))?$")
    add(permanent_redirect("/-/settings.json", datasette=datasette), r"/-/config\.json")
    add(permanent_redirect("/-/settings", datasette=datasette), r"/-/config")
    add(json_page("threads", datasette._threads), r"/-/threads(\.(?P<format>json))?$")
    add(
        json_page("databases", datasette._connected_databases),
        r"/-/databases(\.(?P<format>json))?$",
    )
    add(
        json_page("actor", datasette._actor, needs_request=True, permission=None),
        r"/-/actor(\.(?P<format>json))?$",
    )
    add(wrap_view(AuthTokenView(), datasette), r"/-/auth-token$")
    add(wrap_view(CreateTokenView(), datasette), r"/-/create-token$")
    add(wrap_view(ApiExplorerView(), datasette), r"/-/api$")
    add(wrap_view(LogoutView(), datasette), r"/-/logout$")
    add(wrap_view(PermissionsDebugView(), datasette), r"/-/permissions$")
    add(wrap_view(MessagesDebugView(), datasette), r"/-/messages$")
    add(wrap_view(AllowDebugView(), datasette), r"/-/allow-debug$")
    add(wrap_view(PatternPortfolioView(), datasette), r"/-/patterns$")
    add(wrap_view(DatabaseDownload(), datasette), r"/(?P<database>[^\/\.]+)\.db$")
    add(
        wrap_view(DatabaseView(), datasette),
        r"/(?P<database>[^\/\.]+)(\.(?P<format>\w+))?$",
    )
    database_part = r"/(?P<database>[^\/\.]+)"
    table_part = database_part + r"/(?P<table>[^\/\.]+)"
    row_part = database_part + r"/(?P<table>[^/]+?)/(?P<pks>[^/]+?)"
    add(wrap_view(TableCreateView(), datasette), database_part + r"/-/create$")
    add(wrap_view(TableInsertView(), datasette), table_part + r"/-/insert$")
    add(wrap_view(TableUpsertView(), datasette), table_part + r"/-/upsert$")
    add(wrap_view(TableDropView(), datasette), table_part + r"/-/drop$")
    add(wrap_view(RowDeleteView(), datasette), row_part + r"/-/delete$")
    add(wrap_view(RowUpdateView(), datasette), row_part + r"/-/update$")
    add(
        wrap_view(TableView(), datasette),
        r"/(?P<database>[^\/\.]+)/(?P<table>[^\/\.]+)(\.(?P<format>\w+))?$",
    )
    add(
        wrap_view(RowView(), datasette),
        r"/(?P<database>[^\/\.]+)/(?P<table>[^/]+?)/(?P<pks>[^/]+?)(\.(?P<format>\w+))?$",
    )
    return [(re.compile(pattern) if isinstance(pattern, str) else pattern, view) for pattern, view in routes]
