"""Default plugin: the core permissions and the rules that answer for them.

Rules, in order: the `root` actor's write and debug rights; `allow` blocks in metadata for
the view-style actions; `permissions` blocks at instance, database, table and query level;
`default_allow_sql`. Anything else gets no opinion here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .hookspecs import hookimpl
from .permissions import CORE_PERMISSIONS
from .tokens import actor_from_token, valid_restrictions
from .utils import actor_matches_allow

if TYPE_CHECKING:  # only for annotations: a plugin module never imports the app
    from .app import Datasette

ROOT_ACTIONS = {
    "permissions-debug",
    "debug-menu",
    "insert-row",
    "create-table",
    "drop-table",
    "delete-row",
    "update-row",
    # The activity pages (internal/activity). Not registered as Permission objects, so
    # the registered set stays 1.0a7's; anyone else needs a `permissions` block.
    "view-audit",
    "view-jobs",
    "view-replication",  # /-/litestream (internal/replication)
}


@hookimpl
def register_permissions():
    return list(CORE_PERMISSIONS)


def _split(resource):
    if isinstance(resource, (tuple, list)):
        return resource[0], resource[1]
    return resource, None


def _allow_block(datasette: Datasette, action, resource):
    """The `allow` block (or `allow_sql`) governing a view-style action other than
    `view-query`, or None if there is none."""
    database, child = _split(resource)
    if action == "view-instance":
        return datasette.metadata("allow")
    if action == "view-database":
        if database is None:
            return None
        return datasette.metadata("allow", database=database)
    if action == "view-table":
        if database is None or child is None:
            return None
        return datasette.metadata("allow", database=database, table=child, fallback=False)
    if action == "execute-sql":
        if database is None:
            return None
        return datasette.metadata("allow_sql", database=database)
    return None


def _permissions_block_opinion(datasette: Datasette, actor, action, resource):
    """The first truthy `permissions` block for the action, most general level first."""
    database, child = _split(resource)
    block = (datasette.metadata("permissions") or {}).get(action)
    if block:
        return actor_matches_allow(actor, block)
    if database is None:
        return None
    database_metadata = (datasette.metadata("databases") or {}).get(database) or {}
    block = (database_metadata.get("permissions") or {}).get(action)
    if block:
        return actor_matches_allow(actor, block)
    if child is None:
        return None
    table_metadata = (database_metadata.get("tables") or {}).get(child) or {}
    block = (table_metadata.get("permissions") or {}).get(action)
    if block:
        return actor_matches_allow(actor, block)
    query = (database_metadata.get("queries") or {}).get(child)
    if isinstance(query, dict):
        block = (query.get("permissions") or {}).get(action)
        if block:
            return actor_matches_allow(actor, block)
    return None


def _opinion(datasette: Datasette, actor, action, resource, allow):
    """The rules after root's: the `allow` block, `permissions` blocks, `default_allow_sql`."""
    if allow is not None:
        return actor_matches_allow(actor, allow)
    opinion = _permissions_block_opinion(datasette, actor, action, resource)
    if opinion is not None:
        return opinion
    if action == "execute-sql" and not datasette.setting("default_allow_sql"):
        return False
    return None


@hookimpl(tryfirst=True, specname="permission_allowed")
def permission_allowed_default(datasette: Datasette, actor, action, resource):
    # Answered directly (not through a coroutine) except for canned queries, whose
    # `allow` block may come from a plugin's async `canned_queries` hook: a page asks
    # several of these per request.
    if actor and actor.get("id") == "root" and action in ROOT_ACTIONS:
        return True
    if action != "view-query":
        return _opinion(datasette, actor, action, resource, _allow_block(datasette, action, resource))

    async def inner():
        database, child = _split(resource)
        allow = None
        if database is not None and child is not None:
            query = await datasette.get_canned_query(database, child, actor)
            if query is not None:
                allow = query.get("allow")
        return _opinion(datasette, actor, action, resource, allow)

    return inner


# -- signed API tokens ---------------------------------------------------------------------


@hookimpl(specname="actor_from_request")
def actor_from_signed_api_token(datasette: Datasette, request):
    """The actor of an `Authorization: Bearer dstok_...` token, if valid and unexpired."""
    if not datasette.setting("allow_signed_tokens"):
        return None
    authorization = request.headers.get("authorization")
    if not authorization or not authorization.startswith("Bearer "):
        return None
    return actor_from_token(datasette, authorization[len("Bearer ") :])


def _lookup_permission(datasette: Datasette, name):
    """A registered permission by name or abbreviation, or None (unknown names are ignored)."""
    permission = datasette.permissions.get(name)
    if permission is not None:
        return permission
    for candidate in datasette.permissions.values():
        if candidate.abbr == name:
            return candidate
    return None


def restrictions_allow_action(datasette: Datasette, restrictions, action, resource):
    """Whether a token's `_r` restrictions leave `action` on `resource` possible.

    Restrictions only take rights away. Seeing the instance (or a database) is possible
    when the token may do something that implies viewing inside it.
    """
    names = {action}
    permission = _lookup_permission(datasette, action)
    if permission is not None and permission.abbr:
        names.add(permission.abbr)
    all_actions = list(restrictions.get("a") or [])
    database_rules = restrictions.get("d") or {}
    resource_rules = restrictions.get("r") or {}
    database = resource[0] if isinstance(resource, (tuple, list)) else resource

    def implies_view(action_names, needs_database=False):
        for name in action_names:
            granted = _lookup_permission(datasette, name)
            if granted is None or not granted.implies_can_view:
                continue
            if needs_database and not granted.takes_database:
                continue
            return True
        return False

    if action == "view-instance":
        everything = list(all_actions)
        for actions in database_rules.values():
            everything += list(actions)
        for per_resource in resource_rules.values():
            for actions in per_resource.values():
                everything += list(actions)
        if implies_view(everything):
            return True
    if action == "view-database" and database is not None:
        candidates = list(all_actions) + list(database_rules.get(database) or [])
        # Only this database's resource rules count (1.0a7 scanned every database's).
        for actions in (resource_rules.get(database) or {}).values():
            candidates += list(actions)
        if implies_view(candidates, needs_database=True):
            return True
    if names & set(all_actions):
        return True
    if database is not None and names & set(database_rules.get(database) or []):
        return True
    if isinstance(resource, (tuple, list)) and len(resource) == 2:
        rules = (resource_rules.get(database) or {}).get(resource[1]) or []
        if names & set(rules):
            return True
    return False


@hookimpl(specname="permission_allowed")
def permission_allowed_actor_restrictions(datasette: Datasette, actor, action, resource):
    if not actor or "_r" not in actor:
        return None
    if not valid_restrictions(actor["_r"]):
        # Restrictions we cannot read (an actor from a plugin or an old cookie) allow
        # nothing, rather than everything.
        return False
    if restrictions_allow_action(datasette, actor["_r"], action, resource):
        return None
    return False


@hookimpl
def skip_csrf(scope):
    """JSON bodies cannot be sent cross-site by a plain form, so they skip CSRF checks.

    The media type is compared, so `application/json; charset=utf-8` counts too (1.0a7
    required the exact string).
    """
    if scope["type"] != "http":
        return False
    for name, value in scope.get("headers") or []:
        if name.lower() == b"content-type":
            return value.split(b";")[0].strip().lower() == b"application/json"
    return False
