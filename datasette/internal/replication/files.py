"""The generated `litestream.yml`, written into a private folder (it can hold credentials)."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Optional

from .config import ReplicationConfig


class PrivateFolder:
    """A 0700 temporary folder holding `litestream.yml` (0600) and the control socket."""

    def __init__(self, prefix: str = "datasette-litestream-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.path, 0o700)

    @property
    def config_path(self) -> str:
        return os.path.join(self.path, "litestream.yml")

    @property
    def socket_path(self) -> str:
        return os.path.join(self.path, "control.sock")

    def write_config(self, config: ReplicationConfig, credentials: Optional[dict] = None) -> str:
        """Write `litestream.yml` with mode 0600 (created so, never widened) and return its path."""
        text = render_litestream_yml(config, credentials or {}, self.socket_path)
        path = self.config_path
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fp:
            fp.write(text)
        os.replace(tmp, path)
        return path

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def litestream_document(
    config: ReplicationConfig, credentials: dict, socket_path: Optional[str] = None
) -> dict:
    """The YAML document Litestream 0.5 reads: `dbs:` with one `replica:` each."""
    document: dict = {}
    if credentials.get("access-key-id"):
        document["access-key-id"] = credentials["access-key-id"]
    if credentials.get("secret-access-key"):
        document["secret-access-key"] = credentials["secret-access-key"]
    if config.metrics_addr:
        document["addr"] = config.metrics_addr
    if socket_path:
        # The control socket answers `litestream list`, which the status page reads.
        document["socket"] = {"enabled": True, "path": socket_path}
    document["dbs"] = [
        {
            "path": db.path,
            **db.settings,
            "replica": {"url": db.url, **db.replica_settings},
        }
        for db in config.databases
    ]
    return document


def render_litestream_yml(
    config: ReplicationConfig, credentials: dict, socket_path: Optional[str] = None
) -> str:
    """`litestream_document` as YAML text."""
    import yaml  # only replication writes YAML; ~10 ms of every start otherwise

    return yaml.safe_dump(
        litestream_document(config, credentials, socket_path), sort_keys=False
    )
