"""The browser build (lite/dist/) in a real Chromium, served by a plain static file server.

The service worker boots Pyodide and answers every request under `app/` from the ASGI app:
the index and a table render, a facet link filters, back/forward walk the history, and a
note added through a writable canned query's form (POST with CSRF token and cookies kept by
the worker) is still there after a reload, read back from IndexedDB.

Needs `npm --prefix lite ci && npm --prefix lite run build` (.ci/run does both); skipped
locally without the build, failing under CI.
"""

import functools
import http.server
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DIST = Path(__file__).resolve().parents[2] / "lite" / "dist"
# Booting Pyodide and importing the package takes seconds; more on a busy 2-core machine.
BOOT_TIMEOUT = 180_000


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
        ".whl": "application/zip",
    }

    # Files a test puts here are served under /fixtures/, like data hosted next to the site.
    fixtures_dir = None

    def translate_path(self, path):
        if path.startswith("/fixtures/") and self.fixtures_dir is not None:
            return os.path.join(self.fixtures_dir, os.path.basename(path.split("?", 1)[0]))
        return super().translate_path(path)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def lite_site(tmp_path_factory):
    """`lite/dist/` on a static server on loopback; yields the site URL and a byte counter."""
    if not (DIST / "sw.js").exists() or not (DIST / "wheels.json").exists():
        message = "lite/dist is not built: run `npm --prefix lite ci && npm --prefix lite run build`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    fixtures = tmp_path_factory.mktemp("lite-fixtures")
    conn = sqlite3.connect(fixtures / "places.db")
    conn.execute("create table places (id integer primary key, name text)")
    conn.executemany("insert into places values (?, ?)", [(1, "Harbour"), (2, "Ridge")])
    conn.commit()
    conn.close()
    (fixtures / "birds.csv").write_text("bird,colour\nRobin,red\nBlackbird,black\n")
    _Handler.fixtures_dir = str(fixtures)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(DIST))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", fixtures
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def wait_ready(page):
    expect(page.locator("#status")).to_contain_text("Ready", timeout=BOOT_TIMEOUT)


def test_lite_site_end_to_end(lite_site, page, screenshot):
    lite_site, _ = lite_site
    started = time.monotonic()
    page.goto(lite_site)
    wait_ready(page)
    expect(page.locator("#status")).to_contain_text("IndexedDB")
    screenshot(page, "lite-launcher")

    # The index page, rendered by Python in the service worker.
    page.click("#open")
    page.wait_for_url(lite_site + "app/")
    expect(page.locator("h1")).to_have_text("Datasette")
    expect(page.locator("a[href='/app/demo']").first).to_be_visible()
    print(f"\nfirst page after {time.monotonic() - started:.1f} s")

    # A table page, with a facet.
    page.goto(lite_site + "app/demo/books?_facet=genre")
    table = page.locator("table.rows-and-columns")
    expect(table).to_be_visible()
    total = page.locator("table.rows-and-columns tbody tr").count()
    assert total > 0
    facet_link = page.locator(".facet-info a[data-facet-value]").first
    genre = facet_link.get_attribute("data-facet-value")
    facet_link.click()
    page.wait_for_url(lambda url: "&genre=" in url)
    expect(page.locator("table.rows-and-columns")).to_be_visible()
    genres = page.locator("table.rows-and-columns tbody td.col-genre").all_inner_texts()
    assert genres and {cell.strip() for cell in genres} == {genre}
    assert len(genres) < total
    screenshot(page, "lite-facet")

    # Back and forward through real navigations.
    page.go_back()
    page.wait_for_url(lambda url: "&genre=" not in url)
    expect(page.locator("table.rows-and-columns")).to_be_visible()
    page.go_forward()
    page.wait_for_url(lambda url: "&genre=" in url)

    # A form that writes: POST, CSRF token, cookies, redirect and flash message.
    page.goto(lite_site + "app/demo/add_note")
    page.fill("textarea[name=note], input[name=note]", "kept across reloads")
    page.click("form input[type=submit], form button[type=submit]")
    expect(page.locator("body")).to_contain_text("Note saved in your browser")

    page.goto(lite_site + "app/demo/notes")
    expect(page.locator("table.rows-and-columns")).to_contain_text("kept across reloads")
    page.reload()
    expect(page.locator("table.rows-and-columns")).to_contain_text("kept across reloads")

    # A fresh interpreter in the worker sees the note too: it was read back from IndexedDB.
    page.goto(lite_site)
    wait_ready(page)
    page.click("#restart")
    expect(page.locator("#status")).to_contain_text("Ready again", timeout=BOOT_TIMEOUT)
    page.goto(lite_site + "app/demo/notes")
    expect(page.locator("table.rows-and-columns")).to_contain_text("kept across reloads")
    screenshot(page, "lite-notes")


def test_lite_loads_url_file_and_csv_and_signs_in(lite_site, page):
    site, fixtures = lite_site
    # ?url= a SQLite file hosted next to the site.
    page.goto(site + "?url=/fixtures/places.db")
    page.wait_for_url(site + "app/places", timeout=BOOT_TIMEOUT)
    expect(page.locator("body")).to_contain_text("places")
    page.goto(site + "app/places/places")
    expect(page.locator("table.rows-and-columns")).to_contain_text("Harbour")

    # A CSV chosen from disk becomes a table in the uploads database.
    page.goto(site)
    wait_ready(page)
    page.set_input_files("#file", str(fixtures / "birds.csv"))
    page.wait_for_url(site + "app/uploads/birds")
    expect(page.locator("table.rows-and-columns")).to_contain_text("Blackbird")

    # The --root style sign-in: the cookie lives in the worker's jar.
    page.goto(site)
    wait_ready(page)
    page.click("#root")
    page.wait_for_url(site + "app/")
    actor = page.evaluate("fetch('/app/-/actor.json').then((r) => r.json())")
    assert actor == {"actor": {"id": "root"}}
