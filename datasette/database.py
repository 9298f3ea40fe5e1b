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
import sys
import threading
import uuid
import weakref
from collections import namedtuple
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

from .inline_reads import BUDGET_MS, InlineReads, TooSlowInline, budget_limit, inline_budget, is_busy
from .exceptions import (
    MultipleValues,
    QueryInterrupted,
    SQLDataError,
    SQLDatabaseError,
    SQLIntegrityError,
    SQLOperationalError,
    SQLProgrammingError,
)
from .schema_probe import SchemaProbe
from .tracer import trace
from .utils import schema as schema_utils
from .utils.sqlite import (
    refuse_unsafe_functions,
    refused_function_message,
    sqlite3,
    sqlite_file_uri,
)
from .utils.text import escape_sqlite
from .utils.timelimit import sqlite_timelimit
from .writer import WriteTask, WriteThread, run_grouped

if TYPE_CHECKING:  # only for annotations: app.py imports this module
    from .app import Datasette

__all__ = [
    "Database",
    "Results",
    "QueryInterrupted",
    "MultipleValues",
    "AttachedDatabase",
    "DatabaseEnvironment",
    "WriteTask",
    "connections",
]

AttachedDatabase = namedtuple("AttachedDatabase", ("seq", "name", "file"))

# Tokens of the databases whose schema version was checked in the current request; the
# catalog refresh at the start of each request fills it (None outside requests).
schema_checked: "contextvars.ContextVar[Optional[set]]" = contextvars.ContextVar(
    "datasette_schema_checked", default=None
)


def _call_noting_refusals(fn: Callable[[Any], Any], conn: Any) -> Any:
    """`fn(conn)`, turning the authorizer's refusal of an unsafe function into its message.

    Asked on the thread that ran the SQL: the authorizer notes refusals there.
    """
    try:
        return fn(conn)
    except sqlite3.Error as e:
        refused = refused_function_message(e)
        if refused is not None:
            raise SQLDatabaseError(refused) from e
        raise
    except (OverflowError, UnicodeEncodeError) as e:
        # A parameter SQLite cannot bind (an integer past 64 bits, a lone surrogate) is
        # bad data from the caller, typed like SQLite's own refusals (a 400, not a 500).
        raise SQLDataError(str(e)) from e


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


def _table_names(conn: Any) -> list:
    return [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]


def _view_names(conn: Any) -> list:
    return [r[0] for r in conn.execute("select name from sqlite_master where type='view'")]

# Read connections live in thread-local storage: each read thread keeps one connection
# per database, keyed by the database object's unique token (not its name, so a database
# removed and re-added under the same name never reuses a stale connection).
connections = threading.local()

@dataclass
class DatabaseEnvironment:
    """What a `Database` needs from the instance serving it, handed over in one piece.

    `Datasette` builds one (`Datasette.database_environment`) and all its databases share
    it; `environment_of()` derives one for any other object passed as `ds`.

    :param executor: the read thread pool; None runs everything inline on the event loop
    :param time_limit_ms: the SQL time limit for reads (None or 0: no limit)
    :param page_size: rows per page when a caller gives none
    :param max_returned_rows: the cap applied by `execute(..., truncate=True)`
    :param nolock: open mutable files with `nolock=1` (for read-only media)
    :param inspect_data: `datasette inspect` output: hashes, sizes and counts by file stem
    :param prepare_connection: `(conn, database_name)` set-up for new user connections
    :param metadata: `metadata(database=..., fallback=...)` for hidden tables and labels
    :param inline_read_budget_ms: how long a read may first run on the event loop before it
        moves to a read thread (`inline_reads.py`); 0 sends every read to the threads
    :param local_devices: device number -> on a local filesystem, filled by the schema
        probes (`schema_probe.py`) so the mount table is read once per device
    """

    executor: Optional[Executor] = None
    time_limit_ms: Optional[float] = None
    page_size: Optional[int] = None
    max_returned_rows: Optional[int] = None
    nolock: bool = False
    inspect_data: Optional[dict] = None
    prepare_connection: Optional[Callable[[Any, Optional[str]], None]] = None
    metadata: Optional[Callable[..., Any]] = None
    inline_read_budget_ms: float = BUDGET_MS
    local_devices: dict = field(default_factory=dict)


