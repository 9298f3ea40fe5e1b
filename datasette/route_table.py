"""Finding the first route whose regex matches a path, in one pass of the regex engine.

Trying forty route regexes one after another costs a Python loop step and a `match`
call for each (about 17 µs for a row page, the last route). `RouteTable` joins them into
one alternation, each route's pattern (capture groups made non-capturing) wrapped in a
group of its own: the engine tries the alternatives in route order, as the loop did, and
`lastindex` names the route that matched. That route's own regex is then run once for its
URL variables. A pattern that cannot take part (a backreference, a conditional, a flag
that cannot be scoped) leaves the table matching one route at a time, as before.

Each failed alternative still costs the engine a try, and half the core's routes are
special pages under `/-/` that a database, table or row path can never match. So the
routes are split once into two tables, in route order: those that can match a path
starting with `/-/`, and those that can match any other path, judged by the literal text
each pattern must start with (`literal_prefix`). A row path then tries 18 alternatives
instead of 40 (4 -> 2 µs).

Joining compiles every route's pattern a second time (about 1.6 ms for the core's
routes), so a table matches one route at a time for its first uses (`JOIN_AFTER`) and
joins after: a starting server's first requests do not wait for the compile, and the
one-by-one matches before it cost at most about 17 µs each.
"""

from __future__ import annotations

import re
from typing import Any, Optional

# Flags that can be scoped to one alternative, `(?i:...)`, and their letters.
_SCOPED_FLAGS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s"}
# str patterns always carry re.UNICODE: it is the default, so it needs no letter.
_IGNORED_FLAGS = re.UNICODE
# Where the special pages live: the prefix that splits the routes in two (see above).
SPECIAL = "/-/"
# Characters with a meaning in a pattern: a literal prefix ends before the first.
_META = set(".^$*+?{}[]()|\\")
# Quantifiers that make the character before them optional.
_OPTIONAL = set("?*{")
_NOT_YET = object()  # a bucket's joined regex before it is joined
# Matches a bucket makes one route at a time before it joins its routes (see above).
JOIN_AFTER = 32


class RouteTable:
    """`(compiled regex, view)` routes; `match(path)` gives the first that matches."""

    def __init__(self, routes: list):
        self.routes = routes
        prefixes = [literal_prefix(regex) for regex, _ in routes]
        self._special = _Bucket(
            [r for r, p in zip(routes, prefixes) if p.startswith(SPECIAL) or SPECIAL.startswith(p)]
        )
        self._other = _Bucket([r for r, p in zip(routes, prefixes) if not p.startswith(SPECIAL)])

    def match(self, path: str) -> Optional[tuple[Any, re.Match]]:
        """`(view, match)` for the first route matching `path`, or None."""
        return (self._special if path.startswith(SPECIAL) else self._other).match(path)

    @property
    def joined(self) -> bool:
        """Whether each half of the routes (that has any) is matched by one joined regex,
        once joined: asking joins them now."""
        return all(
            not bucket.routes or bucket.combined() is not None
            for bucket in (self._special, self._other)
        )

    @property
    def joined_yet(self) -> bool:
        """Whether each half of the routes (that has any) is joined already; asking, unlike
        `joined`, joins nothing."""
        return all(
            not bucket.routes or bucket.is_joined for bucket in (self._special, self._other)
        )


class _Bucket:
    """Some routes, in route order, joined into one regex when they can be.

    Joined after `JOIN_AFTER` matches: compiling costs more than a millisecond, and a
    server's first requests (`/-/versions.json` while it starts) should not wait for it.
    """

    def __init__(self, routes: list):
        self.routes = routes
        self._combined: Any = _NOT_YET
        self._unjoined_uses = 0

    def combined(self) -> Optional[re.Pattern]:
        """The joined regex (joining now if not yet), or None if the routes cannot be."""
        if self._combined is _NOT_YET:
            self._combined = combine([regex for regex, _ in self.routes])
        return self._combined

    @property
    def is_joined(self) -> bool:
        return self._combined is not _NOT_YET and self._combined is not None

    def match(self, path: str) -> Optional[tuple[Any, re.Match]]:
        combined = self._combined
        if combined is _NOT_YET:
            self._unjoined_uses += 1
            if self._unjoined_uses <= JOIN_AFTER:
                return self._one_by_one(path)
            combined = self.combined()
        if combined is not None:
            found = combined.match(path)
            if found is None:
                return None
            regex, view = self.routes[found.lastindex - 1]  # type: ignore[operator]
            match = regex.match(path)
            if match is not None:
                return view, match
        return self._one_by_one(path)

    def _one_by_one(self, path: str) -> Optional[tuple[Any, re.Match]]:
        for regex, view in self.routes:
            match = regex.match(path)
            if match is not None:
                return view, match
        return None


def literal_prefix(regex: Any) -> str:
    """Text every string `regex` matches (with `match`) starts with; "" when unknown.

    Read from the pattern up to its first special character: escaped punctuation counts
    as itself, a character made optional by the quantifier after it does not count, and
    a pattern with flags, a `|` outside any group or a bytes pattern has none.
    """
    pattern = regex.pattern
    if not isinstance(pattern, str) or regex.flags & ~_IGNORED_FLAGS or _top_level_bar(pattern):
        return ""
    i = 1 if pattern.startswith("^") else 0
    out = []
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            following = pattern[i + 1 : i + 2]
            if not following or following.isalnum() or following.isspace():
                break  # a class (\d), an anchor (\A), an escape code (\n) or the end
            out.append(following)
            i += 2
            continue
        if char in _META:
            if char in _OPTIONAL and out:
                out.pop()
            break
        out.append(char)
        i += 1
    return "".join(out)


def _top_level_bar(pattern: str) -> bool:
    """Whether `pattern` has a `|` outside every group (and character class)."""
    depth, i, in_class = 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A "]" first in the class (after an optional "^") is a literal.
            i += 1 + (pattern[i + 1 : i + 2] == "^")
            i += pattern[i : i + 1] == "]"
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        i += 1
    return False


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
