"""`Permission`, the core permissions, and collecting those plugins register."""

from __future__ import annotations

import contextvars
import datetime
import functools
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from .exceptions import Forbidden, StartupError
from . import permission_memo, request_memo
from .plugins import pm
from .utils import await_me_maybe

if TYPE_CHECKING:  # only for annotations: app.py imports this module
    from .app import Datasette


@dataclass
class Permission:
    """An action that can be allowed or denied, as registered by core or a plugin."""

    name: str
    abbr: Optional[str]
    description: Optional[str]
    takes_database: bool
    takes_resource: bool
    default: bool
    # Internal: granting it also implies the actor can view the resource.
    implies_can_view: bool = False


CORE_PERMISSIONS = (
    Permission("view-instance", "vi", "View Datasette instance", False, False, True),
    Permission("view-database", "vd", "View database", True, False, True, True),
    Permission("view-database-download", "vdd", "Download database file", True, False, True),
    Permission("view-table", "vt", "View table", True, True, True, True),
    Permission("view-query", "vq", "View named query results", True, True, True, True),
    Permission("execute-sql", "es", "Execute read-only SQL queries", True, False, True, True),
    Permission("permissions-debug", "pd", "Access permission debug tool", False, False, False),
    Permission("debug-menu", "dm", "View debug menu items", False, False, False),
    Permission("insert-row", "ir", "Insert rows", True, True, False),
    Permission("delete-row", "dr", "Delete rows", True, True, False),
    Permission("update-row", "ur", "Update rows", True, True, False),
    Permission("create-table", "ct", "Create tables", True, False, False),
    Permission("drop-table", "dt", "Drop tables", True, True, False),
)


def collect_permissions(datasette: Datasette) -> dict:
    """Every registered permission by name; conflicting duplicates stop start-up."""
    by_name: dict = {}
    by_abbr: dict = {}
    for hook_result in pm.hook.register_permissions(datasette=datasette):
        for permission in hook_result or []:
            existing = by_name.get(permission.name)
            if existing is not None and existing != permission:
                raise StartupError(f"Duplicate permission name: {permission.name}")
            if permission.abbr:
                existing_abbr = by_abbr.get(permission.abbr)
                if existing_abbr is not None and existing_abbr != permission:
                    raise StartupError(f"Duplicate permission abbr: {permission.abbr}")
                by_abbr[permission.abbr] = permission
            by_name[permission.name] = permission
    return by_name


def database_cascade(database: str) -> list:
    """The checks deciding whether a database may be seen: database, then instance."""
    return [("view-database", database), "view-instance"]


def table_cascade(database: str, table: str) -> list:
    """The checks deciding whether a table or view may be seen: table, database, instance."""
    return [("view-table", (database, table))] + database_cascade(database)


def query_cascade(database: str, query: str) -> list:
    """The checks deciding whether a canned query may be seen: query, database, instance."""
    return [("view-query", (database, query))] + database_cascade(database)


# An internal marker meaning "no default given": the registered default is used then.
_UNSET = object()

# True while the `permission_allowed` hooks are answering a check. A hook may ask other
# checks under a context of its own (the public-resources rule asks "visible without
# public grants?"): those nested answers are neither taken from nor kept in the memo.
_in_hooks: "contextvars.ContextVar[bool]" = contextvars.ContextVar(
    "datasette_permission_in_hooks", default=False
)


async def permission_allowed(
    datasette: Datasette,
    actor: Optional[dict],
    action: str,
    resource: Any = None,
    default: Any = _UNSET,
) -> Any:
    """Ask every `permission_allowed` hook; the last non-None answer wins, else `default`.

    Without `default`, the registered permission's default is used (None for an action
    nobody registered: 1.0a7 returned a truthy sentinel there, which allowed by mistake).

    Within a request the hooks answer each (actor, action, resource) once: a page that
    checks the same thing again (a table page and its facets, a visibility cascade) gets
    the first answer from the request memo (request_memo.py). While only core's rules
    answer, their answers are also kept across requests for as long as what they read
    is unchanged (permission_memo.py). Every check is still recorded for /-/permissions.
    """
    if default is _UNSET:
        permission = datasette.permissions.get(action)
        default = permission.default if permission is not None else None
    memo = request_memo.current()
    key = None
    if memo is not None and not _in_hooks.get():
        key = _memo_key(actor, action, resource)
    if key is None:
        result = await _ask_hooks(datasette, actor, action, resource)
    else:
        result = memo.get(key, _UNSET)  # type: ignore[union-attr]
        if result is _UNSET:
            # A kept answer is found without awaiting anything: most checks end there.
            result = permission_memo.kept_answer(datasette, memo, key, actor, action, resource)  # type: ignore[arg-type]
            if result is permission_memo.MISSING:
                result = await _answer_and_keep(datasette, memo, key, actor, action, resource)  # type: ignore[arg-type]
            memo[key] = result  # type: ignore[index]
    used_default = result is None
    if used_default:
        result = default
    datasette.permission_checks.append(
        {
            "when": _stamp(memo),
            "actor": actor,
            "action": action,
            "resource": resource,
            "used_default": used_default,
            "result": result,
        }
    )
    return result


