"""Default plugin: the debug links in the navigation menu, for actors with `debug-menu`."""

from .hookspecs import hookimpl

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
def menu_links(datasette, actor):
    async def inner():
        if not await datasette.permission_allowed(actor, "debug-menu"):
            return []
        return [{"href": datasette.urls.path(path), "label": label} for path, label in DEBUG_LINKS]

    return inner
