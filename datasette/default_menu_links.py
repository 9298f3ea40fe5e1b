"""Default plugin: the debug links in the navigation menu, for actors with `debug-menu`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .hookspecs import hookimpl

if TYPE_CHECKING:  # only for annotations: a plugin module never imports the app
    from .app import Datasette

DEBUG_LINKS = (
    ("/-/databases", "Databases"),
    ("/-/plugins", "Installed plugins"),
    ("/-/versions", "Version info"),
    ("/-/metadata", "Metadata"),
    ("/-/settings", "Settings"),
    ("/-/permissions", "Debug permissions"),
    ("/-/messages", "Debug messages"),
    ("/-/allow-debug", "Debug allow rules"),
    ("/-/threads", "Debug threads"),
    ("/-/actor", "Debug actor"),
    ("/-/patterns", "Pattern portfolio"),
)


@hookimpl
def menu_links(datasette: Datasette, actor):
    async def inner():
        if not await datasette.permission_allowed(actor, "debug-menu"):
            return []
        return [{"href": datasette.urls.path(path), "label": label} for path, label in DEBUG_LINKS]

    return inner
