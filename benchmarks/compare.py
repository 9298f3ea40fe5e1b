"""Side-by-side benchmark of this server against upstream Datasette 1.0a7.

Both servers run as subprocesses on free loopback ports, serving the same generated data
(`make_data.py`) with the same flags, and are measured by the same load generator
(`loadgen.py`: wrk for a fixed duration when it is installed, else the Python httpx client
for a fixed number of requests; `--loadgen` picks). Runs alternate: ours, upstream, ours, upstream, ... for `--rounds` rounds.
Each round, for each server: time a start with the 20 `many/*.db` databases, then start it
on `big.db`, warm up, and load every scenario in turn.

Prints one line per measurement and a final table of median requests/s per scenario and
the ratio ours/upstream (for startup: median seconds and upstream/ours, so >1 always
means ours is faster). `--save` also writes `benchmarks/results/latest.json`.

    bash benchmarks/setup_upstream.sh      # once: upstream 1.0a7 into benchmarks/.venv-upstream
    python benchmarks/compare.py [--rounds 3] [--loadgen auto|wrk|python] [--duration 5]
        [--requests 400] [--concurrency 8] [--save]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import json
import math
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import audit_writes  # noqa: E402
import loadgen  # noqa: E402
import make_data  # noqa: E402

UPSTREAM_VERSION = "1.0a7"
UPSTREAM_DATASETTE = os.path.join(HERE, ".venv-upstream", "bin", "datasette")
RESULTS_PATH = os.path.join(HERE, "results", "latest.json")
HOST = "127.0.0.1"
SERVE_FLAGS: tuple[str, ...] = (
    "--setting", "sql_time_limit_ms", "10000",
    "--setting", "facet_time_limit_ms", "10000",
    "--setting", "num_sql_threads", "3",
)
# Start-up scenarios: seconds from process start until /-/versions.json answers, and the
# goal for upstream/ours (3 means "at most a third of upstream's time").
STARTUP_GOALS: dict[str, float] = {
    "startup_20dbs": 3.0,  # the 20 many/*.db files, 2,000 tables, a new internal db
    "startup_20dbs_internal": 3.0,  # the same, reusing an --internal file from a prior start
    "startup_2000_tables": 1.0,  # one database of 2,000 tables (wide.db); reported
}
STARTUP_SCENARIO = "startup_20dbs"  # the first one, kept for older callers
# The bare ASGI app (stack.py) on ours' HTTP stack: the ceiling of any page, in the same run.
BARE_SCENARIO = "bare_asgi"
BARE_SHARE_GOAL = 0.25  # row_json at >= 25% of the bare-ASGI limit
# Write scenarios: POST /writes/items/-/insert as root with an API token, `rows` rows per
# request, on a fresh database each round; always the Python client (POST with a body).
WRITE_SCENARIOS: dict[str, tuple[int, float]] = {
    "insert_1_row": (1, 3.0),
    "insert_100_rows": (100, 1.5),
}
WRITE_SECRET = "benchmark-secret"
SIDES: tuple[str, ...] = ("ours", "upstream")
# New paths made per second of a wrk run for `Scenario.fresh` scenarios: above any rate a
# filtered count over 1M rows reaches here, so no measured request repeats an earlier one.
FRESH_PATHS_PER_SECOND = 3000
# Measured on ours once big.db's column statistics are indexed (after up to STATS_TIMEOUT_S
# more seconds); the wait is reported beside the result.
STEADY_STATE_SCENARIOS = frozenset({"html_search"})
STATS_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Scenario:
    """A throughput scenario: paths loaded in turn, and the ratio ours/upstream aimed for."""

    name: str
    paths: tuple[str, ...]
    goal: float
    # `fresh(count, start)` -> `count` paths no earlier call with a lower `start` gave: the
    # measured run then uses paths its server has never been asked for (a result cache
    # must miss), while the probe and the warm-up use `paths`.
    fresh: Callable[[int, int], tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Side:
    """How to start one server: the command before `serve`, its working dir and env."""

    name: str
    command: tuple[str, ...]
    cwd: str
    env: dict[str, str]


@dataclass(frozen=True)
class Settings:
    rounds: int
    loadgen: str  # "wrk" or "python", resolved from --loadgen; the same for both servers
    duration: int  # seconds per measured run with wrk
    requests: int  # requests per measured run with the Python load generator
    concurrency: int
    warmup: int
    time_limit: float
    startup_timeout: float
    data_dir: str
    rows: int
    only: tuple[str, ...]
    stack: str = "auto"  # ours' uvicorn stack (stack.py): auto (httptools+uvloop) or pure
    # False: ours' read scenarios start once big.db's column statistics are built (steady
    # state); True: only html_search waits, the others run while the indexer works.
    while_indexing: bool = False


@dataclass
class Outcome:
    """One side's measurements of one scenario across rounds."""

    runs: list[dict] = field(default_factory=list)

    def values(self, key: str) -> list:
        return [run[key] for run in self.runs if key in run]

    def unsupported_status(self) -> int | None:
        statuses = [run["unsupported_status"] for run in self.runs if "unsupported_status" in run]
        return statuses[0] if statuses else None


