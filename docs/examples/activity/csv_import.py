"""Example plugin: import a CSV file into a table as a job, audited, resumable.

`POST /-/csv-import` with JSON `{"database": ..., "table": ..., "file": ...}` starts the
import and answers at once with the job's id; the rows go in 50 at a time in the
background while `/-/jobs` shows the progress. `file` names a CSV file in the folder set
by the plugin's `folder` configuration (never an arbitrary path). The table must exist
with an `id` primary key matching the CSV's `id` column, so writing a batch twice (after
a crash, see below) changes nothing.

The job's checkpoint (`state`) says which line comes next. If the server dies mid-import,
the job reads `interrupted` after the restart and `resume_import` carries on from the
checkpoint.
"""

import asyncio
import csv
import json
import os

from datasette import Response, hookimpl

KIND = "csv-import"
BATCH = 50


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


async def import_rows(datasette, job):
    """Write the rows from the checkpoint on, one batch per transaction."""
    state = job.state
    rows = read_rows(state["path"])
    db = datasette.get_database(state["database"])
    columns = list(rows[0]) if rows else []
    sql = "INSERT OR REPLACE INTO [{}] ({}) VALUES ({})".format(
        state["table"],
        ", ".join(f"[{c}]" for c in columns),
        ", ".join("?" for _ in columns),
    )
    for start in range(state["next_line"], len(rows), BATCH):
        batch = rows[start : start + BATCH]

        def write(conn, batch=batch):
            with conn:
                conn.executemany(sql, [[row[c] for c in columns] for row in batch])

        await db.execute_write_fn(write)
        # Progress and checkpoint together; the ledger writes them a few times a second.
        await job.advance(
            len(batch),
            message=f"{start + len(batch)} of {len(rows)} rows",
            state={**state, "next_line": start + len(batch)},
        )
        await asyncio.sleep(0)  # let requests in between batches
    await datasette.audit(
        "csv-import-finished",
        actor=None,
        database=state["database"],
        resource=state["table"],
        detail={"file": os.path.basename(state["path"]), "rows": len(rows), "job": job.id},
    )


async def resume_import(datasette, job):
    """Called at start-up for an interrupted import: carry on from its checkpoint."""
    await import_rows(datasette, job)


@hookimpl
def startup(datasette):
    datasette.jobs.register_resume(KIND, resume_import)


async def start_import(datasette, request):
    if request.method != "POST":
        return Response.json({"ok": False, "error": "POST required"}, status=405)
    data = json.loads(await request.post_body() or b"{}")
    database, table, name = data.get("database"), data.get("table"), data.get("file")
    if not await datasette.permission_allowed(
        request.actor, "insert-row", (database, table), default=False
    ):
        return Response.json({"ok": False, "error": "Permission denied"}, status=403)
    folder = (datasette.plugin_config("csv-import") or {}).get("folder")
    path = os.path.join(folder or "", os.path.basename(name or ""))
    if not folder or not name or not os.path.isfile(path):
        return Response.json({"ok": False, "error": f"No such file: {name}"}, status=400)
    total = len(read_rows(path))
    job = await datasette.jobs.start(
        KIND, f"Import {name} into {table}", database=database, resource=table,
        total=total, actor=request.actor,
    )
    job.state = {"path": path, "database": database, "table": table, "next_line": 0}
    # Who started what, never the rows themselves.
    await datasette.audit(
        "csv-import-started", actor=request.actor, database=database, resource=table,
        detail={"file": name, "rows": total, "job": job.id},
    )

    async def run():
        async with job:  # done when it returns, failed with the error if it raises
            await import_rows(datasette, job)

    datasette._csv_import_tasks = getattr(datasette, "_csv_import_tasks", set())
    task = asyncio.ensure_future(run())
    datasette._csv_import_tasks.add(task)  # keep a reference until it ends
    task.add_done_callback(datasette._csv_import_tasks.discard)
    return Response.json({"ok": True, "job": job.id}, status=202)


@hookimpl
def register_routes():
    return [(r"^/-/csv-import$", start_import)]
