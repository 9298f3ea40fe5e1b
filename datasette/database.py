"""`Database`: one attached SQLite database, its connections, reads, writes and schema.

Reads run on the instance's pool of `num_sql_threads` threads, each keeping one read
connection per database. Writes to a mutable database run on its own `WriteThread`
(see `writer.py`). Every read runs under the SQL time limit.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import hashlib
import os
import sys
import threading
import uuid
from collections import namedtuple
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from .exceptions import MultipleValues, QueryInterrupted
from .tracer import trace
from .utils import schema as schema_utils
from .utils.sqlite import sqlite3
from .utils.timelimit import sqlite_timelimit
from .writer import WriteTask, WriteThread

__all__ = [
    "Database",
    "Results",
    "QueryInterrupted",
    "MultipleValues",
    "AttachedDatabase",
    "WriteTask",
    "connections",
]

AttachedDatabase = namedtuple("AttachedDatabase", ("seq", "name", "file"))

# Tokens of the databases whose schema version was checked in the current request; the
# catalog refresh at the start of each request fills it (None outside requests).
schema_checked: "contextvars.ContextVar[Optional[set]]" = contextvars.ContextVar(
    "datasette_schema_checked", default=None
)


def _fetch_fast_text(conn: Any, fetch: Callable[[Any], Any]) -> Any:
    """Run `fetch(conn)` decoding text in C; only text that is not UTF-8 pays for more.

    Connections decode text with a Python function that replaces invalid bytes, which
    costs a call per value. SQLite's own strict decoding gives the same strings for valid
    UTF-8, so it is tried first and the query is run again with replacement only when a
    value fails to decode.
    """
    replacing = conn.text_factory
    if replacing is str:
        return fetch(conn)
    conn.text_factory = str
    try:
        return fetch(conn)
    except sqlite3.OperationalError as e:
        if "Could not decode to UTF-8" not in str(e):
            raise
    finally:
        conn.text_factory = replacing
    return fetch(conn)


def _schema_version(conn: Any) -> int:
    return conn.execute("PRAGMA schema_version").fetchone()[0]


def _table_names(conn: Any) -> list:
    return [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]


def _view_names(conn: Any) -> list:
    return [r[0] for r in conn.execute("select name from sqlite_master where type='view'")]

# Read connections live in thread-local storage: each read thread keeps one connection
# per database, keyed by the database object's unique token (not its name, so a database
# removed and re-added under the same name never reuses a stale connection).
connections = threading.local()

# Tables that SQLite or SpatiaLite create and that users rarely want listed.
_SPATIALITE_TABLES = (
    "ElementaryGeometries",
    "SpatialIndex",
    "geometry_columns",
    "spatial_ref_sys",
    "spatialite_history",
    "sql_statements_log",
    "sqlite_sequence",
    "views_geometry_columns",
    "virts_geometry_columns",
    "data_licenses",
    "KNN",
    "KNN2",
)


class Results:
    """The rows of a read query, whether they were cut off, and the cursor description."""

    def __init__(self, rows: list, truncated: bool, description: Any):
        self.rows = rows
        self.truncated = truncated
        self.description = description

    @property
    def columns(self) -> list:
        """Column names, in order."""
        return [d[0] for d in (self.description or ())]

    def first(self) -> Any:
        """The first row, or None."""
        return self.rows[0] if self.rows else None

    def single_value(self) -> Any:
        """The only value of a one-row, one-column result; else `MultipleValues`."""
        if self.rows and len(self.rows) == 1 and len(self.rows[0]) == 1:
            return self.rows[0][0]
        raise MultipleValues

    def __iter__(self) -> Iterator:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


class Database:
    """A database attached to a `Datasette` instance.

    :param ds: the `Datasette` instance
    :param path: the database file (None for memory databases)
    :param is_mutable: False opens the file with `immutable=1` and hashes it
    :param is_memory: an anonymous in-memory database (each connection is its own)
    :param memory_name: a named in-memory database shared by every connection in the process
    :param mode: SQLite URI `mode` used for every connection (e.g. `rwc`)
    """

    def __init__(
        self,
        ds: Any,
        path: Optional[str] = None,
        is_mutable: bool = True,
        is_memory: bool = False,
        memory_name: Optional[str] = None,
        mode: Optional[str] = None,
    ):
        self.ds = ds
        self.path = path
        self.is_mutable = is_mutable
        self.is_memory = bool(is_memory or memory_name)
        self.memory_name = memory_name
        self.mode = mode
        self.name: Optional[str] = None
        self.route: Optional[str] = None
        self.cached_hash: Optional[str] = None
        self.cached_size: Optional[int] = None
        self._cached_table_counts: Optional[dict] = None
        self._token = uuid.uuid4().hex
        self._writer: Optional[WriteThread] = None
        self._writer_lock = threading.Lock()
        self._file_connections: list = []
        self._file_connections_lock = threading.Lock()
        # Used when num_sql_threads is 0: everything runs inline on the event loop.
        self._inline_read_connection: Any = None
        self._inline_write_connection: Any = None
        self._schema_cache: dict = {}
        self._schema_cache_version: Optional[int] = None
        self._probe_connection: Any = None
        self._probe_lock = threading.Lock()
        # Set by the internal-database store: its connections skip prepare_connection
        # hooks and get WAL + durable commits.
        self.is_internal = False
        self._connection_setup: Optional[Callable[[Any, bool], None]] = None
        inspect_data = getattr(ds, "inspect_data", None) or {}
        if not is_mutable and path is not None:
            stem = Path(path).stem
            info = inspect_data.get(stem) or {}
            self.cached_hash = info.get("hash")
            self.cached_size = info.get("size")
            tables = info.get("tables")
            if tables:
                self._cached_table_counts = {
                    name: data.get("count") for name, data in tables.items()
                }

    # -- identity ---------------------------------------------------------------------

    def suggest_name(self) -> str:
        """A name for this database: the file stem, else the memory name, else `db`."""
        if self.path:
            return Path(self.path).stem
        if self.memory_name:
            return self.memory_name
        return "db"

    @property
    def hash(self) -> Optional[str]:
        """SHA-256 of an immutable file (cached); None for mutable or memory databases."""
        if self.cached_hash is not None:
            return self.cached_hash
        if self.is_mutable or self.is_memory or not self.path:
            return None
        digest = hashlib.sha256()
        with open(self.path, "rb") as fp:
            for chunk in iter(lambda: fp.read(1024 * 1024), b""):
                digest.update(chunk)
        self.cached_hash = digest.hexdigest()
        return self.cached_hash

    @property
    def size(self) -> int:
        """File size in bytes; 0 for memory databases."""
        if self.is_memory or not self.path:
            return 0
        if self.cached_size is not None:
            return self.cached_size
        size = Path(self.path).stat().st_size
        if not self.is_mutable:
            self.cached_size = size
        return size

    @property
    def mtime_ns(self) -> Optional[int]:
        """The file's modification time in nanoseconds; None for memory databases."""
        if self.is_memory or not self.path:
            return None
        return Path(self.path).stat().st_mtime_ns

    @property
    def color(self) -> str:
        """Six hex characters used to tell databases apart in the interface."""
        if self.hash:
            return self.hash[:6]
        return hashlib.md5((self.name or "").encode("utf8")).hexdigest()[:6]

    @property
    def cached_table_counts(self) -> Optional[dict]:
        """Row counts from inspect data or a previous count of an immutable database."""
        return self._cached_table_counts

    def __repr__(self) -> str:
        tags = []
        if self.is_mutable:
            tags.append("mutable")
        if self.is_memory:
            tags.append("memory")
        if self.hash:
            tags.append(f"hash={self.hash}")
        if self.size is not None:
            tags.append(f"size={self.size}")
        tags_str = f" ({', '.join(tags)})" if tags else ""
        return f"<Database: {self.name}{tags_str}>"

    # -- connections ------------------------------------------------------------------

    def connect(self, write: bool = False) -> Any:
        """Open a new connection; reads are read-only unless `mode` says otherwise."""
        if self.memory_name:
            uri = f"file:{self.memory_name}?mode=memory&cache=shared"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            if not write:
                conn.execute("PRAGMA query_only=1")
            self._prepare(conn, write)
            return conn
        if self.is_memory:
            conn = sqlite3.connect(":memory:", uri=True, check_same_thread=False)
            self._prepare(conn, write)
            return conn
        assert not (write and not self.is_mutable), "Cannot write to immutable database"
        path = Path(self.path).as_posix()
        if self.mode is not None:
            qs = f"?mode={self.mode}"
        elif write:
            qs = ""
        elif not self.is_mutable:
            qs = "?immutable=1"
        else:
            qs = "?mode=ro"
            if getattr(self.ds, "nolock", False):
                qs += "&nolock=1"
        conn = sqlite3.connect(
            _file_uri(path) + qs,
            uri=True,
            check_same_thread=False,
            # Another process may hold the write lock briefly; wait rather than fail.
            timeout=5.0,
        )
        with self._file_connections_lock:
            self._file_connections.append(conn)
        self._prepare(conn, write)
        return conn

    def _prepare(self, conn: Any, write: bool) -> None:
        if self._connection_setup is not None:
            self._connection_setup(conn, write)
        else:
            self.ds._prepare_connection(conn, self.name)

    def close(self) -> None:
        """Stop the write thread and close every file connection this database opened."""
        if self._writer is not None:
            self._writer.stop()
        with self._file_connections_lock:
            conns, self._file_connections = self._file_connections, []
        self._probe_connection = None
        for conn in conns:
            try:
                conn.close()
            except Exception:
                pass

    # -- reads --------------------------------------------------------------------------

    def _read_connection(self) -> Any:
        pool = getattr(connections, "by_db", None)
        if pool is None:
            pool = connections.by_db = {}
        conn = pool.get(self._token)
        if conn is None:
            conn = pool[self._token] = self.connect()
        return conn

    async def execute_fn(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(conn)` on a read connection and return its result."""
        executor = getattr(self.ds, "executor", None)
        if executor is None:
            if self._inline_read_connection is None:
                self._inline_read_connection = self.connect()
            return fn(self._inline_read_connection)

        def in_thread() -> Any:
            return fn(self._read_connection())

        return await asyncio.get_running_loop().run_in_executor(executor, in_thread)

    async def execute(
        self,
        sql: str,
        params: Any = None,
        truncate: bool = False,
        custom_time_limit: Optional[float] = None,
        page_size: Optional[int] = None,
        log_sql_errors: bool = True,
    ) -> Results:
        """Run a read query under the time limit and return its `Results`.

        :param truncate: stop after `max_returned_rows` rows and set `truncated`
        :param custom_time_limit: milliseconds; only lowers the instance's limit
        :raises QueryInterrupted: the query ran past the time limit
        """
        ds = self.ds
        time_limit_ms = ds.sql_time_limit_ms
        if custom_time_limit and (not time_limit_ms or custom_time_limit < time_limit_ms):
            time_limit_ms = custom_time_limit
        page_size = page_size or ds.page_size
        max_returned_rows = ds.max_returned_rows
        if max_returned_rows == page_size:
            # One extra row lets a full page tell whether another page follows.
            max_returned_rows += 1
        bound = {} if params is None else params

        def fetch(conn: Any) -> tuple:
            cursor = conn.cursor()
            cursor.execute(sql, bound)
            if max_returned_rows and truncate:
                rows = cursor.fetchmany(max_returned_rows + 1)
                return rows[:max_returned_rows], len(rows) > max_returned_rows, cursor
            return cursor.fetchall(), False, cursor

        def run(conn: Any) -> Results:
            with sqlite_timelimit(conn, time_limit_ms):
                try:
                    rows, truncated, cursor = _fetch_fast_text(conn, fetch)
                except (sqlite3.OperationalError, sqlite3.DatabaseError) as e:
                    if e.args == ("interrupted",):
                        raise QueryInterrupted(e, sql, params)
                    if log_sql_errors:
                        sys.stderr.write(
                            f"ERROR: conn={conn!r}, sql = {sql!r}, params = {params!r}: {e}\n"
                        )
                        sys.stderr.flush()
                    raise
            return Results(rows, truncated, cursor.description)

        with trace("sql", database=self.name, sql=sql.strip(), params=params):
            return await self.execute_fn(run)

    # -- writes -------------------------------------------------------------------------

    def _get_writer(self) -> WriteThread:
        with self._writer_lock:
            if self._writer is None:
                self._writer = WriteThread(
                    lambda: self.connect(write=True), self.name or self.suggest_name()
                )
            return self._writer

    @property
    def write_thread(self) -> Optional[threading.Thread]:
        """The running write thread, if a write has started it."""
        return self._writer.thread if self._writer is not None else None

    async def execute_write_fn(self, fn: Callable[[Any], Any], block: bool = True) -> Any:
        """Run `fn(conn)` on the write thread; `fn` commits its own work.

        Returns its result, re-raising its exception. With `block=False` returns a
        `uuid.UUID` at once; a failure is logged on the `datasette.writer` logger.
        """
        self._forget_schema()
        try:
            if getattr(self.ds, "executor", None) is None:
                # num_sql_threads = 0: no threads at all, so run inline and ignore block.
                if self._inline_write_connection is None:
                    self._inline_write_connection = self.connect(write=True)
                return fn(self._inline_write_connection)
            return await self._get_writer().submit(fn, block=block)
        finally:
            # The write may have changed the schema: look again next time.
            self._forget_schema()

    async def execute_write(self, sql: str, params: Any = None, block: bool = True) -> Any:
        """Run one write statement in a transaction; returns the cursor."""

        def run(conn: Any) -> Any:
            with conn:
                return conn.execute(sql, params or [])

        with trace("sql", database=self.name, sql=sql.strip(), params=params):
            return await self.execute_write_fn(run, block=block)

    async def execute_write_script(self, sql: str, block: bool = True) -> Any:
        """Run a script of statements; returns the cursor."""

        def run(conn: Any) -> Any:
            with conn:
                return conn.executescript(sql)

        with trace("sql", database=self.name, sql=sql.strip(), executescript=True):
            return await self.execute_write_fn(run, block=block)

    async def execute_write_many(
        self, sql: str, params_seq: Sequence, block: bool = True
    ) -> Any:
        """Run one statement for each parameter set, in one transaction; returns the cursor."""
        count = 0

        def params_counted() -> Iterator:
            nonlocal count
            for params in params_seq:
                count += 1
                yield params

        def run(conn: Any) -> Any:
            with conn:
                return conn.executemany(sql, params_counted())

        with trace(
            "sql", database=self.name, sql=sql.strip(), executemany=True
        ) as kwargs:
            result = await self.execute_write_fn(run, block=block)
            kwargs["count"] = count
            return result

    # -- counts and attachments ---------------------------------------------------------

    async def table_counts(self, limit: float = 10) -> dict:
        """`{table: row count}`, each count limited to `limit` ms (None when it timed out)."""
        if not self.is_mutable and self._cached_table_counts is not None:
            return self._cached_table_counts
        counts: dict = {}
        for table in await self.table_names():
            try:
                table_count = (
                    await self.execute(
                        f"select count(*) from [{table}]", custom_time_limit=limit
                    )
                ).rows[0][0]
                counts[table] = table_count
            except (QueryInterrupted, sqlite3.OperationalError, sqlite3.DatabaseError):
                counts[table] = None
        if not self.is_mutable:
            self._cached_table_counts = counts
        return counts

    async def attached_databases(self) -> list:
        """Databases ATTACHed to this one's connections (not the main one)."""
        results = await self.execute("PRAGMA database_list")
        return [AttachedDatabase(*row) for row in results.rows if row["seq"] > 0]

    # -- introspection ------------------------------------------------------------------

    async def table_exists(self, table: str) -> bool:
        return table in await self._schema_value(("tables",), _table_names)

    async def view_exists(self, view: str) -> bool:
        return view in await self._schema_value(("views",), _view_names)

    async def table_names(self) -> list:
        return list(await self._schema_value(("tables",), _table_names))

    async def view_names(self) -> list:
        return list(await self._schema_value(("views",), _view_names))

    async def table_columns(self, table: str) -> list:
        return list(
            await self._schema_value(
                ("columns", table), lambda conn: schema_utils.table_columns(conn, table)
            )
        )

    async def table_column_details(self, table: str) -> list:
        return list(
            await self._schema_value(
                ("column_details", table),
                lambda conn: schema_utils.table_column_details(conn, table),
            )
        )

    async def primary_keys(self, table: str) -> list:
        return list(
            await self._schema_value(
                ("primary_keys", table),
                lambda conn: schema_utils.detect_primary_keys(conn, table),
            )
        )

    async def fts_table(self, table: str) -> Optional[str]:
        return await self._schema_value(
            ("fts_table", table), lambda conn: schema_utils.detect_fts(conn, table)
        )

    async def label_column_for_table(self, table: str) -> Optional[str]:
        explicit = self._table_metadata(table).get("label_column")
        if explicit:
            return explicit
        column_names = await self.table_columns(table)
        for column in column_names:
            if column.lower() in ("name", "title"):
                return column
        if len(column_names) == 2 and ("id" in column_names or "pk" in column_names):
            return [c for c in column_names if c not in ("id", "pk")][0]
        return None

    async def foreign_keys_for_table(self, table: str) -> list:
        return copy.deepcopy(
            await self._schema_value(
                ("foreign_keys", table),
                lambda conn: schema_utils.get_outbound_foreign_keys(conn, table),
            )
        )

    async def hidden_table_names(self) -> list:
        """Tables hidden from listings: FTS internals, SQLite stats, SpatiaLite, metadata."""
        rows = (
            await self.execute(
                "select name, sql from sqlite_master where type = 'table'"
            )
        ).rows
        all_tables = [row[0] for row in rows]
        hidden = [
            row[0]
            for row in rows
            if schema_utils.is_virtual_table_sql(row[1])
            and "using fts" in (row[1] or "").lower()
        ]
        hidden += [
            name
            for name in all_tables
            if name in ("sqlite_stat1", "sqlite_stat2", "sqlite_stat3", "sqlite_stat4")
        ]
        if "geometry_columns" in all_tables:
            hidden += [name for name in all_tables if name in _SPATIALITE_TABLES]
            hidden += [name for name in all_tables if name.startswith("idx_")]
        tables_metadata = self._database_metadata().get("tables") or {}
        hidden += [
            name
            for name in all_tables
            if (tables_metadata.get(name) or {}).get("hidden")
        ]
        # Shadow tables (books_fts_data, ...) start with the name of a hidden table.
        prefixes = tuple(hidden)
        if prefixes:
            hidden += [
                name
                for name in all_tables
                if name not in hidden and name.startswith(prefixes)
            ]
        seen: set = set()
        return [name for name in hidden if not (name in seen or seen.add(name))]

    async def get_all_foreign_keys(self) -> dict:
        return copy.deepcopy(
            await self._schema_value(("all_foreign_keys",), schema_utils.get_all_foreign_keys)
        )

    # -- the schema cache ----------------------------------------------------------------

    # Schema lookups (tables, columns, keys) are cached per schema version, so a page
    # does not pay a thread hop for each. The cache is checked against `PRAGMA
    # schema_version` once per request (by the catalog refresh, see `note_schema_version`)
    # or, outside a request, before each use; this process's own writes clear it.

    def note_schema_version(self, version: int) -> None:
        """Record the schema version just read; a new one empties the schema cache."""
        if version != self._schema_cache_version:
            self._schema_cache = {}
            self._schema_cache_version = version
        checked = schema_checked.get()
        if checked is not None:
            checked.add(self._token)

    def probe_schema_version(self) -> Optional[int]:
        """`PRAGMA schema_version` read right here, without a trip to a read thread.

        Uses a connection of its own that never waits for a lock (a busy database gives
        None, and the caller asks a read thread instead), so the event loop is never held
        up by a writer. Anonymous memory databases have no shared schema to probe.
        """
        if self.is_memory and not self.memory_name:
            return None
        with self._probe_lock:
            try:
                if self._probe_connection is None:
                    self._probe_connection = self._open_probe_connection()
                return _schema_version(self._probe_connection)
            except sqlite3.Error:
                return None

    def _open_probe_connection(self) -> Any:
        if self.memory_name:
            uri = f"file:{self.memory_name}?mode=memory&cache=shared"
        elif self.mode is not None:
            uri = _file_uri(Path(self.path).as_posix()) + f"?mode={self.mode}"
        elif not self.is_mutable:
            uri = _file_uri(Path(self.path).as_posix()) + "?immutable=1"
        else:
            uri = _file_uri(Path(self.path).as_posix()) + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=0)
        with self._file_connections_lock:
            self._file_connections.append(conn)
        return conn

    def current_schema_version(self) -> int:
        """`PRAGMA schema_version`, read on this thread's read connection (blocking)."""
        if getattr(self.ds, "executor", None) is None:
            if self._inline_read_connection is None:
                self._inline_read_connection = self.connect()
            return _schema_version(self._inline_read_connection)
        return _schema_version(self._read_connection())

    def _forget_schema(self) -> None:
        self._schema_cache = {}
        self._schema_cache_version = None

    async def _schema_value(self, key: tuple, compute: Callable[[Any], Any]) -> Any:
        checked = schema_checked.get()
        fresh = (checked is not None and self._token in checked) or (
            not self.is_mutable and self._schema_cache_version is not None
        )
        if not fresh:
            self.note_schema_version(await self.execute_fn(_schema_version))
        cache = self._schema_cache
        if key in cache:
            return cache[key]
        value = await self.execute_fn(compute)
        if cache is self._schema_cache:
            cache[key] = value
        return value

    async def get_table_definition(self, table: str, type_: str = "table") -> Optional[str]:
        """The CREATE statement plus each index's, `;`-terminated and newline-joined."""
        table_sql = (
            await self.execute(
                "select sql from sqlite_master where name = :n and type = :t",
                {"n": table, "t": type_},
            )
        ).rows
        if not table_sql:
            return None
        bits = [table_sql[0][0] + ";"]
        indexes = (
            await self.execute(
                "select sql from sqlite_master where tbl_name = :n and type = 'index'"
                " and sql is not null",
                {"n": table},
            )
        ).rows
        bits.extend(row[0] + ";" for row in indexes)
        return "\n".join(bits)

    async def get_view_definition(self, view: str) -> Optional[str]:
        return await self.get_table_definition(view, "view")

    # -- metadata lookups (kept small: metadata lives on the Datasette instance) --------

    def _database_metadata(self) -> dict:
        metadata = getattr(self.ds, "metadata", None)
        if metadata is None or self.name is None:
            return {}
        return metadata(database=self.name, fallback=False) or {}

    def _table_metadata(self, table: str) -> dict:
        tables = self._database_metadata().get("tables") or {}
        return tables.get(table) or {}


def _file_uri(path: str) -> str:
    """`file:` URI for a path, escaping the characters URIs reserve."""
    escaped = path.replace("%", "%25").replace("?", "%3F").replace("#", "%23")
    if os.name == "nt":  # pragma: no cover
        escaped = "/" + escaped
    return f"file:{escaped}"
