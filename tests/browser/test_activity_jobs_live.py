"""`/-/jobs` in a real Chromium: bars move while a job runs, and the page reads without
JavaScript. Progress is written from the test between page loads; the page's own
polling of `/-/jobs.json` must bring it in, with no reload."""

import asyncio
import concurrent.futures

import pytest
from playwright.sync_api import expect

from ..conftest import ServerThread

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


def run(coroutine):
    """Run `coroutine` to the end on a thread of its own: Playwright's sync API keeps
    this thread's event loop marked as running."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture
def jobs_server(make_ds):
    ds = make_ds()
    ds.jobs.progress_interval = 0  # every advance is written at once
    job = run(ds.jobs.start("import", "Import cities", total=200))
    run(job.advance(20, message="20 rows"))
    with ServerThread(ds) as server:
        server.job = job
        yield server


def signed_in(make_page, server, **options):
    page = make_page(**options)
    page.context.add_cookies([{
        "name": "ds_actor",
        "value": server.ds.client.actor_cookie({"id": "root"}),
        "url": server.url,
    }])
    return page


def test_progress_bars_move_without_a_reload(make_page, jobs_server, screenshot):
    page = signed_in(make_page, jobs_server)
    page.goto(jobs_server.url + "/-/jobs")
    row = page.locator(f"#job-{jobs_server.job.id}")
    expect(row.locator("progress")).to_have_attribute("value", "20")
    run(jobs_server.job.advance(130, message="150 rows"))
    expect(row.locator("progress")).to_have_attribute("value", "150")
    expect(row.locator(".job-count")).to_have_text("150 / 200 (75.0%)")
    expect(row.locator(".job-message")).to_have_text("150 rows")
    screenshot(page, "activity-jobs-running")
    run(jobs_server.job.finish("all 200 rows"))
    expect(row.locator(".job-status")).to_have_text("done")
    expect(row.locator(".job-message")).to_have_text("all 200 rows")


def test_the_jobs_page_reads_without_javascript(make_page, jobs_server):
    page = signed_in(make_page, jobs_server, java_script_enabled=False)
    page.goto(jobs_server.url + "/-/jobs?status=running")
    row = page.locator(f"#job-{jobs_server.job.id}")
    expect(row.locator(".job-status")).to_have_text("running")
    expect(row.locator(".job-count")).to_have_text("20 / 200 (10.0%)")
    expect(page.locator("select[name=status]")).to_have_value("running")
    run(jobs_server.job.finish())
