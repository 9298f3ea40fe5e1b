"""Profile the framework cost of one row request, in-process, with cProfile.

Builds a `Datasette` on `benchmarks/data/big.db` (make_data.py), warms it up, then
calls its ASGI app directly (no socket, no HTTP parser) for `--requests` row requests
under cProfile and prints the top functions by cumulative and by own time. The wall
time per request it prints is the whole in-process cost: routing, actor, permissions,
SQL, JSON and response building, which is what a server pays on top of HTTP parsing.

    .venv/bin/python benchmarks/profile_row.py [--requests 2000] [--path /big/items/5.json]
        [--sort cumulative|tottime] [--limit 40] [--no-profile [--rounds 9]]

With `--no-profile --rounds N` it times N rounds of `--requests` requests each and prints
the fastest and the median round: on a machine others are using, the fastest round is
the steadiest number to compare two versions by (run them alternately).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from datasette.app import Datasette  # noqa: E402


async def one_request(app, path: str) -> int:
    """Send one GET through the ASGI app; return the status."""
    path_part, _, query = path.partition("?")
    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path_part, "raw_path": path_part.encode(), "query_string": query.encode(),
        "root_path": "", "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 1234), "server": ("127.0.0.1", 8001),
    }
    status = 0

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def run(
    paths: list[str], requests: int, profile: cProfile.Profile | None, rounds: int = 1
) -> list[float]:
    """Seconds per request of each round (one round when profiling)."""
    ds = Datasette([os.path.join(HERE, "data", "big.db")])
    app = ds.app()
    for path in paths:
        status = await one_request(app, path)
        assert status == 200, (path, status)
    for i in range(200):
        await one_request(app, paths[i % len(paths)])
    per_round = []
    for _ in range(1 if profile else rounds):
        started = time.perf_counter()
        if profile:
            profile.enable()
        for i in range(requests):
            await one_request(app, paths[i % len(paths)])
        if profile:
            profile.disable()
        per_round.append((time.perf_counter() - started) / requests)
    return per_round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--path", action="append")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="timed rounds (with --no-profile)")
    args = parser.parse_args()
    paths = args.path or [f"/big/items/{i}.json" for i in (123457, 234568, 345679)]
    profile = None if args.no_profile else cProfile.Profile()
    per_round = sorted(asyncio.run(run(paths, args.requests, profile, max(1, args.rounds))))
    if len(per_round) > 1:
        print(f"{per_round[0] * 1e6:.1f} µs per request in the fastest of {len(per_round)} "
              f"rounds, {per_round[len(per_round) // 2] * 1e6:.1f} µs in the median "
              f"({args.requests} requests each, not profiled)")
    else:
        print(f"{per_round[0] * 1000:.3f} ms per request ({args.requests} requests, "
              f"{'profiled' if profile else 'not profiled'})")
    if profile:
        stats = pstats.Stats(profile)
        stats.sort_stats(args.sort).print_stats(args.limit)


if __name__ == "__main__":
    main()
