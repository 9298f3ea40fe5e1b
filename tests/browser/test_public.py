"""Making a table public from its action menu, in a real Chromium: root opens the menu,
confirms, sees the message and the Public badge; an anonymous visitor of the private
instance can then read that table and nothing beside it."""

import sqlite3

import pytest
from playwright.sync_api import expect

from datasette.app import Datasette

from ..conftest import ServerThread

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


@pytest.fixture
def private_server(tmp_path):
    path = tmp_path / "data.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE open_data (id INTEGER PRIMARY KEY, title TEXT);"
        "CREATE TABLE secrets (id INTEGER PRIMARY KEY, secret TEXT);"
        "INSERT INTO open_data VALUES (1, 'hello');"
        "INSERT INTO secrets VALUES (1, 'the password');"
    )
    conn.close()
    ds = Datasette([str(path)], settings={"default_deny": True})
    with ServerThread(ds) as server:
        yield ds, server
    ds.close()


def root_page(make_page, ds, server):
    page = make_page()
    page.context.add_cookies(
        [{"name": "ds_actor", "value": ds.client.actor_cookie({"id": "root"}), "url": server.url}]
    )
    return page


def test_make_public_through_the_menu(private_server, make_page, page_problems, screenshot):
    ds, server = private_server
    page_problems.expect_http_error(server.url + "/data/open_data", 403)
    page_problems.expect_http_error(server.url + "/data/secrets", 403)
    anonymous = make_page()
    response = anonymous.goto(server.url + "/data/open_data")
    assert response.status == 403

    page = root_page(make_page, ds, server)
    page.goto(server.url + "/data/open_data")
    expect(page.locator("h1 .public-badge")).to_have_count(0)
    page.locator("details.page-action-menu summary").click()
    page.get_by_role("link", name="Make public").click()
    expect(page.get_by_role("heading", name="Table open_data in data")).to_be_visible()
    screenshot(page, "public-confirm")
    page.get_by_role("button", name="Make table public").click()
    page.wait_for_url(server.url + "/data/open_data")
    expect(page.locator(".message-info")).to_contain_text("open_data is now public")
    expect(page.locator("h1 .public-badge")).to_have_text("Public")
    screenshot(page, "public-table-badge")

    response = anonymous.goto(server.url + "/data/open_data")
    assert response.status == 200
    expect(anonymous.locator("td.col-title")).to_have_text("hello")
    expect(anonymous.locator("h1 .public-badge")).to_be_visible()
    assert anonymous.goto(server.url + "/data/secrets").status == 403
    anonymous.goto(server.url + "/data")
    expect(anonymous.get_by_role("link", name="open_data")).to_be_visible()
    expect(anonymous.get_by_text("secrets")).to_have_count(0)
    screenshot(anonymous, "public-database-anonymous")

    # And back: the same menu makes it private again.
    page.locator("details.page-action-menu summary").click()
    page.get_by_role("link", name="Make private").click()
    page.get_by_role("button", name="Make table private").click()
    page.wait_for_url(server.url + "/data/open_data")
    expect(page.locator("h1 .public-badge")).to_have_count(0)
    assert anonymous.goto(server.url + "/data/open_data").status == 403


def test_badge_on_the_index_page(private_server, make_page):
    ds, server = private_server
    page = root_page(make_page, ds, server)
    page.goto(server.url + "/-/public?database=data")
    page.get_by_role("button", name="Make database public").click()
    page.goto(server.url + "/")
    expect(page.locator("h2 .public-badge")).to_have_text("Public")
