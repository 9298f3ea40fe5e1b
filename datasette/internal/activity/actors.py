"""The actor as the activity tables store it: its id as text and the whole of it as JSON."""

from __future__ import annotations

import json
from typing import Optional


def actor_json(actor: Optional[dict]) -> Optional[str]:
    """The actor as JSON text; values JSON cannot hold are shown by `repr`, never refused.

    An actor comes from authentication plugins, so an odd value in it must not make the
    caller's request fail.
    """
    if actor is None:
        return None
    return json.dumps(actor, default=repr, sort_keys=True)


def actor_id_of(actor: Optional[dict]) -> Optional[str]:
    """The actor's `id` as text (None for no actor or no id)."""
    if not actor or actor.get("id") is None:
        return None
    return str(actor["id"])
