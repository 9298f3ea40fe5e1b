"""Debugging pages: permission checks, flash messages, allow blocks, API explorer, patterns."""

from __future__ import annotations

import json
import urllib.parse
from typing import TYPE_CHECKING, Any

from ..exceptions import Forbidden
from ..utils import actor_matches_allow
from ..utils.asgi import Response
from .base import View
from ..permissions import database_cascade, table_cascade

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request


class PermissionsDebugView(View):
    """`/-/permissions`: recent checks, and a form that runs one check."""

    name = "permissions_debug"

    async def _check_access(self, datasette: Datasette, request: Request) -> None:
        # Asked with the registered default, as 1.0a7 does, so the check is recorded
        # as True or False rather than as "no opinion".
        if not await datasette.permission_allowed(request.actor, "view-instance"):
            raise Forbidden("view-instance")
        if not await datasette.permission_allowed(request.actor, "permissions-debug"):
            raise Forbidden("Permission denied")

    async def get(self, request: Request, datasette: Datasette) -> Response:
        await self._check_access(datasette, request)
        context = {
            "permission_checks": list(reversed(datasette._permission_checks)),
            "permissions": list(datasette.permissions.values()),
        }
        return await self.render_html(datasette, request, "permissions_debug.html", context)

    async def post(self, request: Request, datasette: Datasette) -> Response:
        await self._check_access(datasette, request)
        post = await request.post_vars()
        try:
            actor = json.loads(post.get("actor") or "null")
        except (ValueError, RecursionError):  # RecursionError: nested past the parser
            return Response.json({"error": "actor must be JSON"}, status=400)
        permission = post.get("permission") or ""
        if permission not in datasette.permissions:
            return Response.json({"error": f"Unknown permission: {permission}"}, status=400)
        resource_1 = post.get("resource_1") or ""
        resource_2 = post.get("resource_2") or ""
        resource: Any = []
        if resource_1 and resource_2:
            resource = [resource_1, resource_2]
        elif resource_1:
            resource = resource_1
        result = await datasette.permission_allowed(
            actor,
            permission,
            resource=tuple(resource) if isinstance(resource, list) and resource else (resource or None),
            default="USE_DEFAULT",
        )
        return Response.json(
            {"actor": actor, "permission": permission, "resource": resource, "result": result}
        )


class MessagesDebugView(View):
    """`/-/messages`: a form that queues a flash message."""

    name = "messages_debug"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        await datasette.ensure_permissions(request.actor, ["view-instance"])
        return await self.render_html(datasette, request, "messages_debug.html", {})

    async def post(self, request: Request, datasette: Datasette) -> Response:
        await datasette.ensure_permissions(request.actor, ["view-instance"])
        post = await request.post_vars()
        message = post.get("message", "")
        message_type = post.get("message_type") or "INFO"
        if message_type == "all":
            datasette.add_message(request, message, datasette.INFO)
            datasette.add_message(request, message, datasette.WARNING)
            datasette.add_message(request, message, datasette.ERROR)
        else:
            datasette.add_message(
                request, message, getattr(datasette, message_type, datasette.INFO)
            )
        return Response.redirect(datasette.urls.instance())


class AllowDebugView(View):
    """`/-/allow-debug`: does this actor match this allow block?"""

    name = "allow_debug"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        errors = []
        actor_input = request.args.get("actor") or '{"id": "root"}'
        allow_input = request.args.get("allow") or '{"id": "*"}'
        try:
            actor = json.loads(actor_input)
        except (ValueError, RecursionError) as e:  # RecursionError: nested past the parser
            errors.append(f"Actor JSON error: {e}")
        try:
            allow = json.loads(allow_input)
        except (ValueError, RecursionError) as e:
            errors.append(f"Allow JSON error: {e}")
        result = None
        if not errors:
            result = str(actor_matches_allow(actor, allow))
        context = {
            "result": result,
            "error": "\n\n".join(errors),
            "actor_input": actor_input,
            "allow_input": allow_input,
        }
        return await self.render_html(datasette, request, "allow_debug.html", context)


