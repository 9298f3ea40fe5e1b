"""`datasette.tracer`: trace(), capture_traces(), child tasks and the `?_trace=1` middleware."""

import asyncio
import json

import pytest

from datasette.tracer import (
    AsgiTracer,
    capture_traces,
    get_task_id,
    trace,
    trace_child_tasks,
)


def test_trace_outside_capture_records_nothing_and_yields_kwargs():
    collected = []
    with trace("sql", sql="select 1") as info:
        assert info == {"sql": "select 1"}
    with capture_traces(collected):
        pass
    assert collected == []


@pytest.mark.parametrize("key", ["type", "start", "end", "duration_ms", "traceback"])
def test_reserved_keys_raise(key):
    with pytest.raises(AssertionError):
        with trace("sql", **{key: "x"}):
            pass


def test_capture_records_fields_and_late_kwargs():
    collected = []
    with capture_traces(collected):
        with trace("sql", database="fixtures", sql="select 1", params={}) as info:
            info["rows"] = 3
    assert len(collected) == 1
    entry = collected[0]
    assert entry["type"] == "sql"
    assert (entry["database"], entry["sql"], entry["params"], entry["rows"]) == (
        "fixtures",
        "select 1",
        {},
        3,
    )
    assert entry["end"] >= entry["start"]
    assert entry["duration_ms"] == pytest.approx((entry["end"] - entry["start"]) * 1000)
    assert isinstance(entry["traceback"], list) and entry["traceback"]
    assert all(isinstance(line, str) for line in entry["traceback"])
    # The stack shows where the traced block is, not the tracer's own frames.
    assert "test_tracer.py" in entry["traceback"][-1]


def test_trace_recorded_even_when_block_raises():
    collected = []
    with capture_traces(collected):
        with pytest.raises(ZeroDivisionError):
            with trace("sql", sql="boom"):
                1 / 0
    assert [t["sql"] for t in collected] == ["boom"]


def test_capture_stops_at_end_of_block():
    collected = []
    with capture_traces(collected):
        with trace("one"):
            pass
    with trace("two"):
        pass
    assert [t["type"] for t in collected] == ["one"]


@pytest.mark.asyncio
async def test_concurrent_tasks_do_not_share_traces():
    async def request(name, delay):
        collected = []
        with capture_traces(collected):
            await asyncio.sleep(delay)
            with trace("sql", sql=name):
                await asyncio.sleep(0.01)
        return [t["sql"] for t in collected]

    results = await asyncio.gather(request("a", 0.01), request("b", 0), request("c", 0.005))
    assert results == [["a"], ["b"], ["c"]]


@pytest.mark.asyncio
async def test_trace_child_tasks_collects_from_gathered_tasks():
    async def child(n):
        with trace("sql", sql=f"select {n}"):
            await asyncio.sleep(0)

    collected = []
    with capture_traces(collected):
        with trace_child_tasks():
            await asyncio.gather(child(1), child(2))
    assert sorted(t["sql"] for t in collected) == ["select 1", "select 2"]


def test_get_task_id_none_outside_event_loop():
    assert get_task_id() is None


@pytest.mark.asyncio
async def test_get_task_id_differs_per_task():
    async def task_id():
        return get_task_id()

    outer = get_task_id()
    first, second = await asyncio.gather(task_id(), task_id())
    assert isinstance(outer, int)
    assert len({outer, first, second}) == 3


# --- AsgiTracer --------------------------------------------------------------


def app_returning(body, content_type, chunks=1, traced=True):
    async def app(scope, receive, send):
        if traced:
            with trace("sql", database="db", sql="select 1", params=[]):
                pass
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    [b"x-before", b"1"],
                    [b"content-type", content_type.encode()],
                    [b"content-length", str(len(body)).encode()],
                ],
            }
        )
        size = -(-len(body) // chunks)
        pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        for i, piece in enumerate(pieces):
            await send(
                {"type": "http.response.body", "body": piece, "more_body": i < len(pieces) - 1}
            )

    return app


async def call(app, path="/db/t.json", query=b"_trace=1"):
    messages = []

    async def send(message):
        messages.append(message)

    await AsgiTracer(app)({"type": "http", "path": path, "query_string": query}, None, send)
    headers = {k.decode(): v.decode() for k, v in messages[0]["headers"]}
    body = b"".join(m.get("body", b"") for m in messages[1:])
    return headers, body, messages


@pytest.mark.asyncio
async def test_json_object_gains_trace_key():
    app = app_returning(b'{"ok": true}', "application/json; charset=utf-8", chunks=3)
    headers, body, _ = await call(app)
    data = json.loads(body)
    assert data["ok"] is True
    trace_info = data["_trace"]
    assert set(trace_info) == {
        "request_duration_ms",
        "sum_trace_duration_ms",
        "num_traces",
        "traces",
    }
    assert trace_info["num_traces"] == 1
    assert trace_info["traces"][0]["sql"] == "select 1"
    assert trace_info["traces"][0]["database"] == "db"
    assert headers["content-length"] == str(len(body))
    assert headers["x-before"] == "1"


@pytest.mark.asyncio
@pytest.mark.parametrize("query", [b"", b"_trace=0", b"_trace=10", b"x_trace=1"])
async def test_without_literal_trace_1_body_is_untouched(query):
    app = app_returning(b'{"ok": true}', "application/json")
    _, body, _ = await call(app, query=query)
    assert body == b'{"ok": true}'


@pytest.mark.asyncio
async def test_json_list_is_left_alone():
    app = app_returning(b"[1, 2]", "application/json")
    _, body, _ = await call(app, query=b"a=1&_trace=1")
    assert body == b"[1, 2]"


@pytest.mark.asyncio
async def test_html_gets_escaped_pre_before_body_end():
    app = app_returning(b"<html><body><p>hi</p></body></html>", "text/html; charset=utf-8")
    headers, body, _ = await call(app, path="/db")
    text = body.decode()
    assert text.startswith("<html><body><p>hi</p><pre>")
    assert text.endswith("</pre></body></html>")
    assert "&quot;num_traces&quot;: 1" in text
    assert headers["content-length"] == str(len(body))


@pytest.mark.asyncio
async def test_csv_is_wrapped_in_textarea():
    app = app_returning(b"id,name\r\n1,<b>\r\n", "text/plain; charset=utf-8")
    headers, body, _ = await call(app, path="/db/t.csv")
    text = body.decode()
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "<textarea" in text and "id,name\r\n1,&lt;b&gt;\r\n</textarea>" in text
    assert "<pre>" in text


@pytest.mark.asyncio
async def test_large_bodies_pass_through_unchanged():
    big = json.dumps({"data": "x" * (300 * 1024)}).encode()
    app = app_returning(big, "application/json", chunks=4)
    headers, body, messages = await call(app)
    assert body == big
    assert headers["content-length"] == str(len(big))
    assert messages[-1]["more_body"] is False


@pytest.mark.asyncio
async def test_non_http_scopes_pass_straight_through():
    seen = []

    async def app(scope, receive, send):
        seen.append((scope, receive, send))

    async def send(message):
        pass

    scope = {"type": "lifespan", "query_string": b"_trace=1"}
    await AsgiTracer(app)(scope, "receive", send)
    assert seen == [(scope, "receive", send)]
