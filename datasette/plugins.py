"""The plugin manager, and how plugins are found and loaded.

Order matters: pluggy calls implementations in reverse registration order, so installed
plugins are registered first, then the default plugins, then `--plugins-dir` files. That
makes core defaults run before installed plugins and plugins-dir files before both.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
from pathlib import Path
from typing import Iterator

import pluggy

from . import hookspecs

DEFAULT_PLUGINS = (
    "datasette.publish.heroku",
    "datasette.publish.cloudrun",
    "datasette.facets",
    "datasette.filters",
    "datasette.sql_functions",
    "datasette.actor_auth_cookie",
    "datasette.default_permissions",
    "datasette.default_magic_parameters",
    "datasette.blob_renderer",
    "datasette.default_menu_links",
    "datasette.handle_exception",
    "datasette.forbidden",
)

pm = pluggy.PluginManager("datasette")
pm.add_hookspecs(hookspecs)

# Distributions of plugins registered from DATASETTE_LOAD_PLUGINS (pluggy records only
# those it loads itself), so /-/plugins can name them and give their versions.
_distributions: dict = {}


def _load_installed_plugins() -> None:
    """Register entry points of group `datasette`, or only those DATASETTE_LOAD_PLUGINS names."""
    if hasattr(sys, "_called_from_test"):
        return
    requested = os.environ.get("DATASETTE_LOAD_PLUGINS")
    if requested is None:
        pm.load_setuptools_entrypoints("datasette")
        return
    for name in (part.strip() for part in requested.split(",")):
        if not name:
            continue
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            sys.stderr.write(f"Plugin {name} could not be found\n")
            continue
        for entry_point in distribution.entry_points:
            if entry_point.group == "datasette":
                plugin = entry_point.load()
                pm.register(plugin, name=entry_point.name)
                _distributions[id(plugin)] = distribution


def _register_default_plugins() -> None:
    for plugin in DEFAULT_PLUGINS:
        module = importlib.import_module(plugin)
        pm.register(module, plugin)


def load_plugins_dir(plugins_dir: str) -> None:
    """Register each `*.py` file directly in `plugins_dir` as a plugin named by its file name."""
    from .utils import module_from_path

    for path in sorted(Path(plugins_dir).glob("*.py")):
        module = module_from_path(str(path), name=path.name)
        try:
            pm.register(module)
        except ValueError:
            # Already registered (same module loaded by an earlier instance).
            pass


def _plugin_package_dir(plugin: object, subdir: str):
    module_file = getattr(plugin, "__file__", None)
    if not module_file:
        return None
    candidate = Path(module_file).parent / subdir
    if Path(module_file).name == "__init__.py" and candidate.is_dir():
        return str(candidate)
    return None


def get_plugins() -> Iterator[dict]:
    """Each registered plugin: name, static and templates paths, hooks, version."""
    distinfo = {plugin: dist for plugin, dist in pm.list_plugin_distinfo()}
    for _, plugin in pm.list_name_plugin():
        is_default = getattr(plugin, "__name__", None) in DEFAULT_PLUGINS
        info = {
            "name": getattr(plugin, "__name__", str(plugin)),
            "static_path": None if is_default else _plugin_package_dir(plugin, "static"),
            "templates_path": None
            if is_default
            else _plugin_package_dir(plugin, "templates"),
            "hooks": [caller.name for caller in pm.get_hookcallers(plugin) or []],
        }
        dist = distinfo.get(plugin) or _distributions.get(id(plugin))
        if dist is not None:
            info["version"] = dist.version
            info["name"] = getattr(dist, "name", None) or dist.metadata["Name"]
        yield info


_load_installed_plugins()
_register_default_plugins()