class ServerStartError(RuntimeError):
    """A server exited or did not answer /-/versions.json in time."""


def scenarios(rows: int, data_dir: str | None = None) -> tuple[Scenario, ...]:
    """The throughput scenarios, with row ids and the deep token scaled to the row count.

    `data_dir` holds big.db, read for the sorted deep token; without it (listing the
    scenario names) that path is a placeholder.
    """
    row_ids = [1 + (n % rows) for n in (123456, 234567, 345678, 456789, 567890, 678901)]
    deep = max(1, rows * 9 // 10)
    sql = "select id, title, price from items where category_id = :c order by id limit 50"
    return (
        Scenario("table_json", ("/big/items.json",), 3.0),
        Scenario(
            "filtered_sorted_faceted",
            ("/big/items.json?state=CA&_sort_desc=price&_facet=category_id&_facet=state",),
            1.5,
        ),
        Scenario(
            "sql_json",
            tuple(f"/big.json?sql={quote(sql, safe='')}&c={c}" for c in (7, 13, 21, 34)),
            1.5,
        ),
        Scenario("row_json", tuple(f"/big/items/{i}.json" for i in row_ids), 3.0),
        Scenario("fts_search", (f"/big/items.json?_search={make_data.SEARCH_WORD}",), 1.0),
        # The HTML page of the same search: suggested facets, chrome, templates.
        Scenario("html_search", (f"/big/items?_search={make_data.SEARCH_WORD}",), 3.0),
        Scenario("deep_next", (f"/big/items.json?_next={deep}",), 3.0),
        # The same depth in category_id order (indexed): the keyset must seek the index.
        Scenario("sorted_deep", (sorted_deep_path(data_dir, deep),), 1.5),
        Scenario("varied_filters", varied_paths(), 1.5, fresh=varied_paths),
    )


def sorted_deep_path(data_dir: str | None, offset: int) -> str:
    """`_sort=category_id` with the `_next` token of the row `offset` rows in, in that
    order: the categories are random, so the token is read from big.db itself."""
    prefix = "/big/items.json?_sort=category_id&_next="
    path = os.path.join(data_dir, "big.db") if data_dir else ""
    if not os.path.exists(path):
        return prefix + "0,0"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "select category_id, id from items order by category_id, id limit 1 offset ?",
            (offset,),
        ).fetchone()
    finally:
        conn.close()
    return prefix + (f"{row[0]},{row[1]}" if row else "0,0")


def varied_paths(count: int = 240, start: int = 0) -> tuple[str, ...]:
    """Many different filter URLs (state, category, price range, sort, facet): what a
    cache keyed on the URL cannot serve from memory, unlike the repeated scenarios.

    Path `n` (from `start`) carries `n` in the price's decimals, so no two are the same
    query, even when their filters repeat."""
    paths = []
    for n in range(start, start + count):
        state = make_data.STATES[n % len(make_data.STATES)]
        category = 1 + (n * 7) % make_data.CATEGORY_COUNT
        low = (n * 13) % 500
        query = [f"state={state}", f"category_id={category}", f"price__gt={low}.{n:08d}"]
        if n % 3 == 0:
            query.append("_sort_desc=price")
        if n % 4 == 1:
            query.append("_facet=state")
        paths.append("/big/items.json?" + "&".join(query))
    return tuple(paths)


