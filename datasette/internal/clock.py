"""The one clock the internal database's tables are stamped with."""

from __future__ import annotations

import datetime


def utc_now(timespec: str = "seconds") -> str:
    """The current UTC time as ISO 8601 ending in `Z`, to the second by default
    (`timespec="milliseconds"` where rows written in one second must still sort)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.isoformat(timespec=timespec).replace("+00:00", "Z")