class ApiExplorerView(View):
    """`/-/api`: try the JSON API from a form, with example requests per database and table.

    Each example is a link whose fragment fills the form in (`#path=...&method=...&json=...`);
    write examples appear only where the actor holds the permission, on mutable databases.
    """

    name = "api_explorer"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        visible, private = await datasette.check_visibility(
            request.actor, permissions=["view-instance"]
        )
        if not visible:
            raise Forbidden("view-instance")
        databases = []
        ordered = sorted(datasette.databases.items(), key=lambda item: not item[1].is_mutable)
        for name, db in ordered:
            if not await _visible(datasette, request, database_cascade(name)):
                continue
            tables = []
            for table in await db.table_names():
                if await _visible(datasette, request, table_cascade(name, table)):
                    links = await _table_examples(datasette, request, db, table)
                    tables.append({"name": table, "links": links})
            links = await _database_examples(datasette, request, db)
            databases.append(
                {"name": name, "is_mutable": db.is_mutable, "links": links, "tables": tables}
            )
        context = {"databases": databases, "private": private, "api_path": _explorer_link}
        return await self.render_html(datasette, request, "api_explorer.html", context)


def _example(path: str, method: str, label: str, body: Any = None) -> dict:
    example = {"path": path, "method": method, "label": label}
    if body is not None:
        example["json"] = body
    return example


def _explorer_link(example: dict) -> str:
    """A fragment that makes the explorer's form show `example` (read by its script)."""
    fields = {"path": example["path"], "method": example["method"]}
    if "json" in example:
        fields["json"] = json.dumps(example["json"], indent=2)
    return "#" + urllib.parse.urlencode(fields)


async def _table_examples(datasette: Datasette, request: Request, db: Any, table: str) -> list:
    """Read, then insert/upsert and drop examples for one table, as the actor may."""
    name = db.name
    examples = [
        _example(
            datasette.urls.table(name, table, format="json"), "GET", f"Get rows for {table}"
        )
    ]
    if not db.is_mutable:
        return examples
    base = datasette.urls.table(name, table)
    if await datasette.permission_allowed(request.actor, "insert-row", (name, table)):
        pks = await db.primary_keys(table)
        row = {c: None for c in await db.table_columns(table) if c not in pks}
        examples.append(
            _example(f"{base}/-/insert", "POST", f"Insert rows into {table}", {"rows": [row]})
        )
        if await datasette.permission_allowed(request.actor, "update-row", (name, table)):
            examples.append(
                _example(f"{base}/-/upsert", "POST", f"Upsert rows into {table}", {"rows": [row]})
            )
    if await datasette.permission_allowed(request.actor, "drop-table", (name, table)):
        examples.append(
            _example(f"{base}/-/drop", "POST", f"Drop table {table}", {"confirm": False})
        )
    return examples


async def _database_examples(datasette: Datasette, request: Request, db: Any) -> list:
    """The create-table example, for a mutable database the actor may create tables in."""
    if not db.is_mutable or not await datasette.permission_allowed(
        request.actor, "create-table", db.name
    ):
        return []
    body = {
        "table": "new_table",
        "columns": [{"name": "id", "type": "integer"}, {"name": "name", "type": "text"}],
        "pk": "id",
    }
    path = datasette.urls.database(db.name) + "/-/create"
    return [_example(path, "POST", f"Create a table in {db.name}", body)]


async def _visible(datasette: Datasette, request: Request, cascade: list) -> bool:
    """Whether the actor may see the resource whose permission cascade is `cascade`."""
    visible, _ = await datasette.check_visibility(request.actor, permissions=cascade)
    return visible


class PatternPortfolioView(View):
    """`/-/patterns`: the interface's components on one page."""

    name = "patterns"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        await datasette.ensure_permissions(request.actor, ["view-instance"])
        return await self.render_html(datasette, request, "patterns.html", {})
