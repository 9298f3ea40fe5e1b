"""Matching actors against `allow` blocks and naming them for display."""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["actor_matches_allow", "display_actor"]


def _as_list(value: Any) -> list:
    """Allow blocks and actors may give one value or a list of values."""
    return value if isinstance(value, list) else [value]


def _same_value(a: Any, b: Any) -> bool:
    """Equal and of the same type: `1` matches neither `"1"` nor `True`."""
    return type(a) is type(b) and a == b


def actor_matches_allow(actor: Optional[dict], allow: Any) -> bool:
    """Does `actor` satisfy the `allow` block?

    `True`/`False` decide on their own; `None` (no block) allows everyone. A None actor
    passes `{"unauthenticated": true}` and otherwise acts as `{}`. Each key of the block
    is an alternative: `"*"` matches any actor having that key; otherwise the block's
    value(s) and the actor's value(s) (scalars or lists) must share an element. An empty
    block allows no one.
    """
    if allow is True:
        return True
    if allow is False:
        return False
    if allow is None:
        return True
    if actor is None and allow.get("unauthenticated") is True:
        return True
    actor = actor or {}
    for key, wanted in allow.items():
        if wanted == "*" and key in actor:
            return True
        actual = actor.get(key)
        if actual is None:
            continue
        wanted_values = _as_list(wanted)
        for value in _as_list(actual):
            if any(_same_value(value, w) for w in wanted_values):
                return True
    return False


def display_actor(actor: dict) -> str:
    """A short label for an actor: first truthy of display, name, username, login, id.

    Falls back to `str(actor)`.
    """
    for key in ("display", "name", "username", "login", "id"):
        if actor.get(key):
            return actor[key]
    return str(actor)
