"""`Permission`, the core permissions, and collecting those plugins register."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .exceptions import StartupError


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


def collect_permissions(datasette: Any) -> dict:
    """Every registered permission by name; conflicting duplicates stop start-up."""
    from .plugins import pm

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


async def permission_allowed(
    datasette: Any,
    actor: Optional[dict],
    action: str,
    resource: Any = None,
    default: Any = _UNSET,
) -> Any:
    """Ask every `permission_allowed` hook; the last non-None answer wins, else `default`.

    Without `default`, the registered permission's default is used (None for an action
    nobody registered: 1.0a7 returned a truthy sentinel there, which allowed by mistake).
    """
    import datetime

    from .plugins import pm
    from .utils import await_me_maybe

    if default is _UNSET:
        permission = datasette.permissions.get(action)
        default = permission.default if permission is not None else None
    result = None
    for candidate in pm.hook.permission_allowed(
        datasette=datasette, actor=actor, action=action, resource=resource
    ):
        value = await await_me_maybe(candidate)
        if value is not None:
            result = value
    used_default = result is None
    if used_default:
        result = default
    datasette._permission_checks.append(
        {
            "when": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "actor": actor,
            "action": action,
            "resource": resource,
            "used_default": used_default,
            "result": result,
        }
    )
    return result


async def ensure_permissions(datasette: Any, actor: Optional[dict], permissions: list) -> None:
    """Check `(action, resource)` items in order; the first explicit answer decides.

    True allows at once, False raises `Forbidden(action)`; no answer at all allows.
    """
    from .exceptions import Forbidden

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
    datasette: Any,
    actor: Optional[dict],
    action: Optional[str] = None,
    resource: Any = None,
    permissions: Optional[list] = None,
) -> tuple:
    """`(visible, private)`: can `actor` see it, and is it hidden from anonymous users?"""
    from .exceptions import Forbidden

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
