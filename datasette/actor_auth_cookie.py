"""Default plugin: the actor from the signed `ds_actor` cookie.

The cookie holds `{"a": actor, "e": expiry}` (`e` optional, base62 epoch seconds). A
payload of any other shape is no actor (see `tokens.valid_actor`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from itsdangerous import BadData

from .hookspecs import hookimpl
from .tokens import valid_actor
from .utils import baseconv

if TYPE_CHECKING:  # only for annotations: a plugin module never imports the app
    from .app import Datasette
    from .utils.asgi import Request


@hookimpl
def actor_from_request(datasette: Datasette, request: Request):
    cookie = request.cookies.get("ds_actor")
    if not cookie:
        return None
    try:
        decoded = datasette.unsign(cookie, "actor")
    except BadData:  # a bad signature, or (BadPayload) a signed payload that is not JSON
        return None
    if not isinstance(decoded, dict) or not valid_actor(decoded.get("a")):
        return None
    expires_at = decoded.get("e")
    if expires_at:  # a falsy expiry means none, as in 1.0a7
        if not isinstance(expires_at, str):
            return None
        try:
            if baseconv.base62.decode(expires_at) < time.time():
                return None
        except ValueError:
            return None
    return decoded["a"]
