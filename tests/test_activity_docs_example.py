"""The worked example of docs/activity.md: a CSV import run as a job, audited, resumable."""

import asyncio
import json
import pathlib
import sqlite3
import time

import pytest

from datasette.plugins import pm

EXAMPLE_DIR = pathlib.Path(__file__).parent.parent / "docs" / "examples" / "activity"


@pytest.fixture
def example_plugin():
    yield str(EXAMPLE_DIR)
    if pm.get_plugin("csv_import.py") is not None:
        pm.unregister(name="csv_import.py")


@pytest.fixture
def files(tmp_path):
    db_path = tmp_path / "data.db"
    conn = sqlite3.connect(str(db_path))
    conn.execute("create table cities (id integer primary key, name text, population integer)")
    conn.close()
    folder = tmp_path / "imports"
    folder.mkdir()
    lines = ["id,name,population"] + [f"{i},City {i},{i * 1000}" for i in range(1, 131)]
    (folder / "cities.csv").write_text("\n".join(lines) + "\n")
    return db_path, folder


def make(make_ds, example_plugin, db_path, folder, internal):
    return make_ds(
        [str(db_path)],
        internal=str(internal),
        plugins_dir=example_plugin,
        metadata={"plugins": {"csv-import": {"folder": str(folder)}}},
    )


async def wait_until_done(ds, job_id):
    deadline = time.monotonic() + 20
    while True:
        row = await ds.jobs.get(job_id)
        if row["status"] != "running":
            return row
        assert time.monotonic() < deadline, row
        await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_the_import_runs_as_a_job_and_is_audited(make_ds, example_plugin, files, tmp_path):
    db_path, folder = files
    ds = make(make_ds, example_plugin, db_path, folder, tmp_path / "internal.db")
    root = {"ds_actor": ds.client.actor_cookie({"id": "root"})}
    response = await ds.client.post(
        "/-/csv-import",
        json={"database": "data", "table": "cities", "file": "cities.csv"},
        cookies=root,
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job"]
    row = await wait_until_done(ds, job_id)
    assert (row["status"], row["done"], row["total"]) == ("done", 130, 130)
    assert row["message"] == "130 of 130 rows"
    count = (await ds.get_database("data").execute("select count(*) from cities")).single_value()
    assert count == 130
    audit = (await ds.client.get("/-/audit.json", cookies=root)).json()["rows"]
    assert [r["action"] for r in audit] == ["csv-import-finished", "csv-import-started"]
    assert audit[1]["actor_id"] == "root"
    assert audit[1]["detail"] == {"file": "cities.csv", "rows": 130, "job": job_id}
    jobs_page = await ds.client.get("/-/jobs", cookies=root)
    assert "Import cities.csv into cities" in jobs_page.text


@pytest.mark.asyncio
async def test_the_import_refuses_anonymous_and_unknown_files(make_ds, example_plugin, files, tmp_path):
    db_path, folder = files
    ds = make(make_ds, example_plugin, db_path, folder, tmp_path / "internal.db")
    body = {"database": "data", "table": "cities", "file": "cities.csv"}
    assert (await ds.client.post("/-/csv-import", json=body)).status_code == 403
    root = {"ds_actor": ds.client.actor_cookie({"id": "root"})}
    body["file"] = "../../etc/passwd"
    response = await ds.client.post("/-/csv-import", json=body, cookies=root)
    assert response.status_code == 400
    assert (await ds.jobs.get(1)) is None


@pytest.mark.asyncio
async def test_an_interrupted_import_resumes_from_its_checkpoint(
    make_ds, example_plugin, files, tmp_path
):
    db_path, folder = files
    internal = tmp_path / "internal.db"
    ds = make(make_ds, example_plugin, db_path, folder, internal)
    await ds.invoke_startup()
    # A process that wrote the first 50 rows and its checkpoint, then died.
    ds.jobs.progress_interval = 0
    job = await ds.jobs.start("csv-import", "Import cities.csv into cities", total=130)
    conn = sqlite3.connect(str(db_path))
    conn.executemany(
        "insert into cities values (?, ?, ?)",
        [(i, f"City {i}", i * 1000) for i in range(1, 51)],
    )
    conn.commit()
    conn.close()
    state = {"path": str(folder / "cities.csv"), "database": "data", "table": "cities",
             "next_line": 50}
    await job.advance(50, state=state)
    ds.close()

    again = make(make_ds, example_plugin, db_path, folder, internal)
    await again.invoke_startup()
    await again.jobs.wait_for_resumed()
    row = await again.jobs.get(job.id)
    assert (row["status"], row["done"], row["resumed"]) == ("done", 130, 1)
    assert json.loads(row["state"])["next_line"] == 130
    count = (await again.get_database("data").execute("select count(*) from cities")).single_value()
    assert count == 130
