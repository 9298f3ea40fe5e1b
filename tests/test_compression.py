"""Compressed responses (`datasette/utils/compression.py`, setting `gzip_responses`).

Through real HTTP (uvicorn) the raw bytes on the wire are read with `iter_raw()`, gunzipped
by the standard library and compared with the same URL fetched uncompressed; through
`datasette.client` the headers are checked and httpx decodes the body.
"""

import gzip
import sqlite3
import zlib

import httpx
import pytest

from datasette.utils.compression import (
    FLUSH_EVERY,
    GzipMiddleware,
    _with_vary,
    accepts_gzip,
    is_compressible_type,
)

ROWS = 3000


@pytest.fixture
def big_db(tmp_path):
    """A real SQLite file with one table of ROWS repetitive rows (compresses well)."""
    path = tmp_path / "big.db"
    conn = sqlite3.connect(path)
    conn.execute("create table items (id integer primary key, name text, category text)")
    conn.executemany(
        "insert into items values (?, ?, ?)",
        [(i, f"item number {i}", ["red", "green", "blue"][i % 3]) for i in range(1, ROWS + 1)],
    )
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def server(make_ds, serve_ds, big_db):
    ds = make_ds([str(big_db)], settings={"default_cache_ttl": 0})
    with serve_ds(ds) as running:
        yield running


def fetch(url, accept_encoding):
    """(response, raw bytes exactly as sent) for `url` with the given Accept-Encoding."""
    with httpx.Client(timeout=60) as client:
        with client.stream("GET", url, headers={"accept-encoding": accept_encoding}) as response:
            raw = b"".join(response.iter_raw())
    return response, raw


def vary_tokens(response):
    return [v.strip().lower() for h in response.headers.get_list("vary") for v in h.split(",")]


# -- through real HTTP ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "path,content_type",
    [
        ("/big/items.json?_size=1000", "application/json"),
        ("/big/items", "text/html"),
        ("/big/items.csv?_size=1000", "text/plain"),
        ("/big.json?sql=select+*+from+items", "application/json"),
        ("/-/static/app.css", "text/css"),
    ],
)
def test_compressed_when_asked_and_identical_after_decompression(server, path, content_type):
    plain, plain_raw = fetch(server.url + path, "identity")
    zipped, zipped_raw = fetch(server.url + path, "gzip, deflate")
    assert plain.status_code == zipped.status_code == 200
    assert zipped.headers["content-type"].startswith(content_type)
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    if "content-length" in zipped.headers:  # CSV is always streamed, so chunked
        assert int(zipped.headers["content-length"]) == len(zipped_raw)
    assert len(zipped_raw) < len(plain_raw)
    assert zipped_raw[:2] == b"\x1f\x8b"
    body = gzip.decompress(zipped_raw)
    if path.startswith("/big/items."):
        assert body == plain_raw
    else:
        # HTML and the database page carry per-request timings or tokens: compare shape.
        assert abs(len(body) - len(plain_raw)) < 200
    assert "accept-encoding" in vary_tokens(zipped)
    assert "accept-encoding" in vary_tokens(plain)


@pytest.mark.slow
@pytest.mark.parametrize("accept", [None, "identity", "br", "gzip;q=0", "*;q=0", "deflate"])
def test_not_compressed_when_not_asked(server, accept):
    headers = {} if accept is None else {"accept-encoding": accept}
    with httpx.Client(timeout=60) as client:
        if accept is None:
            # httpx adds its own Accept-Encoding unless told otherwise: remove it.
            client.headers.pop("accept-encoding", None)
        with client.stream("GET", server.url + "/big/items.json?_size=1000", headers=headers) as r:
            raw = b"".join(r.iter_raw())
    assert r.status_code == 200
    assert "content-encoding" not in r.headers
    assert raw.startswith(b"{")
    assert raw.rstrip().endswith(b"}")
    assert "accept-encoding" in vary_tokens(r)


@pytest.mark.slow
def test_star_accepts_gzip(server):
    response, raw = fetch(server.url + "/big/items.json?_size=1000", "*")
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw).startswith(b"{")


@pytest.mark.slow
def test_streaming_csv_compressed_correctly(server):
    url = server.url + "/big/items.csv?_stream=1&_size=max"
    plain, plain_raw = fetch(url, "identity")
    with httpx.Client(timeout=60) as client:
        with client.stream("GET", url, headers={"accept-encoding": "gzip"}) as zipped:
            chunks = [chunk for chunk in zipped.iter_raw() if chunk]
    raw = b"".join(chunks)
    assert zipped.headers["content-encoding"] == "gzip"
    # Streamed: no length known up front, so chunked transfer encoding.
    assert "content-length" not in zipped.headers
    assert zipped.headers.get("transfer-encoding") == "chunked"
    body = gzip.decompress(raw)
    assert body == plain_raw
    assert body.count(b"\r\n") == ROWS + 1
    assert body.splitlines()[-1] == b"3000,item number 3000,red"
    assert len(raw) * 3 < len(plain_raw)


