"""Restoring database files from their replicas with `litestream restore`."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import process as processes
from .config import ReplicatedDatabase


class RestoreError(Exception):
    """Raised when `litestream restore` fails; the message is Litestream's last line."""


@dataclass
class RestoreResult:
    """What happened to one file: `restored`, `kept` (it existed) or `no-replica`."""

    name: str
    path: str
    outcome: str
    size: int = 0


def restore_database(
    binary: str,
    database: ReplicatedDatabase,
    output: Optional[str] = None,
    if_db_not_exists: bool = False,
    if_replica_exists: bool = False,
    timestamp: Optional[str] = None,
    env: Optional[dict] = None,
) -> RestoreResult:
    """Restore `database` from its replica into `output` (default: its own path).

    :param if_db_not_exists: leave an existing file exactly as it is
    :param if_replica_exists: a replica with no backup yet is not an error
    :param timestamp: restore to this point in time (RFC 3339, e.g. 2026-01-01T00:00:00Z)
    :raises RestoreError: Litestream failed
    """
    output = os.path.abspath(output or database.path)
    if if_db_not_exists and os.path.exists(output):
        return RestoreResult(database.name, output, "kept", os.path.getsize(output))
    args = [binary, "restore", "-o", output]
    if if_replica_exists:
        args.append("-if-replica-exists")
    if timestamp:
        args += ["-timestamp", timestamp]
    if os.path.exists(output):
        # Without -if-db-not-exists an existing file is replaced on purpose.
        args.append("-force")
    args.append(database.url)
    completed = processes.start_sync(
        args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    out, _ = completed.communicate()
    if completed.returncode != 0:
        lines = [line for line in (out or "").splitlines() if line.strip()]
        raise RestoreError(
            f"Could not restore {database.name} from {redact_url(database.url)}: "
            + (lines[-1] if lines else f"exit status {completed.returncode}")
        )
    if not os.path.exists(output):
        return RestoreResult(database.name, output, "no-replica")
    return RestoreResult(database.name, output, "restored", os.path.getsize(output))


def redact_url(url: str) -> str:
    """A replica URL safe to show: user, password and secret-looking query values hidden."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = [
            (key, "***" if _secret_key(key) else value)
            for key, value in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in ("key", "secret", "token", "password", "credential"))
