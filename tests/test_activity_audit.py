"""The audit log: `datasette.audit()`, its batching writer, retention, and core's audit rows.

Every write-API call writes exactly one row when it succeeds; a refused or failed call
(403, 400, 404) writes none (docs/activity.md says so too).
"""

import asyncio
import json
import logging
import re
import sqlite3

import pytest

from datasette.internal import migrations

from .test_write_api import ROOT, make_write_db, post

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def audit_rows(ds, where="1 = 1", params=()):
    await ds.activity.audit.flush()
    results = await ds.get_internal_database().execute(
        f"select * from audit_log where {where} order by id", list(params)
    )
    return [dict(row) for row in results.rows]


@pytest.fixture
def write_ds(make_ds, tmp_path):
    return make_ds([str(make_write_db(tmp_path / "data.db"))])


# -- the API -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_audit_appends_one_row_with_every_field(make_ds):
    ds = make_ds()
    await ds.invoke_startup()
    await ds.audit(
        "export-data",
        actor={"id": "alice", "role": "staff"},
        database="sales",
        resource="orders",
        detail={"rows": 3, "format": "csv"},
    )
    rows = await audit_rows(ds)
    assert len(rows) == 1
    row = rows[0]
    assert TIME.match(row["created_at"])
    assert row["actor_id"] == "alice"
    assert json.loads(row["actor"]) == {"id": "alice", "role": "staff"}
    assert row["action"] == "export-data"
    assert (row["database_name"], row["resource"]) == ("sales", "orders")
    assert json.loads(row["detail"]) == {"rows": 3, "format": "csv"}


@pytest.mark.asyncio
async def test_audit_without_actor_or_target(make_ds):
    ds = make_ds()
    await ds.audit("nightly-check")
    [row] = await audit_rows(ds)
    assert row["actor_id"] is None and row["actor"] is None
    assert row["database_name"] is None and row["detail"] is None


@pytest.mark.asyncio
async def test_non_json_detail_is_a_type_error_at_the_call_site(make_ds):
    ds = make_ds()
    with pytest.raises(TypeError) as excinfo:
        await ds.audit("bad", detail={"when": object()})
    assert "'bad'" in str(excinfo.value)
    assert "JSON" in str(excinfo.value)
    assert await audit_rows(ds) == []


@pytest.mark.asyncio
async def test_odd_actor_values_are_kept_by_repr_not_refused(make_ds):
    ds = make_ds()
    await ds.audit("x", actor={"id": 7, "obj": object()})
    [row] = await audit_rows(ds)
    assert row["actor_id"] == "7"
    assert json.loads(row["actor"])["obj"].startswith("<object object")


@pytest.mark.asyncio
async def test_a_failed_audit_write_is_logged_not_raised(make_ds, caplog):
    ds = make_ds()
    internal = ds.get_internal_database()

    def break_table(conn):
        with conn:
            conn.execute("alter table audit_log rename to audit_log_gone")

    await internal.execute_write_fn(break_table)
    with caplog.at_level(logging.ERROR, logger="datasette.activity"):
        await ds.audit("lost-action", actor={"id": "bob"}, detail={"n": 1})  # no raise
        await ds.activity.audit.flush()
    messages = [r.getMessage() for r in caplog.records if r.name == "datasette.activity"]
    assert any("Could not write 1 audit rows" in m and "lost-action" in m for m in messages)


@pytest.mark.asyncio
async def test_recording_can_be_switched_off(make_ds):
    ds = make_ds()
    ds.activity.audit.enabled = False
    await ds.audit("ignored")
    with pytest.raises(TypeError):  # the call-site check still applies
        await ds.audit("ignored", detail={1, 2})
    assert await audit_rows(ds) == []


