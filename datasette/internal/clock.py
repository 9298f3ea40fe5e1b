"""The one clock the internal database's tables are stamped with."""

from __future__ import annotations

import datetime


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return (
        datetime.datetime.now(datetime.timezone.utc)
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z")
    )