@functools.lru_cache(maxsize=None)
def ours_python() -> str:
    """This interpreter, started as an installed wheel would start it: no editable finder.

    The checkout's venv is an editable install, so `site` imports the finder its `.pth`
    names (with pathlib, re and importlib.util: ~10 ms of every start), which a wheel, as
    upstream's venv has, does not. This is a venv of the same interpreter whose one `.pth`
    line puts the checkout venv's site-packages on `sys.path` as a plain folder (`site`
    runs no `.pth` of a folder named that way); ours still imports `datasette` from
    `PYTHONPATH`, this checkout. Made once, in the temporary folder.
    """
    site_packages = sysconfig.get_paths()["purelib"]
    tag = hashlib.sha256(f"{sys.executable}\n{site_packages}".encode()).hexdigest()[:12]
    venv = os.path.join(tempfile.gettempdir(), f"datasette-bench-launcher-{tag}")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    launcher_site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    with open(os.path.join(launcher_site, "checkout_venv.pth"), "w") as fp:
        fp.write(site_packages + "\n")
    return python


def sides(stack: str = "auto") -> tuple[Side, ...]:
    """Ours runs from this checkout with this interpreter; upstream from its own venv.

    Ours loads no installed plugins (DATASETTE_LOAD_PLUGINS empty): this checkout's venv
    holds the test suite's plugins, and upstream's venv has none. It runs through
    `stack.py`, on the `stack` HTTP stack, started by `ours_python()`.
    """
    # Bytecode for both: upstream's wheel was compiled by pip at install, while this
    # checkout is an editable install; without it (PYTHONDONTWRITEBYTECODE, as in CI
    # sandboxes) ours would compile its ~230 modules from source at every start.
    # `compile_ours` writes it (datasette/__pycache__, ignored by git) before any timing.
    ours_env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "PYTHONPATH": REPO, "DATASETTE_LOAD_PLUGINS": "",
    }
    upstream_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return (
        Side(
            "ours", (ours_python(), os.path.join(HERE, "stack.py"), stack, "-m", "datasette"),
            REPO, ours_env,
        ),
        Side("upstream", (UPSTREAM_DATASETTE,), HERE, upstream_env),
    )


def compile_ours(stack: str) -> None:
    """Write ours' bytecode before anything is timed, as installing a wheel would."""
    ours = sides(stack)[0]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", os.path.join(REPO, "datasette")],
        env=ours.env, check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until_ready(
    process: subprocess.Popen, base_url: str, timeout: float
) -> float | None:
    """Poll /-/versions.json until a 200; seconds from now, or None on timeout or exit."""
    start = time.perf_counter()
    deadline = start + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                return None
            try:
                if client.get(base_url + "/-/versions.json").status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
    return None


def log_tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, errors="replace") as fp:
            return "".join(fp.readlines()[-lines:])
    except OSError:
        return ""


def stop(process: subprocess.Popen) -> None:
    """Terminate a server we started, killing it if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def running_server(
    side: Side, files: list[str], log_path: str, startup_timeout: float,
    extra: tuple[str, ...] = (),
) -> Iterator[tuple[str, float]]:
    """Start `side` serving `files`; yield (base URL, seconds until it answered).

    A side whose command ends with "--hello" is the bare ASGI app: it takes the port only.
    """
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    if side.command[-1] == "--hello":
        argv = [*side.command, "--port", str(port)]
    else:
        argv = [
            *side.command, "serve", *files, "--host", HOST, "--port", str(port), *SERVE_FLAGS,
            *extra,
        ]
    with open(log_path, "ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, cwd=side.cwd, env=side.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            ready = wait_until_ready(process, base_url, startup_timeout)
            if ready is None:
                code = process.poll()
                why = (
                    f"exited with code {code} before answering"
                    if code is not None
                    else f"did not answer /-/versions.json within {startup_timeout:.0f}s"
                )
                raise ServerStartError(f"{side.name} server {why}; log tail:\n{log_tail(log_path)}")
            yield base_url, time.perf_counter() - started
        finally:
            stop(process)


def probe(base_url: str, path: str) -> tuple[int, int | None]:
    """GET one path: (status, number of rows in the JSON body, if it has a rows list)."""
    with httpx.Client(timeout=60.0, trust_env=False) as client:
        try:
            response = client.get(base_url + path)
        except httpx.HTTPError:
            return 0, None
    rows = None
    if response.status_code == 200:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("rows"), list):
            rows = len(body["rows"])
    return response.status_code, rows


def measure_scenario(base_url: str, scenario: Scenario, settings: Settings) -> dict:
    """Probe every path, warm up, then load the scenario. Returns one run's record."""
    row_counts = []
    for path in scenario.paths:
        status, rows = probe(base_url, path)
        if status != 200:
            return {"unsupported_status": status, "path": path}
        row_counts.append(rows)
    urls = [base_url + path for path in scenario.paths]
    if settings.warmup:
        # Always the Python client: it waits for every response, so the measured run starts
        # on an idle server (wrk drops what is in flight when it stops, and the server would
        # still be working on it). Unmeasured, and the same for both servers.
        asyncio.run(
            loadgen.run_load(urls, settings.warmup, settings.concurrency, settings.time_limit)
        )
    if scenario.fresh is not None:
        count = max(settings.requests, math.ceil(settings.duration) * FRESH_PATHS_PER_SECOND)
        urls = [base_url + path for path in scenario.fresh(count, len(scenario.paths))]
    result = loadgen.run(
        settings.loadgen, urls, settings.requests, settings.concurrency, settings.time_limit,
        settings.duration,
    )
    if scenario.fresh is not None and result.requests > len(urls):
        print(f"note: {scenario.name} outran its {len(urls)} new paths; some repeated", flush=True)
    return {**result.to_json(), "rows_in_first_response": row_counts[0]}


