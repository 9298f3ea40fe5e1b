"""Write-API inserts with the audit log on and off (issue 10's speed goal: on >= 0.9 x off).

Each round serves a fresh copy of one database under a real uvicorn server (in a thread)
and sends POST /data/items/-/insert as root with an API token: first one row per
request, then 100 rows per request, each over `--concurrency` connections. Rounds
alternate audit on / audit off so drift of the machine is spread over both. Prints the
median requests per second of each mode (with the range), their ratio, and the median of
the ratios within each round. Not a test: numbers vary.

    python benchmarks/audit_writes.py [--rounds 5] [--requests 300] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
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

SCENARIOS = (("insert_1_row", 1), ("insert_100_rows", 100))
WARMUP = 10


def make_data(path: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("create table items (id integer primary key, name text, value real)")
    conn.commit()
    conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def send_inserts(url: str, token: str, rows_per_request: int, requests: int,
                       concurrency: int) -> float:
    """Requests per second for `requests` inserts over `concurrency` connections."""
    body = {"rows": [{"name": f"n{i}", "value": i * 0.5} for i in range(rows_per_request)]}
    headers = {"Authorization": f"Bearer {token}"}
    queue: asyncio.Queue = asyncio.Queue()
    for _ in range(requests):
        queue.put_nowait(None)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=60) as client:
        for _ in range(WARMUP):  # unmeasured
            response = await client.post(url, json=body)
            assert response.status_code == 201, response.text

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                response = await client.post(url, json=body)
                assert response.status_code == 201, response.text

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - start)


def run_round(source: str, tmp: str, audit_on: bool, args: argparse.Namespace) -> dict:
    path = os.path.join(tmp, f"data-{audit_on}.db")
    shutil.copy(source, path)
    ds = Datasette([path])
    ds.activity.audit.enabled = audit_on
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(ds.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(3000):
            if server.started:
                break
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}/data-{audit_on}/items/-/insert"
        token = ds.create_token("root")
        results, sent = {}, 0
        for name, rows in SCENARIOS:
            requests = args.requests if rows == 1 else max(args.requests // 3, 20)
            results[name] = asyncio.run(
                send_inserts(url, token, rows, requests, args.concurrency)
            )
            sent += requests + WARMUP
        audited = asyncio.run(_count_audit_rows(ds))
        assert audited == (sent if audit_on else 0), f"{audited} audit rows for {sent} calls"
        return results
    finally:
        server.should_exit = True
        thread.join(10)
        ds.close()
        os.remove(path)


async def _count_audit_rows(ds: Datasette) -> int:
    await ds.activity.audit.flush()
    results = await ds.get_internal_database().execute("select count(*) from audit_log")
    return results.single_value()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--only", choices=("insert_1_row", "insert_100_rows"), help="One scenario")
    args = parser.parse_args()
    global SCENARIOS
    if args.only:
        SCENARIOS = tuple(s for s in SCENARIOS if s[0] == args.only)
    measured: dict = {(name, mode): [] for name, _ in SCENARIOS for mode in (True, False)}
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "source.db")
        make_data(source)
        for round_number in range(args.rounds):
            order = (True, False) if round_number % 2 == 0 else (False, True)
            for audit_on in order:
                for name, value in run_round(source, tmp, audit_on, args).items():
                    measured[(name, audit_on)].append(value)
    for name, _ in SCENARIOS:
        on = statistics.median(measured[(name, True)])
        off = statistics.median(measured[(name, False)])
        spread = {
            mode: f"{min(measured[(name, mode)]):,.0f}-{max(measured[(name, mode)]):,.0f}"
            for mode in (True, False)
        }
        # Each round ran both modes back to back: the ratio within a round is less
        # exposed to the machine's drift than the ratio of the medians.
        paired = statistics.median(
            a / b for a, b in zip(measured[(name, True)], measured[(name, False)])
        )
        print(
            f"{name}: audit on {on:,.0f} req/s ({spread[True]}), audit off {off:,.0f} req/s "
            f"({spread[False]}), on/off {on / off:.3f}, median on/off within a round "
            f"{paired:.3f} ({args.rounds} rounds)"
        )


if __name__ == "__main__":
    main()
