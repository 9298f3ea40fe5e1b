"""String helpers: tilde encoding, CSS and SQL escaping, FTS quoting, display formatting."""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from typing import Any, Optional

from .calling import documented

__all__ = [
    "tilde_encode",
    "tilde_decode",
    "escape_css_string",
    "to_css_class",
    "escape_sqlite",
    "escape_fts",
    "is_url",
    "format_bytes",
    "truncate_url",
    "value_as_boolean",
    "SQLITE_KEYWORDS",
]

# ---------------------------------------------------------------------------
# Tilde encoding

_TILDE_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def _tilde_table() -> tuple:
    """One output string per byte value, built once so encoding is a lookup."""
    table = []
    for byte in range(256):
        if byte in _TILDE_SAFE:
            table.append(chr(byte))
        elif byte == 0x20:
            table.append("+")
        else:
            table.append("~{:02X}".format(byte))
    return tuple(table)


_TILDE_TABLE = _tilde_table()


@documented
def tilde_encode(s: str) -> str:
    """Encode `s` for use as one URL path segment: `/foo/bar` -> `~2Ffoo~2Fbar`.

    UTF-8 bytes in `A-Z a-z 0-9 _ -` are kept, a space becomes `+` and every other byte
    becomes `~` plus two upper-case hex digits. Unlike %-encoding, the result survives
    proxies and servers that decode `%2F` before routing.
    """
    return "".join(_TILDE_TABLE[byte] for byte in s.encode("utf-8"))


@documented
def tilde_decode(s: str) -> str:
    """Reverse `tilde_encode`: `~2Ffoo~2Fbar` -> `/foo/bar`, `+` -> space.

    A literal `%` in the input is kept as a `%`: it is protected by turning it into the
    tilde escape for `%` before tildes become percent signs for unquoting.
    """
    if "~" not in s and "+" not in s and "%" not in s:
        return s  # nothing to decode (most names): skip the unquoting
    protected = s.replace("%", "~25")
    return urllib.parse.unquote_plus(protected.replace("~", "%"))


# ---------------------------------------------------------------------------
# CSS

_CSS_STRING_UNSAFE_RE = re.compile(r"[^a-zA-Z0-9 _-]")
_CSS_CLASS_RE = re.compile(r"^[a-zA-Z]+[_a-zA-Z0-9-]*$")
_CSS_CLASS_INVALID_RE = re.compile(r"[^a-zA-Z0-9_-]")


def escape_css_string(s: str) -> str:
    """Make `s` safe inside a double- or single-quoted CSS string (`content: "..."`).

    Every character other than ASCII letters, digits, space, `_` and `-` becomes a CSS
    escape: a backslash and exactly six upper-case hex digits of its code point. Six
    digits never need a terminating space, so the following character cannot be
    swallowed into the escape. `\\r\\n` counts as a single newline.
    """
    return _CSS_STRING_UNSAFE_RE.sub(
        lambda m: "\\{:06X}".format(ord(m.group(0))), s.replace("\r\n", "\n")
    )


def to_css_class(s: str) -> str:
    """A valid, collision-resistant CSS class name for `s`.

    Names already valid (`^[a-zA-Z]+[_a-zA-Z0-9-]*$`) are returned unchanged. Others
    lose leading `_` then leading `-`, have whitespace runs turned into `-` and invalid
    characters dropped, and get `-` plus the first six hex digits of the MD5 of the
    original appended, so `table/with/slashes.csv` and `tablewithslashescsv` differ:
    `table/with/slashes.csv` -> `tablewithslashescsv-fa7563`, `-` -> `336d5e`.
    """
    if _CSS_CLASS_RE.match(s):
        return s
    suffix = hashlib.md5(s.encode("utf-8")).hexdigest()[:6]
    cleaned = s.lstrip("_").lstrip("-")
    cleaned = "-".join(cleaned.split())
    cleaned = _CSS_CLASS_INVALID_RE.sub("", cleaned)
    return "-".join(part for part in (cleaned, suffix) if part)


# ---------------------------------------------------------------------------
# SQL identifiers and full-text search

