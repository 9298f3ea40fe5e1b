"""The HTML interface in a real Chromium: every page type loads cleanly, and filtering,
faceting, sorting, paging, the SQL editor, flash messages, no-JavaScript reading, phone
layout and form labels work as a person would use them.

The server is `read_api_server` (tests/conftest.py): the read-API fixtures with their
metadata and `default_page_size` 50. Nothing here sleeps: every wait is Playwright's own
auto-waiting (`expect`, `wait_for_url`, navigation waits).
"""

import re
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from playwright.sync_api import expect

from .conftest import PHONE

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

# Everything in places, in primary key order, as the fixtures insert it.
PLACES_NEIGHBORHOODS = [
    "Mission", "Dogpatch", "SOMA", "Tenderloin", "Bernal Heights", "Hayes Valley",
    "Hollywood", "Downtown", "Los Feliz", "Koreatown", "Downtown", "Greektown",
    "Corktown", "Mexicantown", "Arcadia Planitia",
]  # fmt: skip
MI_NEIGHBORHOODS = ["Downtown", "Greektown", "Corktown", "Mexicantown"]


def cells(page, column):
    """Texts of the body cells of `column` in the rows table."""
    return [
        text.strip()
        for text in page.locator(f"table.rows-and-columns tbody td.col-{column}").all_inner_texts()
    ]


def query_args(page):
    return parse_qs(urlsplit(page.url).query)


def assert_no_horizontal_scroll(page):
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"] + 1, (
        f"{page.url} scrolls sideways on a {widths['inner']}px screen: "
        f"the document is {widths['scroll']}px wide"
    )


# --- Every page type loads without console errors, with a screenshot ---------------------

PAGES = [
    # (screenshot name, path, status, <h1> text, body class, also check on a phone)
    ("index", "/", 200, "Read API fixtures", "index", True),
    ("database", "/fixtures", 200, "fixtures", "db", False),
    ("table", "/fixtures/places", 200, "Places", "table", True),
    ("row", "/fixtures/places/1", 200, "places: 1", "row", False),
    (
        "query",
        "/fixtures?sql="
        + quote_plus("select pk, neighborhood, state, tags from places order by pk"),
        200,
        "fixtures",
        "query",
        True,
    ),
    (
        "canned-query",
        "/fixtures/neighborhood_search?text=town",
        200,
        "Search neighborhoods",
        "query",
        False,
    ),
    ("error-404", "/fixtures/no_such_table", 404, "Error 404", "error", False),
    (
        "error-400-invalid-sql",
        "/fixtures?sql=" + quote_plus("update places set n = 1"),
        400,
        "Invalid SQL",
        "error",
        False,
    ),
]


@pytest.mark.parametrize(
    "name,path,status,heading,body_class,on_phone", PAGES, ids=[p[0] for p in PAGES]
)
def test_page_loads_cleanly(
    read_api_server,
    make_page,
    page_problems,
    screenshot,
    name,
    path,
    status,
    heading,
    body_class,
    on_phone,
):
    url = read_api_server.url + path
    if status >= 400:
        page_problems.expect_http_error(url, status)
    viewports = [None, PHONE] if on_phone else [None]
    for viewport in viewports:
        page = make_page(viewport) if viewport else make_page()
        response = page.goto(url)
        assert response.status == status
        page.wait_for_load_state("load")
        expect(page.locator("body")).to_have_class(re.compile(rf"(^|\s){body_class}(\s|$)"))
        expect(page.locator("h1")).to_have_text(heading)
        # The stylesheet really applied (a missing app.css would leave the default margin).
        assert page.evaluate("() => getComputedStyle(document.body).marginTop") == "0px"
        expect(page.locator("footer.ft")).to_contain_text("Powered by Datasette")
        if status >= 400:
            expect(page.locator(".error-message")).to_be_visible()
        screenshot(page, name)
        if viewport == PHONE:
            assert_no_horizontal_scroll(page)


def test_error_page_for_invalid_sql_explains_the_problem(read_api_server, page, page_problems):
    url = read_api_server.url + "/fixtures?sql=" + quote_plus("update places set n = 1")
    page_problems.expect_http_error(url, 400)
    page.goto(url)
    expect(page).to_have_title("Invalid SQL")
    expect(page.locator(".error-message")).to_contain_text("Statement must be a SELECT")


