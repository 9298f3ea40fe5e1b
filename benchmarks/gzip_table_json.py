"""Table JSON with gzip on and off: bytes per response on the wire and requests per second.

Serves a 10,000-row table with uvicorn on 127.0.0.1 (once with `gzip_responses` on, once
off) and fetches `/bench/items.json?_size=100` and `?_size=1000` a bounded number of times,
sequentially and with 8 requests in flight. Not a test: numbers vary by machine.

    python benchmarks/gzip_table_json.py [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time

import httpx
import uvicorn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from datasette.app import Datasette  # noqa: E402

from foundation import free_port, make_data  # noqa: E402

PATHS = ["/bench/items.json?_size=100", "/bench/items.json?_size=1000"]


class Server:
    def __init__(self, ds: Datasette):
        self.port = free_port()
        config = uvicorn.Config(ds.app(), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


async def measure(url: str, count: int, concurrency: int, accept: str) -> tuple:
    """(requests per second, wire bytes per response)."""
    wire = []
    async with httpx.AsyncClient(headers={"accept-encoding": accept}, timeout=60) as client:
        semaphore = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with semaphore:
                response = await client.get(url)
                assert response.status_code == 200
                wire.append(response.num_bytes_downloaded)

        await one()  # warm the caches
        wire.clear()
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        elapsed = time.perf_counter() - started
    return count / elapsed, sum(wire) / len(wire)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        make_data(path)
        print(f"{'path':34} {'gzip':5} {'conc':>4} {'bytes/resp':>11} {'req/s':>8}")
        for gzip_on in (False, True):
            ds = Datasette([path], settings={"gzip_responses": gzip_on, "num_sql_threads": 3})
            with Server(ds) as server:
                for path_ in PATHS:
                    for concurrency in (1, 8):
                        rate, size = asyncio.run(
                            measure(f"http://127.0.0.1:{server.port}{path_}", args.requests,
                                    concurrency, "gzip" if gzip_on else "identity")
                        )
                        label = "on" if gzip_on else "off"
                        print(f"{path_:34} {label:5} {concurrency:>4} {size:>11,.0f} {rate:>8,.0f}")
            ds.close()


if __name__ == "__main__":
    main()
