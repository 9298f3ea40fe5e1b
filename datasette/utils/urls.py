"""Building and taking apart URLs: row keys, query-string edits, formats, routing, CORS."""

from __future__ import annotations

import functools
import urllib.parse
from typing import TYPE_CHECKING, Any, Iterable, Mapping, MutableMapping, Optional, Union

from .text import tilde_decode, tilde_encode

if TYPE_CHECKING:  # only for annotations: those modules import this one
    from ..app import Datasette
    from .asgi import Request

__all__ = [
    "PrefixedUrlString",
    "urlsafe_components",
    "path_from_row_pks",
    "path_with_added_args",
    "path_with_removed_args",
    "path_with_replaced_args",
    "path_with_format",
    "add_cors_headers",
    "resolve_routes",
    "initial_path_for_datasette",
]

Args = Union[Mapping[str, Any], Iterable[tuple]]


class PrefixedUrlString(str):
    """A path that already carries the instance's `base_url` prefix.

    `datasette.urls` returns these so a second pass through `urls.path()` (or the
    internal client) can tell the prefix must not be added again. Concatenation with
    `+` and the public string methods keep the type, so `url + "?x=1"` or
    `url.replace(...)` are still known to be prefixed.
    """

    __slots__ = ()

    def __add__(self, other: str) -> "PrefixedUrlString":
        return type(self)(str.__add__(self, other))


def _rewrap(value: Any, cls: type) -> Any:
    """Give str results (alone or in a list/tuple) the PrefixedUrlString type."""
    if isinstance(value, str):
        return cls(value)
    if isinstance(value, list):
        return [cls(v) if isinstance(v, str) else v for v in value]
    if isinstance(value, tuple):
        return tuple(cls(v) if isinstance(v, str) else v for v in value)
    return value


def _keep_prefixed_type(name: str) -> None:
    """Override str method `name` on PrefixedUrlString so its results stay prefixed."""
    original = getattr(str, name)

    @functools.wraps(original)
    def method(self: PrefixedUrlString, *args: Any, **kwargs: Any) -> Any:
        return _rewrap(original(self, *args, **kwargs), type(self))

    setattr(PrefixedUrlString, name, method)


for _name in dir(str):
    # maketrans is a static helper that builds a dict, not a string operation
    if not _name.startswith("_") and _name != "maketrans":
        _keep_prefixed_type(_name)
del _name


def urlsafe_components(token: str) -> list:
    """Split a row key path on `,` and tilde-decode each part: `a~2Cb,c` -> `["a,b", "c"]`."""
    return [tilde_decode(part) for part in token.split(",")]


def path_from_row_pks(
    row: Any, pks: Iterable[str], use_rowid: bool, quote: bool = True
) -> str:
    """The row key path of `row`: its primary key values joined by `,`.

    Cells expanded into `{"value": ..., "label": ...}` dicts contribute their `value`.
    With `use_rowid` the `rowid` column is used instead of `pks`. With `quote` (the
    default) each value is tilde-encoded so it is one safe path segment.
    """
    if use_rowid:
        values = [row["rowid"]]
    else:
        values = []
        for pk in pks:
            cell = row[pk]
            values.append(cell["value"] if isinstance(cell, dict) else cell)
    encode = tilde_encode if quote else (lambda s: s)
    return ",".join(encode(str(value)) for value in values)


def _pairs(args: Args) -> list:
    """`args` given as a dict or as `(key, value)` pairs, as a list of pairs."""
    if isinstance(args, Mapping):
        return list(args.items())
    return [tuple(pair) for pair in args]


def _with_query(path: str, pairs: list) -> str:
    """`path` plus `?` and the urlencoded pairs, or just `path` when there are none."""
    query = urllib.parse.urlencode(pairs)
    return "{}?{}".format(path, query) if query else path


# Blank values are dropped when the current query is re-read (parse_qsl's default), as
# Datasette does: "?_search=&x=1" toggled becomes "?x=1".


def _with_new_pairs(request: Request, new_pairs: list, path: Optional[str], drop: set) -> str:
    """The path with the request's pairs whose key is in `drop` taken out, then the
    non-None `new_pairs` appended."""
    path = path or request.path
    current = [
        (key, value)
        for key, value in urllib.parse.parse_qsl(request.query_string)
        if key not in drop
    ]
    current.extend((key, value) for key, value in new_pairs if value is not None)
    return _with_query(path, current)


