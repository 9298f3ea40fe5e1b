"""Where in a query an SQLite error happened, from the error's message.

Python's `sqlite3` does not expose SQLite's error offset, but the messages name the token
they stumbled on (`near "frm": syntax error`, `no such column: x`, `no such table: t`).
`error_position` finds that token in the SQL, skipping string literals and comments, so the
query page can point at it ("line 2, column 8") and put the editor's cursor there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

__all__ = ["ErrorPosition", "error_position"]

# Messages that name the offending token, and how it is written in the SQL.
_NEAR = re.compile(r'^near "(?P<token>.*)": syntax error$', re.S)
_UNRECOGNIZED = re.compile(r'^unrecognized token: "(?P<token>.*)"$', re.S)
_NAMED = re.compile(
    r"^(?:no such column|no such table|no such function|ambiguous column name"
    r"|no such collation sequence|no such module): (?P<token>.+)$",
    re.S,
)
_INCOMPLETE = ("incomplete input",)


@dataclass(frozen=True)
class ErrorPosition:
    """A place in the SQL: `offset` counts UTF-16 code units from the start (what the
    browser's editor counts), `line` and `column` start at 1 for people."""

    offset: int
    line: int
    column: int


def _skipped_ranges(sql: str) -> List[Tuple[int, int]]:
    """`[start, end)` spans of string literals and comments, where no token is looked for."""
    spans = []
    pattern = re.compile(r"'(?:[^']|'')*'?|--[^\n]*|/\*.*?(?:\*/|$)", re.S)
    for match in pattern.finditer(sql):
        spans.append((match.start(), match.end()))
    return spans


def _candidates(sql: str, token: str) -> Iterator[int]:
    """Offsets where `token` stands alone: not inside a longer identifier."""
    word = token[:1].isalnum() or token[:1] == "_"
    for match in re.finditer(re.escape(token), sql, re.I):
        start, end = match.span()
        if word:
            before = sql[start - 1] if start else " "
            after = sql[end] if end < len(sql) else " "
            if before.isalnum() or before == "_" or after.isalnum() or after == "_":
                continue
        yield start


def _find(sql: str, tokens: List[str]) -> Optional[int]:
    skipped = _skipped_ranges(sql)
    for token in tokens:
        for start in _candidates(sql, token):
            # A token may begin a literal (an unterminated one is the error), not sit in it.
            if not any(a < start < b for a, b in skipped):
                return start
    return None


def _tokens_for(message: str) -> Optional[List[str]]:
    """The spellings to look for, most specific first; None if the message names none."""
    for pattern in (_NEAR, _UNRECOGNIZED):
        match = pattern.match(message)
        if match:
            return [match.group("token")] if match.group("token") else None
    match = _NAMED.match(message)
    if not match:
        return None
    name = match.group("token").strip()
    if name.startswith("main."):
        name = name[len("main.") :]
    last = name.rsplit(".", 1)[-1]
    spellings = [name, f'"{name}"', f"[{name}]", f"`{name}`", last]
    return [s for i, s in enumerate(spellings) if s and s not in spellings[:i]]


def _position(sql: str, index: int) -> ErrorPosition:
    before = sql[:index]
    line = before.count("\n") + 1
    column = index - (before.rfind("\n") + 1) + 1
    utf16 = len(before.encode("utf-16-le")) // 2
    return ErrorPosition(offset=utf16, line=line, column=column)


def error_position(sql: str, message: str) -> Optional[ErrorPosition]:
    """Where `message` (an SQLite error raised by `sql`) points in `sql`, or None.

    Line breaks count as one character (`\\r\\n` as a browser's textarea sends it is
    normalised first), so the offset matches the text the user sees.
    """
    sql = sql.replace("\r\n", "\n").replace("\r", "\n")
    if message.strip() in _INCOMPLETE:
        return _position(sql, len(sql.rstrip()))
    tokens = _tokens_for(message.strip())
    if not tokens:
        return None
    index = _find(sql, tokens)
    if index is None:
        return None
    return _position(sql, index)
