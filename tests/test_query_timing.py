"""The footer's "Queries took" timing, the query page's SQL error position, and the
query page's editor schema.

Pages are fetched in-process through `datasette.client` over a real SQLite file.
"""

import asyncio
import json
import re

import pytest

from datasette.tracer import QueryTimer, queries_ms, time_queries, trace
from datasette.utils.sql_errors import error_position

FOOTER_TIMING = re.compile(r"Queries took ([0-9.]+)ms")


def footer_ms(html):
    footer = html.split('<footer class="ft">', 1)[1].split("</footer>", 1)[0]
    match = FOOTER_TIMING.search(footer)
    return float(match.group(1)) if match else None


# -- the timer ---------------------------------------------------------------------------------


def test_queries_ms_is_none_outside_a_timer_and_before_any_query():
    assert queries_ms() is None
    with time_queries():
        assert queries_ms() is None
        with trace("view", name="not sql"):
            pass
        assert queries_ms() is None


def test_time_queries_adds_up_sql_traces_only():
    with time_queries():
        with trace("sql", sql="select 1"):
            pass
        first = queries_ms()
        with trace("sql", sql="select 2"):
            sum(range(20000))
        second = queries_ms()
    assert first is not None and first >= 0
    assert second > first
    assert queries_ms() is None


@pytest.mark.asyncio
async def test_child_tasks_add_to_the_request_total_and_requests_stay_apart():
    async def query():
        with trace("sql", sql="select 1"):
            await asyncio.sleep(0)

    async def request(queries):
        with time_queries():
            await asyncio.gather(*(query() for _ in range(queries)))
            return queries_ms()

    none, some = await asyncio.gather(request(0), request(3))
    assert none is None
    assert some is not None


@pytest.mark.asyncio
async def test_query_timer_middleware_scopes_a_total_per_http_request():
    seen = []

    async def app(scope, receive, send):
        with trace("sql", sql="select 1"):
            pass
        seen.append(queries_ms())

    timer = QueryTimer(app)
    await timer({"type": "http", "path": "/"}, None, None)
    await timer({"type": "lifespan"}, None, None)
    assert seen[0] is not None
    assert seen[1] is None


# -- pages -------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path",
    [
        "/sample",
        "/sample/books",
        "/sample/books/1",
        "/sample?sql=select+*+from+books",
    ],
)
async def test_pages_that_run_queries_say_how_long_they_took(make_ds, db_path, path):
    ds = make_ds([str(db_path)])
    response = await ds.client.get(path)
    assert response.status_code == 200
    ms = footer_ms(response.text)
    assert ms is not None, "no 'Queries took' in the footer of " + path
    assert ms >= 0


@pytest.mark.asyncio
async def test_trace_still_works_beside_the_footer_timing(make_ds, db_path):
    ds = make_ds([str(db_path)], settings={"trace_debug": True})
    response = await ds.client.get("/sample/books.json?_trace=1")
    traces = response.json()["_trace"]
    assert any("from books" in (t.get("sql") or "") for t in traces["traces"])
    html = (await ds.client.get("/sample/books?_trace=1")).text
    assert footer_ms(html) is not None
    assert "<pre>" in html.rsplit('<footer class="ft">', 1)[1]


# -- SQL error position ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql,message,expected",
    [
        ("select * frm books", 'near "frm": syntax error', (9, 1, 10)),
        ("select nme from books", "no such column: nme", (7, 1, 8)),
        ("select *\nfrom  bookz", "no such table: bookz", (15, 2, 7)),
        ("select *\r\nfrom  bookz", "no such table: bookz", (15, 2, 7)),
        ("select b.nope from books b", "no such column: b.nope", (7, 1, 8)),
        ("select nope(1)", "no such function: nope", (7, 1, 8)),
        # The token inside a string literal or a comment is not the one SQLite meant.
        ("select 'frm', -- frm\n* frm books", 'near "frm": syntax error', (23, 2, 3)),
        ("select 'abc", 'unrecognized token: "\'abc"', (7, 1, 8)),
        ("select * from books where", "incomplete input", (25, 1, 26)),
        # The browser's editor counts UTF-16 code units: an emoji is two.
        ("select '😀', * frm books", 'near "frm": syntax error', (15, 1, 15)),
    ],
)
def test_error_position_from_sqlite_messages(sql, message, expected):
    position = error_position(sql, message)
    assert (position.offset, position.line, position.column) == expected


def test_error_position_is_none_when_the_message_names_nothing():
    assert error_position("select 1", "database is locked") is None
    assert error_position("select 1", "no such column: elsewhere") is None


@pytest.mark.asyncio
async def test_query_page_shows_error_with_line_and_column(make_ds, db_path):
    ds = make_ds([str(db_path)])
    response = await ds.client.get("/sample", params={"sql": "select id,\n  titel from books"})
    assert response.status_code == 200
    match = re.search(
        r'<div class="sql-error"[^>]*data-error-offset="(\d+)"[^>]*>(.*?)</div>',
        response.text,
        re.S,
    )
    assert match, "no positioned error element"
    assert match.group(1) == "13"
    assert '<p class="message-error">no such column: titel</p>' in match.group(2)
    assert "Line 2, column 3" in match.group(2)


@pytest.mark.asyncio
async def test_query_page_error_without_a_position_has_no_offset(make_ds, db_path):
    ds = make_ds([str(db_path)])
    response = await ds.client.get("/sample", params={"sql": "select 1 / 0 from nothere_x"})
    text = response.text
    assert "no such table: nothere_x" in text
    assert "data-error-offset" in text
    response = await ds.client.get("/sample", params={"sql": "select json_extract('{', '$')"})
    assert "malformed JSON" in response.text
    assert "data-error-offset" not in response.text


# -- the query page's editor ---------------------------------------------------------------


def editor_schema(html):
    match = re.search(r'<script type="application/json" id="sql-schema">(.*?)</script>', html, re.S)
    return json.loads(match.group(1)) if match else None


@pytest.mark.asyncio
async def test_query_page_gives_the_editor_the_schema(make_ds, db_path):
    ds = make_ds([str(db_path)])
    html = (await ds.client.get("/sample", params={"sql": "select 1"})).text
    schema = editor_schema(html)
    assert schema["books"] == ["id", "title", "author_id", "year"]
    assert schema["recent_books"] == ["id", "title", "author_id", "year"]
    assert set(schema) >= {"authors", "tags"}


@pytest.mark.asyncio
async def test_query_page_schema_hides_tables_the_actor_cannot_see(make_ds, db_path):
    ds = make_ds(
        [str(db_path)],
        metadata={"databases": {"sample": {"tables": {"authors": {"allow": {"id": "root"}}}}}},
    )
    html = (await ds.client.get("/sample", params={"sql": "select 1"})).text
    schema = editor_schema(html)
    assert "books" in schema
    assert "authors" not in schema


@pytest.mark.asyncio
@pytest.mark.parametrize("lines,rows", [(1, 3), (4, 5), (60, 25)])
async def test_query_textarea_is_as_tall_as_the_query(make_ds, db_path, lines, rows):
    ds = make_ds([str(db_path)])
    sql = "\n".join(["select 1"] + ["-- line"] * (lines - 1))
    html = (await ds.client.get("/sample", params={"sql": sql})).text
    match = re.search(r'<textarea id="sql-editor" name="sql" rows="(\d+)"', html)
    assert match and int(match.group(1)) == rows
