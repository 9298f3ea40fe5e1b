"""Signed API tokens (`dstok_...`): the payload `create_token` signs and the actor it gives.

The payload is a dict signed with the `token` namespace: `a` actor id, `t` creation time
(epoch seconds), `d` lifetime in seconds (optional) and `_r` restrictions (optional):
`a` actions for everything, `d` actions by database, `r` actions by database and resource.
Actions are stored by abbreviation when they have one.

A valid signature only proves we signed *something* with this secret: every field read
from a signed payload (here and in `actor_auth_cookie.py`) is checked by the `valid_*`
functions below, and a payload that fails is no actor at all, never a server error.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional

from itsdangerous import BadData

if TYPE_CHECKING:  # only for annotations: app.py imports this module
    from .app import Datasette

PREFIX = "dstok_"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def valid_actor_id(value: Any) -> bool:
    """An actor id is a string or an integer (booleans are not integers here)."""
    return isinstance(value, str) or _is_int(value)


def _is_action_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def valid_restrictions(value: Any) -> bool:
    """Whether `value` has the shape `create_token` writes for `_r`:
    `{"a": [str], "d": {str: [str]}, "r": {str: {str: [str]}}}`, every key optional."""
    if not isinstance(value, dict) or set(value) - {"a", "d", "r"}:
        return False
    if "a" in value and not _is_action_list(value["a"]):
        return False
    databases = value.get("d", {})
    if not isinstance(databases, dict) or not all(
        _is_action_list(actions) for actions in databases.values()
    ):
        return False
    resources = value.get("r", {})
    if not isinstance(resources, dict):
        return False
    for per_database in resources.values():
        if not isinstance(per_database, dict) or not all(
            _is_action_list(actions) for actions in per_database.values()
        ):
            return False
    return True


def valid_actor(value: Any) -> bool:
    """An actor read from a signed value: a dict whose `id`, if present, is a string or
    an integer, and whose `_r`, if present, has the restrictions' shape."""
    if not isinstance(value, dict):
        return False
    if "id" in value and not valid_actor_id(value["id"]):
        return False
    return "_r" not in value or valid_restrictions(value["_r"])


def token_payload(
    permissions: dict, actor_id: str, expires_after: Optional[int], restrictions: dict
) -> dict:
    """The dict to sign for a new token; `permissions` maps names to `Permission`s.

    `restrictions` has the payload's `_r` shape with full action names: `"a"` actions,
    `"d"` `{database: actions}`, `"r"` `{database: {resource: actions}}`; empty or None
    parts are left out. Actions with an abbreviation are stored by it.
    """

    def abbreviate(actions: Any) -> Any:
        if isinstance(actions, dict):
            return {key: abbreviate(value) for key, value in actions.items()}
        return [_abbreviation(permissions, action) for action in actions]

    token: dict = {"a": actor_id, "t": int(time.time())}
    if expires_after:
        token["d"] = expires_after
    kept = {key: abbreviate(value) for key, value in restrictions.items() if value}
    if kept:
        token["_r"] = kept
    return token


def _abbreviation(permissions: dict, action: str) -> str:
    permission = permissions.get(action)
    return permission.abbr if permission is not None and permission.abbr else action


def actor_from_token(datasette: Datasette, token: str) -> Optional[dict]:
    """The actor of a `dstok_` token when its signature holds and it has not expired.

    `max_signed_tokens_ttl` caps every token's lifetime, including tokens made without one.
    """
    if not token.startswith(PREFIX):
        return None
    try:
        decoded = datasette.unsign(token[len(PREFIX) :], namespace="token")
    except BadData:  # a bad signature, or (BadPayload) a signed payload that is not JSON
        return None
    if not isinstance(decoded, dict) or not valid_actor_id(decoded.get("a")):
        return None
    created = decoded.get("t")
    duration = decoded.get("d")
    if not _is_int(created):
        return None
    if duration is not None and not _is_int(duration):
        return None
    if "_r" in decoded and not valid_restrictions(decoded["_r"]):
        return None
    max_ttl = datasette.setting("max_signed_tokens_ttl")
    if max_ttl:
        if not duration or duration > max_ttl:
            duration = max_ttl
    if duration and time.time() - created > duration:
        return None
    actor = {"id": decoded["a"], "token": "dstok"}
    if "_r" in decoded:
        actor["_r"] = decoded["_r"]
    if duration:
        actor["token_expires"] = created + duration
    return actor