async def _answer_and_keep(
    datasette: Datasette, memo: dict, key: tuple, actor: Optional[dict], action: str, resource: Any
) -> Any:
    """The hooks' answer, kept across requests while only core's rules answer and what
    they read is unchanged (permission_memo.py)."""
    answers = permission_memo.request_answers(datasette, memo)
    read = None
    if answers is not None:
        # Only for actors whose JSON (in `key`) stands for them alone: see inputs().
        read = permission_memo.inputs(datasette, actor, action, resource)
    result = await _ask_hooks(datasette, actor, action, resource)
    if read is not None and (result is True or result is False or result is None):
        answers.keep(key, read, result)  # type: ignore[union-attr]
    return result


def _stamp(memo: Optional[dict]) -> str:
    """When a check happened: within a request, when the request's first check did (the
    log has no use for finer times, and formatting one costs more than the check's
    bookkeeping); outside one, now."""
    if memo is None:
        return utc_now_iso()
    stamp = memo.get(_STAMP_KEY)
    if stamp is None:
        stamp = memo[_STAMP_KEY] = utc_now_iso()
    return stamp


_STAMP_KEY = ("permission-check-time",)


def utc_now_iso() -> str:
    """`datetime.now(timezone.utc).isoformat()` in half the time: the part to the second
    is formatted once a second."""
    now = time.time()
    second = int(now)
    micro = int((now - second) * 1_000_000)
    prefix = _iso_second(second)
    return f"{prefix}.{micro:06d}+00:00" if micro else f"{prefix}+00:00"


@functools.lru_cache(maxsize=1)
def _iso_second(second: int) -> str:
    moment = datetime.datetime.fromtimestamp(second, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


async def _ask_hooks(datasette: Datasette, actor: Optional[dict], action: str, resource: Any) -> Any:
    """The last non-None answer of the `permission_allowed` hooks, or None."""
    result = None
    token = _in_hooks.set(True)
    try:
        for candidate in hook_answers(
            pm.hook.permission_allowed,
            datasette=datasette, actor=actor, action=action, resource=resource,
        ):
            if candidate is not True and candidate is not False:
                candidate = await await_me_maybe(candidate)
            if candidate is not None:
                result = candidate
    finally:
        _in_hooks.reset(token)
    return result


def hook_answers(hook: Any, **kwargs: Any) -> list:
    """What a hook's implementations return (None left out), in the order pluggy calls them.

    The implementations are called here rather than by pluggy, whose dispatch costs more
    than the core permission rules themselves (a page asks a handful of checks). A
    wrapper implementation, which only pluggy knows how to run, hands the call to pluggy.
    """
    impls = hook.get_hookimpls()
    for impl in impls:
        if impl.hookwrapper or impl.wrapper:
            return hook(**kwargs)
    answers = []
    # Most implementations take every argument in the spec's order: pass them as they are.
    names, values = tuple(kwargs), tuple(kwargs.values())
    for impl in reversed(impls):
        if impl.argnames == names:
            answer = impl.function(*values)
        else:
            answer = impl.function(*[kwargs[name] for name in impl.argnames])
        if answer is not None:
            answers.append(answer)
    return answers


def _memo_key(actor: Optional[dict], action: str, resource: Any) -> Optional[tuple]:
    """What a hook's answer depends on, hashable; None if it cannot be (never memoized).

    The actor is keyed by its JSON, not its identity: a plugin may build actor dicts on
    the fly, and a freed dict's id can be reused by the next one.
    """
    if isinstance(resource, list):
        resource = tuple(resource)
    try:
        hash(resource)
        actor_key = None if actor is None else json.dumps(actor, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return None
    return ("permission", actor_key, action, resource)


async def ensure_permissions(datasette: Datasette, actor: Optional[dict], permissions: list) -> None:
    """Check `(action, resource)` items in order; the first explicit answer decides.

    True allows at once, False raises `Forbidden(action)`; no answer at all allows.
    """
    assert actor is None or isinstance(actor, dict), "actor must be None or a dict"
    for permission in permissions:
        if isinstance(permission, str):
            action, resource = permission, None
        elif isinstance(permission, (tuple, list)) and len(permission) == 2:
            action, resource = permission
        else:
            raise AssertionError(
                "permission should be string or tuple of two items: {}".format(
                    repr(permission)
                )
            )
        result = await permission_allowed(
            datasette, actor, action, resource=resource, default=None
        )
        if result is not None:
            if result:
                return
            raise Forbidden(action)


async def check_visibility(
    datasette: Datasette,
    actor: Optional[dict],
    action: Optional[str] = None,
    resource: Any = None,
    permissions: Optional[list] = None,
) -> tuple:
    """`(visible, private)`: can `actor` see it, and is it hidden from anonymous users?"""
    if permissions:
        assert (
            not action and not resource
        ), "Can't use action= or resource= with permissions="
    else:
        permissions = [(action, resource)]
    try:
        await ensure_permissions(datasette, actor, permissions)
    except Forbidden:
        return False, False
    if actor is None:
        return True, False
    try:
        await ensure_permissions(datasette, None, permissions)
    except Forbidden:
        return True, True
    return True, False
