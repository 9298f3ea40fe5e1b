"""The browser build in Chromium: time from page load to the first rendered table, and bytes.

Serves `lite/dist/` (build it first: `just lite`) from a static server on 127.0.0.1 that
counts the bytes it sends, then in Debian's Chromium (through Playwright):

- cold: a fresh profile opens the launcher, waits for Python, opens `app/demo/books` and
  waits for the table;
- warm: the same profile opens the table page directly again (worker installed, files in
  the HTTP cache; the worker may still have Python running);
- warm, fresh worker: the worker is told to restart Python first, so Pyodide boots again
  from cached files and the databases are read back from IndexedDB.

    python benchmarks/lite_load.py
"""

from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

DIST = Path(__file__).resolve().parent.parent / "lite" / "dist"
CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 300_000


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    sent = 0
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
    }

    def copyfile(self, source, outputfile):
        data = source.read()
        CountingHandler.sent += len(data)
        outputfile.write(data)

    def log_message(self, *args):
        pass


def main() -> None:
    if not (DIST / "sw.js").exists():
        sys.exit("build lite/dist first: just lite")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(CountingHandler, directory=str(DIST))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            context = browser.new_context()
            page = context.new_page()

            CountingHandler.sent = 0
            started = time.perf_counter()
            page.goto(site)
            page.locator("#status").filter(has_text="Ready").wait_for(timeout=TIMEOUT)
            ready = time.perf_counter() - started
            page.goto(site + "app/demo/books")
            page.locator("table.rows-and-columns").wait_for(timeout=TIMEOUT)
            cold = time.perf_counter() - started
            print(f"cold: Python ready {ready:.1f} s, first table {cold:.1f} s, "
                  f"{CountingHandler.sent / 1e6:.1f} MB from the server")

            CountingHandler.sent = 0
            started = time.perf_counter()
            page.goto(site + "app/demo/branches")
            page.locator("table.rows-and-columns").wait_for(timeout=TIMEOUT)
            print(f"warm: first table {time.perf_counter() - started:.2f} s, "
                  f"{CountingHandler.sent / 1e3:.0f} kB from the server")

            page.goto(site)
            page.locator("#status").filter(has_text="Ready").wait_for(timeout=TIMEOUT)
            CountingHandler.sent = 0
            started = time.perf_counter()
            page.click("#restart")
            page.locator("#status").filter(has_text="Ready again").wait_for(timeout=TIMEOUT)
            page.goto(site + "app/demo/books")
            page.locator("table.rows-and-columns").wait_for(timeout=TIMEOUT)
            print(f"warm, fresh worker: first table {time.perf_counter() - started:.1f} s, "
                  f"{CountingHandler.sent / 1e6:.1f} MB from the server")
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    os.chdir(DIST)
    main()
