"""Replication with Litestream: the served databases and the internal database.

Rooms: `config` (keys and refusals), `files` (the private `litestream.yml`), `binary`
(finding `litestream`), `process` (children that die with the server), `credentials`,
`supervisor` (the `litestream replicate` child), `restore`, `follow` (read replicas),
`status` (the `/-/litestream` data) and `service` (wiring for one instance).
"""

from .binary import MISSING_BINARY, find_litestream, require_litestream  # noqa: F401
from .config import (  # noqa: F401
    INTERNAL_NAME,
    PLUGIN_NAME,
    DatabaseSource,
    ReplicatedDatabase,
    ReplicationConfig,
    ReplicationConfigError,
    parse_config,
)
from .credentials import CredentialsError, load_credentials  # noqa: F401
from .restore import RestoreError, RestoreResult, redact_url, restore_database  # noqa: F401
