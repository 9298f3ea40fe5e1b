"""Default plugin: the core permissions and the rules that answer for them.

Rules, in order: the `root` actor's write and debug rights; `allow` blocks in metadata for
the view-style actions; `permissions` blocks at instance, database, table and query level;
`default_allow_sql`. Anything else gets no opinion here.
"""

from .hookspecs import hookimpl
from .permissions import CORE_PERMISSIONS
from .utils import actor_matches_allow

ROOT_ACTIONS = {
    "permissions-debug",
    "debug-menu",
    "insert-row",
    "create-table",
    "drop-table",
    "delete-row",
    "update-row",
}


@hookimpl
def register_permissions():
    return list(CORE_PERMISSIONS)


def _split(resource):
    if isinstance(resource, (tuple, list)):
        return resource[0], resource[1]
    return resource, None


async def _allow_block_opinion(datasette, actor, action, resource):
    """True/False from the `allow` block governing a view-style action, None if none."""
    database, child = _split(resource)
    if action == "view-instance":
        allow = datasette.metadata("allow")
    elif action == "view-database":
        if database is None:
            return None
        allow = datasette.metadata("allow", database=database)
    elif action == "view-table":
        if database is None or child is None:
            return None
        allow = datasette.metadata("allow", database=database, table=child, fallback=False)
    elif action == "view-query":
        if database is None or child is None:
            return None
        query = await datasette.get_canned_query(database, child, actor)
        if query is None:
            return None
        allow = query.get("allow")
    elif action == "execute-sql":
        if database is None:
            return None
        allow = datasette.metadata("allow_sql", database=database)
    else:
        return None
    if allow is None:
        return None
    return actor_matches_allow(actor, allow)


async def _permissions_block_opinion(datasette, actor, action, resource):
    """The first truthy `permissions` block for the action, most general level first."""
    database, child = _split(resource)
    blocks = [(datasette.metadata("permissions") or {}).get(action)]
    if database is not None:
        database_metadata = (datasette.metadata("databases") or {}).get(database) or {}
        blocks.append((database_metadata.get("permissions") or {}).get(action))
        if child is not None:
            table_metadata = (database_metadata.get("tables") or {}).get(child) or {}
            blocks.append((table_metadata.get("permissions") or {}).get(action))
            query = (database_metadata.get("queries") or {}).get(child)
            if isinstance(query, dict):
                blocks.append((query.get("permissions") or {}).get(action))
    for block in blocks:
        if block:
            return actor_matches_allow(actor, block)
    return None


@hookimpl(tryfirst=True, specname="permission_allowed")
def permission_allowed_default(datasette, actor, action, resource):
    async def inner():
        if actor and actor.get("id") == "root" and action in ROOT_ACTIONS:
            return True
        opinion = await _allow_block_opinion(datasette, actor, action, resource)
        if opinion is not None:
            return opinion
        opinion = await _permissions_block_opinion(datasette, actor, action, resource)
        if opinion is not None:
            return opinion
        if action == "execute-sql" and not datasette.setting("default_allow_sql"):
            return False
        return None

    return inner
