"""`/-/audit` and `/-/jobs`: permissions, filters, keyset pagination, CSV, bad input."""

import csv
import io
import urllib.parse

import httpx
import pytest
import pytest_asyncio

ROWS = [
    # (created_at, actor_id, action, database, resource)
    ("2026-01-01T10:00:00.000000Z", "alice", "insert-rows", "sales", "orders"),
    ("2026-01-02T10:00:00.000000Z", "bob", "insert-rows", "sales", "customers"),
    ("2026-01-03T10:00:00.000000Z", "alice", "delete-row", "sales", "orders"),
    ("2026-01-04T10:00:00.000000Z", None, "create-token", None, None),
    ("2026-01-05T10:00:00.000000Z", "alice", "insert-rows", "hr", "staff"),
    ("2026-01-06T10:00:00.000000Z", "carol", "drop-table", "hr", "old"),
    ("2026-01-07T10:00:00.000000Z", "bob", "insert-rows", "sales", "orders"),
]


def cookies(ds, actor):
    return {"ds_actor": ds.client.actor_cookie(actor)} if actor else None


ROOT = {"id": "root"}


async def get(ds, path, actor=ROOT):
    return await ds.client.get(path, cookies=cookies(ds, actor))


@pytest_asyncio.fixture
async def audit_ds(make_ds):
    ds = make_ds(metadata={"permissions": {"view-audit": {"id": "auditor"}}})

    def fill(conn):
        with conn:
            conn.executemany(
                "insert into audit_log (created_at, actor_id, action, database_name, resource,"
                " detail) values (?, ?, ?, ?, ?, '{\"n\": 1}')",
                ROWS,
            )

    await ds.get_internal_database().execute_write_fn(fill)
    return ds


def expected_ids(predicate):
    """1-based ids of ROWS matching `predicate`, newest first (the pages' order)."""
    return [i + 1 for i, row in reversed(list(enumerate(ROWS))) if predicate(row)]


# -- permissions ---------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path", ["/-/audit", "/-/audit.json", "/-/audit.csv", "/-/jobs", "/-/jobs.json"]
)
@pytest.mark.parametrize("actor", [None, {"id": "mallory"}, {"id": "alice", "roles": ["x"]}])
async def test_anonymous_and_other_actors_get_403(audit_ds, path, actor):
    response = await get(audit_ds, path, actor)
    assert response.status_code == 403
    assert "audit_log" not in response.text and "insert-rows" not in response.text


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path", ["/-/audit", "/-/audit.json", "/-/audit.csv", "/-/jobs", "/-/jobs.json"]
)
async def test_root_sees_both_pages(audit_ds, path):
    response = await get(audit_ds, path)
    assert response.status_code == 200


@pytest.mark.asyncio
async def test_a_permissions_block_grants_one_page_and_not_the_other(audit_ds):
    assert (await get(audit_ds, "/-/audit.json", {"id": "auditor"})).status_code == 200
    assert (await get(audit_ds, "/-/jobs.json", {"id": "auditor"})).status_code == 403


# -- filters and pagination ----------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "query,predicate",
    [
        ("", lambda r: True),
        ("actor=alice", lambda r: r[1] == "alice"),
        ("action=insert-rows", lambda r: r[2] == "insert-rows"),
        ("database=sales", lambda r: r[3] == "sales"),
        ("database=sales&resource=orders", lambda r: r[3:] == ("sales", "orders")),
        ("actor=alice&action=insert-rows", lambda r: r[1:3] == ("alice", "insert-rows")),
        ("since=2026-01-03", lambda r: r[0] >= "2026-01-03"),
        ("until=2026-01-03T10:00:00Z", lambda r: r[0] < "2026-01-03T10:00:00"),
        ("since=2026-01-02&until=2026-01-06", lambda r: "2026-01-02" <= r[0] < "2026-01-06"),
        ("since=2026-01-03T11:00:00%2B01:00", lambda r: r[0] >= "2026-01-03T10:00"),
        ("actor=nobody", lambda r: False),
    ],
)
async def test_filters_return_exactly_the_matching_rows(audit_ds, query, predicate):
    response = await get(audit_ds, "/-/audit.json?" + query)
    assert response.status_code == 200
    data = response.json()
    assert [row["id"] for row in data["rows"]] == expected_ids(predicate)
    assert data["next"] is None


@pytest.mark.asyncio
async def test_json_rows_decode_actor_and_detail(make_ds):
    ds = make_ds()
    await ds.audit("thing", actor={"id": "alice", "x": [1]}, detail={"rows": 2})
    row = (await get(ds, "/-/audit.json")).json()["rows"][0]
    assert row["actor"] == {"id": "alice", "x": [1]}
    assert row["detail"] == {"rows": 2}
    assert row["action"] == "thing"


@pytest.mark.asyncio
async def test_keyset_pages_cover_every_row_once_even_while_rows_arrive(audit_ds):
    seen, url = [], "/-/audit.json?_size=2&action=insert-rows"
    first = True
    while url:
        data = (await get(audit_ds, url)).json()
        assert len(data["rows"]) <= 2
        seen += [row["id"] for row in data["rows"]]
        if first:  # a new row must not shift the pages after this one
            await audit_ds.audit("insert-rows", actor={"id": "late"})
            first = False
        url = data["next_url"]
        if url:
            assert "action=insert-rows" in url and "_size=2" in url
    assert seen == expected_ids(lambda r: r[2] == "insert-rows")


