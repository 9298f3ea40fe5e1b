"""Core permission answers kept across requests, while nothing they read has changed.

When the only `permission_allowed` implementations are core's own (default_permissions.py
and the public-resources rules) and no plugin supplies metadata, the answer to a check is
a pure function of the actor, the action, the resource and a few inputs:

- the metadata's `allow`, `allow_sql` and `permissions` entries at the instance level and
  at the levels of the resource's database and table or query (a cascade asked inside a
  rule reads the same levels or more general ones);
- the `default_deny` and `default_allow_sql` settings;
- the public-resources state (an immutable snapshot, replaced whole on every change).

Each kept answer carries a deep copy of those inputs as they were when it was worked
out; it is used only while the current inputs compare equal, so a change made in place
to the metadata dict, a replaced metadata dict, a changed setting or a public grant is
seen by the very next check. Registering or unregistering a plugin is seen at the next
request (the implementations are looked at once per request).

Not kept: `view-query` (its `allow` block comes from the async `canned_queries` hook),
actors carrying token restrictions (`_r`, whose rule reads the registered permissions),
actors JSON could confuse with another (a tuple, a non-string key: the key is the
actor's JSON), checks asked from inside a hook, and anything outside a request.
"""

from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING, Any, Optional

from .plugins import pm

if TYPE_CHECKING:  # only for annotations: app.py imports permissions.py, which imports this
    from .app import Datasette

# The modules whose `permission_allowed` implementations are core's rules.
CORE_RULE_MODULES = frozenset({"datasette.default_permissions", "datasette.internal.public.rules"})
_KEYS = ("allow", "allow_sql", "permissions")
MISSING = object()  # a key not present at a level (differs from a present None)
_MAX_ANSWERS = 4096  # enough for every table of a large instance times a few actors


class CoreAnswers:
    """The kept answers of one Datasette instance: key -> (inputs copy, public state, answer).

    The public state is compared by identity (it is replaced, never changed, and the entry
    holds it, so its id cannot be reused); everything else by equality with a deep copy.
    """

    def __init__(self) -> None:
        self.answers: dict = {}

    def get(self, key: tuple, inputs: tuple) -> Any:
        """The kept answer for `key` if it was worked out from equal inputs, else MISSING."""
        entry = self.answers.get(key)
        if entry is None or entry[1] is not inputs[1] or entry[0] != inputs[0]:
            return MISSING
        return entry[2]

    def keep(self, key: tuple, inputs: tuple, answer: Any) -> None:
        try:
            # The marker for an absent key must stay itself in the copy.
            read = copy.deepcopy(inputs[0], {id(MISSING): MISSING})
        except Exception:  # an input that cannot be copied cannot be compared later
            return
        if len(self.answers) >= _MAX_ANSWERS:
            self.answers.clear()
        self.answers[key] = (read, inputs[1], answer)


def answers_for(datasette: Datasette) -> CoreAnswers:
    """The instance's kept answers (made on first use)."""
    answers = datasette.__dict__.get("_core_permission_answers")
    if answers is None:
        answers = datasette.__dict__["_core_permission_answers"] = CoreAnswers()
    return answers


def kept_answer(
    datasette: Datasette, memo: dict, key: tuple, actor: Optional[dict], action: str, resource: Any
) -> Any:
    """The answer kept for `key` if core's rules alone answer in this request and it was
    worked out from what they read now, else MISSING."""
    answers = request_answers(datasette, memo)
    if answers is None:
        return MISSING
    # Only for actors whose JSON (in `key`) stands for them alone: see inputs().
    read = inputs(datasette, actor, action, resource)
    if read is None:
        return MISSING
    return answers.get(key, read)


def request_answers(datasette: Datasette, memo: dict) -> Optional[CoreAnswers]:
    """The instance's kept answers if core's rules alone answer in this request, else
    None (decided once per request, with the first check)."""
    answers = memo.get(_REQUEST_ANSWERS_KEY, MISSING)
    if answers is MISSING:
        answers = memo[_REQUEST_ANSWERS_KEY] = answers_for(datasette) if _core_only_now() else None
    return answers


_REQUEST_ANSWERS_KEY = ("permission-memo-answers",)


def _core_only_now() -> bool:
    """Whether core's rules alone answer permission checks now."""
    if pm.hook.get_metadata.get_hookimpls():
        return False
    return _all_core_rules(tuple(pm.hook.permission_allowed.get_hookimpls()))


# Decided once per set of implementations (registering or unregistering a plugin makes
# another set): looking into each one costs more than the request's check it saves.
@functools.lru_cache(maxsize=16)
def _all_core_rules(impls: tuple) -> bool:
    return all(_core_rule(impl) for impl in impls)


def _core_rule(impl: Any) -> bool:
    if impl.hookwrapper or impl.wrapper:
        return False
    return getattr(impl.function, "__module__", None) in CORE_RULE_MODULES


def inputs(datasette: Datasette, actor: Optional[dict], action: str, resource: Any) -> Optional[tuple]:
    """What core's rules read for this check, `(values, public state)`, or None if the
    answer is not to be kept."""
    if action == "view-query":
        return None
    if actor is not None and (not isinstance(actor, dict) or "_r" in actor or not _plain(actor)):
        return None
    public = getattr(datasette, "public", None)
    setting = datasette._settings.get  # `datasette.setting`, without a frame per read
    settings = (setting("default_deny"), setting("default_allow_sql"))
    state = None if public is None else public.state
    metadata = datasette._metadata_local
    if not metadata:
        # No metadata reads alike whatever the resource (and differs from any that has some).
        return settings, state
    try:
        return _metadata_read(metadata, resource) + settings, state
    except Exception:  # malformed metadata: let the rules raise or answer as they do
        return None


def _plain(value: Any) -> bool:
    """Whether `value` is made only of what JSON writes one way (dicts with string keys,
    lists, strings, numbers, booleans, None): then equal JSON means an equal actor, and
    the actor's JSON, which keys kept answers, cannot stand for two different actors."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if type(value) is list:
        return all(_plain(item) for item in value)
    if type(value) is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    return False


def _metadata_read(metadata: dict, resource: Any) -> tuple:
    """The `_KEYS` entries at the levels a check on `resource` reads, instance level first."""
    if isinstance(resource, (tuple, list)):
        database, child = resource[0], resource[1]
    else:
        database, child = resource, None
    found = tuple(metadata.get(key, MISSING) for key in _KEYS)
    if database is None:
        return found
    database_metadata = (metadata.get("databases") or {}).get(database) or {}
    found += tuple(database_metadata.get(key, MISSING) for key in _KEYS)
    if child is None:
        return found
    table_metadata = (database_metadata.get("tables") or {}).get(child) or {}
    query = (database_metadata.get("queries") or {}).get(child)
    query_permissions = query.get("permissions", MISSING) if isinstance(query, dict) else MISSING
    return found + tuple(table_metadata.get(key, MISSING) for key in _KEYS) + (query_permissions,)