@pytest.mark.parametrize(
    "path,status",
    [("/fixtures/no_such_table", 404), ("/fixtures?sql=update+places+set+n+%3D+1", 400)],
    ids=["404", "400"],
)
def test_error_page_links_home(read_api_server, page, page_problems, path, status):
    url = read_api_server.url + path
    page_problems.expect_http_error(url, status)
    page.goto(url)
    expect(page.locator("h1")).to_have_text("Invalid SQL" if status == 400 else "Error 404")
    # Server-rendered and complete once `goto` returns: check at once instead of waiting.
    home = page.locator("header p.crumbs").get_by_role("link", name="home")
    assert home.count() == 1 and home.is_visible()


# --- Table interactions -------------------------------------------------------------------


def test_filter_form_changes_the_rows(read_api_server, page, screenshot):
    page.goto(read_api_server.url + "/fixtures/places")
    expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(15)
    expect(page.locator("h3").first).to_have_text("15 rows")

    page.get_by_label("Filter column", exact=True).select_option("state")
    page.get_by_label("Filter operation", exact=True).select_option(label="=")
    page.get_by_label("Filter value", exact=True).fill("MI")
    page.get_by_role("button", name="Apply").click()

    page.wait_for_url(re.compile(r"state__exact=MI"))
    expect(page.locator("h3").first).to_have_text('4 rows where state = "MI"')
    expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(4)
    assert set(cells(page, "state")) == {"MI"}
    assert cells(page, "neighborhood") == MI_NEIGHBORHOODS
    # The applied filter now shows as its own editable row of the form.
    expect(page.get_by_label("Filter 1 column")).to_have_value("state")
    expect(page.get_by_label("Filter 1 value")).to_have_value("MI")
    screenshot(page, "table-filtered")


def test_facet_click_filters_and_shows_selected(read_api_server, page, screenshot):
    page.goto(read_api_server.url + "/fixtures/places")
    state_facet = page.locator("#facet-state")
    expect(state_facet.locator("li.facet-selected")).to_have_count(0)

    state_facet.get_by_role("link", name="MI", exact=True).click()

    page.wait_for_url(re.compile(r"[?&]state=MI"))
    expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(4)
    assert set(cells(page, "state")) == {"MI"}
    selected = page.locator("#facet-state li.facet-selected")
    expect(selected).to_have_count(1)
    expect(selected).to_contain_text("MI")
    expect(selected.get_by_role("link", name="Remove filter state = MI")).to_be_visible()
    screenshot(page, "table-facet-selected")

    # The cross removes the filter again.
    selected.get_by_role("link", name="Remove filter state = MI").click()
    expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(15)
    expect(page.locator("#facet-state li.facet-selected")).to_have_count(0)


def test_header_click_sorts_and_second_click_reverses(read_api_server, page):
    page.goto(read_api_server.url + "/fixtures/places")
    assert cells(page, "neighborhood") == PLACES_NEIGHBORHOODS

    header_link = page.locator("thead th[data-column=neighborhood] a")
    header_link.click()
    page.wait_for_url(re.compile(r"_sort=neighborhood"))
    expect(page.locator("td.col-neighborhood").first).to_have_text("Arcadia Planitia")
    assert cells(page, "neighborhood") == sorted(PLACES_NEIGHBORHOODS)
    expect(header_link).to_contain_text("neighborhood\u00a0▼")

    header_link.click()
    page.wait_for_url(re.compile(r"_sort_desc=neighborhood"))
    expect(page.locator("td.col-neighborhood").first).to_have_text("Tenderloin")
    assert cells(page, "neighborhood") == sorted(PLACES_NEIGHBORHOODS, reverse=True)
    expect(header_link).to_contain_text("neighborhood\u00a0▲")


def test_next_page_walks_to_the_end_of_big(read_api_server, page):
    page.goto(read_api_server.url + "/fixtures/big")
    expect(page.locator("h3").first).to_contain_text("1,001 rows")
    seen = []
    pages = 0
    for _ in range(40):  # 1001 rows at 50 a page is 21 pages; never loop forever
        pages += 1
        rows = page.locator("table.rows-and-columns tbody tr")
        expect(rows.first).to_be_visible()
        ids = [int(text) for text in cells(page, "id")]
        assert 0 < len(ids) <= 50
        seen.extend(ids)
        next_link = page.get_by_role("link", name="Next page", exact=True)
        if next_link.count() == 0:
            break
        previous_url = page.url
        next_link.click()
        page.wait_for_url(lambda url, previous=previous_url: url != previous)
    else:
        pytest.fail("still finding a Next page link after 40 pages")
    assert len(seen) == 1001, f"{len(seen)} rows over {pages} pages"
    assert set(seen) == set(range(1, 1002))
    assert pages == 21