def startup_arguments(
    name: str, side: Side, settings: Settings, tmp: str
) -> tuple[list[str], tuple[str, ...]]:
    """The files and extra flags a start-up scenario serves."""
    if name == "startup_2000_tables":
        return [make_data.ensure_wide(settings.data_dir)], ()
    many = os.path.join(settings.data_dir, "many")
    files = sorted(os.path.join(many, n) for n in os.listdir(many) if n.endswith(".db"))
    if name == "startup_20dbs_internal":
        return files, ("--internal", os.path.join(tmp, f"{side.name}-internal.db"))
    return files, ()


def prime_internal(side: Side, settings: Settings, tmp: str, log_path: str) -> None:
    """One unmeasured start that creates `side`'s --internal file, so measured starts reuse it."""
    files, extra = startup_arguments("startup_20dbs_internal", side, settings, tmp)
    try:
        with running_server(side, files, log_path, settings.startup_timeout, extra) as (url, _):
            databases_served(url)
    except ServerStartError as exc:
        print(f"{side.name}: priming the internal file failed: {exc}", flush=True)


def measure_startup(
    side: Side, settings: Settings, log_path: str, name: str = STARTUP_SCENARIO, tmp: str = ""
) -> dict:
    """Seconds from process start until /-/versions.json answers, serving `name`'s files."""
    files, extra = startup_arguments(name, side, settings, tmp)
    try:
        with running_server(
            side, files, log_path, settings.startup_timeout, extra
        ) as (url, seconds):
            served = databases_served(url)
    except ServerStartError as exc:
        return {"error": str(exc)}
    return {"seconds": seconds, "databases_served": served}


def databases_served(base_url: str) -> int | None:
    """How many databases /-/databases.json lists, or None if it does not answer."""
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        try:
            response = client.get(base_url + "/-/databases.json")
        except httpx.HTTPError:
            return None
    if response.status_code != 200:
        return None
    body = response.json()
    return len(body) if isinstance(body, list) else None


def fmt_rps(outcome: Outcome) -> str:
    values = outcome.values("requests_per_s")
    if values:
        return f"{statistics.median(values):,.1f}"
    status = outcome.unsupported_status()
    if status is not None:
        return f"unsupported (status {status})"
    return "failed to start" if outcome.values("error") else "n/a"


def fmt_ratio(ratio: float | None) -> str:
    return f"{ratio:.2f}x" if ratio is not None else "-"


def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def verdict(ratio: float | None, goal: float) -> str:
    if ratio is None:
        return "-"
    return "met" if ratio >= goal else "MISSED"