# Every keyword SQLite recognises (sqlite.org/lang_keywords.html), lower-cased.
SQLITE_KEYWORDS = frozenset(
    """
    abort action add after all alter always analyze and as asc attach autoincrement
    before begin between by cascade case cast check collate column commit conflict
    constraint create cross current current_date current_time current_timestamp
    database default deferrable deferred delete desc detach distinct do drop each else
    end escape except exclude exclusive exists explain fail filter first following for
    foreign from full generated glob group groups having if ignore immediate in index
    indexed initially inner insert instead intersect into is isnull join key last left
    like limit match materialized natural no not nothing notnull null nulls of offset
    on or order others outer over partition plan pragma preceding primary query raise
    range recursive references regexp reindex release rename replace restrict
    returning right rollback row rows savepoint select set table temp temporary then
    ties to transaction trigger unbounded union unique update using vacuum values view
    virtual when where window with without
    """.split()
)

_SIMPLE_IDENTIFIER_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def escape_sqlite(s: str) -> str:
    """Quote an SQL identifier only when it needs it.

    Simple names that are not SQLite keywords stay bare (`facetable`); anything else is
    wrapped in square brackets (`[select]`, `[table/with/slashes.csv]`), except names
    holding `]`, which brackets cannot escape: those are double-quoted with inner `"`
    doubled (`"odd]name"`). This is the one identifier-quoting rule of the package.
    """
    if _SIMPLE_IDENTIFIER_RE.match(s) and s.lower() not in SQLITE_KEYWORDS:
        return s
    if "]" in s:
        return '"{}"'.format(s.replace('"', '""'))
    return "[{}]".format(s)


# A quoted phrase, or a run of characters that are neither whitespace nor quotes.
_FTS_TOKEN_RE = re.compile(r'"[^"]*"|[^\s"]+')


def escape_fts(query: str) -> str:
    """Turn user search text into an FTS query that cannot be a syntax error.

    Each whitespace-separated word is double-quoted (so `AND`, `*` and `-` lose their
    operator meaning); phrases already in double quotes are kept; an unbalanced quote is
    closed at the end; empty `""` phrases are dropped.
    `te* AND do*` -> `"te*" "AND" "do*"`.
    """
    if query.count('"') % 2:
        query += '"'
    tokens = [t for t in _FTS_TOKEN_RE.findall(query) if t != '""']
    return " ".join(t if t.startswith('"') else '"{}"'.format(t) for t in tokens)


# ---------------------------------------------------------------------------
# Display


_WHITESPACE_RE = re.compile(r"\s")


def is_url(value: Any) -> bool:
    """True for a string that is just an `http://` or `https://` URL (no whitespace)."""
    if not isinstance(value, str):
        return False
    if not value.startswith(("http://", "https://")):
        return False
    return not _WHITESPACE_RE.search(value)


def format_bytes(bytes: float) -> str:
    """Human size: `120` -> `120 bytes`, `1024` -> `1.0 KB`, on up to `TB`."""
    amount = float(bytes)
    units = ("bytes", "KB", "MB", "GB", "TB")
    unit = units[0]
    for unit in units:
        if amount < 1024 or unit == units[-1]:
            break
        amount /= 1024
    if unit == "bytes":
        return "{} bytes".format(int(amount))
    return "{:.1f} {}".format(amount, unit)


def truncate_url(url: str, length: Optional[int]) -> str:
    """Shorten `url` to about `length` characters with an ellipsis.

    A short file extension (1-4 characters after the last `.`, no `/`) is kept after the
    ellipsis so the link still says what it points at. A false `length` means no limit.
    """
    if not length or len(url) <= length:
        return url
    stem, dot, ext = url.rpartition(".")
    if dot and 1 <= len(ext) <= 4 and "/" not in ext:
        return stem[: length - 1 - len(ext)] + "\u2026." + ext
    return url[: length - 1] + "\u2026"


_TRUE_WORDS = ("on", "true", "1")
_FALSE_WORDS = ("off", "false", "0")


def value_as_boolean(value: Any) -> bool:
    """Read a setting-style boolean: `on/true/1` -> True, `off/false/0` -> False.

    Case is ignored. Anything else raises `ValueError`.
    """
    word = str(value).lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError("{!r} should be on/off/true/false/1/0".format(value))