def environment_of(ds: Any) -> DatabaseEnvironment:
    """The environment of databases built with `Database(ds, ...)`.

    A `Datasette` hands over its shared one; for anything else (a stand-in object) one is
    read off the same-named attributes, so the two stay interchangeable.
    """
    env = getattr(ds, "database_environment", None)
    if isinstance(env, DatabaseEnvironment):
        return env
    return DatabaseEnvironment(
        executor=getattr(ds, "executor", None),
        time_limit_ms=getattr(ds, "sql_time_limit_ms", None),
        page_size=getattr(ds, "page_size", None),
        max_returned_rows=getattr(ds, "max_returned_rows", None),
        nolock=bool(getattr(ds, "nolock", False)),
        inspect_data=getattr(ds, "inspect_data", None),
        prepare_connection=getattr(ds, "prepare_connection", None),
        metadata=getattr(ds, "metadata", None),
    )


# The exact sqlite3 classes translated at the boundary; others (subclasses a plugin made,
# InterfaceError, Warning) pass through unchanged so no `except` clause stops matching.
_TRANSLATED = {
    sqlite3.OperationalError: SQLOperationalError,
    sqlite3.IntegrityError: SQLIntegrityError,
    sqlite3.ProgrammingError: SQLProgrammingError,
    sqlite3.DataError: SQLDataError,
    sqlite3.DatabaseError: SQLDatabaseError,
}