def summarize(
    results: dict[str, dict[str, Outcome]], goals: dict[str, float]
) -> tuple[list[list[str]], dict]:
    """Rows of the final table, and the JSON summary per scenario."""
    table: list[list[str]] = []
    summary: dict = {}
    for name, by_side in results.items():
        ours, upstream = by_side["ours"], by_side["upstream"]
        notes: list[str] = []
        if name == BARE_SCENARIO:
            table.append(bare_row(results))
            summary[name] = bare_summary(results)
            continue
        if name in STARTUP_GOALS:
            ours_m = median_or_none(ours.values("seconds"))
            up_m = median_or_none(upstream.values("seconds"))
            ratio = up_m / ours_m if ours_m and up_m else None
            ours_text = f"{ours_m:.3f} s" if ours_m is not None else "failed"
            up_text = f"{up_m:.3f} s" if up_m is not None else "failed"
            served = {s: by_side[s].values("databases_served") for s in SIDES}
            for side_name, counts in served.items():
                if counts and min(counts) < 20 and name != "startup_2000_tables":
                    notes.append(f"{side_name} lists {min(counts)} databases")
        else:
            ours_m = median_or_none(ours.values("requests_per_s"))
            up_m = median_or_none(upstream.values("requests_per_s"))
            ratio = ours_m / up_m if ours_m and up_m else None
            ours_text, up_text = fmt_rps(ours), fmt_rps(upstream)
            for side_name in SIDES:
                errors = sum(sum(run.get("errors", {}).values()) for run in by_side[side_name].runs)
                if errors:
                    notes.append(f"{side_name}: {errors} errors")
            ours_rows = ours.values("rows_in_first_response")
            up_rows = upstream.values("rows_in_first_response")
            if ours_rows and up_rows and ours_rows[0] != up_rows[0]:
                notes.append(f"rows differ: ours {ours_rows[0]}, upstream {up_rows[0]}")
            waits = ours.values("column_stats_wait_s")
            if waits:
                notes.append(f"ours waited {statistics.median(waits):.1f} s for column stats")
        goal = goals[name]
        table.append(
            [name, ours_text, up_text, fmt_ratio(ratio), f">={goal:g}x {verdict(ratio, goal)}",
             "; ".join(notes)]
        )
        summary[name] = {
            "ours": {"median": ours_m, "runs": ours.runs},
            "upstream": {"median": up_m, "runs": upstream.runs},
            "unit": "seconds" if name in STARTUP_GOALS else "requests/s",
            "ratio": ratio,
            "ratio_meaning": "upstream/ours" if name in STARTUP_GOALS else "ours/upstream",
            "goal": goal,
            "notes": notes,
        }
    return table, summary


def bare_share(results: dict[str, dict[str, Outcome]]) -> tuple[float | None, float | None]:
    """(median bare-ASGI requests/s, row_json's median share of it)."""
    bare = median_or_none(results[BARE_SCENARIO]["ours"].values("requests_per_s"))
    row = None
    if "row_json" in results:
        row = median_or_none(results["row_json"]["ours"].values("requests_per_s"))
    return bare, (row / bare if row and bare else None)


def bare_row(results: dict[str, dict[str, Outcome]]) -> list[str]:
    """The table row of the bare-ASGI limit: its requests/s, and row_json's share of it."""
    bare, share = bare_share(results)
    share_text = f"row_json {share:.0%}" if share is not None else "-"
    goal = f">={BARE_SHARE_GOAL:.0%} " + (
        "-" if share is None else ("met" if share >= BARE_SHARE_GOAL else "MISSED")
    )
    bare_text = f"{bare:,.1f}" if bare is not None else "n/a"
    return [BARE_SCENARIO, bare_text, "-", share_text, goal, "ours' HTTP stack; ratio = share"]


def bare_summary(results: dict[str, dict[str, Outcome]]) -> dict:
    bare, share = bare_share(results)
    return {
        "ours": {"median": bare, "runs": results[BARE_SCENARIO]["ours"].runs},
        "unit": "requests/s",
        "ratio": share,
        "ratio_meaning": "row_json requests/s / bare ASGI requests/s, both on ours' stack",
        "goal": BARE_SHARE_GOAL,
        "notes": [],
    }


def print_table(rows: list[list[str]]) -> None:
    header = ["scenario", "ours", "upstream", "ratio", "goal", "notes"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def ensure_upstream() -> None:
    """Install upstream into benchmarks/.venv-upstream if it is not there yet."""
    if os.path.exists(UPSTREAM_DATASETTE):
        return
    print("upstream venv missing; running benchmarks/setup_upstream.sh", flush=True)
    subprocess.run(["bash", os.path.join(HERE, "setup_upstream.sh")], check=True, timeout=600)


def wait_for_column_stats(base_url: str, timeout: float = STATS_TIMEOUT_S) -> float | None:
    """Wait until every table of `big` has its column statistics (ours' suggested facets
    read them): seconds waited, or None if the server has none (upstream) or they did
    not finish within `timeout`. `stats.json` is public, unlike `/-/jobs.json`."""
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=30.0, trust_env=False) as client:
        tables = [t["name"] for t in client.get("/big.json").json()["tables"]]
        pending = [t for t in tables if not t.startswith("sqlite_")]  # SQLite's own: skipped
        while pending and time.perf_counter() - started < timeout:
            response = client.get(f"/big/{quote(pending[0], safe='')}/-/stats.json")
            if response.status_code == 404:
                return None
            body = response.json()
            if body.get("state") in ("done", "error", "off") and not body.get("stale"):
                pending.pop(0)
            else:
                time.sleep(0.5)
    return time.perf_counter() - started if not pending else None