def path_with_added_args(request: Request, args: Args, path: Optional[str] = None) -> str:
    """The request's path (or `path`) with `args` added to the request's query string.

    Existing pairs are kept in order, except keys whose new value is None (which removes
    them); then each non-None new pair is appended. `args` is a dict or a list of pairs.
    """
    new_pairs = _pairs(args)
    removed = {key for key, value in new_pairs if value is None}
    return _with_new_pairs(request, new_pairs, path, removed)


def path_with_removed_args(
    request: Request, args: Union[set, Mapping[str, Any]], path: Optional[str] = None
) -> str:
    """The request's path and query string with some parameters taken out.

    `args` as a set removes every pair with one of those keys; as a dict it removes
    only pairs matching both key and value. A `path` containing `?` supplies its own
    query string instead of the request's.
    """
    query_string = request.query_string
    if path is None:
        path = request.path
    elif "?" in path:
        path, query_string = path.split("?", 1)
    if isinstance(args, Mapping):

        def remove(key: str, value: str) -> bool:
            return key in args and str(args[key]) == value

    else:

        def remove(key: str, value: str) -> bool:
            return key in args

    kept = [
        (key, value)
        for key, value in urllib.parse.parse_qsl(query_string)
        if not remove(key, value)
    ]
    return _with_query(path, kept)


def path_with_replaced_args(
    request: Request, args: Args, path: Optional[str] = None
) -> str:
    """The request's path with every key in `args` replaced by its new value.

    All existing pairs for those keys are dropped, then the non-None new pairs are
    appended (so a None value just removes the key).
    """
    new_pairs = _pairs(args)
    replaced = {key for key, _ in new_pairs}
    return _with_new_pairs(request, new_pairs, path, replaced)


def path_with_format(
    *,
    request: Optional[Request] = None,
    path: Optional[str] = None,
    format: Optional[str] = None,
    extra_qs: Optional[Mapping[str, Any]] = None,
    replace_format: Optional[str] = None,
) -> str:
    """A URL for the same resource rendered as `format`.

    The path is the request's (or `path`). With `replace_format`, a trailing
    `.<replace_format>` is removed first. A path without a `.` gets `.<format>`; a
    dotted path (whose extension would be ambiguous) gets `_format=<format>` in the
    query instead. The request's query string is kept and `extra_qs` is appended,
    sorted by key.
    """
    query_string = ""
    if request is not None:
        path = request.path
        query_string = request.query_string or ""
    elif path is not None and "?" in path:
        # Keep a query carried by `path` out of the extension logic
        path, query_string = path.split("?", 1)
    assert path is not None, "path_with_format needs request= or path="
    qs = dict(extra_qs or {})
    if replace_format and path.endswith("." + replace_format):
        path = path[: -(len(replace_format) + 1)]
    if "." in path:
        qs["_format"] = format
    else:
        path = "{}.{}".format(path, format)
    query_parts = [part for part in (query_string,) if part]
    if qs:
        query_parts.append(urllib.parse.urlencode(sorted(qs.items())))
    if query_parts:
        return "{}?{}".format(path, "&".join(query_parts))
    return path


_CORS_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Headers", "Authorization, Content-Type"),
    ("Access-Control-Expose-Headers", "Link"),
    ("Access-Control-Allow-Methods", "GET, POST, HEAD, OPTIONS"),
    ("Access-Control-Max-Age", "3600"),
)


def add_cors_headers(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Set the `--cors` headers on the `headers` dict in place (and return it)."""
    for name, value in _CORS_HEADERS:
        headers[name] = value
    return headers


def resolve_routes(routes: Iterable[tuple], path: str) -> tuple:
    """`(match, view)` for the first `(regex, view)` whose regex matches `path`.

    `(None, None)` when nothing matches.
    """
    for regex, view in routes:
        match = regex.match(path)
        if match is not None:
            return match, view
    return None, None


async def initial_path_for_datasette(datasette: Datasette) -> str:
    """Where to point a browser when the server opens.

    With one database: its page, or its table's page when it has exactly one visible
    table (hidden tables such as FTS indexes are not counted). Otherwise the instance
    home page.
    """
    databases = list(datasette.databases.items())
    if len(databases) != 1:
        return datasette.urls.instance()
    name, db = databases[0]
    tables = await db.table_names()
    hidden_table_names = getattr(db, "hidden_table_names", None)
    if hidden_table_names is not None:
        hidden = set(await hidden_table_names())
        tables = [table for table in tables if table not in hidden]
    if len(tables) == 1:
        return datasette.urls.table(name, tables[0])
    return datasette.urls.database(name)
