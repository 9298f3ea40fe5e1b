"""Registers the default plugins (core behaviour written as plugins) with `pm`.

They are imported when the plugin manager is first used, not when `plugins.py` is: they
import modules such as `permissions.py` that import `pm`. The package's `__init__` imports
this module, so the loader is in place in every process that can reach `pm`.
"""

from __future__ import annotations

import importlib

from .plugins import DEFAULT_PLUGINS, PluginManager, pm


def register_default_plugins(manager: PluginManager) -> None:
    """Import each module of `DEFAULT_PLUGINS` and register it under its dotted name."""
    for name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(name), name)


pm.set_loader(register_default_plugins)
