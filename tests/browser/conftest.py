"""Fixtures for the browser tests: one Chromium per session, a watched page per test.

* `browser` (package): Debian's `/usr/bin/chromium` launched through Playwright. When it
  is missing the tests are skipped locally and *fail* when the `CI` variable is set.
* `make_page` / `page`: a fresh browser context (own cookies, temporary profile) per page.
  Console messages of type "error" and uncaught page errors are recorded and fail the test
  at teardown; only favicon 404s are ignored. Requests to any host but 127.0.0.1 are
  aborted and also fail the test.
* `screenshot`: saves a full-page PNG into the screenshot folder, which is
  `$DATASETTE_SCREENSHOTS` or `test-artifacts/screenshots/` under the repository.
"""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
ALLOWED_HOSTS = {"127.0.0.1"}

REPO_ROOT = Path(__file__).resolve().parents[2]

# Filled in as screenshots are written; read by `pytest_terminal_summary`.
_saved_screenshots = []


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives a real Chromium through Playwright against a live server"
    )


def screenshot_dir():
    configured = os.environ.get("DATASETTE_SCREENSHOTS")
    if configured:
        return Path(configured).expanduser().resolve()
    return REPO_ROOT / "test-artifacts" / "screenshots"


def pytest_terminal_summary(terminalreporter):
    if _saved_screenshots:
        terminalreporter.write_line(
            f"Screenshots saved in {screenshot_dir()} ({len(_saved_screenshots)} files)"
        )


def _unavailable(reason):
    """Skip locally; in CI a missing browser is a broken setup, so fail loudly."""
    if os.environ.get("CI"):
        pytest.fail(
            f"{reason} (the CI variable is set, so this is an error, not a skip)", pytrace=False
        )
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser():
    """One Chromium for all the tests of this package.

    Package-scoped rather than session-scoped on purpose: while the sync Playwright API
    is running it marks its event loop as the thread's running loop between calls, so any
    asyncio test that runs after the browser tests (pytest-asyncio, `asyncio.run`) fails
    with "Cannot run the event loop while another loop is running". Stopping Playwright
    when this package's tests are done keeps the rest of the suite unaffected.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package `playwright` is not installed (pip install -e '.[test]')")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK) and shutil.which(CHROMIUM)):
        _unavailable(
            f"Chromium not found at {CHROMIUM}: install Debian's package with "
            "`apt-get install -y chromium` (Playwright's own browser downloads are not used)"
        )
    with sync_playwright() as playwright:
        # `launch` gives every run a fresh temporary profile (user-data dir) of its own.
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def screenshots(pytestconfig):
    """The folder screenshots go to; printed once per session, outside output capture."""
    folder = screenshot_dir()
    folder.mkdir(parents=True, exist_ok=True)
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nBrowser test screenshots go to {folder}")
    return folder


@pytest.fixture
def screenshot(screenshots, request):
    """`screenshot(page, "name")` writes `<name>-<width>x<height>.png` and returns its path.

    Full-page by default. Pass `full_page=False` while a JavaScript menu is open: a
    full-page capture resizes the window, and resize handlers may close the menu."""

    def take(page, name, full_page=True):
        size = page.viewport_size or {"width": 0, "height": 0}
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
        path = screenshots / f"{safe}-{size['width']}x{size['height']}.png"
        page.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > 0, f"empty screenshot {path}"
        _saved_screenshots.append(path)
        return path

    return take


class PageProblems:
    """Console errors, page errors and off-host requests seen by the pages of one test."""

    def __init__(self):
        self.problems = []
        self._expected_http_errors = set()

    def expect_http_error(self, url, status):
        """The document at `url` is meant to answer `status`: Chromium logs that as a
        console error ("Failed to load resource ... status of 404"), which is then fine."""
        self._expected_http_errors.add((url, status))

    def _ignorable(self, msg):
        text = msg.text
        location = (msg.location or {}).get("url", "")
        match = re.match(
            r"Failed to load resource: the server responded with a status of (\d+)", text
        )
        if match and "favicon" in location and match.group(1) == "404":
            return True
        if match and (location, int(match.group(1))) in self._expected_http_errors:
            return True
        return False

    def watch(self, page):
        def on_console(msg):
            if msg.type == "error" and not self._ignorable(msg):
                where = (msg.location or {}).get("url", "") or page.url
                self.problems.append(f"console error on {where}: {msg.text}")

        def on_page_error(error):
            self.problems.append(f"uncaught page error on {page.url}: {error}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)

    def route_local_only(self, context):
        def handle(route):
            url = route.request.url
            if urlsplit(url).hostname in ALLOWED_HOSTS:
                route.continue_()
            else:
                self.problems.append(f"request to a host other than 127.0.0.1: {url}")
                route.abort()

        context.route("**/*", handle)


@pytest.fixture
def page_problems():
    return PageProblems()


@pytest.fixture
def make_page(browser, page_problems):
    """`make_page(viewport=PHONE, java_script_enabled=False, ...)`: a new watched page in
    its own context. Extra keyword arguments go to `browser.new_context`."""
    contexts = []

    def factory(viewport=DESKTOP, **context_options):
        if viewport == PHONE:
            context_options.setdefault("is_mobile", True)
            context_options.setdefault("has_touch", True)
        context = browser.new_context(viewport=viewport, **context_options)
        contexts.append(context)
        page_problems.route_local_only(context)
        page = context.new_page()
        page_problems.watch(page)
        return page

    yield factory
    for context in contexts:
        context.close()
    if page_problems.problems:
        pytest.fail(
            "The browser reported problems:\n  " + "\n  ".join(page_problems.problems),
            pytrace=False,
        )


@pytest.fixture
def page(make_page):
    """A desktop-sized (1280x800) watched page."""
    return make_page()


@pytest.fixture
def phone_page(make_page):
    """A phone-sized (375x740, mobile, touch) watched page."""
    return make_page(PHONE)
