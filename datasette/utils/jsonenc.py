"""JSON for SQLite results: rows, cursors and binary values."""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from typing import Any, Iterator, Optional, Sequence

from .sqlite import sqlite3

__all__ = ["CustomJSONEncoder", "CustomRow"]


class CustomJSONEncoder(json.JSONEncoder):
    """`json.dumps(..., cls=CustomJSONEncoder)` for values straight out of SQLite.

    Rows become arrays, cursors lists of rows, and bytes become text when they are valid
    UTF-8, else `{"$base64": true, "encoded": "<base64>"}` so no data is lost.
    """

    def default(self, obj: Any) -> Any:
        if isinstance(obj, sqlite3.Row):
            return tuple(obj)
        if isinstance(obj, sqlite3.Cursor):
            return list(obj)
        if isinstance(obj, (bytes, bytearray, memoryview)):
            raw = bytes(obj)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return {"$base64": True, "encoded": base64.b64encode(raw).decode("ascii")}
        return super().default(obj)


class CustomRow(OrderedDict):
    """A dict-like row that, like `sqlite3.Row`, is also indexable by column position.

    `row["name"]` and `row[0]` both work; iterating yields the values in column order
    (not the keys, unlike a plain dict).
    """

    def __init__(self, columns: Sequence[str], values: Optional[Any] = None):
        super().__init__()
        self.columns = list(columns)
        if values:
            self.update(values)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            key = self.columns[key]
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[Any]:
        for column in self.columns:
            yield self[column]
