"""The one clock the internal database's tables are stamped with."""

from __future__ import annotations

import datetime
from typing import Optional


def utc_now(timespec: str = "seconds", moment: Optional[datetime.datetime] = None) -> str:
    """The current UTC time (or `moment`, naive meaning UTC) as ISO 8601 ending in `Z`.

    `timespec` is `datetime.isoformat`'s: "seconds" by default, "milliseconds" where rows
    written in one second must still sort (statistics), "microseconds" for the activity
    tables. Every digit is always written, so stamps of one `timespec` sort as they order.
    """
    if moment is None:
        moment = datetime.datetime.now(datetime.timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    else:
        moment = moment.astimezone(datetime.timezone.utc)
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")