# --- SQL ----------------------------------------------------------------------------------


def test_sql_editor_runs_a_query(read_api_server, page, screenshot):
    page.goto(read_api_server.url + "/fixtures")
    editor = page.locator("#sql-editor")
    expect(editor).to_be_visible()
    editor.fill("select id, value from big where id <= 3 order by id desc")
    page.get_by_role("button", name="Run SQL").click()

    page.wait_for_url(re.compile(r"[?&]sql="))
    expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(3)
    assert cells(page, "id") == ["3", "2", "1"]
    assert cells(page, "value") == ["value 3", "value 2", "value 1"]
    expect(page.locator("form.sql h3")).to_contain_text("returning 3 rows")
    # The editor keeps the query that ran (its form field is the textarea it replaced).
    expect(page.locator("textarea[name=sql]")).to_have_value(
        "select id, value from big where id <= 3 order by id desc"
    )
    screenshot(page, "query-from-editor")


def test_named_parameter_field_appears_and_runs_the_query(read_api_server, page, screenshot):
    page.goto(read_api_server.url + "/fixtures")
    page.locator("#sql-editor").fill("select * from places where state = :state")
    page.get_by_role("button", name="Run SQL").click()

    state = page.get_by_label("state", exact=True)
    expect(state).to_be_visible()
    expect(state).to_have_value("")
    expect(page.locator("p.zero-results")).to_have_text("0 results")

    state.fill("MI")
    page.get_by_role("button", name="Run SQL").click()
    page.wait_for_url(re.compile(r"[?&]state=MI"))
    expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(4)
    assert cells(page, "neighborhood") == MI_NEIGHBORHOODS
    expect(page.get_by_label("state", exact=True)).to_have_value("MI")
    screenshot(page, "query-named-parameter")


def test_canned_query_parameter_form(read_api_server, page):
    page.goto(read_api_server.url + "/fixtures/neighborhood_search")
    expect(page.locator("pre#sql-query")).to_contain_text(":text")
    page.get_by_label("text", exact=True).fill("town")
    page.get_by_role("button", name="Run SQL").click()
    page.wait_for_url(re.compile(r"[?&]text=town"))
    expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(6)
    assert cells(page, "neighborhood") == sorted(
        n for n in PLACES_NEIGHBORHOODS if "town" in n.lower()
    )


# --- Without JavaScript -------------------------------------------------------------------


def test_table_page_works_without_javascript(read_api_server, make_page, screenshot):
    page = make_page(java_script_enabled=False)
    page.goto(read_api_server.url + "/fixtures/places")
    assert page.evaluate("() => 1 + 1") == 2  # evaluate still works; page scripts do not
    expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(15)
    expect(page.locator("td.col-neighborhood").first).to_be_visible()
    # table.js did not run: no column menu buttons were added.
    expect(page.locator("button.column-actions-button")).to_have_count(0)
    screenshot(page, "table-no-javascript")

    page.locator("thead th[data-column=neighborhood] a").click()
    page.wait_for_url(re.compile(r"_sort=neighborhood"))
    assert cells(page, "neighborhood") == sorted(PLACES_NEIGHBORHOODS)

    page.get_by_label("Filter column", exact=True).select_option("state")
    page.get_by_label("Filter operation", exact=True).select_option(label="=")
    page.get_by_label("Filter value", exact=True).fill("MI")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"state__exact=MI"))
    expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(4)
    assert set(cells(page, "state")) == {"MI"}
    # The form kept the sort order as a hidden/selected value, so the rows stay sorted.
    assert cells(page, "neighborhood") == sorted(MI_NEIGHBORHOODS)


# --- Phone layout -------------------------------------------------------------------------


