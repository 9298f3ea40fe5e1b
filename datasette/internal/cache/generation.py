"""Which state of a database a cached result belongs to.

A result may be reused only while its database is exactly as it was when the result was
computed. `Generations.identity(db)` names that state, or returns None when it cannot be
known (the result is then computed and not cached):

- An immutable file is named by its identity on disk (device, inode, size, mtime_ns).
  Nothing writes to it while it is served, so the name holds across restarts.
- A mutable file is named by its `Database` object's token (new in every process) and the
  epoch of the instance's commit watcher (`internal/watch.py`), which moves on with every
  commit, by this server's writer or by another process, and every schema change. It is
  read once per request, so a page's count and facets share one reading.
- In-memory databases are not cached: they are small, and other connections in this
  process may change a named one without a file to watch.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional, Tuple

from ..watch import CommitWatch

if TYPE_CHECKING:
    from ...database import Database


class Generations:
    """The current state name of each database, from the instance's `CommitWatch`.

    :param watch: the commit watcher shared with the column statistics (a private one
        when none is given)
    """

    def __init__(self, watch: Optional[CommitWatch] = None) -> None:
        self.watch = watch if watch is not None else CommitWatch()
        self._owns_watch = watch is None

    def identity(self, db: Database) -> Optional[Tuple[str, str]]:
        """`(scope, state name)` for `db` as it is now, or None when it cannot be cached.

        `scope` is "immutable" (the name holds across restarts) or "mutable".
        """
        if db.is_memory or not db.path:
            return None
        if not db.is_mutable:
            try:
                st = os.stat(db.path)
            except OSError:
                return None
            return "immutable", f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
        epoch = self.watch.request_epoch(db)
        if epoch is None:
            return None
        return "mutable", f"{db.token}:{epoch}"

    def close(self) -> None:
        """Close the watcher connections, if the watcher is this object's own."""
        if self._owns_watch:
            self.watch.close()