def translate_sqlite_error(e: BaseException) -> BaseException:
    """The typed `SQLError` for a sqlite3 error (same args and codes), else `e` itself."""
    typed = _TRANSLATED.get(type(e))
    if typed is None:
        return e
    translated = typed(*e.args)
    for attribute in ("sqlite_errorcode", "sqlite_errorname"):
        if hasattr(e, attribute):
            setattr(translated, attribute, getattr(e, attribute))
    return translated


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

    It reads nothing from `ds` after construction: its limits, read pool and connection
    set-up come from a `DatabaseEnvironment` (see `environment_of`). Errors from SQLite
    leave `execute*` as the typed `SQLError` subclasses of `datasette.exceptions`.

    :param ds: the `Datasette` instance
    :param path: the database file (None for memory databases)
    :param is_mutable: False opens the file with `immutable=1` and hashes it
    :param is_memory: an anonymous in-memory database (each connection is its own)
    :param memory_name: a named in-memory database shared by every connection in the process
    :param mode: SQLite URI `mode` used for every connection (e.g. `rwc`)
    :param connection_setup: `(conn, write)` set-up replacing the instance's (the
        internal database's store passes one that skips `prepare_connection` hooks)
    """

    # Whether a connection may stay open on the file between reads. A follower's may not
    # (Litestream's follower waits on any connection left open), so nothing that keeps
    # one, such as the commit watcher (internal/watch.py), is used on it.
    keeps_connections = True

    def __init__(
        self,
        ds: "Datasette",
        path: Optional[str] = None,
        is_mutable: bool = True,
        is_memory: bool = False,
        memory_name: Optional[str] = None,
        mode: Optional[str] = None,
        *,
        connection_setup: Optional[Callable[[Any, bool], None]] = None,
    ):
        self.ds = ds
        self.environment = environment_of(ds)
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
        # Writes finished (or queued, block=False) through this object: answers kept for a
        # whole request (internal/watch.py) are worked out again after one.
        self.writes_finished = 0
        # Short reads run on the event loop first (inline_reads.py), with threads; not for
        # a subclass that changes how reads run (a follower opens a connection per read).
        self._inline_reads = InlineReads(self.connect)
        self._inline_first = (
            type(self).execute_fn is Database.execute_fn
            and type(self)._read_connection is Database._read_connection
        )
        self._schema_cache: dict = {}
        self._schema_cache_version: Optional[int] = None
        # Anonymous memory databases have no shared schema to probe (see probe_schema_version).
        self._schema_probe = SchemaProbe(
            None if self.is_memory else path,
            mode,
            self.open_probe_connection,
            local_devices=self.environment.local_devices,
        )
        # Set by the internal-database store, whose connections skip prepare_connection
        # hooks and get WAL + durable commits.
        self.is_internal = False
        self.connection_setup = connection_setup
        if not is_mutable and path is not None:
            info = (self.environment.inspect_data or {}).get(Path(path).stem) or {}
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
        conn = sqlite3.connect(
            self._file_uri(write, nolock=self.environment.nolock),
            uri=True,
            check_same_thread=False,
            # Another process may hold the write lock briefly; wait rather than fail.
            timeout=5.0,
        )
        with self._file_connections_lock:
            self._file_connections.append(conn)
        self._prepare(conn, write)
        return conn

    def read_uri(self) -> str:
        """The URI a read connection to the file opens (its `mode`, `immutable=1` or
        `mode=ro`, with `nolock=1` where the instance's setting asks for it)."""
        return self._file_uri(write=False, nolock=self.environment.nolock)

    def _file_uri(self, write: bool, nolock: bool = False) -> str:
        """The URI of a file connection: `mode` if given, else what mutability allows."""
        if self.mode is not None:
            qs = f"?mode={self.mode}"
        elif write:
            qs = ""
        elif not self.is_mutable:
            qs = "?immutable=1"
        else:
            qs = "?mode=ro&nolock=1" if nolock else "?mode=ro"
        return sqlite_file_uri(self.path) + qs

    def _prepare(self, conn: Any, write: bool) -> None:
        if self.connection_setup is not None:
            self.connection_setup(conn, write)
        elif self.environment.prepare_connection is not None:
            self.environment.prepare_connection(conn, self.name)
        if not write:
            # Last, so a `prepare_connection` hook may still load extensions: from here
            # on, SQL run on this read connection (user SQL included) cannot call the
            # functions that expose pointers or files (utils/sqlite.UNSAFE_FUNCTIONS).
            refuse_unsafe_functions(conn)

    @property
    def _connection_setup(self) -> Optional[Callable[[Any, bool], None]]:
        # The 1.0 name of `connection_setup`, kept for code that still sets it.
        return self.connection_setup

    @_connection_setup.setter
    def _connection_setup(self, setup: Optional[Callable[[Any, bool], None]]) -> None:
        self.connection_setup = setup

    def close(self) -> None:
        """Stop the write thread and close every file connection this database opened."""
        if self._writer is not None:
            self._writer.stop()
        with self._file_connections_lock:
            conns, self._file_connections = self._file_connections, []
        self._inline_reads.close()
        for conn in conns:
            try:
                conn.close()
            except Exception:
                pass
        self._schema_probe.close()

    # -- reads --------------------------------------------------------------------------

    def _read_connection(self) -> Any:
        pool = getattr(connections, "by_db", None)
        if pool is None:
            pool = connections.by_db = {}
        conn = pool.get(self._token)
        if conn is None:
            conn = pool[self._token] = self.connect()
        return conn

    @property
    def executor(self) -> Optional[Executor]:
        """The read thread pool (None: reads run inline on the event loop)."""
        return self.environment.executor

    def _inline_connection(self) -> Any:
        # num_sql_threads = 0: one read connection used on the event loop's thread.
        if self._inline_read_connection is None:
            self._inline_read_connection = self.connect()
        return self._inline_read_connection

    async def execute_fn(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(conn)` on a read connection and return its result.

        :raises SQLError: for a sqlite3 error `fn` raised (also an instance of its class)
        """
        executor = self.environment.executor
        try:
            if executor is None:
                return _call_noting_refusals(fn, self._inline_connection())

            def in_thread() -> Any:
                return _call_noting_refusals(fn, self._read_connection())

            return await asyncio.get_running_loop().run_in_executor(executor, in_thread)
        except sqlite3.Error as e:
            translated = translate_sqlite_error(e)
            if translated is e:
                raise
            raise translated from e

    def _execute_inline(self, fn: Callable[[Any], Any]) -> Any:
        """`fn(conn)` on the event loop's inline read connection; `TooSlowInline` if it
        must go to a read thread instead (see inline_reads.py)."""
        try:
            return self._inline_reads.run(lambda conn: _call_noting_refusals(fn, conn))
        except sqlite3.Error as e:
            translated = translate_sqlite_error(e)
            if translated is e:
                raise
            raise translated from e

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
        :raises SQLError: SQLite refused the query (e.g. `SQLOperationalError`)
        """
        env = self.environment
        time_limit_ms = env.time_limit_ms
        if custom_time_limit and (not time_limit_ms or custom_time_limit < time_limit_ms):
            time_limit_ms = custom_time_limit
        page_size = page_size or env.page_size
        max_returned_rows = env.max_returned_rows
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

        def run(conn: Any, limit_ms: Optional[float], inline: bool = False) -> Results:
            # Inline, a budget that is not the real limit is checked less often.
            limit = budget_limit if inline and not budget_is_limit else sqlite_timelimit
            with limit(conn, limit_ms):
                try:
                    rows, truncated, cursor = _fetch_fast_text(conn, fetch)
                except (sqlite3.OperationalError, sqlite3.DatabaseError) as e:
                    if e.args == ("interrupted",):
                        if inline and not budget_is_limit:
                            self._inline_reads.remember_slow(sql)
                            raise TooSlowInline() from e
                        raise QueryInterrupted(e, sql, params)
                    if inline and is_busy(e):
                        raise TooSlowInline() from e
                    if log_sql_errors:
                        sys.stderr.write(
                            f"ERROR: conn={conn!r}, sql = {sql!r}, params = {params!r}: {e}\n"
                        )
                        sys.stderr.flush()
                    raise
            return Results(rows, truncated, cursor.description)

        budget, budget_is_limit = inline_budget(time_limit_ms, env.inline_read_budget_ms)
        with trace("sql", database=self.name, sql=sql.strip(), params=params):
            if (
                env.executor is not None
                and env.inline_read_budget_ms > 0
                and self._inline_first
                and self._inline_reads.worth_trying(sql)
            ):
                try:
                    return self._execute_inline(lambda conn: run(conn, budget, inline=True))
                except TooSlowInline:
                    pass
            return await self.execute_fn(lambda conn: run(conn, time_limit_ms))

    # -- writes -------------------------------------------------------------------------

    def _get_writer(self) -> WriteThread:
        with self._writer_lock:
            if self._writer is None:
                # The thread holds the database weakly, so an instance nobody uses any
                # more can be collected (releasing its internal file's lock); the
                # thread then stops.
                database = weakref.ref(self)
                self._writer = WriteThread(
                    lambda: database().connect(write=True),  # type: ignore[union-attr]
                    self.name or self.suggest_name(),
                )
                weakref.finalize(self, self._writer.stop, 0)
            return self._writer

    @property
    def write_thread(self) -> Optional[threading.Thread]:
        """The running write thread, if a write has started it."""
        return self._writer.thread if self._writer is not None else None

    @property
    def write_stats(self) -> dict:
        """Group commits so far: `commits` the write thread made for
        `execute_write_transaction` tasks, the `tasks` they held, the `largest` group,
        and the tasks of any kind `queued` for the thread right now."""
        if self._writer is None:
            return {"commits": 0, "tasks": 0, "largest": 0, "queued": 0}
        return {**self._writer.stats.as_dict(), "queued": self._writer.queued}

    async def execute_write_fn(self, fn: Callable[[Any], Any], block: bool = True) -> Any:
        """Run `fn(conn)` on the write thread; `fn` commits its own work.

        Returns its result, re-raising its exception (a sqlite3 error as the matching
        `SQLError`). With `block=False` returns a `uuid.UUID` at once; a failure is
        logged on the `datasette.writer` logger.
        """
        return await self._write(fn, block, grouped=False)

    async def execute_write_transaction(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(conn)` as one all-or-nothing unit; the write thread owns the transaction.

        `fn` must not BEGIN, COMMIT or roll back. It may share a commit with other such
        writes already queued (group commit, see `writer.py`), and is answered only after
        that commit. If it raises, its work alone is undone and its exception re-raised
        (a sqlite3 error as the matching `SQLError`). `fn` may be called again if another
        write's failure rolled back the transaction its first run was in: whatever it
        records outside the connection must be replaced, not added to, by a new run.
        """
        return await self._write(fn, True, grouped=True)

    async def _write(self, fn: Callable[[Any], Any], block: bool, grouped: bool) -> Any:
        # The schema cache survives a write that left the schema version as it was (an
        # insert), read on the write connection right after; anything else empties it.
        known = self._schema_cache_version
        after: list = []

        def run(conn: Any) -> Any:
            result = fn(conn)
            if known is not None:
                after.append(schema_utils.schema_version(conn))
            return result

        if not block:
            self._forget_schema()
        try:
            if self.environment.executor is None:
                return self._write_inline(run, grouped)
            writer = self._get_writer()
            return await writer.submit(run if block else fn, block=block, grouped=grouped)
        except sqlite3.Error as e:
            translated = translate_sqlite_error(e)
            if translated is e:
                raise
            raise translated from e
        finally:
            self.writes_finished += 1
            # A grouped task run again (its group's transaction was lost) reads it again.
            if not (after and after[-1] == known == self._schema_cache_version):
                # The write may have changed the schema: look again next time.
                self._forget_schema()

    def _write_inline(self, run: Callable[[Any], Any], grouped: bool) -> Any:
        # num_sql_threads = 0: no threads at all, so run inline and ignore block.
        if self._inline_write_connection is None:
            self._inline_write_connection = self.connect(write=True)
        if not grouped:
            return run(self._inline_write_connection)
        [(ok, value)] = run_grouped(self._inline_write_connection, [run])
        if not ok:
            raise value
        return value

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
                        f"select count(*) from {escape_sqlite(table)}", custom_time_limit=limit
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
        return table in await self.schema_value(("tables",), _table_names)

    async def view_exists(self, view: str) -> bool:
        return view in await self.schema_value(("views",), _view_names)

    async def table_names(self) -> list:
        return list(await self.schema_value(("tables",), _table_names))

    async def view_names(self) -> list:
        return list(await self.schema_value(("views",), _view_names))

    async def table_columns(self, table: str) -> list:
        return list(
            await self.schema_value(
                ("columns", table), lambda conn: schema_utils.table_columns(conn, table)
            )
        )

    async def table_column_details(self, table: str) -> list:
        return list(
            await self.schema_value(
                ("column_details", table),
                lambda conn: schema_utils.table_column_details(conn, table),
            )
        )

    async def primary_keys(self, table: str) -> list:
        return list(
            await self.schema_value(
                ("primary_keys", table),
                lambda conn: schema_utils.detect_primary_keys(conn, table),
            )
        )

    async def fts_table(self, table: str) -> Optional[str]:
        return await self.schema_value(
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
            await self.schema_value(
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
        tables_metadata = self._database_metadata().get("tables") or {}
        return schema_utils.hidden_tables(rows, tables_metadata)

    async def get_all_foreign_keys(self) -> dict:
        return copy.deepcopy(
            await self.schema_value(("all_foreign_keys",), schema_utils.get_all_foreign_keys)
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
        """The schema version read right here, without a trip to a read thread.

        From memory while the file's stat shows no write since the last read (rollback-
        journal files on a local filesystem), else `PRAGMA schema_version` on a
        connection of its own that never waits for a lock (see schema_probe.py): a busy
        database gives None, and the caller asks a read thread instead, so the event loop
        is never held up by a writer. Anonymous memory databases have no shared schema.
        """
        if self.is_memory and not self.memory_name:
            return None
        return self._schema_probe.version()

    def committing_schema_version(self) -> Optional[int]:
        """The schema version this process's write thread is committing right now, else
        None. While it commits, no other connection can change the file, and every
        reader waits for the commit; what a reader then finds is this version (or, if
        the commit fails, the one before it, which the next check reads)."""
        writer = self._writer
        return writer.committing_version if writer is not None else None

    @property
    def schema_probe(self) -> SchemaProbe:
        """The probe behind `probe_schema_version`; the catalog seeds it with the state a
        previous process stored and reads back the state to store (file_states.py)."""
        return self._schema_probe

    def open_probe_connection(self) -> Any:
        """A connection for reading pragmas on the event loop (the schema probe, the commit
        watcher): read-only, never waits for a lock (`timeout=0`: a busy file answers at
        once), no `prepare_connection` hooks; closed with the database."""
        if self.memory_name:
            uri = f"file:{self.memory_name}?mode=memory&cache=shared"
        else:
            uri = self.read_uri()
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=0)
        conn.isolation_level = None
        conn.execute("PRAGMA query_only = 1")
        with self._file_connections_lock:
            self._file_connections.append(conn)
        return conn

    def current_schema_version(self) -> int:
        """`PRAGMA schema_version`, read on this thread's read connection (blocking)."""
        return self.read_blocking(schema_utils.schema_version)

    def read_blocking(self, fn: Callable[[Any], Any]) -> Any:
        """`fn(conn)` on this thread's read connection (opened at first use; the inline
        one without read threads), blocking: for work that reads several databases in one
        trip to a read thread, as start-up's checks do. Subclasses whose connections live
        for one read (followers) open and close one here."""
        if self.environment.executor is None:
            return fn(self._inline_connection())
        return fn(self._read_connection())

    @property
    def token(self) -> str:
        """A unique id of this object: a database re-added under the same name gets a new one."""
        return self._token

    @property
    def schema_cache(self) -> dict:
        """Values derived from the current schema, by key; emptied when the schema changes."""
        return self._schema_cache

    @property
    def schema_version_known(self) -> bool:
        """Whether a schema version has been noted since the cache was last emptied."""
        return self._schema_cache_version is not None

    def _forget_schema(self) -> None:
        self._schema_cache = {}
        self._schema_cache_version = None

    async def schema_value(self, key: tuple, compute: Callable[[Any], Any]) -> Any:
        """`compute(conn)` on a read connection, kept until the schema changes (the
        schema cache): for values derived from the schema alone. `key` names the value;
        each caller prefixes its own."""
        checked = schema_checked.get()
        fresh = (checked is not None and self._token in checked) or (
            not self.is_mutable and self._schema_cache_version is not None
        )
        if not fresh:
            self.note_schema_version(await self.execute_fn(schema_utils.schema_version))
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
        metadata = self.environment.metadata
        if metadata is None or self.name is None:
            return {}
        return metadata(database=self.name, fallback=False) or {}

    def _table_metadata(self, table: str) -> dict:
        tables = self._database_metadata().get("tables") or {}
        return tables.get(table) or {}

