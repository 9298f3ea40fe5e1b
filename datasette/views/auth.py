"""Signing in and out: the one-time root link, logout, and minting API tokens."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from ..exceptions import Forbidden
from ..utils import tilde_decode, tilde_encode
from ..utils.asgi import Response
from .base import View
from ..permissions import database_cascade

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request

EXPIRE_UNITS = {"minutes": 60, "hours": 60 * 60, "days": 60 * 60 * 24}


class AuthTokenView(View):
    """`/-/auth-token?token=`: trade the one-time root token for a root `ds_actor` cookie."""

    name = "auth_token"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        token = request.args.get("token") or ""
        if datasette._root_token is None:
            raise Forbidden("Root token has already been used")
        if not secrets.compare_digest(token, datasette._root_token):
            raise Forbidden("Invalid token")
        datasette._root_token = None
        response = Response.redirect(datasette.urls.instance())
        response.set_cookie("ds_actor", datasette.sign({"a": {"id": "root"}}, "actor"))
        await datasette.audit("root-login", actor={"id": "root"})
        return response


class LogoutView(View):
    """`/-/logout`: a confirmation form; POST clears the actor cookie."""

    name = "logout"

    async def get(self, request: Request, datasette: Datasette) -> Response:
        if not request.actor:
            return Response.redirect(datasette.urls.instance())
        return await self.render_html(datasette, request, "logout.html", {"actor": request.actor})

    async def post(self, request: Request, datasette: Datasette) -> Response:
        response = Response.redirect(datasette.urls.instance())
        response.set_cookie("ds_actor", "", expires=0, max_age=0)
        datasette.add_message(request, "You are now logged out", datasette.WARNING)
        return response


def _check_can_create_tokens(datasette: Datasette, request: Request) -> None:
    if not datasette.setting("allow_signed_tokens"):
        raise Forbidden("Signed tokens are not enabled for this Datasette instance")
    if not request.actor:
        raise Forbidden("You must be logged in to create a token")
    if not request.actor.get("id"):
        raise Forbidden("You must be logged in as an actor with an ID to create a token")
    if request.actor.get("token"):
        raise Forbidden("Token authentication cannot be used to create additional tokens")


async def _token_form_context(datasette: Datasette, request: Request) -> dict:
    """Databases and tables the actor can see, and the permissions to restrict to."""
    databases = []
    for name, db in datasette.databases.items():
        if name == "_memory":
            continue
        visible, _ = await datasette.check_visibility(
            request.actor, permissions=database_cascade(name)
        )
        if not visible:
            continue
        hidden = set(await db.hidden_table_names())
        tables = [t for t in await db.table_names() if t not in hidden]
        databases.append(
            {"name": name, "encoded_name": tilde_encode(name), "tables": [
                {"name": t, "encoded_name": tilde_encode(t)} for t in tables
            ]}
        )
    permissions = list(datasette.permissions.values())
    return {
        "databases": databases,
        "all_permissions": [p.name for p in permissions],
        "database_permissions": [p.name for p in permissions if p.takes_database],
        "resource_permissions": [p.name for p in permissions if p.takes_resource],
    }


class CreateTokenView(View):
    """`/-/create-token`: a form minting a signed API token for the signed-in actor."""

    name = "create_token"

    async def render(self, datasette: Datasette, request: Request, extra: dict) -> Response:
        context = await _token_form_context(datasette, request)
        context.update(extra)
        return await self.render_html(datasette, request, "create_token.html", context)

    async def get(self, request: Request, datasette: Datasette) -> Response:
        _check_can_create_tokens(datasette, request)
        return await self.render(datasette, request, {"errors": [], "token": None, "token_bits": None})

    async def post(self, request: Request, datasette: Datasette) -> Response:
        _check_can_create_tokens(datasette, request)
        post = await request.post_vars()
        errors = []
        expires_after = None
        expire_type = post.get("expire_type") or ""
        if expire_type:
            duration = post.get("expire_duration") or ""
            if not duration.isdigit() or not int(duration):
                errors.append("Invalid expire duration")
            elif expire_type not in EXPIRE_UNITS:
                errors.append("Invalid expire duration unit")
            else:
                expires_after = int(duration) * EXPIRE_UNITS[expire_type]
        restrict_all: list = []
        restrict_database: dict = {}
        restrict_resource: dict = {}
        for key in post:
            if key.startswith("all:") and key.count(":") == 1:
                restrict_all.append(key.split(":")[1])
            elif key.startswith("database:") and key.count(":") == 2:
                _, database, action = key.split(":")
                restrict_database.setdefault(tilde_decode(database), []).append(action)
            elif key.startswith("resource:") and key.count(":") == 3:
                _, database, resource, action = key.split(":")
                restrict_resource.setdefault(tilde_decode(database), {}).setdefault(
                    tilde_decode(resource), []
                ).append(action)
        token = None
        token_bits = None
        # 1.0a7 minted a non-expiring token even when the form had errors; we do not.
        if not errors:
            token = datasette.create_token(
                request.actor["id"],
                expires_after=expires_after,
                restrict_all=restrict_all,
                restrict_database=restrict_database,
                restrict_resource=restrict_resource,
            )
            token_bits = datasette.unsign(token[len("dstok_") :], namespace="token")
            # What was granted, never the token itself.
            await datasette.audit(
                "create-token", actor=request.actor,
                detail={
                    "expires_after": expires_after,
                    "restricted": bool(restrict_all or restrict_database or restrict_resource),
                },
            )
        return await self.render(
            datasette, request, {"errors": errors, "token": token, "token_bits": token_bits}
        )
