"""A small asyncio HTTP load generator for loopback benchmarks.

N concurrent connections (default 8) share a fixed budget of requests (default 400),
cycling through a list of URLs. Every response must be a 200: anything else, and any
transport error, is counted and reported per kind. Bounded in count and in time: the run
stops at the request budget or at the time limit, whichever comes first.

`compare.py` calls `run_load` for both servers, so both are measured by the same code.

    python benchmarks/loadgen.py URL [URL ...] [-n 400] [-c 8] [--time-limit 120]

Only loopback URLs (127.0.0.0/8, localhost, ::1) are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

import httpx

DEFAULT_REQUESTS = 400
DEFAULT_CONCURRENCY = 8
DEFAULT_TIME_LIMIT = 120.0
DEFAULT_REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured. Latencies are of 200 responses only."""

    requests: int
    ok: int
    errors: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    requests_per_s: float = 0.0
    median_ms: float = 0.0
    p95_ms: float = 0.0
    hit_time_limit: bool = False

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_json(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        text = (
            f"{self.requests_per_s:8.1f} req/s  median {self.median_ms:7.2f} ms  "
            f"p95 {self.p95_ms:7.2f} ms  ({self.ok}/{self.requests} ok in {self.elapsed_s:.2f}s)"
        )
        if self.errors:
            text += "  errors: " + ", ".join(f"{k}={v}" for k, v in sorted(self.errors.items()))
        if self.hit_time_limit:
            text += "  [time limit reached]"
        return text


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs whose host is localhost or a loopback address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run_load(
    urls: list[str],
    requests: int = DEFAULT_REQUESTS,
    concurrency: int = DEFAULT_CONCURRENCY,
    time_limit: float = DEFAULT_TIME_LIMIT,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
) -> LoadResult:
    """Send `requests` GETs over `concurrency` connections, cycling through `urls`."""
    if not urls:
        raise ValueError("no URLs given")
    for url in urls:
        if not is_loopback_url(url):
            raise ValueError(f"refusing non-loopback URL: {url}")
    if requests < 1 or concurrency < 1:
        raise ValueError("requests and concurrency must be at least 1")

    latencies: list[float] = []
    errors: Counter[str] = Counter()
    issued = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    start = time.perf_counter()
    deadline = start + time_limit
    hit_time_limit = False

    async with httpx.AsyncClient(
        limits=limits, timeout=request_timeout, trust_env=False, follow_redirects=False
    ) as client:

        async def worker() -> None:
            nonlocal issued, hit_time_limit
            while issued < requests:
                if time.perf_counter() >= deadline:
                    hit_time_limit = True
                    return
                url = urls[issued % len(urls)]
                issued += 1
                sent = time.perf_counter()
                try:
                    response = await client.get(url)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                took = time.perf_counter() - sent
                if response.status_code == 200:
                    latencies.append(took)
                else:
                    errors[f"status {response.status_code}"] += 1

        await asyncio.gather(*(worker() for _ in range(min(concurrency, requests))))

    elapsed = time.perf_counter() - start
    latencies.sort()
    return LoadResult(
        requests=issued,
        ok=len(latencies),
        errors=dict(errors),
        elapsed_s=elapsed,
        requests_per_s=len(latencies) / elapsed if elapsed > 0 else 0.0,
        median_ms=percentile(latencies, 0.5) * 1000,
        p95_ms=percentile(latencies, 0.95) * 1000,
        hit_time_limit=hit_time_limit,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+", help="loopback URLs, used in turn")
    parser.add_argument("-n", "--requests", type=int, default=DEFAULT_REQUESTS)
    parser.add_argument("-c", "--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument(
        "--time-limit", type=float, default=DEFAULT_TIME_LIMIT, help="seconds for the whole run"
    )
    parser.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    for url in args.urls:
        if not is_loopback_url(url):
            parser.error(f"only loopback URLs are allowed: {url}")
    result = asyncio.run(
        run_load(args.urls, args.requests, args.concurrency, args.time_limit, args.request_timeout)
    )
    print(json.dumps(result.to_json(), indent=2) if args.json else result.summary())
    return 0 if result.error_count == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
