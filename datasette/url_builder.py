"""`Urls`: every URL the instance generates, with `base_url` applied once."""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Optional

from .utils import PrefixedUrlString, path_with_format, tilde_encode

if TYPE_CHECKING:
    from .app import Datasette


def _with_format(path: str, format: Optional[str]) -> PrefixedUrlString:
    """An already prefixed `path`, with `.format` added when one is given."""
    if format is not None:
        path = path_with_format(path=path, format=format)
    return PrefixedUrlString(path)


class Urls:
    """Builds instance, database, table, row and asset URLs for one `Datasette`."""

    def __init__(self, ds: Datasette):
        self.ds = ds

    def path(self, path: str, format: Optional[str] = None) -> PrefixedUrlString:
        """`path` under `base_url` (unless already prefixed), with an optional format.

        A path that starts with `base_url` counts as prefixed: requests carry the full
        path (`request.path`, as in 1.0a7), and URLs built from it must not get it twice.
        """
        base_url = self.ds.setting("base_url")
        if base_url != "/" and path.startswith(base_url):
            path = PrefixedUrlString(path)
        if not isinstance(path, PrefixedUrlString):
            if path.startswith("/"):
                path = path[1:]
            path = self.ds.setting("base_url") + path
        if format is not None:
            path = path_with_format(path=path, format=format)
        return PrefixedUrlString(path)

    def instance(self, format: Optional[str] = None) -> PrefixedUrlString:
        return self.path("", format=format)

    def static(self, path: str) -> PrefixedUrlString:
        return self.path(f"-/static/{path}")

    def static_plugins(self, plugin: str, path: str) -> PrefixedUrlString:
        return self.path(f"-/static-plugins/{plugin}/{path}")

    def logout(self) -> PrefixedUrlString:
        return self.path("-/logout")

    def database(self, database: str, format: Optional[str] = None) -> PrefixedUrlString:
        db = self.ds.get_database(database)
        return self.path(tilde_encode(db.route), format=format)

    def table(
        self, database: str, table: str, format: Optional[str] = None
    ) -> PrefixedUrlString:
        return _with_format(f"{self.database(database)}/{tilde_encode(table)}", format)

    def query(
        self, database: str, query: str, format: Optional[str] = None
    ) -> PrefixedUrlString:
        return _with_format(f"{self.database(database)}/{tilde_encode(query)}", format)

    def row(
        self, database: str, table: str, row_path: str, format: Optional[str] = None
    ) -> PrefixedUrlString:
        return _with_format(f"{self.table(database, table)}/{row_path}", format)

    def row_blob(
        self, database: str, table: str, row_path: str, column: str
    ) -> PrefixedUrlString:
        return self.table(database, table) + "/{}.blob?_blob_column={}".format(
            row_path, urllib.parse.quote_plus(column)
        )