def test_table_on_a_phone_labels_each_cell_and_offers_sort_controls(
    read_api_server, phone_page, screenshot
):
    page = phone_page
    page.goto(read_api_server.url + "/fixtures/places")
    first_cell = page.locator("table.rows-and-columns tbody tr").first.locator(
        "td.col-neighborhood"
    )
    label = first_cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"neighborhood"'
    # The column headers are off screen here, so sorting has its own labelled controls.
    sort_select = page.get_by_label("Sort by", exact=True)
    expect(sort_select).to_be_visible()
    sort_select.select_option("neighborhood")
    page.get_by_label("descending").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"_sort_desc=neighborhood"))
    assert cells(page, "neighborhood") == sorted(PLACES_NEIGHBORHOODS, reverse=True)
    assert_no_horizontal_scroll(page)
    screenshot(page, "table-phone-sorted")


# --- Labels -------------------------------------------------------------------------------

UNLABELLED_CONTROLS_JS = """
() => {
  const unlabelled = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    const type = (el.getAttribute("type") || "").toLowerCase();
    if (type === "hidden" || el.hidden) continue;
    // Not rendered at this screen size (e.g. the small-screen sort controls on a desktop).
    if (!el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
    // Buttons are named by their value.
    if (["submit", "button", "reset"].includes(type) && (el.value || "").trim()) continue;
    const byFor = el.id && [...document.querySelectorAll("label[for]")].some(
      (label) => label.htmlFor === el.id && label.textContent.trim());
    const wrapped = el.closest("label") && el.closest("label").textContent.trim();
    const aria = (el.getAttribute("aria-label") || "").trim();
    if (!(byFor || wrapped || aria)) {
      unlabelled.push(el.outerHTML.slice(0, 160));
    }
  }
  return unlabelled;
}
"""

LABEL_PAGES = [
    # (path, labels that must each find exactly one visible control, is a table page)
    ("/fixtures/places", ["Filter column", "Filter operation", "Filter value"], True),
    (
        "/fixtures/places?state=MI&_sort=neighborhood",
        ["Filter 1 column", "Filter 1 operation", "Filter 1 value", "Filter column"],
        True,
    ),
    ("/fixtures/searchable", ["Search:", "Filter column"], True),
    ("/fixtures", ["Custom SQL query"], False),
    ("/fixtures?sql=" + quote_plus("select * from places where state = :state"), ["state"], False),
    ("/fixtures/neighborhood_search?text=town", ["text"], False),
    ("/-/messages", ["Message", "Type"], False),
]


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
@pytest.mark.parametrize("path,labels,is_table", LABEL_PAGES, ids=[p[0] for p in LABEL_PAGES])
def test_visible_form_controls_have_labels(
    read_api_server, make_page, path, labels, is_table, phone
):
    page = make_page(PHONE) if phone else make_page()
    page.goto(read_api_server.url + path)
    for label in labels:
        # The SQL editor's label grows a row count on query pages, so match it as a prefix.
        control = page.get_by_label(label, exact=label != "Custom SQL query")
        expect(control).to_have_count(1)
        expect(control).to_be_visible()
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    # Table pages swap header sorting for labelled sort controls on small screens only.
    sort_by = page.get_by_label("Sort by", exact=True)
    if is_table and phone:
        expect(sort_by).to_be_visible()
    elif is_table:
        expect(sort_by).to_be_hidden()
    else:
        expect(sort_by).to_have_count(0)


# --- Phone-sized result tables name their columns -----------------------------------------

CELLS_WITHOUT_COLUMN_NAME_JS = """
() => {
  const table = document.querySelector("table.rows-and-columns");
  const headers = [...table.querySelectorAll("thead th")];
  const names = headers.map((th) => th.getAttribute("data-column") || th.textContent.trim());
  const onScreen = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && box.right > 0 && box.left < window.innerWidth
      && box.bottom > -window.scrollY;
  };
  const missing = [];
  const firstRow = table.querySelectorAll("tbody tr")[0];
  [...firstRow.querySelectorAll("td")].forEach((td, i) => {
    const before = getComputedStyle(td, "::before").content;
    const labelled = before === JSON.stringify(names[i]);
    if (!labelled && !onScreen(headers[i])) missing.push(names[i]);
  });
  return missing;
}
"""

PHONE_RESULT_PAGES = [
    pytest.param("/fixtures/places", id="table"),
    pytest.param(
        "/fixtures/places/1",
        id="row",
    ),
    pytest.param(
        "/fixtures?sql=" + quote_plus("select pk, neighborhood, state from places order by pk"),
        id="query",
    ),
    pytest.param(
        "/fixtures/neighborhood_search?text=town",
        id="canned-query",
    ),
]


