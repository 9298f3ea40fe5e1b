"""The data of `/-/litestream`: per database the redacted replica URL, the last sync and
its lag, the last error; the child process; followers; Prometheus figures if enabled."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import time
from typing import TYPE_CHECKING, Any, Optional

from .restore import redact_url

if TYPE_CHECKING:
    from ...app import Datasette



async def replication_status(ds: Datasette) -> dict:
    """A JSON-ready snapshot of replication for the status page."""
    replication = getattr(ds, "_replication", None)
    if replication is None:
        return {"enabled": False, "databases": [], "followers": [], "process": None}
    replicator = replication.replicator
    synced = await _last_syncs(replicator) if replicator else {}
    errors = replicator.last_errors if replicator else {}
    databases = [
        _database_status(db, synced.get(db.path), _last_error(errors, db.path))
        for db in replication.config.databases
    ]
    data: dict = {
        "enabled": replicator is not None,
        "databases": databases,
        "followers": [
            {
                "path": follower.path,
                "replica": redact_url(follower.url),
                "applied_txid": follower.applied_txid(),
                "running": follower.process is not None and follower.process.poll() is None,
            }
            for follower in replication.followers
        ],
        "primary_url": replication.config.primary_url,
        "process": None,
        "metrics": None,
    }
    if replicator is not None:
        data["process"] = {
            "pid": replicator.pid,
            "starts": replicator.starts,
            "restarts": replicator.restarts,
            "error": errors.get("*", {}).get("message"),
        }
    if replication.config.metrics_addr:
        data["metrics"] = await _metrics(replication.config.metrics_addr)
    return data


def _database_status(db: Any, last_sync: Optional[str], error: Optional[dict]) -> dict:
    now = time.time()
    sync_ts = _parse_time(last_sync)
    changed = _last_change(db.path)
    lag = None
    if sync_ts is not None:
        # Behind only when the file changed after the last sync; then by that long.
        lag = round(now - sync_ts, 3) if changed and changed > sync_ts else 0.0
    return {
        "name": db.name,
        "path": db.path,
        "replica": redact_url(db.url),
        "last_sync_at": last_sync,
        "seconds_since_sync": None if sync_ts is None else round(now - sync_ts, 3),
        "lag_seconds": lag,
        "last_error": error["message"] if error else None,
        "last_error_at": _iso(error["time"]) if error else None,
    }


def _last_error(errors: dict, path: str) -> Optional[dict]:
    name = os.path.basename(path)
    return errors.get(path) or errors.get(name)


def _last_change(path: str) -> Optional[float]:
    times = []
    for candidate in (path, path + "-wal"):
        try:
            times.append(os.stat(candidate).st_mtime)
        except OSError:
            pass
    return max(times) if times else None


async def _last_syncs(replicator: Any) -> dict:
    """`{path: last_sync_at}` from the running child's control socket (empty if down)."""
    socket_path = replicator.socket_path
    if replicator.pid is None or not socket_path or not os.path.exists(socket_path):
        return {}
    args = [replicator.binary, "list", "-json", "-socket", socket_path]
    args += ["-timeout", "2"]
    try:
        child = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
        out, _ = await asyncio.wait_for(child.communicate(), timeout=5)
        listed = json.loads(out or b"{}")
    except (OSError, ValueError, asyncio.TimeoutError):
        return {}
    return {
        item.get("path"): item.get("last_sync_at")
        for item in listed.get("databases") or []
        if item.get("last_sync_at") and not item["last_sync_at"].startswith("0001-")
    }


async def _metrics(addr: str) -> dict:
    """Litestream's own figures from its Prometheus endpoint, as `{name: [samples]}`."""
    host, _, port = addr.rpartition(":")
    url = f"http://{host or '127.0.0.1'}:{port}/metrics"
    # Deferred, as in datasette/client.py: httpx costs ~0.8 s of `import datasette.app`
    # under Pyodide, and only a status page with metrics-addr set needs it.
    import httpx

    try:
        async with httpx.AsyncClient(timeout=3) as client:
            response = await client.get(url)
    except httpx.HTTPError as e:
        return {"error": f"{url}: {e}", "samples": {}}
    return {"error": None, "samples": parse_prometheus(response.text)}


def parse_prometheus(text: str) -> dict:
    """`litestream_*` samples of a Prometheus text page: `{name: [{labels, value}]}`."""
    samples: dict = {}
    for line in text.splitlines():
        if not line.startswith("litestream_"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        samples.setdefault(name, []).append({"labels": labels.rstrip("}"), "value": value})
    return samples


def _parse_time(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    # Go prints nanoseconds; Python's parser takes at most microseconds.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits):]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        return datetime.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat()
