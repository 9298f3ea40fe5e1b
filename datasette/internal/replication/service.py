"""Replication for one `Datasette` instance: configuration read from the instance, the
managed Litestream child, followers, and the ASGI wrapper that runs them with the server.

`serve` calls `configure(ds, config)` before binding its port (bad configuration: one
line, exit 1, nothing started), wraps the app with `replication.wrap(app)` so the child
starts once the server has started and stops when it stops, and afterwards checks
`replication.fatal_error`.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
from typing import TYPE_CHECKING, Any, Callable, Optional

from ...utils.config import resolve_env_secrets
from ...utils.sqlite import sqlite3
from .binary import require_litestream
from .config import (
    INTERNAL_NAME,
    DatabaseSource,
    ReplicationConfig,
    ReplicationConfigError,
    database_blocks,
    parse_config,
    plugin_block,
)
from .credentials import CredentialsError, credentials_environment, load_credentials
from .follow import Follower, FollowerDatabase, refusal_message
from .supervisor import Replicator

if TYPE_CHECKING:
    from ...app import Datasette


log = logging.getLogger("datasette.replication")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def read_config(
    metadata: Optional[dict],
    config: Optional[dict],
    databases: list,
    internal_path: Optional[str] = None,
) -> ReplicationConfig:
    """A `ReplicationConfig` from metadata and config dicts (config wins) for `databases`.

    :param databases: `DatabaseSource` items; their `plugin_config` is filled in here
    """
    top = resolve_env_secrets(plugin_block(metadata, config), os.environ)
    blocks = database_blocks(metadata, config)
    unknown = sorted(set(blocks) - {source.name for source in databases})
    for source in databases:
        source.plugin_config = resolve_env_secrets(blocks.get(source.name) or {}, os.environ)
    parsed = parse_config(top, databases, internal_path=internal_path)
    for name in unknown:
        parsed.warnings.append(
            f"Replication: databases: {name}: is configured but not served; not replicated"
        )
    return parsed


def sources_of(ds: Datasette) -> list:
    """The served databases of `ds` as `DatabaseSource` items (followers left out)."""
    return [
        DatabaseSource(
            name=name,
            path=db.path,
            is_mutable=db.is_mutable,
            is_memory=db.is_memory,
        )
        for name, db in ds.databases.items()
        if not getattr(db, "is_follower", False)
    ]


def ensure_wal(path: str, name: str) -> None:
    """Put a database file in WAL mode (Litestream needs it); refuse if it cannot be."""
    try:
        conn = sqlite3.connect(path, timeout=5.0)
        try:
            mode = conn.execute("PRAGMA journal_mode=wal").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise ReplicationConfigError(f"Could not put {name} ({path}) in WAL mode: {e}")
    if str(mode).lower() != "wal":
        raise ReplicationConfigError(
            f"{name} ({path}) must be in WAL mode for replication; it is in {mode} mode"
        )


class Replication:
    """Everything replication-related that runs alongside one server."""

    def __init__(
        self,
        ds: Datasette,
        config: ReplicationConfig,
        binary: Optional[str],
        on_fatal: Optional[Callable[[str], None]] = None,
    ):
        self.ds = ds
        self.config = config
        self.binary = binary
        self.followers: list = []
        self.pending_restores: list = []
        self.replicator: Optional[Replicator] = None
        if config.enabled and binary:
            self.replicator = Replicator(config, binary, ds, on_fatal=on_fatal or _stop_server)

    @property
    def fatal_error(self) -> Optional[str]:
        return self.replicator.fatal_error if self.replicator else None

    def follower_routes(self) -> dict:
        """`{route: primary_url}` of the followed databases."""
        return {
            db.route: db.primary_url
            for db in self.ds.databases.values()
            if getattr(db, "is_follower", False)
        }

    async def start(self) -> None:
        for result in self.pending_restores:
            await record_restore(self.ds, result)
        self.pending_restores = []
        if self.replicator is not None:
            await self.replicator.start()

    async def stop(self) -> None:
        if self.replicator is not None:
            await self.replicator.stop()
        for follower in self.followers:
            follower.stop()

    def wrap(self, app: Any) -> Any:
        """`app` with replication started after its start-up and stopped at its shutdown,
        and writes to followed databases refused."""
        return ReplicationApp(app, self)


def configure(
    ds: Datasette,
    config: Optional[dict] = None,
    follows: Optional[list] = None,
    warn: Callable[[str], None] = lambda message: None,
) -> Optional[Replication]:
    """Validate replication for `ds` and prepare it, starting nothing but followers.

    :param config: the `-c` configuration dict (metadata comes from `ds`)
    :param follows: `(url, path)` pairs from `--follow`; each is restored and attached
    :raises ReplicationConfigError: one line for the user
    """
    parsed = read_config(
        ds.metadata(), config, sources_of(ds), getattr(ds, "_internal_path", None)
    )
    for message in parsed.warnings:
        warn(message)
    if not parsed.enabled and not follows:
        return None
    binary = require_litestream()
    if parsed.enabled:
        for db in parsed.databases:
            if not db.is_internal:
                ensure_wal(db.path, db.name)
    credentials: dict = {}
    if parsed.enabled or follows:
        try:
            credentials = load_credentials(parsed)
        except CredentialsError as e:
            raise ReplicationConfigError(str(e))
    replication = Replication(ds, parsed, binary)
    if replication.replicator is not None:
        replication.replicator.credentials = credentials
    for url, path in follows or []:
        follower = Follower(
            binary, url, path, interval=parsed.follow_interval,
            env=credentials_environment(credentials),
        )
        follower.start()
        atexit.register(follower.stop)  # also when the server never gets to start
        replication.followers.append(follower)
        db = ds.add_database(FollowerDatabase(ds, path, primary_url=parsed.primary_url))
        _hold_no_connections(ds, db.name)
    ds._replication = replication
    return replication


async def record_restore(ds: Datasette, result: Any) -> None:
    """A restore made before start-up, as a finished job and an audit row (when the
    instance has the activity system)."""
    name = None if result.name == INTERNAL_NAME else result.name
    message = f"{result.outcome} {result.path}" + (f" ({result.size} bytes)" if result.size else "")
    try:
        jobs = getattr(ds, "jobs", None)
        if jobs is not None:
            job = await jobs.start("litestream-restore", f"Restore {result.name}", database=name)
            await job.finish(message)
        audit = getattr(ds, "audit", None)
        if audit is not None:
            await audit("replication.restore", database=name, resource=result.path,
                        detail={"outcome": result.outcome, "size": result.size})
    except Exception as e:  # recording is secondary to serving the restored data
        log.warning("could not record the restore of %s: %s", result.name, e)


def _hold_no_connections(ds: Datasette, name: str) -> None:
    """Turn off column statistics for a followed database, whatever the metadata says.

    The statistics indexer keeps a connection open on each database it indexes; on a
    followed file that connection would stop Litestream applying changes (see follow.py).
    """
    metadata = ds._metadata_local
    if metadata is None:
        metadata = ds._metadata_local = {}
    database = metadata.setdefault("databases", {}).setdefault(name, {})
    database["column_stats"] = False


def _stop_server(message: str) -> None:
    # uvicorn turns SIGTERM into a graceful shutdown; `serve` then exits 1 with `message`.
    os.kill(os.getpid(), signal.SIGTERM)


class ReplicationApp:
    """ASGI wrapper: runs replication with the server's lifespan; refuses follower writes."""

    def __init__(self, app: Any, replication: Replication):
        self.app = app
        self.replication = replication

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if scope["type"] == "http" and scope.get("method", "GET") not in _SAFE_METHODS:
            primary = self._follower_target(scope.get("path", ""))
            if primary is not False:
                await _refuse(send, primary)
                return
        await self.app(scope, receive, send)

    def _follower_target(self, path: str) -> Any:
        """The primary URL when `path` is inside a followed database, else False."""
        base = (self.replication.ds.setting("base_url") or "/").rstrip("/")
        if base and path.startswith(base):
            path = path[len(base):]
        first = path.lstrip("/").split("/", 1)[0]
        if "." in first:
            first = first.split(".", 1)[0]
        routes = self.replication.follower_routes()
        return routes[first] if first in routes else False

    async def _lifespan(self, scope: dict, receive: Any, send: Any) -> None:
        replication = self.replication

        async def wrapped_receive() -> dict:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await replication.stop()
            return message

        async def wrapped_send(message: dict) -> None:
            if message["type"] == "lifespan.startup.complete":
                try:
                    await replication.start()
                except Exception as e:
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
            await send(message)

        await self.app(scope, wrapped_receive, wrapped_send)


async def _refuse(send: Any, primary_url: Optional[str]) -> None:
    message = refusal_message(primary_url)
    body = json.dumps(
        {"ok": False, "errors": [message], "primary_url": primary_url}
    ).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 405,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"allow", b"GET, HEAD, OPTIONS"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