def measure_all(
    side: Side,
    big: str,
    all_scenarios: list[Scenario],
    settings: Settings,
    log_path: str,
    round_number: int,
    results: dict[str, dict[str, Outcome]],
) -> None:
    """Start `side` on big.db and load every scenario, appending to `results`."""
    with running_server(side, [big], log_path, settings.startup_timeout) as (base_url, _):
        for index, scenario in enumerate(all_scenarios):
            waited = None
            steady = index == 0 if not settings.while_indexing else (
                scenario.name in STEADY_STATE_SCENARIOS
            )
            if steady and side.name == "ours":
                # Steady state: what serves its suggested facets is indexed by then.
                waited = wait_for_column_stats(base_url)
                print(f"[round {round_number}] {side.name:8} column statistics ready after "
                      f"{'-' if waited is None else f'{waited:.1f}'} s more", flush=True)
            record = measure_scenario(base_url, scenario, settings)
            if waited is not None:
                record["column_stats_wait_s"] = waited
            results[scenario.name][side.name].runs.append(record)
            if "unsupported_status" in record:
                text = f"unsupported (status {record['unsupported_status']})"
            else:
                fields = {
                    k: v for k, v in record.items()
                    if k not in ("rows_in_first_response", "column_stats_wait_s")
                }
                text = loadgen.LoadResult(**fields).summary()
            print(f"[round {round_number}] {side.name:8} {scenario.name:24} {text}", flush=True)


def measure_bare(
    settings: Settings, tmp: str, round_number: int, results: dict[str, dict[str, Outcome]]
) -> None:
    """Load the bare ASGI app on ours' interpreter and stack (`stack.py --hello`)."""
    side = Side(
        "ours", (ours_python(), os.path.join(HERE, "stack.py"), settings.stack, "--hello"),
        REPO, dict(os.environ),
    )
    scenario = Scenario(BARE_SCENARIO, ("/",), BARE_SHARE_GOAL)
    log_path = os.path.join(tmp, "bare.log")
    try:
        with running_server(side, [], log_path, settings.startup_timeout) as (base_url, _):
            record = measure_scenario(base_url, scenario, settings)
    except ServerStartError as exc:
        record = {"error": str(exc)}
    results[BARE_SCENARIO]["ours"].runs.append(record)
    fields = {k: v for k, v in record.items() if k != "rows_in_first_response"}
    text = loadgen.LoadResult(**fields).summary() if "requests_per_s" in record else str(record)
    print(f"[round {round_number}] {'bare':8} {BARE_SCENARIO:24} {text}", flush=True)


