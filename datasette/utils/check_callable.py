"""Is this object callable, and does calling it give a coroutine?"""

from __future__ import annotations

import functools
import inspect
from typing import Any, NamedTuple

__all__ = ["CallableStatus", "check_callable"]


class CallableStatus(NamedTuple):
    """`is_callable`: callable() is true; `is_async_callable`: calling it must be awaited."""

    is_callable: bool
    is_async_callable: bool


def check_callable(obj: Any) -> CallableStatus:
    """Classify `obj` for code that may receive plain or async callables.

    Async covers `async def` functions, instances whose `__call__` is `async def`, and
    `functools.partial` around either. Classes are callable but never async: calling
    one builds an instance, even when the instance's `__call__` is async.
    """
    if not callable(obj):
        return CallableStatus(False, False)
    if isinstance(obj, type):
        return CallableStatus(True, False)
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.iscoroutinefunction(obj):
        return CallableStatus(True, True)
    call = getattr(type(obj), "__call__", None)  # noqa: B004 - the class attribute, not callable()
    return CallableStatus(True, inspect.iscoroutinefunction(call))
