"""Answers that cannot change during one request, worked out once per request.

The router opens a memo (a dict in a context variable) for each request and closes it
when the response is sent. Code that would otherwise repeat the same work several times
per request (a metadata lookup goes through every `get_metadata` hook and merges the
result; a permission check through every `permission_allowed` hook) keeps its answer
there, keyed by everything the answer depends on. Outside a request there is no memo and
everything is worked out afresh, so tests and scripts that change metadata between calls
see the change at once.
"""

from __future__ import annotations

import contextvars
from typing import Any, Callable, Optional

_memo: "contextvars.ContextVar[Optional[dict]]" = contextvars.ContextVar(
    "datasette_request_memo", default=None
)
_MISSING = object()


def open_memo() -> contextvars.Token:
    """Start a request's memo; pass the token to `close_memo` when the request ends."""
    return _memo.set({})


def close_memo(token: contextvars.Token) -> None:
    _memo.reset(token)


# `current()`: the running request's memo, or None outside a request. The context
# variable's own method, so asking costs no Python frame (every permission check asks).
current: Callable[[], Optional[dict]] = _memo.get


def memoized(key: Any, compute: Callable[[], Any]) -> Any:
    """`compute()`, or the answer it gave for `key` earlier in this request."""
    memo = _memo.get()
    if memo is None:
        return compute()
    value = memo.get(key, _MISSING)
    if value is _MISSING:
        value = memo[key] = compute()
    return value
