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
