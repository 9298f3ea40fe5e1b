"""An example plugin that keeps its state in the internal database.

It stores one setting, a greeting, that survives restarts when the server is started
with `--internal FILE`. Try it:

    datasette mydata.db --internal state.db --plugins-dir docs/examples
    curl -X POST -H 'Content-Type: application/json' \
        -d '{"greeting": "Hello"}' http://127.0.0.1:8001/-/greeting
    # restart the server, then:
    curl http://127.0.0.1:8001/-/greeting
"""

import json

from datasette import Response, hookimpl

# Plugin tables in the internal database carry the plugin's name as a prefix.
TABLE = "greeting_plugin_settings"


@hookimpl
def startup(datasette):
    async def create_table():
        db = datasette.get_internal_database()
        await db.execute_write(
            f"create table if not exists {TABLE} (key text primary key, value text)"
        )

    return create_table


async def greeting(request, datasette):
    db = datasette.get_internal_database()
    if request.method == "POST":
        try:
            body = json.loads(await request.post_body())
            value = str(body["greeting"])
        except (ValueError, KeyError, TypeError):
            return Response.json(
                {"ok": False, "error": 'Send JSON like {"greeting": "Hello"}'}, status=400
            )
        await db.execute_write(
            f"insert or replace into {TABLE} (key, value) values ('greeting', ?)",
            [value],
        )
        return Response.json({"ok": True, "greeting": value})
    row = (
        await db.execute(f"select value from {TABLE} where key = 'greeting'")
    ).first()
    return Response.json({"ok": True, "greeting": row["value"] if row else None})


@hookimpl
def register_routes():
    return [(r"^/-/greeting$", greeting)]
