"""The result cache: query results on unchanged data, kept in the internal database.

`ResultCache.rows(db, sql, params, compute)` returns the rows of a read-only query,
computing them with `compute()` only when no entry exists for the database's current
state (`generation.py`). Entries live in the internal table `result_cache` (`schema.py`),
with a bounded in-memory front of the most recently used ones, so a hit usually costs a
dictionary lookup (and, once per request, one read of the database's commit watcher).

Writes never hold up a request: new entries are handed to the internal database's writer
without waiting, and entries recorded while a batch is queued join that batch. The table
is bounded: each batch drops the oldest entries beyond `max_entries`. Any failure of the
cache (its table dropped, a busy file, rows JSON cannot hold) is logged and the query is
simply computed: the cache can make a request faster, never make it fail.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from ..batching import PendingRows
from ..clock import utc_now
from ..watch import CommitWatch
from .generation import Generations

if TYPE_CHECKING:
    from ...database import Database

logger = logging.getLogger("datasette.result_cache")

_INSERT = (
    "INSERT OR REPLACE INTO result_cache "
    "(cache_key, database_name, scope, process, rows, created_at) VALUES (?, ?, ?, ?, ?, ?)"
)
# Entries bigger than this are kept in memory only: a facet or count result is small, and
# a huge one would cost more to write than to recompute.
MAX_STORED_CHARS = 256 * 1024

# A function call in the SQL: the name before an opening parenthesis.
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
# Names that may precede "(" in the SQL we cache and give the same answer for the same
# data: SQL keywords, SQLite's deterministic built-in functions and `escape_fts` (ours,
# registered by sql_functions.py for every `?_search=`, a pure function). Any other call
# (random(), a plugin's function, date('now') is caught below) makes a query uncacheable.
_SAFE_CALLS = frozenset(
    """
    select from where and or not in exists as on using join values with group by order
    having limit offset case when then else end is between like glob match escape union
    all distinct filter over partition cast collate materialized
    count sum total avg min max group_concat abs coalesce ifnull iif nullif length lower
    upper trim ltrim rtrim substr substring replace instr round typeof quote hex unhex
    char unicode printf format date time datetime julianday strftime unixepoch
    json json_valid json_type json_each json_tree json_extract json_array_length
    json_array json_object json_quote json_group_array json_group_object
    integer real text blob numeric
    escape_fts
    """.split()
)
_NOW = re.compile(r"'now'|\b(current_date|current_time|current_timestamp)\b", re.IGNORECASE)
_NO_ARGUMENT_DATE = re.compile(
    r"\b(date|time|datetime|julianday|unixepoch)\s*\(\s*\)", re.IGNORECASE
)


def deterministic(sql: str) -> bool:
    """Whether `sql` gives the same rows for the same data (no clock, no randomness, no
    function of unknown behaviour), judged from its text."""
    if _NOW.search(sql) or _NO_ARGUMENT_DATE.search(sql):
        return False
    return all(name.lower() in _SAFE_CALLS for name in _CALL.findall(sql))


def _plain_rows(rows: Any) -> list:
    return [list(row) for row in rows]


class ResultCache:
    """Cached rows of read-only queries, keyed by database state, SQL and parameters.

    :param internal_db: the internal `Database`, where entries are stored
    :param enabled: a callable saying whether the cache is on (the `result_cache` setting)
    :param max_entries: most rows kept in the internal table
    :param memory_entries: most entries kept in the in-memory front
    :param watch: the instance's commit watcher (`internal/watch.py`), shared with the
        column statistics; a private one when none is given
    """

    def __init__(
        self,
        internal_db: Database,
        enabled: Callable[[], bool],
        max_entries: int = 5000,
        memory_entries: int = 1000,
        watch: Optional[CommitWatch] = None,
    ):
        self._db = internal_db
        self._enabled = enabled
        self.max_entries = max_entries
        self.memory_entries = memory_entries
        self.generations = Generations(watch)
        self.process = uuid.uuid4().hex
        self._memory: "OrderedDict[str, list]" = OrderedDict()
        self._lock = threading.Lock()
        self._pending = PendingRows(internal_db, self._write_pending)
        # Keys of mutable entries this process queued for the table, oldest first.
        self._written: "OrderedDict[str, None]" = OrderedDict()
        self._cleaned = False
        self.hits = 0
        """Results served from the cache (memory or table)."""
        self.misses = 0
        """Cacheable results that had to be computed."""

    async def rows(
        self,
        db: Database,
        sql: str,
        params: Any,
        compute: Callable[[], Awaitable[Any]],
    ) -> list:
        """The rows of `sql` with `params` on `db`: cached ones when `db` is unchanged.

        `compute()` runs the query and returns its rows (or a `Results`); its exceptions
        (a time limit, an SQL error) propagate and nothing is cached for them.
        """
        entry = self._entry(db, sql, params)
        if entry is not None and await self._reads_a_view(db, sql):
            entry = None
        if entry is None:
            return _plain_rows(await compute())
        key, scope = entry
        found = self._from_memory(key)
        if found is None and (scope == "immutable" or key in self._written):
            # Mutable entries are only ever this process's own: look in the table only
            # for one it wrote and the memory front has since dropped.
            found = await self._from_table(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        rows = _plain_rows(await compute())
        self._remember(key, rows)
        await self._store(key, scope, db.name or "", rows)
        return rows

    def _entry(self, db: Database, sql: str, params: Any) -> Optional[tuple]:
        """`(key, scope)` of this query on `db` now, or None when it is not to be cached."""
        try:
            if not self._enabled() or not deterministic(sql):
                return None
            identity = self.generations.identity(db)
            if identity is None:
                return None
            scope, state = identity
            text = json.dumps([scope, state, sql, params], sort_keys=True, default=repr)
        except Exception:  # the cache is an optimisation: when in doubt, compute
            logger.exception("Result cache key failed; computing instead")
            return None
        return hashlib.sha256(text.encode("utf-8")).hexdigest(), scope

    async def _reads_a_view(self, db: Database, sql: str) -> bool:
        """Whether `sql` may read a view: a view's definition is not in the SQL, so it may
        hold a clock or a random number the text check above cannot see. The name test is
        generous (a column sharing a view's name counts too): a false yes only skips the cache."""
        try:
            views = await db.view_names()
        except Exception:  # could not tell: treat as a view, and compute
            return True
        lowered = sql.lower()
        return any(view.lower() in lowered for view in views)

    def _from_memory(self, key: str) -> Optional[list]:
        with self._lock:
            rows = self._memory.get(key)
            if rows is not None:
                self._memory.move_to_end(key)
            return rows

    def _remember(self, key: str, rows: list) -> None:
        with self._lock:
            self._memory[key] = rows
            self._memory.move_to_end(key)
            while len(self._memory) > self.memory_entries:
                self._memory.popitem(last=False)

    async def _from_table(self, key: str) -> Optional[list]:
        try:
            result = await self._db.execute(
                "select rows from result_cache where cache_key = ?", [key]
            )
            row = result.first()
            if row is None:
                return None
            rows = json.loads(row[0])
        except Exception:  # a broken cache table is a miss, never a failed request
            logger.warning("Result cache read failed; computing instead", exc_info=True)
            return None
        self._remember(key, rows)
        return rows

    async def _store(self, key: str, scope: str, database: str, rows: list) -> None:
        try:
            text = json.dumps(rows)
        except (TypeError, ValueError):  # bytes and the like stay in memory only
            return
        if len(text) > MAX_STORED_CHARS:
            return
        if scope == "mutable":
            with self._lock:
                self._written[key] = None
                while len(self._written) > self.max_entries:
                    self._written.popitem(last=False)
        try:
            await self._pending.add(
                (key, database, scope, self.process, text, utc_now()), key=key
            )
        except Exception:
            logger.warning("Result cache write could not be queued", exc_info=True)

    def _write_pending(self, conn: Any) -> int:
        """Runs on the internal writer: store every pending entry in one transaction,
        then drop the oldest beyond `max_entries` (and, once per process, the mutable
        entries earlier processes left, which can never be hit again)."""
        rows = self._pending.take()
        if not rows:
            return 0
        try:
            with conn:
                if not self._cleaned:
                    conn.execute(
                        "DELETE FROM result_cache WHERE scope = 'mutable' AND process != ?",
                        [self.process],
                    )
                    self._cleaned = True
                conn.executemany(_INSERT, rows)
                conn.execute(
                    "DELETE FROM result_cache WHERE id <= "
                    "(SELECT max(id) FROM result_cache) - ?",
                    [self.max_entries],
                )
        except Exception:
            logger.warning("Result cache write of %d entries failed", len(rows), exc_info=True)
            return 0
        return len(rows)

    async def flush(self) -> None:
        """Wait until every entry recorded so far is written (or has failed and been logged)."""
        await self._pending.flush()

    def clear_memory(self) -> None:
        """Forget the in-memory front (the table keeps its entries)."""
        with self._lock:
            self._memory.clear()

    def close(self) -> None:
        """Close the watcher connections, unless the instance owns the watcher."""
        self.generations.close()
