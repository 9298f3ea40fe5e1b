"""Replication with Litestream: the served databases and the internal database.

Rooms: `config` (keys and refusals), `wanted` (whether a configuration asks for any),
`files` (the private `litestream.yml`), `binary` (finding `litestream`), `process`
(children that die with the server), `credentials`, `supervisor` (the `litestream
replicate` child), `restore`, `follow` (read replicas), `status` (the `/-/litestream`
data) and `service` (wiring for one instance).

The names below are imported from their rooms on first use (PEP 562): `serve` reaches
this package on every start, and the rooms cost a few milliseconds it need not pay when
nothing is replicated.
"""

from __future__ import annotations

from ...utils.lazy_names import lazy_getattr

# name -> the room it lives in
_EXPORTS = {
    "MISSING_BINARY": "binary",
    "find_litestream": "binary",
    "require_litestream": "binary",
    "INTERNAL_NAME": "config",
    "PLUGIN_NAME": "config",
    "DatabaseSource": "config",
    "ReplicatedDatabase": "config",
    "ReplicationConfig": "config",
    "ReplicationConfigError": "config",
    "parse_config": "config",
    "CredentialsError": "credentials",
    "credentials_environment": "credentials",
    "load_credentials": "credentials",
    "parse_follow": "follow",
    "RestoreError": "restore",
    "RestoreResult": "restore",
    "redact_url": "restore",
    "restore_database": "restore",
    "configure": "service",
    "read_config": "service",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(
    globals(), {name: f"{__name__}.{room}" for name, room in _EXPORTS.items()}
)


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXPORTS))
