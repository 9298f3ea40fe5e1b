"""Load generators for loopback benchmarks: a small asyncio one, and a wrapper around wrk.

Both send GETs over N concurrent connections (default 8), cycling through a list of URLs,
and return the same `LoadResult`.

- `run_load` (Python, httpx): the connections share a fixed budget of requests (default
  400). Every response must be a 200: anything else, and any transport error, is counted
  and reported per kind. Bounded in count and in time: the run stops at the request budget
  or at the time limit, whichever comes first. Simple and always available, but the client
  itself tops out near 900 requests/s on 2 cores, so it cannot measure a faster server.
- `run_wrk` (wrk, `apt-get install wrk`): runs for a fixed duration (wrk takes a duration,
  not a count), with one wrk thread (`-t1`), so one core is left for the server. A Lua
  script written to a temporary file rotates through the paths and counts non-2xx
  responses; its `done` function prints one `WRK_RESULT {json}` line that is parsed here.
  Non-2xx responses and socket errors are reported as errors like `run_load` does. Also
  bounded in count: the wrk thread stops once it has `requests` responses (by default a
  ceiling no Python server on this machine gets near, so the duration decides).

`compare.py` uses one of them, the same for both servers.

    python benchmarks/loadgen.py URL [URL ...] [--loadgen python|wrk|auto] [-n 400] [-c 8]
        [--duration 5] [--time-limit 120]

Only loopback URLs (127.0.0.0/8, localhost, ::1) are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

import httpx

DEFAULT_REQUESTS = 400
DEFAULT_CONCURRENCY = 8
DEFAULT_TIME_LIMIT = 120.0
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_DURATION = 5
# With wrk the duration decides how long a run is; the request count is only a safety bound,
# by default this many requests per second of duration.
WRK_REQUEST_CAP_PER_SECOND = 50_000
# Seconds wrk may take beyond its duration (start-up, the done() report) before it is killed.
WRK_GRACE_S = 30.0
WRK_RESULT_MARKER = "WRK_RESULT "
LOADGENS = ("python", "wrk")


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
    loadgen: str = "python"

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

def wrk_path() -> str | None:
    """The wrk executable on PATH, or None."""
    return shutil.which("wrk")


def resolve_loadgen(choice: str) -> str:
    """`auto` -> `wrk` when wrk is on PATH, else `python`; `wrk` without wrk is an error."""
    if choice == "auto":
        return "wrk" if wrk_path() else "python"
    if choice == "wrk" and not wrk_path():
        raise ValueError("wrk is not on PATH (install it with `apt-get install wrk`)")
    if choice not in LOADGENS:
        raise ValueError(f"unknown load generator: {choice}")
    return choice


def wrk_version() -> str | None:
    """wrk's own version line, e.g. `wrk debian/4.1.0-3+b2 [epoll] ...`, or None."""
    path = wrk_path()
    if not path:
        return None
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].strip() if first else None


def lua_string(text: str) -> str:
    """A Lua string literal for `text`: printable ASCII as is, every other byte as \\ddd."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if 32 <= byte < 127 and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


# The wrk script. `request` rotates through the paths; `response` counts responses and
# non-2xx statuses (per status) and stops the thread at `cap` responses, noting when (wrk's
# own duration is the full -d even for a thread stopped early, so the elapsed time of a
# capped run comes from LuaJIT's ffi and clock_gettime(CLOCK_MONOTONIC)); `done`, run in
# wrk's main Lua state, which sees each thread's globals through thread:get, prints one
# JSON line. Times are microseconds.
WRK_SCRIPT = """\
-- Written by benchmarks/loadgen.py for one wrk run; deleted afterwards.
local paths = {%(paths)s}
local cap = %(cap)d
local method = %(method)s
local body = %(body)s
local headers = {%(headers)s}
local turn = 0
responses = 0
bad = {}
started_us = nil
stopped_us = nil

local now_us = function() return nil end
local has_ffi, ffi = pcall(require, "ffi")
if has_ffi then
  pcall(ffi.cdef, [[
    typedef struct { long tv_sec; long tv_nsec; } loadgen_timespec;
    int clock_gettime(int clk_id, loadgen_timespec *tp);
  ]])
  local ts = ffi.new("loadgen_timespec")
  now_us = function()
    ffi.C.clock_gettime(1, ts)
    return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
  end
end

request = function()
  if turn == 0 then started_us = now_us() end
  turn = turn %% #paths + 1
  return wrk.format(method, paths[turn], headers, body)
end