@pytest.mark.parametrize("path", PHONE_RESULT_PAGES)
def test_phone_result_cells_show_their_column_names(read_api_server, phone_page, path):
    phone_page.goto(read_api_server.url + path)
    expect(phone_page.locator("table.rows-and-columns tbody tr").first).to_be_visible()
    assert phone_page.evaluate(CELLS_WITHOUT_COLUMN_NAME_JS) == []
    assert_no_horizontal_scroll(phone_page)


# --- table.js column menu -----------------------------------------------------------------


def test_column_menu_sort_descending(read_api_server, page, screenshot):
    page.goto(read_api_server.url + "/fixtures/places")
    button = page.get_by_role("button", name="Actions for column neighborhood")
    expect(button).to_have_attribute("aria-expanded", "false")
    button.click()
    menu = page.get_by_role("menu")
    expect(menu).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("link", name="Sort ascending")).to_be_visible()
    expect(menu.get_by_role("link", name="Facet by this")).to_be_visible()
    # Not full-page: that resizes the window, and table.js closes its menu on resize.
    screenshot(page, "table-column-menu", full_page=False)
    expect(menu).to_be_visible()

    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(button).to_have_attribute("aria-expanded", "false")

    button.click()
    page.get_by_role("menu").get_by_role("link", name="Sort descending").click()
    page.wait_for_url(re.compile(r"_sort_desc=neighborhood"))
    assert query_args(page) == {"_sort_desc": ["neighborhood"]}
    assert cells(page, "neighborhood") == sorted(PLACES_NEIGHBORHOODS, reverse=True)
    expect(page.locator("thead th[data-column=neighborhood] a")).to_contain_text("▲")


# --- Flash messages -----------------------------------------------------------------------


def test_flash_message_shows_once(read_api_server, page, screenshot):
    page.goto(read_api_server.url + "/-/messages")
    page.get_by_label("Message").fill("Hello from the browser test")
    page.get_by_label("Type").select_option("WARNING")
    page.get_by_role("button", name="Add message").click()

    page.wait_for_url(read_api_server.url + "/")
    message = page.locator("p.message-warning")
    expect(message).to_have_text("Hello from the browser test")
    expect(page.locator("p.message-info, p.message-error")).to_have_count(0)
    screenshot(page, "flash-message")

    page.get_by_role("link", name="fixtures", exact=True).click()
    page.wait_for_url(read_api_server.url + "/fixtures")
    expect(page.locator("h1")).to_have_text("fixtures")
    expect(page.locator("p.message-warning")).to_have_count(0)
    page.goto(read_api_server.url + "/")
    expect(page.locator("p.message-warning")).to_have_count(0)


SIGNED_IN_PAGES = [
    ("logout", "/-/logout", "Log out"),
    ("create-token", "/-/create-token", "Create an API token"),
    ("permissions", "/-/permissions", "Permission check tool"),
    ("messages", "/-/messages", "Debug messages"),
    ("allow-debug", "/-/allow-debug", "Debug allow rules"),
    ("api-explorer", "/-/api", "API Explorer"),
    ("patterns", "/-/patterns", "Pattern portfolio"),
    ("versions", "/-/versions", "versions.json"),
]


@pytest.mark.parametrize("name,path,heading", SIGNED_IN_PAGES, ids=[p[0] for p in SIGNED_IN_PAGES])
def test_signed_in_pages_load_cleanly(read_api_server, page, screenshot, name, path, heading):
    """The account and debugging pages, seen by the root actor, render with no errors."""
    cookie = read_api_server.ds.client.actor_cookie({"id": "root"})
    page.context.add_cookies(
        [{"name": "ds_actor", "value": cookie, "url": read_api_server.url}]
    )
    response = page.goto(read_api_server.url + path)
    assert response.status == 200
    expect(page.locator("h1").first).to_have_text(heading)
    expect(page.locator(".actor")).to_contain_text("root")
    screenshot(page, name)


def test_create_token_form_mints_a_token(read_api_server, page, screenshot):
    cookie = read_api_server.ds.client.actor_cookie({"id": "root"})
    page.context.add_cookies(
        [{"name": "ds_actor", "value": cookie, "url": read_api_server.url}]
    )
    page.goto(read_api_server.url + "/-/create-token")
    page.get_by_label("Token expires").select_option("hours")
    page.get_by_label("Duration").fill("2")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Token", exact=True)
    expect(token).to_have_value(re.compile(r"^dstok_"))
    screenshot(page, "create-token-minted")
