"""Default plugin: the permission rules of public resources and of `default_deny`.

Two rules, at two ends of the permission hook's order (the last non-None answer wins):

- `default_deny` (called first, so `allow` blocks, `permissions` blocks and installed
  plugins can still grant): with the setting on, anyone but root is refused every
  view-style action nobody else allows.
- `public_rule` (called after core's rules, so a public resource is visible even where an
  `allow` block or `default_deny` would refuse it): a public table grants `view-table` and
  the `view-database`/`view-instance` needed to reach it; a public database grants its
  tables and queries, and `execute-sql` only with its SQL flag; a public query grants
  `view-query`. Reaching a database through one public table must not expose the rest of
  it, so everything else in a database (or instance) that is only reachable because of
  something public is refused explicitly, unless the actor could see it anyway.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import pathlib
import sqlite3
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import urlencode

import click

from ...app import Datasette
from ...exceptions import Forbidden
from ...hookspecs import hookimpl
from ...permissions import database_cascade, query_cascade, table_cascade

if TYPE_CHECKING:
    from ...utils.asgi import Request


# `public-edit` decides who may change what is public. Like `view-audit` and `view-jobs` it is
# not registered (the registered set stays 1.0a7's): root has it, and metadata `permissions`
# blocks or plugins can grant it to others.
PUBLIC_EDIT = "public-edit"

VIEW_ACTIONS = frozenset(
    {
        "view-instance",
        "view-database",
        "view-database-download",
        "view-table",
        "view-query",
        "execute-sql",
    }
)

# Set while computing what an actor could see without public resources.
_WITHOUT_PUBLIC: contextvars.ContextVar = contextvars.ContextVar("without_public", default=False)


def _is_root(actor: Optional[dict]) -> bool:
    return bool(actor) and actor.get("id") == "root"  # type: ignore[union-attr]


@hookimpl(tryfirst=True, specname="permission_allowed")
def default_deny(datasette: "Datasette", actor: Optional[dict], action: str, resource: Any) -> Any:
    if action not in VIEW_ACTIONS or _is_root(actor):
        return None
    if datasette.setting("default_deny"):
        return False
    return None


@hookimpl(specname="permission_allowed")
def public_rule(datasette: "Datasette", actor: Optional[dict], action: str, resource: Any) -> Any:
    if action == PUBLIC_EDIT:
        return True if _is_root(actor) else None
    if action not in VIEW_ACTIONS or _is_root(actor) or _WITHOUT_PUBLIC.get():
        return None
    public = getattr(datasette, "public", None)
    if public is None or public.state.is_empty:
        return None
    return _decide(datasette, public, actor, action, resource)


def _decide(datasette: "Datasette", public: Any, actor: Optional[dict], action: str, resource: Any) -> Any:
    """True for what is public; for the rest, a check of what the actor sees without it."""
    database, child = (resource if isinstance(resource, (tuple, list)) else (resource, None))
    if action == "view-instance":
        return True
    if action == "view-table" and child is not None and public.is_public_table(database, child):
        return True
    if action == "view-query" and child is not None and public.is_public_query(database, child):
        return True
    if action == "view-database" and database and public.state.database_has_public_parts(database):
        return True
    if action == "execute-sql" and database and public.allows_sql(database):
        return True
    if action == "view-table" and database:
        cascade = table_cascade(database, child)
    elif action == "view-query" and database:
        cascade = query_cascade(database, child)
    elif action in ("execute-sql", "view-database-download") and database:
        cascade = [(action, database)] + database_cascade(database)
    elif action == "view-database" and database:
        cascade = database_cascade(database)
    else:
        return None
    return _unless_visible_without_public(datasette, actor, cascade)


def _unless_visible_without_public(datasette: "Datasette", actor: Optional[dict], cascade: list) -> Any:
    async def inner() -> Optional[bool]:
        # Only whether the actor may see it: check_visibility would also re-run the whole
        # cascade for the anonymous actor to work out a padlock nobody reads here.
        token = _WITHOUT_PUBLIC.set(True)
        try:
            await datasette.ensure_permissions(actor, cascade)
        except Forbidden:
            return False
        finally:
            _WITHOUT_PUBLIC.reset(token)
        return None

    return inner


def _toggle_link(datasette: "Datasette", label: str, **target: str) -> dict:
    return {"href": datasette.urls.path("-/public") + "?" + urlencode(target), "label": label}


@hookimpl
def table_actions(datasette: "Datasette", actor: Optional[dict], database: str, table: str) -> Any:
    async def inner() -> list:
        if not await datasette.permission_allowed(actor, "public-edit", (database, table)):
            return []
        public = datasette.public
        if public.is_public_database(database):
            return []
        label = "Make private" if public.is_public_table(database, table) else "Make public"
        return [_toggle_link(datasette, label, database=database, table=table)]

    return inner


@hookimpl
def database_actions(datasette: "Datasette", actor: Optional[dict], database: str) -> Any:
    async def inner() -> list:
        if not await datasette.permission_allowed(actor, "public-edit", database):
            return []
        label = (
            "Make database private"
            if datasette.public.is_public_database(database)
            else "Make database public"
        )
        return [_toggle_link(datasette, label, database=database)]

    return inner


@hookimpl
def register_commands(cli: Any) -> None:
    @cli.group(name="public")
    def public_group() -> None:
        """Public databases, tables and queries (kept in the internal database)."""

    @public_group.command(name="import-datasette-public")
    @click.argument("db_file", type=click.Path(exists=True, dir_okay=False))
    @click.option(
        "--internal",
        required=True,
        type=click.Path(dir_okay=False),
        help="The internal database file to keep the grants in",
    )
    @click.option(
        "--database",
        "database_name",
        help="Name the grants' database is served under (default: the file's name)",
    )
    def import_datasette_public(db_file: str, internal: str, database_name: Optional[str]) -> None:
        """Copy datasette-public's `_public_tables` rows from DB_FILE into the internal database."""
        summary = import_datasette_public_rows(db_file, internal, database_name)
        click.echo(summary)


