"""The everyday pages in a real Chromium, over the built-in demo database (issue 14, "Pages").

* the column menu, with the mouse and with the keyboard alone;
* no numeric, date, ISBN or URL cell wraps, at 1280 and 375 px (each cell's height against
  one line of its text), numbers right-aligned, foreign-key labels left-aligned;
* dark mode (`prefers-color-scheme: dark`, emulated) paints dark backgrounds everywhere;
* the footer says how long the page's queries took;
* a SQL error shows where it is, and the editor's cursor goes there;
* the query page's editor completes table names from the schema too.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from datasette.app import Datasette
from datasette.demo import write_demo_file

from ..conftest import ServerThread
from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """A real uvicorn server over the file `datasette --demo` serves."""
    path = write_demo_file(str(tmp_path_factory.mktemp("demo") / "demo.db"))
    ds = Datasette([str(path)])
    with ServerThread(ds) as server:
        yield server
    ds.close()


def query_args(page):
    return parse_qs(urlsplit(page.url).query)


def header_names(page):
    return page.locator("table.rows-and-columns thead th").evaluate_all(
        "ths => ths.map(th => th.getAttribute('data-column'))"
    )


# --- the column menu ----------------------------------------------------------------------


def test_column_menu_with_the_mouse_hides_and_shows_a_column(demo_server, page, screenshot):
    page.goto(demo_server.url + "/demo/books")
    page.get_by_role("button", name="Actions for column genre").click()
    menu = page.get_by_role("menu")
    expect(menu).to_be_visible()
    # The menu says what the column is.
    expect(menu.locator(".column-actions-type")).to_have_text(re.compile(r"text, not null"))
    for action in ("Sort ascending", "Sort descending", "Facet by this", "Hide this column"):
        expect(menu.get_by_role("link", name=action)).to_be_visible()
    screenshot(page, "polish-column-menu", full_page=False)
    menu.get_by_role("link", name="Hide this column").click()
    page.wait_for_url(re.compile(r"_nocol=genre"))
    assert "genre" not in header_names(page)
    assert "title" in header_names(page)

    page.get_by_role("button", name="Actions for column title").click()
    page.get_by_role("menu").get_by_role("link", name="Show all columns").click()
    page.wait_for_url(lambda url: "_nocol" not in url)
    assert "genre" in header_names(page)


def test_column_menu_facets_by_the_column(demo_server, page):
    page.goto(demo_server.url + "/demo/books")
    page.get_by_role("button", name="Actions for column genre").click()
    page.get_by_role("menu").get_by_role("link", name="Facet by this").click()
    page.wait_for_url(re.compile(r"_facet=genre"))
    expect(page.locator(".facet-info").filter(has_text="genre")).to_be_visible()


def test_column_menu_with_the_keyboard_alone(demo_server, page):
    page.goto(demo_server.url + "/demo/books")
    button = page.get_by_role("button", name="Actions for column year")
    button.focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu")
    expect(menu).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    items = menu.get_by_role("link")
    labels = items.all_text_contents()
    assert labels[:2] == ["Sort ascending", "Sort descending"]
    # Focus went into the menu, and the arrow keys move it.
    expect(items.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("End")
    expect(items.nth(len(labels) - 1)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(items.nth(0)).to_be_focused()
    # Escape closes it and gives focus back to the button.
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")
    # Space opens it too; Enter on an action follows it.
    page.keyboard.press(" ")
    expect(page.get_by_role("menu")).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"_sort_desc=year"))
    assert query_args(page) == {"_sort_desc": ["year"]}
    years = page.locator("td.col-year").all_text_contents()
    numbers = [int(y) for y in years if y.strip()]
    assert numbers == sorted(numbers, reverse=True)


def test_tabbing_out_of_the_column_menu_closes_it(demo_server, page):
    page.goto(demo_server.url + "/demo/books")
    button = page.get_by_role("button", name="Actions for column pages")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menu")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("menu")).to_have_count(0)
    expect(button).to_have_attribute("aria-expanded", "false")


# --- cells that must not wrap --------------------------------------------------------------

# For each cell: the height of its content (not of the cell, which is as tall as its row)
# against one line of its own text. Content that wrapped is at least two lines tall.
WRAPPED_CELLS_JS = """
(selector) => {
  const wrapped = [];
  for (const td of document.querySelectorAll(selector)) {
    if (!td.textContent.trim()) continue;
    const line = parseFloat(getComputedStyle(td).lineHeight);
    const range = document.createRange();
    range.selectNodeContents(td);
    const height = range.getBoundingClientRect().height;
    if (!(line > 0) || height > line * 1.5) {
      wrapped.push(td.className + ": " + JSON.stringify(td.textContent) + " " + height + "px");
    }
  }
  return wrapped;
}
"""

# Numbers, dates, ISBNs and URLs; foreign-key labels (a link and the id) are text and may wrap.
UNBREAKABLE = (
    "td.type-int:not(:has(> a + em)), td.type-float, td.col-isbn, td.col-cover_url, "
    "td.col-borrowed, td.col-due, td.col-returned, td[data-type=int], td[data-type=float]"
)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
@pytest.mark.parametrize(
    "path",
    ["/demo/books", "/demo/loans", "/demo?sql=select+id,+year,+pages,+isbn+from+books"],
    ids=["books", "loans", "query"],
)
def test_no_number_date_isbn_or_url_cell_wraps(demo_server, make_page, screenshot, viewport, path):
    page = make_page(viewport)
    page.goto(demo_server.url + path)
    cells = page.locator(UNBREAKABLE)
    assert cells.count() > 10
    name = "polish-cells-" + path.strip("/").split("?")[0].replace("/", "-")
    screenshot(page, name)
    assert page.evaluate(WRAPPED_CELLS_JS, UNBREAKABLE) == []


def test_numbers_right_aligned_text_and_foreign_keys_left(demo_server, page):
    page.goto(demo_server.url + "/demo/books")
    align = "el => getComputedStyle(el).textAlign"
    assert page.locator("td.col-year").first.evaluate(align) == "right"
    assert page.locator("td.col-title").first.evaluate(align) == "left"
    author = page.locator("td.col-author_id").first
    assert author.evaluate(align) == "left"
    # The label is the link; the id beside it is smaller and grey.
    sizes = author.evaluate(
        """td => {
          const a = td.querySelector('a'), em = td.querySelector('a + em');
          return [parseFloat(getComputedStyle(a).fontSize), parseFloat(getComputedStyle(em).fontSize),
                  getComputedStyle(a).color, getComputedStyle(em).color, getComputedStyle(em).fontStyle];
        }"""
    )
    link_size, id_size, link_colour, id_colour, id_style = sizes
    assert id_size < link_size
    assert id_colour != link_colour
    assert id_style == "normal"
    # On the query page too (its cells carry data-type instead of a class).
    page.goto(demo_server.url + "/demo?sql=select+id,+title+from+books")
    assert page.locator("td.col-id").first.evaluate(align) == "right"
    assert page.locator("td.col-title").first.evaluate(align) == "left"


# --- dark mode ---------------------------------------------------------------------------------

LUMINANCE_JS = """
(el) => {
  const colour = (value) => value.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  const style = getComputedStyle(el);
  return [lum(colour(style.backgroundColor)), lum(colour(style.color))];
}
"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_dark_mode_renders_dark(demo_server, make_page, screenshot, viewport):
    page = make_page(viewport, color_scheme="dark")
    page.goto(demo_server.url + "/demo/books")
    for selector in ("body", "header.hd", "footer.ft", "input[type=search]"):
        background, text = page.locator(selector).first.evaluate(LUMINANCE_JS)
        assert background < 0.25, f"{selector} background is light in dark mode"
        assert text > 0.6, f"{selector} text is dark in dark mode"
    if viewport == DESKTOP:
        background, _ = page.locator("table.rows-and-columns th").first.evaluate(LUMINANCE_JS)
        assert background < 0.25
        page.get_by_role("button", name="Actions for column genre").click()
        menu = page.get_by_role("menu")
        background, text = menu.evaluate(LUMINANCE_JS)
        assert background < 0.25 and text > 0.6
        screenshot(page, "polish-dark-menu", full_page=False)
        page.keyboard.press("Escape")
    screenshot(page, "polish-dark-table")
    page.goto(demo_server.url + "/demo?sql=select+*+frm+books")
    expect(page.locator(".sql-editor .cm-content")).to_be_visible()
    for selector in (".sql-editor.cm-editor", ".sql-error"):
        background, text = page.locator(selector).evaluate(LUMINANCE_JS)
        assert background < 0.25 and text > 0.6, selector
    screenshot(page, "polish-dark-query-error")


