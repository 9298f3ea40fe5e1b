"""Times and JSON as the activity tables store them."""

from __future__ import annotations

import datetime
import json
from typing import Optional

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_text(moment: Optional[datetime.datetime] = None) -> str:
    """`moment` (default: now) as stored: UTC, microseconds, a `Z`; sorts as it orders."""
    if moment is None:
        moment = datetime.datetime.now(datetime.timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).strftime(TIME_FORMAT)


def utc_text_after(seconds: float) -> str:
    """The stored form of now plus `seconds` (negative: in the past)."""
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=seconds
    )
    return utc_text(moment)


def parse_time(value: str) -> str:
    """A user's ISO 8601 time (a date alone, or with a time; naive is UTC) in stored form.

    Raises `ValueError` for anything else.
    """
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    moment = datetime.datetime.fromisoformat(text)
    return utc_text(moment)


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