@pytest.mark.asyncio
async def test_fifty_concurrent_writers_while_jobs_progress(make_ds):
    ds = make_ds()
    await ds.invoke_startup()
    ds.jobs.progress_interval = 0.001  # as many progress writes as possible

    async def writer(n):
        for i in range(20):
            await ds.audit("concurrent", actor={"id": f"w{n}"}, detail={"n": n, "i": i})
            await asyncio.sleep(0)

    async def job_worker(k):
        async with await ds.jobs.start("busy", f"busy {k}", total=200) as job:
            for _ in range(200):
                await job.advance()
                await asyncio.sleep(0)
        return job.id

    results = await asyncio.gather(
        *[writer(n) for n in range(50)], *[job_worker(k) for k in range(3)]
    )
    rows = await audit_rows(ds)
    assert len(rows) == 1000
    pairs = {(json.loads(r["detail"])["n"], json.loads(r["detail"])["i"]) for r in rows}
    assert pairs == {(n, i) for n in range(50) for i in range(20)}
    for job_id in results[50:]:
        job = await ds.jobs.get(job_id)
        assert (job["status"], job["done"]) == ("done", 200)


@pytest.mark.asyncio
async def test_audit_rows_survive_a_restart_of_a_persistent_internal_file(make_ds, tmp_path):
    internal = str(tmp_path / "internal.db")
    ds = make_ds(internal=internal)
    await ds.audit("before-restart", actor={"id": "root"})
    await ds.activity.audit.flush()
    ds.close()
    again = make_ds(internal=internal)
    rows = await audit_rows(again)
    assert [r["action"] for r in rows] == ["before-restart"]


# -- the schema step -----------------------------------------------------------------------


