"""Foundation benchmarks: internal-database writes and SQL JSON over real HTTP.

Prints one line per scenario. Not a test: numbers vary by machine. The side-by-side
comparison with upstream Datasette belongs to the read-API benchmarks.

    python benchmarks/foundation.py [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import statistics
import sys
import tempfile
import threading
import time

import httpx
import uvicorn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from datasette.app import Datasette  # noqa: E402


def make_data(path: str, rows: int = 10_000) -> None:
    conn = sqlite3.connect(path)
    conn.execute("create table items (id integer primary key, name text, value real)")
    conn.executemany(
        "insert into items (name, value) values (?, ?)",
        ((f"item {i}", i * 1.5) for i in range(rows)),
    )
    conn.commit()
    conn.close()


async def bench_internal_writes(ds: Datasette, count: int) -> None:
    db = ds.get_internal_database()
    await db.execute_write("create table if not exists bench_events (id integer primary key, body text)")
    start = time.perf_counter()
    for i in range(count):
        await db.execute_write("insert into bench_events (body) values (?)", [f"e{i}"])
    sequential = time.perf_counter() - start
    start = time.perf_counter()
    await asyncio.gather(
        *(db.execute_write("insert into bench_events (body) values (?)", [f"c{i}"]) for i in range(count))
    )
    concurrent = time.perf_counter() - start
    print(f"internal writes, sequential: {count / sequential:,.0f} writes/s")
    print(f"internal writes, {count} concurrent: {count / concurrent:,.0f} writes/s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_http(ds: Datasette, requests: int) -> None:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(ds.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(3000):
        if server.started:
            break
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}/data.json?sql=select+*+from+items+where+id+%3E+:x+limit+50&x=100"
    timings = []
    with httpx.Client() as client:
        client.get(url)
        for _ in range(requests):
            start = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200
    server.should_exit = True
    thread.join(10)
    print(
        f"SQL JSON over HTTP: median {statistics.median(timings) * 1000:.2f} ms, "
        f"{len(timings) / sum(timings):,.0f} requests/s (one client)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--writes", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.db")
        make_data(path)
        ds = Datasette([path], internal=os.path.join(tmp, "internal.db"))
        try:
            asyncio.run(ds.invoke_startup())
            asyncio.run(bench_internal_writes(ds, args.writes))
            bench_http(ds, args.requests)
        finally:
            ds.close()


if __name__ == "__main__":
    main()
