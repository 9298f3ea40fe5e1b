"""The managed `litestream replicate` child: started after start-up, restarted with
backoff when it dies, restarted once when rotated credentials change, stopped at shutdown.

Every start after the first is audited (`replication.restart`) when the instance has an
audit log. A failure to load credentials at a refresh is fatal: `fatal_error` is set and
`on_fatal` is called, which `serve` uses to stop the server and exit 1.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import sys
import time
from typing import TYPE_CHECKING, Callable, Optional

from . import process as processes
from .config import ReplicationConfig
from .credentials import CredentialsError, credentials_environment, load_credentials
from .files import PrivateFolder

if TYPE_CHECKING:
    from ...app import Datasette


log = logging.getLogger("datasette.replication")

CREDENTIALS_FAILED = "Replication stopped: could not load credentials at refresh: {}"
_LOG_FIELD = re.compile(r'(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_log_line(line: str) -> dict:
    """Litestream's `key=value` log line (slog text format) as a dict of strings."""
    fields = {}
    for key, value in _LOG_FIELD.findall(line):
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1].replace('\\"', '"')
        fields.setdefault(key, value)
    return fields


class Replicator:
    """Runs and watches one `litestream replicate -config FILE` process.

    :param config: the validated replication settings
    :param binary: the `litestream` executable
    :param datasette: the instance, for `audit` when it has one (optional)
    :param on_fatal: called with the message when replication must stop the server
    """

    max_backoff = 30.0
    healthy_after = 60.0

    def __init__(
        self,
        config: ReplicationConfig,
        binary: str,
        datasette: Datasette = None,
        on_fatal: Optional[Callable[[str], None]] = None,
        echo: bool = True,
    ):
        self.config = config
        self.binary = binary
        self.datasette = datasette
        self.on_fatal = on_fatal
        self.echo = echo
        # Made at the first launch: a server that never starts leaves no folder behind.
        self.folder: Optional[PrivateFolder] = None
        self.process: Optional[asyncio.subprocess.Process] = None
        self.credentials: dict = {}
        self.starts = 0
        self.restarts = 0
        self.fatal_error: Optional[str] = None
        self.last_errors: dict = {}
        self.log_lines: collections.deque = collections.deque(maxlen=100)
        self._tasks: list = []
        self._stopping = False
        self._restart_lock = asyncio.Lock()

    # -- lifecycle --------------------------------------------------------------------

    def load_initial_credentials(self) -> None:
        """Load credentials once before start; raises `CredentialsError` to refuse start-up."""
        self.credentials = load_credentials(self.config)

    async def start(self) -> None:
        """Write the configuration and start the child and its watchers."""
        if not self.credentials:
            self.credentials = await asyncio.to_thread(load_credentials, self.config)
        await self._launch()
        self._tasks.append(asyncio.create_task(self._supervise()))
        if self.config.dynamic_credentials:
            self._tasks.append(asyncio.create_task(self._refresh_credentials()))

    async def stop(self) -> None:
        """Stop watching, stop the child (it syncs once more) and remove the private folder."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []
        if self.process is not None:
            await processes.stop(self.process)
        if self.folder is not None:
            self.folder.remove()

    @property
    def pid(self) -> Optional[int]:
        if self.process is None or self.process.returncode is not None:
            return None
        return self.process.pid

    @property
    def socket_path(self) -> Optional[str]:
        """The control socket `litestream list` talks to (None before the first launch)."""
        return self.folder.socket_path if self.folder is not None else None

    async def _launch(self) -> None:
        if self.folder is None:
            self.folder = PrivateFolder()
        self.folder.write_config(self.config, self.credentials)
        args = [self.binary, "replicate", "-config", self.folder.config_path]
        self.process = await processes.spawn(args, credentials_environment(self.credentials))
        self.starts += 1
        self._tasks.append(asyncio.create_task(self._read_output(self.process)))

    # -- watching ----------------------------------------------------------------------

    async def _supervise(self) -> None:
        backoff = 1.0
        while not self._stopping:
            process = self.process
            if process is None:  # a credentials rotation is swapping the child
                await asyncio.sleep(0.05)
                continue
            started = time.monotonic()
            code = await process.wait()
            if self._stopping:
                return
            if process is not self.process:
                continue  # replaced on purpose by a credentials rotation
            if time.monotonic() - started > self.healthy_after:
                backoff = 1.0
            self._note_line(f"litestream exited with status {code}; restarting in {backoff:g}s")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)
            async with self._restart_lock:
                if self._stopping or process is not self.process:
                    continue
                await self._launch()
                self.restarts += 1
            await self._audit("replication.restart", {"reason": f"exit status {code}"})

    async def _read_output(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while True:
            raw = await process.stdout.readline()
            if not raw:
                return
            self._note_line(raw.decode("utf-8", "replace").rstrip())

    def _note_line(self, line: str) -> None:
        self.log_lines.append(line)
        fields = parse_log_line(line)
        level = fields.get("level", "")
        if level in ("ERROR", "WARN") or "exited with status" in line:
            key = fields.get("db") or fields.get("path") or "*"
            self.last_errors[key] = {"time": time.time(), "message": line}
        if self.echo and (level in ("ERROR", "WARN") or "exited with status" in line):
            print(f"litestream: {line}", file=sys.stderr, flush=True)

    # -- credentials --------------------------------------------------------------------

    async def _refresh_credentials(self) -> None:
        interval = self.config.credentials_refresh_interval or 60.0
        while not self._stopping:
            await asyncio.sleep(interval)
            try:
                fresh = await asyncio.to_thread(load_credentials, self.config)
            except CredentialsError as e:
                self._fail(CREDENTIALS_FAILED.format(e))
                return
            if fresh == self.credentials:
                continue
            async with self._restart_lock:
                if self._stopping:
                    return
                self.credentials = fresh
                old = self.process
                # Replace first so the supervisor sees a planned stop, not a crash.
                self.process = None
                if old is not None:
                    await processes.stop(old)
                await self._launch()
                self.restarts += 1
            await self._audit("replication.restart", {"reason": "credentials changed"})

    def _fail(self, message: str) -> None:
        self.fatal_error = message
        if self.on_fatal is not None:
            self.on_fatal(message)

    async def _audit(self, action: str, detail: dict) -> None:
        audit = getattr(self.datasette, "audit", None)
        if audit is None:
            return
        try:
            await audit(action, resource="litestream", detail=detail)
        except Exception as e:  # an audit failure never stops replication
            log.warning("could not audit %s: %s", action, e)