def test_light_mode_stays_light(demo_server, make_page):
    page = make_page(color_scheme="light")
    page.goto(demo_server.url + "/demo/books")
    background, text = page.locator("body").evaluate(LUMINANCE_JS)
    assert background > 0.9 and text < 0.2
    # The header bar is coloured: the page's identity.
    bar, bar_text = page.locator("header.hd").evaluate(LUMINANCE_JS)
    assert bar < 0.5 < bar_text


# --- the footer's timing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/demo", "/demo/books", "/demo/books/1", "/demo?sql=select+count(*)+from+loans"]
)
def test_footer_says_how_long_the_queries_took(demo_server, page, path):
    page.goto(demo_server.url + path)
    footer = page.locator("footer.ft")
    expect(footer).to_contain_text(re.compile(r"Queries took [0-9.]+ms"))
    ms = float(re.search(r"Queries took ([0-9.]+)ms", footer.inner_text()).group(1))
    assert ms > 0


# --- SQL errors and the query page's editor ----------------------------------------------------


def test_sql_error_points_at_the_problem(demo_server, page, screenshot):
    page.goto(demo_server.url + "/demo?sql=" + "select+id,%0A++titel+from+books")
    error = page.locator(".sql-error")
    expect(error).to_contain_text("no such column: titel")
    expect(error).to_contain_text("Line 2, column 3")
    expect(page.locator(".sql-editor .cm-content")).to_be_visible()
    head = page.evaluate("() => window.datasetteSqlEditor.state.selection.main.head")
    assert head == 13
    screenshot(page, "polish-sql-error")


def test_query_page_editor_completes_table_names(demo_server, page):
    page.goto(demo_server.url + "/demo?sql=select+1")
    content = page.locator(".sql-editor .cm-content")
    expect(content).to_be_visible()
    content.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("select * from overd")
    options = page.locator(".cm-tooltip-autocomplete li")
    expect(options.filter(has_text="overdue_loans")).to_be_visible()


def test_query_textarea_without_javascript_fits_the_query(demo_server, make_page):
    page = make_page(java_script_enabled=False)
    sql = "select%0A++id,%0A++title%0Afrom%0A++books%0Alimit+3"
    page.goto(demo_server.url + "/demo?sql=" + sql)
    textarea = page.locator("textarea#sql-editor")
    assert textarea.get_attribute("rows") == "7"
    box = textarea.bounding_box()
    line = textarea.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
    assert box["height"] >= 6 * line
