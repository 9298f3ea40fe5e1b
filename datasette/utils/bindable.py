"""Values from a request that SQLite can bind, or the reason they cannot.

Hostile input should be a 400 that names the problem, not a RecursionError, OverflowError
or UnicodeEncodeError from deep inside a view. The rules (issue 9, item 2):

- JSON nested more than `MAX_JSON_DEPTH` levels is refused;
- an integer outside SQLite's signed 64-bit range is refused, not compared as text:
  SQLite cannot store it as an integer, and comparing digits as text gives wrong answers;
- text that cannot be encoded as UTF-8 (a lone surrogate such as JSON's `"\\ud800"`) is
  refused.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["MAX_JSON_DEPTH", "SQLITE_MAX_INT", "SQLITE_MIN_INT", "value_problem"]

MAX_JSON_DEPTH = 64
SQLITE_MIN_INT = -(2**63)
SQLITE_MAX_INT = 2**63 - 1


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

