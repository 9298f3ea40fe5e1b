"""Column statistics in a real Chromium: value suggestions in the filter form, and the
statistics in a column's actions menu, once the server's background indexer has run."""

import re
import sqlite3
import time

import httpx
import pytest
from playwright.sync_api import expect

from datasette.app import Datasette

from ..conftest import ServerThread

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def stats_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("column_stats") / "data.db"
    conn = sqlite3.connect(str(path))
    conn.execute("create table places (id integer primary key, city text, score integer)")
    cities = ["Paris"] * 5 + ["Palermo"] * 3 + ["palo alto"] * 2 + ["Berlin"]
    conn.executemany(
        "insert into places (city, score) values (?, ?)",
        [(city, i) for i, city in enumerate(cities)],
    )
    conn.commit()
    conn.close()
    ds = Datasette([str(path)])
    with ServerThread(ds) as server:
        # The indexer starts with the server; wait (bounded) until it has done the table.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = httpx.get(server.url + "/data/places/-/stats.json").json()["state"]
            if state == "done":
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the table was not indexed")
        yield server
    ds.close()


def test_filter_value_box_suggests_values(make_page, stats_server, screenshot):
    page = make_page()
    page.goto(stats_server.url + "/data/places")
    page.locator("#filter-column").select_option("city")
    value = page.locator("#filter-value")
    value.fill("PA")
    options = page.locator("datalist[data-column='city'] option")
    expect(options).to_have_count(3)
    assert [o.get_attribute("value") for o in options.all()] == ["Paris", "Palermo", "palo alto"]
    assert value.get_attribute("list") == page.locator(
        "datalist[data-column='city']"
    ).get_attribute("id")
    screenshot(page, "column-stats-suggest")
    # Choosing a suggestion and applying filters the table by it.
    page.locator("#filter-op").select_option(label="=")
    value.fill("Palermo")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"city__exact=Palermo"))
    expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(3)


def test_column_menu_shows_statistics(make_page, stats_server, screenshot):
    page = make_page()
    page.goto(stats_server.url + "/data/places")
    page.locator("th[data-column='city'] button.column-actions-button").click()
    stats = page.locator(".column-actions-menu dl.column-stats")
    expect(stats).to_be_visible()
    expect(stats).to_contain_text("distinct4")
    expect(stats).to_contain_text("minBerlin")
    expect(stats).to_contain_text("maxpalo alto")
    expect(stats).to_contain_text("nulls0")
    screenshot(page, "column-stats-menu", full_page=False)


def test_edit_form_saves_a_row(make_page, stats_server, screenshot):
    anonymous = make_page()
    anonymous.goto(stats_server.url + "/data/places/1")
    expect(anonymous.locator("h1")).to_contain_text("places: 1")
    # form.json answered (can_update false): no form for an anonymous visitor.
    anonymous.wait_for_load_state("networkidle")
    expect(anonymous.locator("details.edit-form")).to_have_count(0)

    page = make_page()
    page.context.add_cookies(
        [
            {
                "name": "ds_actor",
                "value": stats_server.ds.client.actor_cookie({"id": "root"}),
                "url": stats_server.url,
            }
        ]
    )
    page.goto(stats_server.url + "/data/places/1")
    page.get_by_text("Edit this row").click()
    city = page.get_by_label("city", exact=True)
    # Few distinct values: the control is a select of them.
    expect(city).to_have_attribute("data-control", "select")
    city.select_option("Berlin")
    page.get_by_label("score", exact=True).fill("42")
    screenshot(page, "column-stats-edit-form", full_page=False)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("details.edit-form")).to_have_count(1)
    row = httpx.get(stats_server.url + "/data/places/1.json").json()["rows"][0]
    for _ in range(100):
        if row["city"] == "Berlin":
            break
        time.sleep(0.05)
        row = httpx.get(stats_server.url + "/data/places/1.json").json()["rows"][0]
    assert row["city"] == "Berlin" and row["score"] == 42
    expect(page.locator("table.rows-and-columns td.col-city")).to_have_text("Berlin")


def test_insert_form_adds_a_row(make_page, stats_server):
    page = make_page()
    page.context.add_cookies(
        [
            {
                "name": "ds_actor",
                "value": stats_server.ds.client.actor_cookie({"id": "root"}),
                "url": stats_server.url,
            }
        ]
    )
    page.goto(stats_server.url + "/data/places")
    page.get_by_text("Insert a row").click()
    page.get_by_label("city", exact=True).select_option("Palermo")
    page.get_by_label("score", exact=True).fill("7")
    page.get_by_role("button", name="Insert").click()
    expect(page.locator("h3").first).to_have_text("12 rows")
    rows = httpx.get(stats_server.url + "/data/places.json?id=12").json()["rows"]
    assert rows == [{"id": 12, "city": "Palermo", "score": 7}]