def test_an_older_internal_file_is_backed_up_and_gains_the_tables(make_ds, tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(str(path))
    migrations.migrate(conn, "0.1", target=2)
    conn.close()
    ds = make_ds(internal=str(path))
    assert ds._internal_store.backup_path is not None
    conn = sqlite3.connect(ds._internal_store.backup_path)
    backed_up = {r[0] for r in conn.execute("select name from sqlite_master")}
    conn.close()
    assert "audit_log" not in backed_up
    conn = sqlite3.connect(str(path))
    tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    columns = [r[1] for r in conn.execute("pragma table_info(jobs)")]
    conn.close()
    assert {"audit_log", "jobs"} <= tables
    assert "lease_expires_at" in columns


# -- retention -----------------------------------------------------------------------------


async def insert_audit(ds, times):
    def run(conn):
        with conn:
            conn.executemany(
                "insert into audit_log (created_at, action) values (?, ?)",
                [(t, f"a{i}") for i, t in enumerate(times)],
            )

    await ds.get_internal_database().execute_write_fn(run)


@pytest.mark.asyncio
async def test_retention_by_age_removes_exactly_the_old_rows(make_ds):
    ds = make_ds(settings={"audit_max_age_days": 10})
    old = ["2020-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z"]
    recent = ["2026-12-01T00:00:00.000000Z", "2026-12-06T23:59:59.000000Z"]
    await insert_audit(ds, old + recent)
    import datetime

    now = datetime.datetime(2026, 12, 7, tzinfo=datetime.timezone.utc)
    removed = await ds.activity.enforce_retention(now=now)
    assert removed["audit_log"] == 2
    assert [r["created_at"] for r in await audit_rows(ds)] == recent


@pytest.mark.asyncio
async def test_retention_by_count_keeps_the_newest_rows_across_batches(make_ds, monkeypatch):
    from datasette.internal.activity import retention

    monkeypatch.setattr(retention, "BATCH", 7)  # several batches for 30 rows
    ds = make_ds(settings={"audit_max_rows": 12})
    await insert_audit(ds, [f"2026-12-01T00:00:{i:02d}.000000Z" for i in range(42)])
    removed = await ds.activity.enforce_retention()
    assert removed["audit_log"] == 30
    rows = await audit_rows(ds)
    assert [r["action"] for r in rows] == [f"a{i}" for i in range(30, 42)]


@pytest.mark.asyncio
async def test_no_limits_remove_nothing(make_ds):
    ds = make_ds()
    await insert_audit(ds, ["2000-01-01T00:00:00.000000Z"] * 3)
    removed = await ds.activity.enforce_retention()
    assert "audit_log" not in removed
    assert len(await audit_rows(ds)) == 3


def test_activity_settings_are_settings_but_not_in_settings_json(make_ds):
    ds = make_ds(settings={"audit_max_rows": 5}, config={"settings": {"jobs_max_age_days": 2}})
    assert ds.setting("audit_max_rows") == 5
    assert ds.setting("jobs_max_age_days") == 2
    assert ds.setting("audit_max_age_days") == 0
    assert "audit_max_rows" not in ds.settings_dict()


# -- core's audit rows: the write API ------------------------------------------------------

WRITE_CALLS = [
    # (path, body, action, resource, detail)
    (
        "/data/docs/-/insert",
        {"rows": [{"id": 10, "title": "a"}, {"id": 11, "title": "b"}]},
        "insert-rows", "docs", {"rows": 2, "pks": [[10], [11]]},
    ),
    (
        "/data/docs/-/insert",
        {"rows": [{"id": i, "title": str(i)} for i in range(20, 28)], "ignore": True},
        "insert-rows", "docs",
        {"rows": 8, "pks": [[20], [21], [22], [23], [24]], "ignore": True},
    ),
    ("/data/rowid_table/-/insert", {"row": {"name": "Rex"}}, "insert-rows", "rowid_table",
     {"rows": 1, "pks": []}),
    ("/data/compound/-/upsert", {"rows": [{"a": "a", "b": "b", "v": "new"}]}, "upsert-rows",
     "compound", {"rows": 1, "pks": [["a", "b"]]}),
    ("/data/docs/1/-/update", {"update": {"title": "Uno", "age": 3}}, "update-row", "docs",
     {"pks": [["1"]], "columns": ["age", "title"]}),
    ("/data/docs/2/-/delete", None, "delete-row", "docs", {"pks": [["2"]]}),
    ("/data/-/create", {"table": "fresh", "columns": [{"name": "id", "type": "integer"}],
                        "pk": "id"},
     "create-table", "fresh", {"columns": ["id"], "rows": 0, "pks": []}),
    ("/data/docs/-/drop", {"confirm": True}, "drop-table", "docs", None),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("path,body,action,resource,detail", WRITE_CALLS)
async def test_each_write_api_call_writes_exactly_one_row(
    write_ds, path, body, action, resource, detail
):
    response = await post(write_ds, path, body)
    assert response.status_code in (200, 201), response.text
    rows = await audit_rows(write_ds)
    assert len(rows) == 1
    row = rows[0]
    assert (row["action"], row["actor_id"]) == (action, "root")
    assert (row["database_name"], row["resource"]) == ("data", resource)
    if detail is not None:
        assert json.loads(row["detail"]) == detail


@pytest.mark.asyncio
async def test_a_token_actor_is_recorded_as_the_token_says(write_ds):
    response = await post(write_ds, "/data/docs/-/insert", {"row": {"title": "t"}}, bearer=True)
    assert response.status_code == 201
    [row] = await audit_rows(write_ds)
    assert row["actor_id"] == "root"
    assert json.loads(row["actor"]) == {"id": "root", "token": "dstok"}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path,body,actor,status",
    [
        ("/data/docs/-/insert", {"row": {"title": "x"}}, None, 403),
        ("/data/docs/-/insert", {"row": {"title": "x"}}, {"id": "mallory"}, 403),
        ("/data/docs/-/insert", {"row": {"nope": 1}}, ROOT, 400),
        ("/data/docs/-/insert", {"rows": "not a list"}, ROOT, 400),
        ("/data/missing/-/insert", {"row": {"title": "x"}}, ROOT, 404),
        ("/data/docs/99/-/update", {"update": {"title": "x"}}, ROOT, 404),
        ("/data/guarded/1/-/delete", None, ROOT, 400),
        ("/data/docs/1/-/delete", None, None, 403),
        ("/data/docs/-/drop", {}, ROOT, 200),  # only asks: nothing dropped
        ("/data/-/create", {"table": "docs", "columns": [{"name": "x"}]}, ROOT, 400),
    ],
)
async def test_refused_and_failed_calls_write_no_row(write_ds, path, body, actor, status):
    response = await post(write_ds, path, body, actor=actor)
    assert response.status_code == status, response.text
    assert await audit_rows(write_ds) == []


@pytest.mark.asyncio
async def test_row_contents_are_never_recorded(write_ds):
    secret = "s3cret-value-in-a-row"
    await post(write_ds, "/data/docs/-/insert", {"row": {"title": secret}})
    await post(write_ds, "/data/docs/1/-/update", {"update": {"title": secret}})
    rows = await audit_rows(write_ds)
    assert len(rows) == 2
    assert all(secret not in json.dumps(row) for row in rows)


# -- canned queries, tokens, --root --------------------------------------------------------


@pytest.mark.asyncio
async def test_a_writable_canned_query_is_audited_without_its_values(make_ds, tmp_path):
    path = make_write_db(tmp_path / "data.db")
    ds = make_ds(
        [str(path)],
        metadata={"databases": {"data": {"queries": {"add_doc": {
            "sql": "insert into docs (id, title) values (:id, :title)", "write": True,
        }}}}},
    )
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    response = await ds.client.post(
        "/data/add_doc", json={"id": 50, "title": "private words"}, headers=headers
    )
    assert response.json()["ok"] is True
    failed = await ds.client.post(
        "/data/add_doc", json={"id": 50, "title": "again"}, headers=headers
    )
    assert failed.json()["ok"] is False  # the same key twice: no second row
    [row] = await audit_rows(ds)
    assert (row["action"], row["database_name"], row["resource"]) == (
        "execute-write-query", "data", "add_doc",
    )
    assert row["actor_id"] is None
    assert json.loads(row["detail"]) == {"params": ["id", "title"]}
    assert "private words" not in json.dumps(row)


@pytest.mark.asyncio
async def test_creating_an_api_token_is_audited_without_the_token(make_ds):
    ds = make_ds()
    cookies = {"ds_actor": ds.client.actor_cookie({"id": "alice"})}
    form = await ds.client.get("/-/create-token", cookies=cookies)
    csrftoken = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
    cookies.update({"ds_csrftoken": form.cookies.get("ds_csrftoken") or csrftoken})
    response = await ds.client.post(
        "/-/create-token",
        data={"csrftoken": csrftoken, "expire_type": "hours", "expire_duration": "2",
              "all:view-instance": "on"},
        cookies=cookies,
    )
    assert response.status_code == 200
    token = re.search(r"dstok_[A-Za-z0-9_.\-]+", response.text).group(0)
    [row] = await audit_rows(ds)
    assert (row["action"], row["actor_id"]) == ("create-token", "alice")
    assert json.loads(row["detail"]) == {"expires_after": 7200, "restricted": True}
    assert token not in json.dumps(row) and token[6:20] not in json.dumps(row)


@pytest.mark.asyncio
async def test_a_root_login_is_audited_once(make_ds):
    ds = make_ds()
    response = await ds.client.get("/-/auth-token?token=" + ds._root_token)
    assert response.status_code == 302
    again = await ds.client.get("/-/auth-token?token=anything")
    assert again.status_code == 403
    [row] = await audit_rows(ds)
    assert (row["action"], row["actor_id"]) == ("root-login", "root")


@pytest.mark.asyncio
async def test_a_retention_setting_that_is_not_a_number_is_ignored_and_logged(make_ds, caplog):
    ds = make_ds(config={"settings": {"audit_max_rows": "lots"}})
    await insert_audit(ds, ["2000-01-01T00:00:00.000000Z"] * 3)
    with caplog.at_level(logging.ERROR, logger="datasette.activity"):
        removed = await ds.activity.enforce_retention()
    assert "audit_log" not in removed
    assert len(await audit_rows(ds)) == 3
    assert any("audit_max_rows" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_the_background_task_enforces_retention_while_serving(make_ds):
    ds = make_ds(settings={"audit_max_rows": 2})
    ds.activity.retention_interval = 0.05
    await insert_audit(ds, [f"2026-12-01T00:00:0{i}.000000Z" for i in range(5)])
    await ds.invoke_startup()  # starts the task in this event loop
    deadline = asyncio.get_running_loop().time() + 20
    while len(await audit_rows(ds)) != 2:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    await ds.audit("later")  # the next pass trims again, keeping the newest two
    while [r["action"] for r in await audit_rows(ds)] != ["a4", "later"]:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_no_background_task_without_limits(make_ds):
    ds = make_ds(settings={"jobs_max_age_days": 0, "jobs_max_rows": 0})
    await ds.invoke_startup()
    assert ds.activity._background is None
