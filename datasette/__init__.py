"""A Datasette-compatible server for exploring and publishing SQLite data.

The names here are the ones plugins import from `datasette` (Datasette 1.0a7's surface).
"""

from datasette.version import __version__, __version_info__  # noqa: F401
from datasette.hookspecs import hookimpl, hookspec  # noqa: F401
from datasette.permissions import Permission  # noqa: F401
from datasette.utils.asgi import Forbidden, NotFound, Request, Response  # noqa: F401
from datasette.utils import actor_matches_allow  # noqa: F401
from datasette.views import Context  # noqa: F401
from datasette import default_plugins  # noqa: F401,E402 - gives `pm` its default plugins
