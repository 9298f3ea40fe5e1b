"""`/-/public`: make databases, tables and canned queries public or private.

- `GET /-/public` lists what is public; with `?database=` (and `table=` or `query=`) it is
  the confirmation page for changing that one resource.
- `GET /-/public.json` lists what is public, as JSON.
- `POST /-/public` changes one resource: a JSON body (usable with an API token) or the
  confirmation page's form (CSRF-protected by the usual middleware).

Every change needs the `public-edit` permission on the resource and is audited. State
lives only in the internal database: nothing is written to the user's database.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

from ..exceptions import BadRequest, Forbidden, HttpError, NotFound, WriteApiError
from ..utils.asgi import Response
from .base import View

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request

FIELDS = ("database", "table", "query", "public", "allow_sql")


class PublicView(View):
    """The page, JSON listing and change endpoint of public resources."""

    name = "public"

    async def get(self, request: "Request", datasette: "Datasette") -> Response:
        public = datasette.public
        if request.url_vars.get("format") == "json":
            await _require_edit(datasette, request.actor, None)
            return Response.json({"ok": True, "persistent": public.persistent, **public.listing()})
        target = _target_from(dict(request.args))
        await _require_edit(datasette, request.actor, target)
        context: dict = {"listing": public.listing(), "persistent": public.persistent, "target": None}
        if target["database"]:
            await _check_target(datasette, target)
            context["target"] = {**target, **_current(public, target)}
        return Response.html(
            await datasette.render_template("public.html", context, request=request, view_name="public")
        )

    async def post(self, request: "Request", datasette: "Datasette") -> Response:
        is_json = (request.headers.get("content-type") or "").split(";")[0].strip() == "application/json"
        try:
            return await self._change(request, datasette, is_json)
        except HttpError as e:
            if is_json and not isinstance(e, WriteApiError):
                # An API client gets the write API's JSON error shape, whatever the path.
                raise WriteApiError([str(e.message)], status=e.status) from e
            raise

    async def _change(self, request: "Request", datasette: "Datasette", is_json: bool) -> Response:
        if is_json:
            body = await _json_body(request)
        else:
            body = {key: value for key, value in (await request.post_vars()).items() if key in FIELDS}
            for flag in ("public", "allow_sql"):
                if flag in body:
                    body[flag] = body[flag] in ("1", "on", "true")
        target = _target_from(body)
        if not target["database"]:
            raise BadRequest('"database" is required')
        await _require_edit(datasette, request.actor, target)
        await _check_target(datasette, target)
        changed, before, after = await _apply(datasette, request.actor, target, body)
        if is_json:
            return Response.json({"ok": True, "changed": changed, **target, "before": before, "after": after})
        datasette.add_message(request, _message(target, after, changed))
        return Response.redirect(_resource_path(datasette, target))


async def _json_body(request: "Request") -> dict:
    raw = await request.post_body()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("Request body must be a JSON object")
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise BadRequest("Unknown keys: " + ", ".join(unknown))
    for key in ("database", "table", "query"):
        if key in body and not isinstance(body[key], str):
            raise BadRequest(f'"{key}" must be a string')
    for key in ("public", "allow_sql"):
        if key in body and not isinstance(body[key], bool):
            raise BadRequest(f'"{key}" must be true or false')
    return body


def _target_from(values: dict) -> dict:
    target = {key: values.get(key) or None for key in ("database", "table", "query")}
    if target["table"] and target["query"]:
        raise BadRequest('Give "table" or "query", not both')
    return target


async def _require_edit(datasette: "Datasette", actor: Optional[dict], target: Optional[dict]) -> None:
    resource: Any = None
    if target and target["database"]:
        child = target["table"] or target["query"]
        resource = (target["database"], child) if child else target["database"]
    if not await datasette.permission_allowed(actor, "public-edit", resource, default=False):
        raise Forbidden("You do not have permission to change what is public")


async def _check_target(datasette: "Datasette", target: dict) -> None:
    name = target["database"]
    if name not in datasette.databases or name == "_memory":
        raise NotFound(f"Database not found: {name}")
    db = datasette.databases[name]
    if target["table"]:
        if not await db.table_exists(target["table"]) and target["table"] not in await db.view_names():
            raise NotFound(f"Table not found: {target['table']}")
    elif target["query"]:
        if await datasette.get_canned_query(name, target["query"], None) is None:
            raise NotFound(f"Query not found: {target['query']}")


def _current(public: Any, target: dict) -> dict:
    database, table, query = target["database"], target["table"], target["query"]
    if table:
        return {"public": public.is_public_table(database, table), "inherited": public.is_public_database(database)}
    if query:
        return {"public": public.is_public_query(database, query), "inherited": public.is_public_database(database)}
    return {"public": public.is_public_database(database), "allow_sql": public.allows_sql(database), "inherited": False}


async def _apply(datasette: "Datasette", actor: Optional[dict], target: dict, body: dict) -> tuple:
    """Make the change; `(changed, before, after)` for the response and the audit log."""
    public = datasette.public
    actor_id = actor.get("id") if actor else None
    database, table, query = target["database"], target["table"], target["query"]
    before = _current(public, target)
    if table or query:
        if "public" not in body:
            raise BadRequest('"public" is required')
        if table:
            rootpage, sql = await _table_identity(datasette, database, table)
            changed = await public.set_table(database, table, body["public"], actor_id, rootpage, sql)
        else:
            changed = await public.set_query(database, query, body["public"], actor_id)
    else:
        if "public" not in body and "allow_sql" not in body:
            raise BadRequest('Give "public" and/or "allow_sql"')
        if body.get("allow_sql") and not body.get("public", public.is_public_database(database)):
            raise BadRequest("Only a public database can allow SQL: make it public too")
        changed = await public.set_database(database, body.get("public"), body.get("allow_sql"), actor_id)
    after = _current(public, target)
    if changed:
        await _audit(datasette, actor, target, before, after)
    return changed, before, after


async def _table_identity(datasette: "Datasette", database: str, table: str) -> tuple:
    result = await datasette.databases[database].execute(
        "select rootpage, sql from sqlite_master where name = ? and type in ('table', 'view')",
        [table],
    )
    row = result.first()
    return (row[0], row[1]) if row else (None, None)


async def _audit(datasette: "Datasette", actor: Optional[dict], target: dict, before: dict, after: dict) -> None:
    audit = getattr(datasette, "audit", None)
    if audit is None:
        return
    action = "public.make-public" if after.get("public") else "public.make-private"
    if before.get("public") == after.get("public"):
        action = "public.allow-sql" if after.get("allow_sql") else "public.disallow-sql"
    await audit(
        action,
        actor=actor,
        database=target["database"],
        resource=target["table"] or target["query"],
        detail={"from": before, "to": after, "kind": "table" if target["table"] else "query" if target["query"] else "database"},
    )


def _message(target: dict, after: dict, changed: bool) -> str:
    name = target["table"] or target["query"] or target["database"]
    state = "public" if after.get("public") else "private"
    if not changed:
        return f"{name} was already {state}"
    if not target["table"] and not target["query"] and after.get("public"):
        return f"{name} is now public" + (" (anyone may run SQL against it)" if after.get("allow_sql") else "")
    return f"{name} is now {state}"


def _resource_path(datasette: "Datasette", target: dict) -> str:
    if target["table"]:
        return datasette.urls.table(target["database"], target["table"])
    if target["query"]:
        return datasette.urls.query(target["database"], target["query"])
    return datasette.urls.database(target["database"])
