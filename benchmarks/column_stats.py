"""Column statistics benchmark: indexing a million-row table under load, and what it buys.

Not a test: it prints numbers (and writes them to benchmarks/results/column_stats.json
with --save). With the benchmark data of `make_data.py` (`big.db`, `items` of 1,000,000
rows), it starts this server with a fresh `--internal` file and measures:

1. `/big/items.json` latency (p50/p99, one request at a time over 2 connections) while the
   indexer works, then the same once it is idle; the goal is p99 while indexing within 2x
   of the idle p99;
2. the seconds from the server answering until `items` is indexed, and the internal
   database's size after (file plus WAL);
3. requests per second, once indexed, on the HTML search page (`/big/items?_search=...`)
   and the filter+sort+facet JSON page, for this server and, when
   `benchmarks/.venv-upstream` exists (`bash benchmarks/setup_upstream.sh`), upstream
   Datasette 1.0a7 on the same data and the same load generator (the Python one).

    python benchmarks/column_stats.py [--rows 1000000] [--requests 300] [--save]

Every request goes to 127.0.0.1 and every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time

from urllib.parse import quote

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import compare  # noqa: E402
import loadgen  # noqa: E402
import make_data  # noqa: E402

TABLE_JSON = "/big/items.json"
SEARCH_PAGE = f"/big/items?_search={make_data.SEARCH_WORD}"
FACET_PAGE = "/big/items.json?state=CA&_sort_desc=price&_facet=category_id&_facet=state"
INDEX_TIMEOUT_S = 1800.0
RESULTS = os.path.join(HERE, "results", "column_stats.json")


def latencies(base_url: str, path: str, count: int, connections: int = 2) -> list:
    """Milliseconds of `count` GETs, `connections` at a time (bounded in time too)."""

    async def run() -> list:
        found: list = []
        deadline = time.perf_counter() + 300
        async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False) as client:

            async def worker(n: int) -> None:
                for _ in range(n):
                    if time.perf_counter() > deadline:
                        return
                    started = time.perf_counter()
                    response = await client.get(path)
                    response.raise_for_status()
                    found.append((time.perf_counter() - started) * 1000)

            await asyncio.gather(*(worker(count // connections) for _ in range(connections)))
        return found

    return asyncio.run(run())


def summary(values: list) -> dict:
    ordered = sorted(values)
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(loadgen.percentile(ordered, 0.99), 2),
    }


def stats_state(base_url: str) -> str:
    response = httpx.get(base_url + "/big/items/-/stats.json", timeout=30, trust_env=False)
    return response.json().get("state", "?") if response.status_code == 200 else "?"


def all_indexed(base_url: str) -> bool:
    """Whether every table of `big` (hidden ones included) is indexed."""
    with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as client:
        tables = [
            t["name"]
            for t in client.get("/big.json").json()["tables"]
            if not t["name"].startswith("sqlite_")  # SQLite's own tables are not indexed
        ]
        for table in tables:
            state = client.get(f"/big/{quote(table)}/-/stats.json").json().get("state")
            if state not in ("done", "error"):
                return False
    return True


def wait_until_all_indexed(base_url: str) -> float:
    started = time.perf_counter()
    while not all_indexed(base_url):
        if time.perf_counter() - started > INDEX_TIMEOUT_S:
            raise RuntimeError("indexing did not finish in time")
        time.sleep(0.5)
    return time.perf_counter() - started


def measure_indexing(files: list, internal: str, args: argparse.Namespace) -> dict:
    """Latency while indexing and idle, time to index, internal database size."""
    ours = compare.sides()[0]
    original = compare.SERVE_FLAGS
    compare.SERVE_FLAGS = (*original, "--internal", internal)
    try:
        with compare.running_server(ours, files, args.log, 60) as (base_url, _):
            started = time.perf_counter()
            during: list = []
            while stats_state(base_url) != "done":
                if time.perf_counter() - started > INDEX_TIMEOUT_S:
                    raise RuntimeError("indexing did not finish in time")
                if len(during) < args.requests * 20:
                    during.extend(latencies(base_url, TABLE_JSON, 20))
                else:
                    time.sleep(0.5)
            index_seconds = time.perf_counter() - started
            wait_until_all_indexed(base_url)
            all_seconds = time.perf_counter() - started
            idle = latencies(base_url, TABLE_JSON, max(args.requests, len(during)))
    finally:
        compare.SERVE_FLAGS = original
    size = sum(
        os.path.getsize(path) for path in (internal, internal + "-wal") if os.path.exists(path)
    )
    during_summary, idle_summary = summary(during), summary(idle)
    return {
        "rows": args.rows,
        "index_seconds": round(index_seconds, 1),
        "all_tables_seconds": round(all_seconds, 1),
        "internal_db_bytes": size,
        "table_json_while_indexing": during_summary,
        "table_json_idle": idle_summary,
        "p99_ratio": round(during_summary["p99_ms"] / idle_summary["p99_ms"], 2),
    }


def throughput(side: "compare.Side", files: list, extra: tuple, args: argparse.Namespace) -> dict:
    """Requests per second on the two pages, once `items` is indexed (for ours)."""
    original = compare.SERVE_FLAGS
    compare.SERVE_FLAGS = (*original, *extra)
    try:
        with compare.running_server(side, files, args.log, 60) as (base_url, _):
            if side.name == "ours" and "--internal" in extra:
                wait_until_all_indexed(base_url)
            found = {}
            for name, path in (("search_page", SEARCH_PAGE), ("facet_json", FACET_PAGE)):
                loadgen.run("python", [base_url + path], 20, 4)  # warm-up
                result = loadgen.run("python", [base_url + path], args.requests, 8)
                found[name] = round(result.requests_per_s, 1)
                if result.errors:
                    found[name + "_errors"] = result.errors
            return found
    finally:
        compare.SERVE_FLAGS = original


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=make_data.DEFAULT_ROWS)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--data-dir", default=make_data.DEFAULT_OUT)
    parser.add_argument("--skip-upstream", action="store_true")
    parser.add_argument("--only-indexing", action="store_true", help="skip the page throughput")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args(argv)
    make_data.generate(args.data_dir, args.rows)
    files = [os.path.join(args.data_dir, "big.db")]
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="column-stats-bench-") as tmp:
        args.log = os.path.join(tmp, "server.log")
        internal = os.path.join(tmp, "internal.db")
        results["indexing"] = measure_indexing(files, internal, args)
        print(json.dumps(results["indexing"], indent=2))
        if args.only_indexing:
            return 0
        ours, upstream = compare.sides()
        results["ours_indexed"] = throughput(ours, files, ("--internal", internal), args)
        results["ours_without_stats"] = throughput(
            ours, files, ("-s", "settings.column_stats", "off"), args
        )
        if not args.skip_upstream and os.path.exists(compare.UPSTREAM_DATASETTE):
            results["upstream_1.0a7"] = throughput(upstream, files, (), args)
            for page in ("search_page", "facet_json"):
                results[f"{page}_ratio"] = round(
                    results["ours_indexed"][page] / results["upstream_1.0a7"][page], 2
                )
    print(json.dumps({k: v for k, v in results.items() if k != "indexing"}, indent=2))
    if args.save:
        with open(RESULTS, "w") as fp:
            json.dump(results, fp, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