def import_datasette_public_rows(db_file: str, internal: str, database_name: Optional[str]) -> str:
    """Import and describe what happened in a few lines (raises ClickException on failure)."""
    name = database_name or os.path.splitext(os.path.basename(db_file))[0]
    try:
        conn = sqlite3.connect(f"file:{pathlib.Path(db_file).resolve()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in conn.execute("select name from sqlite_master where type in ('table', 'view')")}
            if "_public_tables" not in tables:
                raise click.ClickException(f"{db_file} has no _public_tables table: nothing to import")
            names = [row[0] for row in conn.execute("select table_name from _public_tables")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise click.ClickException(f"Could not read {db_file}: {e}")
    found = [table for table in names if table in tables]
    missing = [table for table in names if table not in tables]
    try:
        datasette = Datasette([db_file], internal=internal)
    except Exception as e:  # the internal file's own checks say what is wrong
        raise click.ClickException(str(e))
    try:
        imported = asyncio.run(_import(datasette, name, found))
    finally:
        datasette.close()
    lines = [
        f"Imported {imported} public table{'s' if imported != 1 else ''} from {db_file} into {internal}"
        + (f" ({len(found) - imported} already public)" if len(found) != imported else "")
    ]
    if missing:
        lines.append("Skipped (not in this file): " + ", ".join(missing))
    lines.append(
        f"The old table is no longer needed; remove it with: "
        f"sqlite3 {db_file} 'drop table _public_tables'"
    )
    return "\n".join(lines)


async def _import(datasette: Datasette, database: str, tables: list) -> int:
    await datasette.invoke_startup()
    if database not in datasette.databases:
        raise click.ClickException(f"Database {database} is not served from this file")
    count = await datasette.public.import_rows([(database, table) for table in tables], "import")
    await datasette.refresh_schemas()
    return count


@hookimpl
def extra_template_vars(datasette: Datasette, request: Request, database: Optional[str], view_name: str) -> Any:
    """`is_public(database, table=None, query=None)` for the templates' Public badges, and
    `public_edit_allowed` on query pages (their menu has no hook of its own)."""

    def is_public(database: str, table: Optional[str] = None, query: Optional[str] = None) -> bool:
        public = datasette.public
        if table:
            return public.is_public_table(database, table)
        if query:
            return public.is_public_query(database, query)
        return public.is_public_database(database)

    async def inner() -> dict:
        allowed = False
        if view_name == "query" and database and request is not None:
            allowed = bool(
                await datasette.permission_allowed(request.actor, "public-edit", database, default=False)
            )
        return {"is_public": is_public, "public_edit_allowed": allowed}

    return inner
