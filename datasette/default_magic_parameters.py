"""Default plugin: the magic parameters of canned queries (`_actor_id`, `_now_epoch`...)."""

from __future__ import annotations

import datetime
import os
import time
from typing import TYPE_CHECKING

from .hookspecs import hookimpl

if TYPE_CHECKING:  # only for annotations: a plugin module never imports the app
    from .utils.asgi import Request


def header(key, request: Request):
    return request.headers.get(key.replace("_", "-").lower(), "")


def actor(key, request: Request):
    if request.actor is None:
        raise KeyError(key)
    return request.actor[key]


def cookie(key, request: Request):
    return request.cookies[key]


def now(key, request: Request):
    if key == "epoch":
        return int(time.time())
    utc = datetime.datetime.now(datetime.timezone.utc)
    if key == "date_utc":
        return utc.date().isoformat()
    if key == "datetime_utc":
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    raise KeyError(key)


def random(key, request: Request):
    prefix, _, count = key.partition("_")
    if prefix != "chars" or not count.isdigit():
        raise KeyError(key)
    length = int(count)
    return os.urandom(length).hex()[:length]


@hookimpl
def register_magic_parameters():
    return [
        ("header", header),
        ("actor", actor),
        ("cookie", cookie),
        ("now", now),
        ("random", random),
    ]