response = function(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then
    local key = tostring(status)
    bad[key] = (bad[key] or 0) + 1
  end
  if responses >= cap and not stopped_us then
    stopped_us = now_us() or -1
    wrk.thread:stop()
  end
end

local threads = {}

setup = function(thread)
  table.insert(threads, thread)
end

done = function(summary, latency, requests)
  local seen, non2xx, statuses = 0, 0, {}
  local capped, capped_us = 0, 0
  for _, thread in ipairs(threads) do
    seen = seen + (thread:get("responses") or 0)
    for status, count in pairs(thread:get("bad") or {}) do
      non2xx = non2xx + count
      table.insert(statuses, string.format('"%%s": %%d', status, count))
    end
    local started, stopped = thread:get("started_us"), thread:get("stopped_us")
    if stopped then
      capped = capped + 1
      if started and stopped > started then
        capped_us = math.max(capped_us, stopped - started)
      end
    end
  end
  local duration = summary.duration
  if capped == #threads and capped_us > 0 then duration = capped_us end
  local errors = summary.errors
  io.write(string.format(
    '%(marker)s{"requests": %%.0f, "duration_us": %%.0f, "p50_us": %%.0f, ' ..
    '"p95_us": %%.0f, "non2xx": %%.0f, "statuses": {%%s}, "connect": %%.0f, ' ..
    '"read": %%.0f, "write": %%.0f, "timeout": %%.0f, "responses_seen": %%.0f, ' ..
    '"capped_threads": %%d, "wrk_duration_us": %%.0f}\\n',
    summary.requests, duration, latency:percentile(50), latency:percentile(95),
    non2xx, table.concat(statuses, ", "), errors.connect, errors.read, errors.write,
    errors.timeout, seen, capped, summary.duration))
end
"""


def wrk_script(
    paths: list[str], cap: int, method: str = "GET", body: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """The Lua script for one run over `paths`, stopping after `cap` responses; every
    request is `method` with `body` and `headers` (GET, none and none by default)."""
    return WRK_SCRIPT % {
        "paths": ", ".join(lua_string(path) for path in paths),
        "cap": cap,
        "marker": WRK_RESULT_MARKER,
        "method": lua_string(method),
        "body": "nil" if body is None else lua_string(body),
        "headers": ", ".join(
            f"[{lua_string(k)}] = {lua_string(v)}" for k, v in (headers or {}).items()
        ),
    }


def parse_wrk_output(stdout: str) -> dict:
    """The JSON object on wrk's `WRK_RESULT` line (ValueError if there is none)."""
    for line in stdout.splitlines():
        if line.startswith(WRK_RESULT_MARKER):
            return json.loads(line[len(WRK_RESULT_MARKER):])
    raise ValueError("wrk printed no result line")


def wrk_result(report: dict, hit_time_limit: bool = False) -> LoadResult:
    """A LoadResult from the parsed `WRK_RESULT` line, with errors named like run_load's."""
    completed = int(report["requests"])
    errors: dict[str, int] = {}
    for status, count in report.get("statuses", {}).items():
        if count:
            errors[f"status {status}"] = int(count)
    for kind in ("connect", "read", "write", "timeout"):
        if report.get(kind):
            errors[f"socket {kind}" if kind != "timeout" else "timeout"] = int(report[kind])
    non2xx = int(report.get("non2xx", 0))
    ok = max(0, completed - non2xx)
    elapsed = report["duration_us"] / 1e6
    return LoadResult(
        # Like run_load's count of issued requests: every completed response plus every
        # request a socket error ended. (wrk's timeouts are late responses, already counted.)
        requests=completed + sum(int(report.get(k, 0)) for k in ("connect", "read", "write")),
        ok=ok,
        errors=errors,
        elapsed_s=elapsed,
        requests_per_s=ok / elapsed if elapsed > 0 else 0.0,
        median_ms=report["p50_us"] / 1000,
        p95_ms=report["p95_us"] / 1000,
        hit_time_limit=hit_time_limit,
        loadgen="wrk",
    )


def run_wrk(
    urls: list[str],
    requests: int | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    time_limit: float = DEFAULT_TIME_LIMIT,
    duration: float = DEFAULT_DURATION,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Load `urls` in turn with wrk (-t1 -c`concurrency`) for `duration` seconds.

    `method`, `body` and `headers` make every request a POST with a JSON body, say.

    wrk takes whole seconds: the run lasts `duration` rounded up, but never more than
    `time_limit` (then `hit_time_limit` is set). It also stops after `requests` responses
    (default: WRK_REQUEST_CAP_PER_SECOND per second of duration, a safety bound only).
    The rate is 2xx responses per second of wrk's measured duration. Latency percentiles
    come from wrk's histogram and include any non-2xx responses. Responses still in flight
    when the duration ends are dropped by wrk (the server may still be finishing them).
    """
    if not urls:
        raise ValueError("no URLs given")
    for url in urls:
        if not is_loopback_url(url):
            raise ValueError(f"refusing non-loopback URL: {url}")
    if concurrency < 1 or (requests is not None and requests < 1):
        raise ValueError("requests and concurrency must be at least 1")
    if duration <= 0 or time_limit <= 0:
        raise ValueError("duration and time_limit must be positive")
    path = wrk_path()
    if not path:
        raise RuntimeError("wrk is not on PATH (install it with `apt-get install wrk`)")
    first = urlsplit(urls[0])
    paths = []
    for url in urls:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (first.scheme, first.netloc):
            raise ValueError("wrk needs every URL on the same scheme, host and port")
        paths.append((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    wanted = max(1, math.ceil(duration))
    seconds = max(1, min(wanted, math.floor(time_limit)))
    cap = requests if requests is not None else seconds * WRK_REQUEST_CAP_PER_SECOND
    target = f"{first.scheme}://{first.netloc}/"
    with tempfile.TemporaryDirectory(prefix="loadgen-wrk-") as tmp:
        script = os.path.join(tmp, "rotate.lua")
        with open(script, "w") as fp:
            fp.write(wrk_script(paths, cap, method, body, headers))
        argv = [
            path, "-t1", f"-c{concurrency}", f"-d{seconds}s",
            "--timeout", f"{max(1, math.ceil(request_timeout))}s",
            "--latency", "-s", script, target,
        ]
        try:
            # subprocess.run kills wrk if it overruns.
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=seconds + WRK_GRACE_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"wrk did not finish within {seconds + WRK_GRACE_S:.0f}s")
    try:
        report = parse_wrk_output(done.stdout)
    except ValueError as exc:
        if "unable to connect" in done.stdout + done.stderr:
            # wrk gives up at once when its first connection is refused: one failed
            # request, an error like run_load's ConnectError.
            return LoadResult(
                requests=1, ok=0, errors={"socket connect": 1}, loadgen="wrk",
                hit_time_limit=seconds < wanted,
            )
        raise RuntimeError(
            f"wrk exited with code {done.returncode} and {exc}:\n{done.stdout}{done.stderr}"
        )
    return wrk_result(report, hit_time_limit=seconds < wanted)


def run(
    loadgen: str,
    urls: list[str],
    requests: int,
    concurrency: int = DEFAULT_CONCURRENCY,
    time_limit: float = DEFAULT_TIME_LIMIT,
    duration: float = DEFAULT_DURATION,
) -> LoadResult:
    """One measured run with `loadgen` ("python" or "wrk").

    python: `requests` requests (bounded by `time_limit`). wrk: `duration` seconds (bounded
    by `time_limit`, and by its default request cap).
    """
    if loadgen == "wrk":
        return run_wrk(urls, None, concurrency, time_limit, duration)
    if loadgen == "python":
        return asyncio.run(run_load(urls, requests, concurrency, time_limit))
    raise ValueError(f"unknown load generator: {loadgen}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+", help="loopback URLs, used in turn")
    parser.add_argument(
        "--loadgen", choices=("auto", *LOADGENS), default="auto",
        help="auto (the default) is wrk when it is on PATH, else python",
    )
    parser.add_argument(
        "-n", "--requests", type=int, default=None,
        help=f"python: requests to send (default {DEFAULT_REQUESTS}); "
        f"wrk: stop after this many (default {WRK_REQUEST_CAP_PER_SECOND:,} per second)",
    )
    parser.add_argument("-c", "--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument(
        "-d", "--duration", type=int, default=DEFAULT_DURATION,
        help="wrk only: seconds to run (default %(default)s)",
    )
    parser.add_argument(
        "--time-limit", type=float, default=DEFAULT_TIME_LIMIT, help="seconds for the whole run"
    )
    parser.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    for url in args.urls:
        if not is_loopback_url(url):
            parser.error(f"only loopback URLs are allowed: {url}")
    if args.duration < 1:
        parser.error("--duration must be at least 1")
    try:
        chosen = resolve_loadgen(args.loadgen)
    except ValueError as exc:
        parser.error(str(exc))
    if chosen == "wrk":
        try:
            result = run_wrk(
                args.urls, args.requests, args.concurrency, args.time_limit, args.duration,
                args.request_timeout,
            )
        except (RuntimeError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    else:
        result = asyncio.run(
            run_load(
                args.urls, args.requests or DEFAULT_REQUESTS, args.concurrency, args.time_limit,
                args.request_timeout,
            )
        )
    print(json.dumps(result.to_json(), indent=2) if args.json else f"[{chosen}] {result.summary()}")
    return 0 if result.error_count == 0 else 1

if __name__ == "__main__":
    sys.exit(main())
