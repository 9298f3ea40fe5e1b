"""`MultiParams`: a read-only multi-dict for query strings and form bodies."""

from __future__ import annotations

from typing import Any, Iterator


class MultiParams:
    """Keys mapped to lists of values, as a query string holds them.

    Built from a dict of key -> list/tuple, or from a list/tuple of `(key, value)` pairs.
    `m[key]` and `get()` give the first value; `getlist()` gives them all.
    """

    def __init__(self, data: Any):
        if isinstance(data, dict):
            for key in data:
                assert isinstance(
                    data[key], (list, tuple)
                ), "dictionary values should be lists/tuples"
            self._data = data
        elif isinstance(data, (list, tuple)):
            new_data: dict = {}
            for item in data:
                assert (
                    isinstance(item, (list, tuple)) and len(item) == 2
                ), "list_or_dict elements should be lists/tuples of length 2"
                new_data.setdefault(item[0], []).append(item[1])
            self._data = new_data
        else:
            raise AssertionError("data should be a dictionary or a list of pairs")

    def __repr__(self) -> str:
        return f"<MultiParams: {self._data}>"

    def __contains__(self, key: Any) -> bool:
        return key in self._data

    def __getitem__(self, key: Any) -> Any:
        return self._data[key][0]

    def keys(self):
        return self._data.keys()

    def __iter__(self) -> Iterator:
        yield from self._data.keys()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, name: Any, default: Any = None) -> Any:
        """First value for `name`, or `default`."""
        # Most lookups are of arguments a request does not have: no exception for those.
        try:
            values = self._data.get(name)
        except TypeError:  # an unhashable name
            return default
        if not values:
            return default
        return values[0]

    def getlist(self, name: Any) -> list:
        """Every value for `name`, `[]` when absent."""
        return list(self._data.get(name) or [])