@pytest.mark.asyncio
async def test_next_token_starts_after_the_given_id(audit_ds):
    data = (await get(audit_ds, "/-/audit.json?_next=4")).json()
    assert [row["id"] for row in data["rows"]] == [3, 2, 1]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "query,message",
    [
        ("since=yesterday", "since must be an ISO 8601 date or time"),
        ("until=2026-13-01", "until must be an ISO 8601 date or time"),
        ("_size=abc", "_size must be a whole number from 1 to 500"),
        ("_size=0", "_size must be a whole number from 1 to 500"),
        ("_size=501", "_size must be a whole number from 1 to 500"),
        ("_next=x", "_next must be a whole number"),
    ],
)
async def test_bad_filter_values_are_a_400_with_one_message(audit_ds, query, message):
    for path in ("/-/audit.json?", "/-/audit?", "/-/audit.csv?", "/-/jobs.json?"):
        response = await get(audit_ds, path + query)
        assert response.status_code == 400, path
        assert message in response.text
    assert response.json()["ok"] is False
    assert response.json()["error"].startswith(message)


@pytest.mark.asyncio
async def test_bad_job_status_is_a_400(audit_ds):
    response = await get(audit_ds, "/-/jobs.json?status=stuck")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "status must be one of running, done, failed, interrupted, not 'stuck'"
    )


# -- CSV and HTML --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_csv_export_has_every_matching_row_beyond_one_page(make_ds):
    ds = make_ds()
    for i in range(620):
        await ds.audit("bulk" if i % 2 else "other", actor={"id": f"u{i}"}, detail={"i": i})
    response = await get(ds, "/-/audit.csv?action=bulk")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 310
    assert {row["action"] for row in rows} == {"bulk"}
    assert rows[0]["actor_id"] == "u619" and rows[-1]["actor_id"] == "u1"
    assert list(rows[0]) == [
        "id", "created_at", "actor_id", "action", "database_name", "resource", "detail",
        "actor",
    ]


@pytest.mark.asyncio
async def test_audit_html_lists_rows_and_keeps_filters_in_the_form(audit_ds):
    response = await get(audit_ds, "/-/audit?actor=carol")
    assert response.status_code == 200
    html = response.text
    assert "drop-table" in html and 'id="audit-6"' in html
    assert 'id="audit-1"' not in html
    assert 'name="actor" value="carol"' in html
    assert "/-/audit.csv?actor=carol" in html


@pytest.mark.asyncio
async def test_audit_html_links_to_older_rows(audit_ds):
    html = (await get(audit_ds, "/-/audit?_size=3")).text
    assert 'rel="next"' in html
    assert "_next=5" in html


@pytest.mark.asyncio
async def test_jobs_page_shows_progress_without_javascript(make_ds):
    ds = make_ds()
    ds.jobs.progress_interval = 0
    running = await ds.jobs.start("import", "Importing <cities>", total=200, actor={"id": "ann"})
    await running.advance(50, message="row 50")
    finished = await ds.jobs.start("export", "Exporting")
    await finished.finish("all done")
    html = (await get(ds, "/-/jobs")).text
    assert '<progress max="200" value="50">25.0%</progress>' in html
    assert "50 / 200 (25.0%)" in html
    assert "Importing &lt;cities&gt;" in html
    assert "row 50" in html and "all done" in html
    assert '"/-/jobs.json"' in html  # what the script polls
    data = (await get(ds, "/-/jobs.json?status=running")).json()
    assert [(r["id"], r["done"], r["percent"]) for r in data["rows"]] == [(running.id, 50, 25.0)]
    assert data["rows"][0]["actor"] == {"id": "ann"}
    await running.finish()


@pytest.mark.asyncio
async def test_jobs_filters(make_ds):
    ds = make_ds()
    a = await ds.jobs.start("import", "A", database="one")
    b = await ds.jobs.start("export", "B", database="two")
    await b.fail("nope")
    c = await ds.jobs.start("import", "C", database="two")
    await c.finish()

    async def ids(query):
        return [r["id"] for r in (await get(ds, "/-/jobs.json?" + query)).json()["rows"]]

    assert await ids("") == [c.id, b.id, a.id]
    assert await ids("kind=import") == [c.id, a.id]
    assert await ids("status=failed") == [b.id]
    assert await ids("database=two&kind=import") == [c.id]
    assert await ids("status=interrupted") == []
    await a.finish()


def test_pages_through_a_real_server(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        root = {"ds_actor": ds.client.actor_cookie({"id": "root"})}
        assert httpx.get(server.url + "/-/audit.json").status_code == 403
        response = httpx.get(server.url + "/-/audit.json", cookies=root)
        assert response.status_code == 200
        assert response.json()["rows"] == []
        response = httpx.get(server.url + "/-/jobs", cookies=root)
        assert response.status_code == 200
        assert "No jobs match." in response.text
        bad = httpx.get(
            server.url + "/-/audit.json?" + urllib.parse.urlencode({"since": "soon"}),
            cookies=root,
        )
        assert bad.status_code == 400
