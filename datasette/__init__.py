"""A Datasette-compatible server for exploring and publishing SQLite data."""

from datasette.version import __version__, __version_info__  # noqa: F401
from datasette.hookspecs import hookimpl, hookspec  # noqa: F401
