"""Whether a configuration asks for replication, answered without importing the rest of
this package: `serve` asks on every start, and most servers replicate nothing.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

PLUGIN_NAME = "datasette-litestream"


def is_configured(*sources: Optional[Mapping]) -> bool:
    """Whether any of these configuration dicts may hold a `plugins: datasette-litestream:`
    block, at the top level or under one of its `databases:`.

    False only when none can: a source of an unexpected shape counts as configured, so
    that the full reading (`service.read_config`) judges it and reports what is wrong.
    """
    return any(_mentions(source) for source in sources)


def _mentions(source: Any) -> bool:
    if not source:
        return False
    if not isinstance(source, Mapping):
        return True
    if _has_block(source):
        return True
    databases = source.get("databases")
    if not databases:
        return False
    if not isinstance(databases, Mapping):
        return True
    return any(
        database and (not isinstance(database, Mapping) or _has_block(database))
        for database in databases.values()
    )


def _has_block(section: Mapping) -> bool:
    plugins = section.get("plugins")
    if not plugins:
        return False
    return not isinstance(plugins, Mapping) or PLUGIN_NAME in plugins
