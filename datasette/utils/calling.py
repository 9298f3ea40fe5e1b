"""Calling plugin-supplied callables: maybe-async values and keyword-picky functions;
and blocking functions on a thread pool, or in place when there is none.

Also home of the `documented` marker: the documentation test walks
`functions_marked_as_documented` to check that every public helper is described.
"""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import Executor
from typing import Any, Callable, Optional, TypeVar

__all__ = [
    "documented",
    "functions_marked_as_documented",
    "await_me_maybe",
    "call_with_supported_arguments",
    "async_call_with_supported_arguments",
]

F = TypeVar("F", bound=Callable[..., Any])

# The one piece of module state the contract asks for: a registry filled at import time.
functions_marked_as_documented: list = []


def documented(fn: F) -> F:
    """Mark `fn` as documented public API and return it unchanged."""
    functions_marked_as_documented.append(fn)
    return fn


@documented
async def await_me_maybe(value: Any) -> Any:
    """Resolve a plugin hook's return value.

    A callable is called (with no arguments); an awaitable result is awaited; anything
    else is returned as it is. Hooks may therefore return a value, a function returning
    a value, or a coroutine.
    """
    if callable(value):
        value = value()
    if inspect.isawaitable(value):
        value = await value
    return value


def _gather_arguments(fn: Callable[..., Any], kwargs: dict) -> tuple[list, dict]:
    """Split the wanted subset of `kwargs` into positional and keyword arguments for `fn`.

    Parameters with defaults may be left out; any other parameter `fn` declares but the
    caller did not offer is an error, named in the message so plugin authors can see
    which argument they misspelt.
    """
    args: list = []
    call_kwargs: dict = {}
    missing = []
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            # "Pass only the arguments fn names": catch-alls name nothing.
            continue
        if name not in kwargs:
            if param.default is param.empty:
                missing.append(name)
            continue
        if param.kind is param.POSITIONAL_ONLY:
            args.append(kwargs[name])
        else:
            call_kwargs[name] = kwargs[name]
    if missing:
        raise TypeError(
            "{!r} requires parameters {}; missing: {}".format(
                fn, ", ".join(inspect.signature(fn).parameters), ", ".join(missing)
            )
        )
    return args, call_kwargs


def call_with_supported_arguments(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call `fn` with just the keyword arguments its signature names.

    Raises `TypeError` naming any required parameter of `fn` missing from `kwargs`.
    """
    args, call_kwargs = _gather_arguments(fn, kwargs)
    return fn(*args, **call_kwargs)


async def async_call_with_supported_arguments(
    fn: Callable[..., Any], **kwargs: Any
) -> Any:
    """Like `call_with_supported_arguments`, awaiting `fn` (which must be async)."""
    args, call_kwargs = _gather_arguments(fn, kwargs)
    return await fn(*args, **call_kwargs)


async def run_on(executor: Optional[Executor], fn: Callable[[], Any]) -> Any:
    """`fn()` on a thread of `executor`, awaited; called right here when `executor` is
    None (the instance's no-thread mode, `num_sql_threads` 0)."""
    if executor is None:
        return fn()
    return await asyncio.get_running_loop().run_in_executor(executor, fn)
