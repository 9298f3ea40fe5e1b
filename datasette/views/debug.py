"""Debugging pages: permission checks, flash messages, allow blocks, API explorer, patterns."""

from __future__ import annotations

import json
from typing import Any

from ..exceptions import Forbidden
from ..utils import actor_matches_allow
from ..utils.asgi import Response
from .base import View
from ..permissions import database_cascade, table_cascade


class PermissionsDebugView(View):
    """`/-/permissions`: recent checks, and a form that runs one check."""

    name = "permissions_debug"

    async def _check_access(self, datasette: Any, request: Any) -> None:
        await datasette.ensure_permissions(request.actor, ["view-instance"])
        if not await datasette.permission_allowed(request.actor, "permissions-debug"):
            raise Forbidden("Permission denied")

    async def get(self, request: Any, datasette: Any) -> Response:
        await self._check_access(datasette, request)
        return Response.html(
            await datasette.render_template(
                "permissions_debug.html",
                {
                    "permission_checks": list(reversed(datasette._permission_checks)),
                    "permissions": list(datasette.permissions.values()),
                },
                request=request,
                view_name="permissions_debug",
            )
        )

    async def post(self, request: Any, datasette: Any) -> Response:
        await self._check_access(datasette, request)
        post = await request.post_vars()
        try:
            actor = json.loads(post.get("actor") or "null")
        except ValueError:
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

    async def get(self, request: Any, datasette: Any) -> Response:
        await datasette.ensure_permissions(request.actor, ["view-instance"])
        return Response.html(
            await datasette.render_template(
                "messages_debug.html", {}, request=request, view_name="messages_debug"
            )
        )

    async def post(self, request: Any, datasette: Any) -> Response:
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

    async def get(self, request: Any, datasette: Any) -> Response:
        errors = []
        actor_input = request.args.get("actor") or '{"id": "root"}'
        allow_input = request.args.get("allow") or '{"id": "*"}'
        try:
            actor = json.loads(actor_input)
        except ValueError as e:
            errors.append(f"Actor JSON error: {e}")
        try:
            allow = json.loads(allow_input)
        except ValueError as e:
            errors.append(f"Allow JSON error: {e}")
        result = None
        if not errors:
            result = str(actor_matches_allow(actor, allow))
        return Response.html(
            await datasette.render_template(
                "allow_debug.html",
                {
                    "result": result,
                    "error": "\n\n".join(errors),
                    "actor_input": actor_input,
                    "allow_input": allow_input,
                },
                request=request,
                view_name="allow_debug",
            )
        )


class ApiExplorerView(View):
    """`/-/api`: try the JSON API from a form, with examples per table."""

    name = "api_explorer"

    async def get(self, request: Any, datasette: Any) -> Response:
        await datasette.ensure_permissions(request.actor, ["view-instance"])
        databases = []
        ordered = sorted(datasette.databases.items(), key=lambda item: not item[1].is_mutable)
        for name, db in ordered:
            visible, _ = await datasette.check_visibility(
                request.actor, permissions=database_cascade(name)
            )
            if not visible:
                continue
            tables = []
            for table in await db.table_names():
                visible, _ = await datasette.check_visibility(
                    request.actor,
                    permissions=table_cascade(name, table),
                )
                if visible:
                    tables.append({"name": table, "url": datasette.urls.table(name, table, format="json")})
            databases.append({"name": name, "is_mutable": db.is_mutable, "tables": tables})
        return Response.html(
            await datasette.render_template(
                "api_explorer.html",
                {"databases": databases},
                request=request,
                view_name="api_explorer",
            )
        )


class PatternPortfolioView(View):
    """`/-/patterns`: the interface's components on one page."""

    name = "patterns"

    async def get(self, request: Any, datasette: Any) -> Response:
        await datasette.ensure_permissions(request.actor, ["view-instance"])
        return Response.html(
            await datasette.render_template("patterns.html", {}, request=request, view_name="patterns")
        )
