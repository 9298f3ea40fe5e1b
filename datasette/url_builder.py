"""`Urls`: every URL the instance generates, with `base_url` applied once."""

from __future__ import annotations

import urllib.parse
from typing import Any, Optional

from .utils import PrefixedUrlString, path_with_format, tilde_encode


class Urls:
    """Builds instance, database, table, row and asset URLs for one `Datasette`."""

    def __init__(self, ds: Any):
        self.ds = ds

    def path(self, path: str, format: Optional[str] = None) -> PrefixedUrlString:
        """`path` under `base_url` (unless already prefixed), with an optional format."""
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
        path = f"{self.database(database)}/{tilde_encode(table)}"
        if format is not None:
            path = path_with_format(path=path, format=format)
        return PrefixedUrlString(path)

    def query(
        self, database: str, query: str, format: Optional[str] = None
    ) -> PrefixedUrlString:
        path = f"{self.database(database)}/{tilde_encode(query)}"
        if format is not None:
            path = path_with_format(path=path, format=format)
        return PrefixedUrlString(path)

    def row(
        self, database: str, table: str, row_path: str, format: Optional[str] = None
    ) -> PrefixedUrlString:
        path = f"{self.table(database, table)}/{row_path}"
        if format is not None:
            path = path_with_format(path=path, format=format)
        return PrefixedUrlString(path)

    def row_blob(
        self, database: str, table: str, row_path: str, column: str
    ) -> PrefixedUrlString:
        return self.table(database, table) + "/{}.blob?_blob_column={}".format(
            row_path, urllib.parse.quote_plus(column)
        )
