"""What a public table costs: table JSON with `--default-deny` and the table made public,
beside the same table served without the feature (issue 11's target: within 10%).

Both servers are ours, from this checkout, on the benchmark data (`make_data.py`), measured
alternately by the same load generator for `--rounds` rounds; the median requests/s of each
and their ratio are printed.

    python benchmarks/public_tables.py [--rounds 3] [--loadgen auto|wrk|python] [--duration 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import compare  # noqa: E402
import loadgen  # noqa: E402
import make_data  # noqa: E402

PATH = "/big/items.json"


def make_public(side: compare.Side, base_url: str, secret: str) -> None:
    token = subprocess.run(
        [*side.command, "create-token", "root", "--secret", secret],
        env=side.env, cwd=side.cwd, capture_output=True, text=True, check=True,
    ).stdout.strip()
    response = httpx.post(
        base_url + "/-/public",
        json={"database": "big", "table": "items", "public": True},
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    )
    response.raise_for_status()
    assert httpx.get(base_url + "/big.json?sql=select+1", trust_env=False).status_code == 403


def measure(args: argparse.Namespace, deny: bool, data: str, log: str) -> float:
    secret = secrets.token_hex(16)
    ours = compare.sides()[0]
    side = compare.Side(ours.name, ours.command, ours.cwd, {**ours.env, "DATASETTE_SECRET": secret})
    files = [os.path.join(data, "big.db")]
    flags = ("--setting", "default_deny", "1") if deny else ()
    with serving(side, files, flags, log) as base_url:
        if deny:
            make_public(side, base_url, secret)
            assert httpx.get(base_url + "/", trust_env=False).status_code == 200
        urls = [base_url + PATH]
        loadgen.run("python", urls, 100, args.concurrency, 60, 1)  # warm up
        result = loadgen.run(
            args.loadgen, urls, args.requests, args.concurrency, 120, args.duration
        )
    return result.requests_per_s


@contextlib.contextmanager
def serving(side: compare.Side, files: list, flags: tuple, log_path: str) -> Iterator[str]:
    """Our server on a free port; ready at its first answer (a 403 counts: with
    default_deny even /-/versions.json is refused to anonymous clients)."""
    port = compare.free_port()
    base_url = f"http://{compare.HOST}:{port}"
    argv = [*side.command, "serve", *files, "--host", compare.HOST, "--port", str(port),
            *compare.SERVE_FLAGS, *flags]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(argv, cwd=side.cwd, env=side.env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base_url + "/-/versions.json", trust_env=False).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start:\n" + compare.log_tail(log_path))
                time.sleep(0.05)
            yield base_url
        finally:
            compare.stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loadgen", default="auto")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rows", type=int, default=make_data.DEFAULT_ROWS)
    args = parser.parse_args()
    args.loadgen = loadgen.resolve_loadgen(args.loadgen)
    data = os.path.join(HERE, "data")
    make_data.generate(data, args.rows)
    plain, public = [], []
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "server.log")
        for round_number in range(args.rounds):
            plain.append(measure(args, False, data, log))
            public.append(measure(args, True, data, log))
            print(f"round {round_number + 1}: plain {plain[-1]:.0f} req/s, "
                  f"default-deny + public table {public[-1]:.0f} req/s")
    ratio = statistics.median(public) / statistics.median(plain)
    print(f"median: plain {statistics.median(plain):.0f} req/s, public {statistics.median(public):.0f} "
          f"req/s, ratio {ratio:.2f} ({args.loadgen})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
