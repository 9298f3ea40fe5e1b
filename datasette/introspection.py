"""What the `/-/threads`, `/-/databases` and `/-/plugins` pages report about an instance.

Plain JSON-ready data from the instance's state; `Datasette.threads_info()` and its
neighbours hand over to these (`/-/versions` is `utils/versions.py`).
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any, Optional

from .permissions import database_cascade
from .plugins import DEFAULT_PLUGINS, get_plugins

if TYPE_CHECKING:  # only for annotations: app.py imports this module
    from .app import Datasette
    from .utils.asgi import Request

# `threads_info`'s default actor: a caller that names none sees everything, as in 1.0a7.
_ROOT = object()


def _is_root(actor: Optional[dict]) -> bool:
    return isinstance(actor, dict) and actor.get("id") == "root"


def _internal_names(datasette: Datasette) -> list:
    """The internal database's name and path: text only root may see (issue 9, item 6)."""
    internal = getattr(datasette, "_internal_database", None)
    if internal is None:
        return []
    return [str(value) for value in (internal.name, internal.path) if value]


def threads_info(datasette: Datasette, actor: Any = _ROOT) -> dict:
    """Threads and event-loop tasks; nothing when `num_sql_threads` is 0.

    Given an `actor` other than root (as `/-/threads` does), threads and tasks that name
    the internal database are left out. Called without one (plugins, 1.0a7's
    `_threads()`), everything is listed.
    """
    if datasette.setting("num_sql_threads") == 0:
        return {"num_threads": 0, "threads": []}
    hidden = [] if actor is _ROOT or _is_root(actor) else _internal_names(datasette)

    def shown(text: str) -> bool:
        return not any(name in text for name in hidden)

    threads = [t for t in threading.enumerate() if shown(t.name)]
    info: dict = {
        "num_threads": len(threads),
        "threads": [{"name": t.name, "ident": t.ident, "daemon": t.daemon} for t in threads],
    }
    try:
        tasks = asyncio.all_tasks()
    except RuntimeError:
        tasks = set()
    task_texts = [text for text in (str(t) for t in tasks) if shown(text)]
    info["num_tasks"] = len(task_texts)
    info["tasks"] = task_texts
    return info


def _database_info(db: Any) -> dict:
    return {
        "name": db.name,
        "route": db.route,
        "path": db.path,
        "size": db.size,
        "is_mutable": db.is_mutable,
        "is_memory": db.is_memory,
        "hash": db.hash,
    }


def connected_databases_info(datasette: Datasette) -> list:
    """Each attached database's name, route, file, size, kind and hash."""
    return [_database_info(db) for db in datasette.databases.values()]


async def visible_databases_info(datasette: Datasette, actor: Optional[dict]) -> list:
    """`connected_databases_info` for `/-/databases`: only the databases `actor` may see
    (1.0a7 listed every database, with its path, to anyone who could see the instance)."""
    listed = []
    for name, db in datasette.databases.items():
        visible, _ = await datasette.check_visibility(actor, permissions=database_cascade(name))
        if visible:
            listed.append(_database_info(db))
    return listed


def plugins_info(request: Optional[Request] = None, all: bool = False) -> list:
    """Registered plugins by name; default plugins only with `?all=1` (or `all=True`)."""
    show_all = bool(request.args.get("all")) if request is not None else all
    plugins = [p for p in get_plugins() if show_all or p["name"] not in DEFAULT_PLUGINS]
    return sorted(
        (
            {
                "name": p["name"],
                "static": p["static_path"] is not None,
                "templates": p["templates_path"] is not None,
                "version": p.get("version"),
                "hooks": sorted(set(p["hooks"])),
            }
            for p in plugins
        ),
        key=lambda p: p["name"],
    )
