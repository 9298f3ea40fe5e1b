"""The plugin manager, and how plugins are found and loaded.

Order matters: pluggy calls implementations in reverse registration order, so installed
plugins are registered first, then the default plugins, then `--plugins-dir` files. That
makes core defaults run before installed plugins and plugins-dir files before both.

Installed and default plugins are loaded the first time the manager is used (its hooks
read, a plugin registered or listed), not when this module is imported. The default
plugins import modules such as `permissions.py` that import `pm` from here, so this module
never imports them: `default_plugins.py`, imported by the package's `__init__`, gives the
manager the function that does (`PluginManager.set_loader`).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pluggy

from . import hookspecs
from .utils import module_from_path

DEFAULT_PLUGINS = (
    "datasette.publish.heroku",
    "datasette.publish.cloudrun",
    "datasette.facets",
    "datasette.filters",
    "datasette.sql_functions",
    "datasette.actor_auth_cookie",
    "datasette.default_permissions",
    "datasette.internal.public.rules",
    "datasette.default_magic_parameters",
    "datasette.blob_renderer",
    "datasette.default_menu_links",
    "datasette.handle_exception",
    "datasette.forbidden",
)


class _LoadOnFirstRead:
    """`PluginManager.hook`: the first read loads the plugins, then this steps aside.

    It is a non-data descriptor, so once the relay is stored in the manager's `__dict__`
    every later `pm.hook` is a plain attribute read, as in pluggy.
    """

    def __get__(self, manager: Optional["PluginManager"], owner: Any = None) -> Any:
        if manager is None:
            return self
        manager.load_plugins()
        return manager._hook_relay


def _loading_first(method: Callable) -> Callable:
    """`method` of pluggy's manager, made to load the plugins before it runs."""

    @functools.wraps(method)
    def loading_first(self: "PluginManager", *args: Any, **kwargs: Any) -> Any:
        self.load_plugins()
        return method(self, *args, **kwargs)

    return loading_first


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, loading installed and default plugins the first time it is used."""

    hook = _LoadOnFirstRead()

    def __init__(self, project_name: str):
        # Nothing loads until a loader is set: the hook specifications come first.
        self._load_pending = False
        self._loader: Optional[Callable[["PluginManager"], None]] = None
        super().__init__(project_name)
        # pluggy stored its relay as `self.hook`; kept aside so reads reach the descriptor.
        self._hook_relay = self.__dict__.pop("hook")

    def set_loader(self, loader: Callable[["PluginManager"], None]) -> None:
        """Run `loader(self)` after the installed plugins load, at first use (see module doc)."""
        self._loader = loader
        self._load_pending = True

    def load_plugins(self) -> None:
        """Register installed plugins, then the loader's; only the first call does it."""
        if not self._load_pending:
            return
        # Cleared first: registering reads `hook`, which must not start loading again.
        self._load_pending = False
        _load_installed_plugins(self)
        if self._loader is not None:
            self._loader(self)
        self.__dict__["hook"] = self._hook_relay

    # pluggy's methods that add, remove or list plugins: each loads them first, so the
    # order of registration and every listing are as if they had loaded on import.
    register = _loading_first(pluggy.PluginManager.register)
    unregister = _loading_first(pluggy.PluginManager.unregister)
    get_plugin = _loading_first(pluggy.PluginManager.get_plugin)
    get_plugins = _loading_first(pluggy.PluginManager.get_plugins)
    is_registered = _loading_first(pluggy.PluginManager.is_registered)
    list_name_plugin = _loading_first(pluggy.PluginManager.list_name_plugin)
    list_plugin_distinfo = _loading_first(pluggy.PluginManager.list_plugin_distinfo)


pm = PluginManager("datasette")
pm.add_hookspecs(hookspecs)

# Distributions of plugins registered from DATASETTE_LOAD_PLUGINS (pluggy records only
# those it loads itself), so /-/plugins can name them and give their versions.
_distributions: dict = {}


def _load_installed_plugins(manager: pluggy.PluginManager) -> None:
    """Register entry points of group `datasette`, or only those DATASETTE_LOAD_PLUGINS names."""
    if hasattr(sys, "_called_from_test"):
        return
    requested = os.environ.get("DATASETTE_LOAD_PLUGINS")
    if requested is None:
        manager.load_setuptools_entrypoints("datasette")
        return
    names = [name for name in (part.strip() for part in requested.split(",")) if name]
    if not names:
        return
    # Only for named plugins (pluggy imports it itself to scan every entry point): it
    # brings email, zipfile and csv, ~20 ms of a start with DATASETTE_LOAD_PLUGINS empty.
    import importlib.metadata

    for name in names:
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            sys.stderr.write(f"Plugin {name} could not be found\n")
            continue
        for entry_point in distribution.entry_points:
            if entry_point.group == "datasette":
                plugin = entry_point.load()
                manager.register(plugin, name=entry_point.name)
                _distributions[id(plugin)] = distribution


def load_plugins_dir(plugins_dir: str) -> None:
    """Register each `*.py` file directly in `plugins_dir` as a plugin named by its file name."""
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

