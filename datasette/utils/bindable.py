"""Values from a request that SQLite can bind, or the reason they cannot.

Hostile input should be a 400 that names the problem, not a RecursionError, OverflowError
or UnicodeEncodeError from deep inside a view. The rules (issue 9, item 2):

- JSON nested more than `MAX_JSON_DEPTH` levels is refused;
- an integer outside SQLite's signed 64-bit range is refused, not compared as text:
  SQLite cannot store it as an integer, and comparing digits as text gives wrong answers;
- text that cannot be encoded as UTF-8 (a lone surrogate such as JSON's `"\\ud800"`) is
  refused.

A request body is checked on its text first (`json_body_problem`): walking every value of
a 100-row insert cost more than inserting it, and the text shows cheaply when no walk can
find anything.
"""

from __future__ import annotations

import re
from typing import Any, Optional

__all__ = [
    "MAX_JSON_DEPTH", "SQLITE_MAX_INT", "SQLITE_MIN_INT", "json_body_problem", "value_problem"
]

MAX_JSON_DEPTH = 64
SQLITE_MIN_INT = -(2**63)
SQLITE_MAX_INT = 2**63 - 1

# What in a JSON body could decode to an unbindable value: a run of 19 digits (every
# integer of up to 18 digits fits in 64 bits), found by mapping digits to "0" and every
# other byte to a space (faster than a regular expression); or a `\uD800`-`\uDFFF`
# escape (UTF-8 that decodes strictly holds no other surrogates). Matches inside strings
# are false alarms, which only cost the full walk.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGIT_RUN = b"0" * 19
_CONTAINERS = frozenset((dict, list))
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _text_problem(text: str) -> Optional[str]:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Text cannot be encoded as UTF-8 (it holds a lone surrogate)"
    return None


def _scalar_problem(value: Any) -> Optional[str]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not SQLITE_MIN_INT <= value <= SQLITE_MAX_INT:
        # The words sqlite3 itself uses, which 1.0a7's write API passed on.
        return "Python int too large to convert to SQLite INTEGER"
    if isinstance(value, str):
        return _text_problem(value)
    return None


def value_problem(value: Any) -> Optional[str]:
    """Why `value` (decoded JSON or a parameter) cannot be bound or stored, or None.

    Walks lists and dicts (keys too) without recursion, so depth itself is safe to test.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > MAX_JSON_DEPTH:
                return f"JSON is nested more than {MAX_JSON_DEPTH} levels deep"
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = _scalar_problem(key)
                    if problem:
                        return problem
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
            continue
        problem = _scalar_problem(item)
        if problem:
            return problem
    return None


def json_body_problem(body: bytes, value: Any) -> Optional[str]:
    """`value_problem(value)` for `value = json.loads(body)`, mostly without the walk.

    `body` must be UTF-8 that decodes strictly (so it holds no surrogates of its own).
    A body with no long digit run and no surrogate escape can only be too deep, and only
    if it has more than `MAX_JSON_DEPTH` opening brackets; then containers alone are walked.
    """
    if _LONG_DIGIT_RUN in body.translate(_DIGITS_ONLY) or (
        b"\\u" in body and _SURROGATE_ESCAPE.search(body)
    ):
        return value_problem(value)
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return None
    return _depth_problem(value)


def _depth_problem(value: Any) -> Optional[str]:
    """The too-deep message if decoded JSON nests containers past `MAX_JSON_DEPTH`.

    Level by level; a container's children are only listed when one is a container
    (decoded JSON holds plain `dict`s and `list`s), so flat rows cost one C-level scan.
    """
    level, depth = [value], 1
    while level:
        if depth > MAX_JSON_DEPTH:
            return f"JSON is nested more than {MAX_JSON_DEPTH} levels deep"
        below = []
        for item in level:
            children = item.values() if type(item) is dict else item
            if not _CONTAINERS.isdisjoint(map(type, children)):
                below.extend([child for child in children if type(child) in _CONTAINERS])
        level, depth = below, depth + 1
    return None
