"""Names a module exports but imports only when first read (PEP 562's module `__getattr__`).

For modules on every start's path whose names live in modules most starts never need:
`datasette.app`'s 1.0a7 view classes, `datasette.internal.replication`'s rooms.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_getattr(namespace: dict, sources: dict) -> Callable[[str], Any]:
    """A module-level `__getattr__` for the module whose globals are `namespace`: each
    name of `sources` (name -> absolute module path) is imported from its module on first
    read and kept in `namespace`, so later reads are plain attribute reads."""
    module_name = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value
        return value

    return __getattr__
