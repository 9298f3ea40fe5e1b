"""The Python side of the browser build: one Datasette instance answering requests in-process.

Loaded by the service worker (`sw.js`) and by the Node test (`test/node-test.mjs`) after the
wheels are unpacked. JavaScript calls `boot()` once, then `handle()` for every request under
the worker's scope. Nothing here knows about the browser: paths and bytes go in, a status,
headers and a body come out.

Threads do not exist under Pyodide, so the instance runs with `num_sql_threads=0` (reads and
writes inline on the event loop) and without gzip (there is no wire to save bytes on).

A service worker never sees the page's `Cookie` header and its `Set-Cookie` headers are
dropped by the browser, so cookies live here: a small jar filled from responses and sent
with each request, saved next to the databases so a sign-in survives the worker restarting.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import time
from http.cookies import SimpleCookie
from typing import Any, Optional

_state: dict = {}

# A table and a writable canned query, so the demo has a form that writes (and the page can
# show a write surviving a reload).
NOTES_TABLE = "create table if not exists notes (id integer primary key, note text not null)"
ADD_NOTE = {
    "title": "Add a note",
    "sql": "insert into notes (note) values (:note)",
    "write": True,
    "on_success_message": "Note saved in your browser",
}


def boot(data_dir: str, base_url: str = "/", root: bool = False) -> dict:
    """Create the instance over every `*.db` in `data_dir` (writing the demo database the
    first time); returns facts for the page (databases, where the internal database is)."""
    from datasette.app import Datasette
    from datasette.demo import write_demo_file

    started = time.perf_counter()
    os.makedirs(data_dir, exist_ok=True)
    demo_path = os.path.join(data_dir, "demo.db")
    if not os.path.exists(demo_path):
        write_demo_file(demo_path)
        with sqlite3.connect(demo_path) as conn:
            conn.execute(NOTES_TABLE)
    internal_path = os.path.join(data_dir, "_internal.sqlite")
    files = sorted(
        os.path.join(data_dir, name)
        for name in os.listdir(data_dir)
        if name.endswith(".db") and not name.startswith("_")
    )
    ds = Datasette(
        files,
        internal=internal_path,
        settings={"num_sql_threads": 0, "gzip_responses": False, "base_url": base_url},
        metadata={"databases": {"demo": {"queries": {"add_note": ADD_NOTE}}}},
    )
    _state.update(ds=ds, app=ds.app(), data_dir=data_dir, jar=_load_jar(data_dir))
    if root:
        _state["root_url"] = ds.urls.path("-/auth-token?token=" + ds._root_token)
    return {
        "databases": [name for name in ds.databases if not name.startswith("_")],
        "internal": internal_path,
        "boot_ms": round((time.perf_counter() - started) * 1000),
        "root_url": _state.get("root_url"),
    }


def shutdown() -> None:
    """Close the instance's connections (the worker is going away or a test has ended)."""
    ds = _state.pop("ds", None)
    if ds is not None:
        ds.close()


def root_login_path() -> Optional[str]:
    """The one-time `--root`-style sign-in link, if `boot(root=True)`."""
    ds = _state["ds"]
    return ds.urls.path("-/auth-token?token=" + ds._root_token)


async def add_database_file(name: str, data: bytes) -> str:
    """Save an uploaded SQLite file into the data folder and serve it; returns its route."""
    ds = _state["ds"]
    name = _safe_name(name)
    path = os.path.join(_state["data_dir"], name + ".db")
    with open(path, "wb") as fp:
        fp.write(bytes(data))
    sqlite3.connect(path).execute("select count(*) from sqlite_master").fetchone()
    return _serve(ds, path, name)


async def add_csv(name: str, text: str, database: str = "uploads") -> str:
    """Turn CSV text into a table (columns as in the header row, values as text) in the
    `uploads` database; returns the table's path."""
    ds = _state["ds"]
    table = _safe_name(name)
    path = os.path.join(_state["data_dir"], database + ".db")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValueError("The CSV file is empty")
    header, body = rows[0], rows[1:]
    columns = ", ".join('"{}" text'.format(c.replace('"', '""')) for c in header)
    placeholders = ", ".join("?" for _ in header)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute('drop table if exists "{}"'.format(table))
        conn.execute('create table "{}" ({})'.format(table, columns))
        conn.executemany(
            'insert into "{}" values ({})'.format(table, placeholders),
            [(r + [None] * len(header))[: len(header)] for r in body],
        )
    conn.close()
    route = _serve(ds, path, database)
    return route + "/" + table


def _serve(ds: Any, path: str, name: str) -> str:
    from datasette.database import Database

    if name not in ds.databases:
        ds.add_database(Database(ds, path=path, is_mutable=True), name=name)
    return ds.urls.database(name)


def _safe_name(name: str) -> str:
    stem = re.sub(r"\.(db|sqlite3?|csv)$", "", os.path.basename(name), flags=re.I)
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_") or "data"


async def handle(method: str, path: str, headers: list, body: bytes) -> tuple:
    """Run one request through the ASGI app; returns `(status, headers, body)`.

    `path` is the full URL or just the path with its query string; a full URL gives the
    app the real host and scheme for the absolute links it builds. `Set-Cookie` headers are
    kept in the jar and left out of the returned headers."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(path)
    host, scheme = parts.netloc or "localhost", parts.scheme or "http"
    path_only, query = parts.path or "/", parts.query

    raw_headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in headers
        if k.lower() != "cookie"
    ]
    cookie = _cookie_header(_state["jar"])
    if cookie:
        raw_headers.append((b"cookie", cookie.encode("latin-1")))
    raw_headers.append((b"host", host.encode("latin-1")))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": scheme,
        "path": unquote(path_only),
        "raw_path": path_only.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 0),
        "server": (parts.hostname or "localhost", parts.port or (443 if scheme == "https" else 80)),
    }
    pending = [{"type": "http.request", "body": bytes(body or b""), "more_body": False}]
    sent: dict = {"status": 500, "headers": [], "body": []}

    async def receive() -> dict:
        if pending:
            return pending.pop()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = message.get("headers") or []
        elif message["type"] == "http.response.body":
            sent["body"].append(message.get("body", b""))

    await _state["app"](scope, receive, send)
    out_headers = []
    for key, value in sent["headers"]:
        name, text = key.decode("latin-1"), value.decode("latin-1")
        if name.lower() == "set-cookie":
            _remember(text)
        else:
            out_headers.append([name, text])
    return sent["status"], out_headers, b"".join(sent["body"])


# -- cookies ---------------------------------------------------------------------------------


def _jar_path(data_dir: str) -> str:
    return os.path.join(data_dir, "_cookies.json")


def _load_jar(data_dir: str) -> dict:
    try:
        with open(_jar_path(data_dir)) as fp:
            return json.load(fp)
    except (OSError, ValueError):
        return {}


def _remember(set_cookie: str) -> None:
    parsed: SimpleCookie = SimpleCookie()
    parsed.load(set_cookie)
    jar = _state["jar"]
    for name, morsel in parsed.items():
        expired = morsel["max-age"] in ("0", "-1") or (
            morsel["expires"] and "1970" in morsel["expires"]
        )
        if expired or morsel.value == "":
            jar.pop(name, None)
        else:
            jar[name] = morsel.value
    with open(_jar_path(_state["data_dir"]), "w") as fp:
        json.dump(jar, fp)


def _cookie_header(jar: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def cookies() -> dict:
    """The cookies the app has set (for tests and the page's "signed in as" line)."""
    return dict(_state.get("jar", {}))