def api_token(side: Side) -> str:
    """A root API token signed with WRITE_SECRET, from the side's own `create-token`."""
    done = subprocess.run(
        [*side.command, "create-token", "root", "--secret", WRITE_SECRET],
        cwd=side.cwd, env=side.env, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL, check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def insert_load(url: str, token: str, rows: int, settings: Settings) -> dict:
    """One measured run of inserts of `rows` rows per request (after 10 unmeasured ones):
    wrk POSTs for `--duration` when it is the load generator, else the Python client."""
    body = json.dumps(
        {"rows": [{"name": f"n{i}", "value": i * 0.5} for i in range(rows)]}
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(timeout=60.0, trust_env=False) as client:
        for _ in range(10):
            response = client.post(url, content=body, headers=headers)
            assert response.status_code == 201, response.text
    if settings.loadgen == "wrk":
        result = loadgen.run_wrk(
            [url], None, settings.concurrency, settings.time_limit, settings.duration,
            method="POST", body=body, headers=headers,
        )
        return result.to_json()
    started = time.perf_counter()
    rps = asyncio.run(audit_writes.send_inserts(
        url, token, rows, settings.requests, settings.concurrency
    ))
    elapsed = time.perf_counter() - started
    return loadgen.LoadResult(
        requests=settings.requests, ok=settings.requests, elapsed_s=elapsed,
        requests_per_s=rps,
    ).to_json()


def measure_writes(
    side: Side, settings: Settings, tmp: str, log_path: str, round_number: int,
    names: list[str], results: dict[str, dict[str, Outcome]],
) -> None:
    """Insert rows through the write API of `side`, serving a fresh writes.db."""
    path = os.path.join(tmp, f"writes-{side.name}-{round_number}", "writes.db")
    os.makedirs(os.path.dirname(path))
    audit_writes.make_data(path)
    extra = ("--secret", WRITE_SECRET)
    try:
        token = api_token(side)
        with running_server(side, [path], log_path, settings.startup_timeout, extra) as (url, _):
            for name in names:
                rows, _goal = WRITE_SCENARIOS[name]
                record = insert_load(f"{url}/writes/items/-/insert", token, rows, settings)
                results[name][side.name].runs.append(record)
                text = loadgen.LoadResult(**record).summary()
                print(f"[round {round_number}] {side.name:8} {name:24} {text}", flush=True)
    except (ServerStartError, subprocess.SubprocessError, AssertionError) as exc:
        for name in names:
            results[name][side.name].runs.append({"error": str(exc)[:300]})
        print(f"[round {round_number}] {side.name:8} writes failed: {exc}", flush=True)


def run(settings: Settings) -> dict:
    """Alternate the servers for every round; return the summary."""
    all_scenarios = [
        s for s in scenarios(settings.rows, settings.data_dir) if s.name in settings.only
    ]
    goals = {s.name: s.goal for s in all_scenarios}
    startups = [name for name in STARTUP_GOALS if name in settings.only]
    goals.update({name: STARTUP_GOALS[name] for name in startups})
    do_bare = BARE_SCENARIO in settings.only
    writes = [name for name in WRITE_SCENARIOS if name in settings.only]
    goals.update({name: WRITE_SCENARIOS[name][1] for name in writes})
    names = (
        startups + [s.name for s in all_scenarios] + writes
        + ([BARE_SCENARIO] if do_bare else [])
    )
    results: dict[str, dict[str, Outcome]] = {
        name: {side: Outcome() for side in SIDES} for name in names
    }
    big = os.path.join(settings.data_dir, "big.db")
    compile_ours(settings.stack)
    with tempfile.TemporaryDirectory(prefix="datasette-bench-") as tmp:
        if "startup_20dbs_internal" in startups:
            for side in sides(settings.stack):
                prime_internal(side, settings, tmp, os.path.join(tmp, f"{side.name}.log"))
        for round_number in range(1, settings.rounds + 1):
            if do_bare:
                measure_bare(settings, tmp, round_number, results)
            for side in sides(settings.stack):
                log_path = os.path.join(tmp, f"{side.name}.log")
                for name in startups:
                    record = measure_startup(side, settings, log_path, name, tmp)
                    results[name][side.name].runs.append(record)
                    if "seconds" in record:
                        text = (
                            f"{record['seconds']:.3f} s "
                            f"({record['databases_served']} databases listed)"
                        )
                    else:
                        text = f"failed: {record['error']}"
                    print(f"[round {round_number}] {side.name:8} {name:24} {text}", flush=True)
                if writes:
                    measure_writes(
                        side, settings, tmp, log_path, round_number, writes, results
                    )
                if not all_scenarios:
                    continue
                try:
                    measure_all(side, big, all_scenarios, settings, log_path, round_number, results)
                except ServerStartError as exc:
                    print(f"[round {round_number}] {side.name:8} failed to start: {exc}", flush=True)
                    for scenario in all_scenarios:
                        results[scenario.name][side.name].runs.append({"error": "did not start"})
    table, summary = summarize(results, goals)
    print()
    print_table(table)
    unit = (
        f"{settings.duration} s runs" if settings.loadgen == "wrk"
        else f"{settings.requests}-request runs"
    )
    print(
        f"(medians over {settings.rounds} round(s); load generator {settings.loadgen}, "
        f"{unit} x {settings.concurrency} connections)"
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    choices = [
        *STARTUP_GOALS, *(s.name for s in scenarios(make_data.DEFAULT_ROWS)),
        *WRITE_SCENARIOS, BARE_SCENARIO,
    ]
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument(
        "--loadgen", choices=("auto", *loadgen.LOADGENS), default="auto",
        help="load generator for both servers: auto (the default) is wrk when it is on PATH, "
        "else python",
    )
    parser.add_argument(
        "--duration", type=int, default=loadgen.DEFAULT_DURATION,
        help="wrk: whole seconds per scenario per run (default %(default)s)",
    )
    parser.add_argument(
        "--requests", type=int, default=loadgen.DEFAULT_REQUESTS,
        help="python load generator: requests per scenario per run (default %(default)s)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=loadgen.DEFAULT_CONCURRENCY,
        help="concurrent connections (default %(default)s)",
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="unmeasured requests before each scenario"
    )
    parser.add_argument(
        "--time-limit", type=float, default=60.0,
        help="seconds at most per load run (default %(default)s)",
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=120.0,
        help="seconds to wait for a server to answer (default %(default)s)",
    )
    parser.add_argument("--data-dir", default=make_data.DEFAULT_OUT)
    parser.add_argument(
        "--rows", type=int, default=make_data.DEFAULT_ROWS, help="rows in big.db items"
    )
    parser.add_argument(
        "--scenario", action="append", choices=choices,
        help="run only this scenario (repeatable; default all)",
    )
    parser.add_argument(
        "--stack", choices=("auto", "pure"), default="auto",
        help="ours' and the bare app's uvicorn stack: auto (httptools + uvloop when "
        "installed, as `datasette serve`) or pure (h11 + asyncio)",
    )
    parser.add_argument(
        "--while-indexing", action="store_true",
        help="measure ours' read scenarios while its column statistics of big.db are still "
        "being built (default: ours waits for them before its first read scenario; "
        "html_search always waits)",
    )
    parser.add_argument("--save", action="store_true", help=f"write {RESULTS_PATH}")
    parser.add_argument(
        "--check", action="store_true",
        help="exit 1 if any scenario misses its goal or is unsupported by ours",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.requests < 1 or args.concurrency < 1 or args.duration < 1:
        parser.error("--rounds, --duration, --requests and --concurrency must be at least 1")
    try:
        chosen = loadgen.resolve_loadgen(args.loadgen)
    except ValueError as exc:
        parser.error(str(exc))

    ensure_upstream()
    started = time.perf_counter()
    if make_data.generate(args.data_dir, args.rows):
        print(f"generated data in {args.data_dir} in {time.perf_counter() - started:.1f}s")
    settings = Settings(
        rounds=args.rounds,
        loadgen=chosen,
        duration=args.duration,
        requests=args.requests,
        concurrency=args.concurrency,
        warmup=args.warmup,
        time_limit=args.time_limit,
        startup_timeout=args.startup_timeout,
        data_dir=args.data_dir,
        rows=args.rows,
        only=tuple(args.scenario or choices),
        stack=args.stack,
        while_indexing=args.while_indexing,
    )
    if chosen == "wrk":
        version = loadgen.wrk_version() or "wrk"
        per_run = (
            f"{settings.duration} s x {settings.concurrency} connections per scenario "
            f"(wrk -t1, {settings.warmup} warm-up requests first)"
        )
    else:
        version = f"python httpx {httpx.__version__}"
        per_run = (
            f"{settings.requests} requests x {settings.concurrency} connections per scenario"
        )
    print(
        f"comparing ours ({sys.executable} -m datasette) with upstream {UPSTREAM_VERSION}: "
        f"{settings.rounds} rounds, {per_run}\n"
        f"load generator: {chosen} ({version}), the same for both servers",
        flush=True,
    )
    summary = run(settings)
    if args.save:
        os.makedirs(os.path.dirname(RESULTS_PATH), exist_ok=True)
        document = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "settings": {k: v for k, v in asdict(settings).items() if k != "data_dir"},
            "serve_flags": list(SERVE_FLAGS),
            "upstream_version": UPSTREAM_VERSION,
            "loadgen": {"name": chosen, "version": version},
            "scenarios": summary,
        }
        with open(RESULTS_PATH, "w") as fp:
            json.dump(document, fp, indent=2)
            fp.write("\n")
        print(f"\nwrote {RESULTS_PATH}")
    if args.check:
        missed = [
            name for name, item in summary.items()
            if item["ratio"] is None or item["ratio"] < item["goal"]
        ]
        if missed:
            print(f"goals missed or not measurable: {', '.join(missed)}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
