"""Finding the first route whose regex matches a path, in one pass of the regex engine.

Trying forty route regexes one after another costs a Python loop step and a `match`
call for each (about 17 µs for a row page, the last route). `RouteTable` joins them into
one alternation, each route's pattern (capture groups made non-capturing) wrapped in a
group of its own: the engine tries the alternatives in route order, as the loop did, and
`lastindex` names the route that matched. That route's own regex is then run once for its
URL variables. A pattern that cannot take part (a backreference, a conditional, a flag
that cannot be scoped) leaves the table matching one route at a time, as before.
"""

from __future__ import annotations

import re
from typing import Any, Optional

# Flags that can be scoped to one alternative, `(?i:...)`, and their letters.
_SCOPED_FLAGS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s"}
# str patterns always carry re.UNICODE: it is the default, so it needs no letter.
_IGNORED_FLAGS = re.UNICODE


class RouteTable:
    """`(compiled regex, view)` routes; `match(path)` gives the first that matches."""

    def __init__(self, routes: list):
        self.routes = routes
        self._combined = combine([regex for regex, _ in routes])

    def match(self, path: str) -> Optional[tuple[Any, re.Match]]:
        """`(view, match)` for the first route matching `path`, or None."""
        combined = self._combined
        if combined is not None:
            found = combined.match(path)
            if found is None:
                return None
            regex, view = self.routes[found.lastindex - 1]  # type: ignore[operator]
            match = regex.match(path)
            if match is not None:
                return view, match
        for regex, view in self.routes:
            match = regex.match(path)
            if match is not None:
                return view, match
        return None


def combine(regexes: list) -> Optional[re.Pattern]:
    """One regex matching where any of `regexes` does, its group N being regex N-1's; None
    if one of them cannot be joined."""
    alternatives = []
    for regex in regexes:
        alternative = _alternative(regex)
        if alternative is None:
            return None
        alternatives.append(alternative)
    if not alternatives:
        return None
    try:
        return re.compile("|".join(alternatives))
    except re.error:
        return None


def _alternative(regex: Any) -> Optional[str]:
    if not isinstance(regex.pattern, str):
        return None
    flags = regex.flags & ~_IGNORED_FLAGS
    letters = ""
    for flag, letter in _SCOPED_FLAGS.items():
        if flags & flag:
            letters += letter
            flags &= ~flag
    if flags:
        return None
    body = without_captures(regex.pattern)
    if body is None:
        return None
    return f"((?{letters}:{body}))" if letters else f"({body})"


def without_captures(pattern: str) -> Optional[str]:
    """`pattern` with every capture group (named or not) made non-capturing; None if
    the pattern refers to a group (a backreference or conditional) or has inline flags
    or comments, which would change meaning or not compile once joined."""
    out = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        char = pattern[i]
        if char == "\\":
            following = pattern[i + 1 : i + 2]
            if not in_class and following.isdigit() and following != "0":
                return None  # a numbered backreference
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
            out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
            # A "]" first in the class (after an optional "^") is a literal.
            closing = i + 1 + (pattern[i + 1 : i + 2] == "^")
            if pattern[closing : closing + 1] == "]":
                out.append(pattern[i + 1 : closing + 1])
                i = closing
        elif char == "(" and pattern[i + 1 : i + 2] != "?":
            out.append("(?:")
        elif char == "(":
            group = _group_opening(pattern, i)
            if group is None:
                return None
            text, i = group
            out.append(text)
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _group_opening(pattern: str, i: int) -> Optional[tuple[str, int]]:
    """For the `(?` at `i`: (its non-capturing replacement, where to go on); None for
    constructs that cannot be joined."""
    rest = pattern[i + 2 : i + 4]
    if rest.startswith("P<"):
        end = pattern.find(">", i)
        if end == -1:
            return None
        return "(?:", end + 1
    if rest.startswith(("=", "!", ":")) or rest in ("<=", "<!"):
        length = 2 + (2 if rest in ("<=", "<!") else 1)
        return pattern[i : i + length], i + length
    # (?P=name), (?(1)...), (?#...), inline flags (?i) / (?i:...): left alone.
    return None
