"""The SQL editor (static/sql-editor.js, built from frontend/) in a real Chromium: it replaces
the textarea, completes table and column names from the page's schema, formats SQL and runs
the query with Ctrl-Enter. Without JavaScript the plain textarea still runs queries."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


def editor(page):
    return page.locator(".sql-editor .cm-content")


def test_editor_replaces_the_textarea_and_keeps_it_in_step(read_api_server, page, screenshot):
    page.goto(read_api_server.url + "/fixtures")
    expect(editor(page)).to_be_visible()
    expect(page.locator("textarea#sql-editor-source")).to_be_hidden()
    expect(page.locator(".sql-editor .cm-lineNumbers")).to_be_visible()
    editor(page).click()
    page.keyboard.press("Control+a")
    page.keyboard.type("select 42")
    assert page.locator("textarea#sql-editor-source").input_value() == "select 42"
    screenshot(page, "sql-editor-database")


def test_completion_offers_table_names(read_api_server, page, screenshot):
    page.goto(read_api_server.url + "/fixtures")
    editor(page).click()
    page.keyboard.press("Control+a")
    page.keyboard.type("select * from simple_pr")
    option = page.locator(".cm-tooltip-autocomplete li", has_text="simple_primary_key")
    expect(option.first).to_be_visible()
    screenshot(page, "sql-editor-completion", full_page=False)
    option.first.click()
    assert page.locator("textarea#sql-editor-source").input_value() == "select * from simple_primary_key"


def test_completion_offers_column_names(read_api_server, page):
    page.goto(read_api_server.url + "/fixtures")
    editor(page).click()
    page.keyboard.press("Control+a")
    page.keyboard.type("select simple_primary_key.con")
    expect(page.locator(".cm-tooltip-autocomplete li", has_text="content").first).to_be_visible()


def test_format_sql_button(read_api_server, page):
    page.goto(read_api_server.url + "/fixtures")
    editor(page).click()
    page.keyboard.press("Control+a")
    page.keyboard.type("select id, content from simple_primary_key where id > 1 order by id")
    button = page.locator("#sql-format")
    expect(button).to_be_visible()
    button.click()
    value = page.locator("textarea#sql-editor-source").input_value()
    assert value.startswith("select\n"), value
    assert "\nfrom\n  simple_primary_key\n" in value, value


def test_ctrl_enter_runs_the_query(read_api_server, page):
    page.goto(read_api_server.url + "/fixtures")
    editor(page).click()
    page.keyboard.press("Control+a")
    page.keyboard.type("select 6 * 7 as answer")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert parse_qs(urlsplit(page.url).query)["sql"] == ["select 6 * 7 as answer"]
    expect(page.locator("td.col-answer")).to_have_text("42")


def test_query_page_has_the_editor_with_the_sql(read_api_server, page):
    page.goto(read_api_server.url + "/fixtures?sql=select+1+as+one")
    expect(editor(page)).to_contain_text("select 1 as one")


def test_schema_is_embedded_for_actors_who_may_run_sql(read_api_server, page):
    page.goto(read_api_server.url + "/fixtures")
    schema = json.loads(page.locator("#sql-schema").text_content())
    assert "simple_primary_key" in schema
    assert "content" in schema["simple_primary_key"]


def test_without_javascript_the_textarea_runs_queries(read_api_server, make_page):
    page = make_page(java_script_enabled=False)
    page.goto(read_api_server.url + "/fixtures")
    textarea = page.locator("textarea#sql-editor")
    expect(textarea).to_be_visible()
    textarea.fill("select 'plain' as mode")
    page.locator("form.sql input[type=submit]").click()
    page.wait_for_url(re.compile(r".*sql=.*"))
    expect(page.locator("td.col-mode")).to_have_text("plain")