@pytest.mark.slow
def test_small_responses_and_binary_left_alone(server):
    small, raw = fetch(server.url + "/big.json?sql=select+1+as+n&_shape=array", "gzip")
    assert raw == b'[{"n": 1}]'
    assert "content-encoding" not in small.headers
    icon, icon_raw = fetch(server.url + "/favicon.ico", "gzip")
    assert "content-encoding" not in icon.headers
    assert icon_raw[:4] == b"\x89PNG"


@pytest.mark.slow
def test_head_request_not_compressed(server):
    with httpx.Client(timeout=60) as client:
        response = client.head(server.url + "/big/items.json", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers


@pytest.mark.slow
@pytest.mark.parametrize("value", [False, "off"])
def test_setting_switches_it_off(make_ds, serve_ds, big_db, value):
    ds = make_ds([str(big_db)], settings={"gzip_responses": value})
    with serve_ds(ds) as running:
        response, raw = fetch(running.url + "/big/items.json?_size=1000", "gzip")
    assert "content-encoding" not in response.headers
    assert raw.startswith(b"{")
    assert "accept-encoding" not in vary_tokens(response)


def test_setting_accepted_in_config_but_not_listed(make_ds):
    ds = make_ds(config={"settings": {"gzip_responses": False}})
    assert ds.setting("gzip_responses") is False
    assert "gzip_responses" not in ds.settings_dict()
    assert make_ds().setting("gzip_responses") is True


# -- through datasette.client -----------------------------------------------------------------


@pytest.mark.asyncio
async def test_internal_client_uncompressed_by_default_gzip_on_request(make_ds, big_db):
    ds = make_ds([str(big_db)])
    plain = await ds.client.get("/big/items.json?_size=1000&_shape=array")
    assert "content-encoding" not in plain.headers
    zipped = await ds.client.get(
        "/big/items.json?_size=1000&_shape=array", headers={"accept-encoding": "gzip"}
    )
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content
    assert len(zipped.json()) == 1000


# -- the pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header,expected",
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("GZIP;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, *", False),
        ("deflate, br", False),
        ("*", True),
        ("*;q=0", False),
        ("x-gzip", True),
        ("", False),
        ("gzip;q=bogus", False),
    ],
)
def test_accepts_gzip(header, expected):
    assert accepts_gzip(header) is expected


@pytest.mark.parametrize(
    "content_type,expected",
    [
        ("text/html; charset=utf-8", True),
        ("application/json", True),
        ("text/csv; charset=utf-8", True),
        ("application/javascript", True),
        ("image/svg+xml", True),
        ("application/vnd.api+json", True),
        ("image/png", False),
        ("application/octet-stream", False),
        ("", False),
    ],
)
def test_is_compressible_type(content_type, expected):
    assert is_compressible_type(content_type) is expected


def test_vary_merged_once():
    assert _with_vary([(b"vary", b"Cookie")]) == [(b"vary", b"Cookie, Accept-Encoding")]
    assert _with_vary([(b"Vary", b"accept-encoding")]) == [(b"Vary", b"accept-encoding")]
    assert _with_vary([]) == [(b"vary", b"Accept-Encoding")]


async def _run(app, headers):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    await GzipMiddleware(app)(scope, receive, send)
    return sent


@pytest.mark.asyncio
async def test_already_encoded_body_not_compressed_twice():
    payload = gzip.compress(b"x" * 5000)

    async def app(scope, receive, send):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-encoding", b"gzip")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    sent = await _run(app, [(b"accept-encoding", b"gzip")])
    assert sent[1]["body"] == payload
    assert [v for k, v in sent[0]["headers"] if k == b"content-encoding"] == [b"gzip"]


@pytest.mark.asyncio
async def test_streamed_chunks_decodable_as_they_arrive():
    big = [bytes([65 + i]) * FLUSH_EVERY for i in range(3)]

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/csv")]})
        for chunk in big:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    sent = await _run(app, [(b"accept-encoding", b"gzip")])
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    # Each flushed chunk decodes on its own, before the stream ends.
    assert decoder.decompress(sent[1]["body"]) == big[0]
    assert decoder.decompress(sent[2]["body"]) == big[1]
    rest = b"".join(m["body"] for m in sent[3:])
    assert decoder.decompress(rest) == big[2]
    assert decoder.eof


@pytest.mark.asyncio
async def test_small_streamed_chunks_batched_until_flush():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/csv")]})
        for i in range(2000):
            await send({"type": "http.response.body", "body": f"{i},row\r\n".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    sent = await _run(app, [(b"accept-encoding", b"gzip")])
    bodies = [m["body"] for m in sent[1:]]
    assert len(bodies) < 20  # not one gzip block per row
    assert sent[-1]["more_body"] is False
    assert gzip.decompress(b"".join(bodies)) == b"".join(f"{i},row\r\n".encode() for i in range(2000))
