"""Default plugin: the actor from the signed `ds_actor` cookie."""

import time

from itsdangerous import BadSignature

from .hookspecs import hookimpl
from .utils import baseconv


@hookimpl
def actor_from_request(datasette, request):
    cookie = request.cookies.get("ds_actor")
    if not cookie:
        return None
    try:
        decoded = datasette.unsign(cookie, "actor")
    except BadSignature:
        return None
    if not isinstance(decoded, dict) or "a" not in decoded:
        return None
    expires_at = decoded.get("e")
    if expires_at:
        try:
            if baseconv.base62.decode(expires_at) < time.time():
                return None
        except (ValueError, TypeError):
            return None
    return decoded["a"]
