"""The catalog: every attached database's tables, columns, indexes and foreign keys.

It is derived data. Each database's rows are read from the database itself (on a read
thread) and written to the internal database in a single transaction, so a reader of the
catalog never sees a database half-refreshed. Databases no longer attached lose their rows.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Optional

from ..utils.calling import run_on
from ..utils.schema import schema_version, table_column_details
from ..utils.text import escape_sqlite
from ..utils.sqlite import sqlite3
from . import catalog_fill, catalog_reuse, file_states
from .activity.progress import iterate_with_progress

if TYPE_CHECKING:  # only for annotations: database.py is the room above this one
    from ..database import Database

logger = logging.getLogger("datasette.internal")

CATALOG_TABLES = (
    "catalog_databases",
    "catalog_tables",
    "catalog_columns",
    "catalog_indexes",
    "catalog_foreign_keys",
)

CATALOG_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS catalog_databases (
    database_name TEXT PRIMARY KEY,
    path TEXT,
    is_memory INTEGER,
    schema_version INTEGER
)""",
    """CREATE TABLE IF NOT EXISTS catalog_tables (
    database_name TEXT,
    table_name TEXT,
    rootpage INTEGER,
    sql TEXT,
    PRIMARY KEY (database_name, table_name)
)""",
    """CREATE TABLE IF NOT EXISTS catalog_columns (
    database_name TEXT,
    table_name TEXT,
    cid INTEGER,
    name TEXT,
    type TEXT,
    "notnull" INTEGER,
    default_value TEXT,
    is_pk INTEGER,
    hidden INTEGER,
    PRIMARY KEY (database_name, table_name, name)
)""",
    """CREATE TABLE IF NOT EXISTS catalog_indexes (
    database_name TEXT,
    table_name TEXT,
    seq INTEGER,
    name TEXT,
    "unique" INTEGER,
    origin TEXT,
    partial INTEGER,
    PRIMARY KEY (database_name, table_name, name)
)""",
    """CREATE TABLE IF NOT EXISTS catalog_foreign_keys (
    database_name TEXT,
    table_name TEXT,
    id INTEGER,
    seq INTEGER,
    "table" TEXT,
    "from" TEXT,
    "to" TEXT,
    on_update TEXT,
    on_delete TEXT,
    match TEXT,
    PRIMARY KEY (database_name, table_name, id, seq)
)""",
)


@dataclass
class Snapshot:
    """One database's catalog rows, read at one schema version."""

    database_name: str
    path: Optional[str]
    is_memory: bool
    schema_version: int
    tables: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    indexes: list = field(default_factory=list)
    foreign_keys: list = field(default_factory=list)
    # False for a database whose stored rows were kept (catalog_reuse.py): only `tables`
    # is filled, which is what listeners read.
    details_read: bool = True


def create_catalog_tables(conn: Any) -> None:
    """Create the catalog tables if missing (inside the caller's transaction)."""
    for statement in CATALOG_SCHEMA:
        conn.execute(statement)
    conn.execute(file_states.SCHEMA)


def clear_catalog(conn: Any) -> None:
    """Delete every catalog row; the catalog is rebuilt at each start."""
    for table in CATALOG_TABLES:
        conn.execute(f"DELETE FROM {table}")


def read_snapshot(
    conn: Any, database_name: str, path: Optional[str], is_memory: bool
) -> Snapshot:
    """Read a database's catalog rows on one of its (read) connections."""
    try:
        # Plain tuples and strings: the connection's row and text factories are Python
        # calls for each of the ~30,000 values of 2,000 tables (a third of the reading).
        with catalog_reuse.plain_rows(conn):
            return _read_snapshot(conn, database_name, path, is_memory, bulk=True)
    except sqlite3.Error:
        # Text that is not UTF-8, or a virtual table whose module is not loaded: one table
        # at a time with the connection's own (replacing) decoding, so a table that cannot
        # be described loses only its own details.
        return _read_snapshot(conn, database_name, path, is_memory, bulk=False)


def _read_snapshot(
    conn: Any, database_name: str, path: Optional[str], is_memory: bool, bulk: bool
) -> Snapshot:
    """The snapshot, read by `catalog_fill.details_sql` or table by table."""
    snapshot = Snapshot(database_name, path, is_memory, schema_version(conn))
    tables = [
        tuple(row) for row in conn.execute(
            "select name, rootpage, sql from sqlite_master where type = 'table'"
        )
    ]
    snapshot.tables = [(database_name, name, rootpage, sql) for name, rootpage, sql in tables]
    if bulk:
        # Rows come out of SQLite in their catalog shape: no Python work per row.
        snapshot.columns, snapshot.indexes, snapshot.foreign_keys = (
            conn.execute(sql, (database_name,)).fetchall()
            for sql in catalog_fill.details_sql()
        )
    # A bar only on a terminal, and only for hundreds of tables (see activity/progress.py).
    label = f"Cataloguing {database_name}"
    for name, _, _ in iterate_with_progress(tables, label):
        if bulk:
            continue
        columns, indexes, foreign_keys = _details_of_table(conn, name)
        snapshot.columns.extend((database_name, name, *row) for row in columns)
        snapshot.indexes.extend((database_name, name, *row) for row in indexes)
        snapshot.foreign_keys.extend((database_name, name, *row) for row in foreign_keys)
    return snapshot


def _details_of_table(conn: Any, name: str) -> tuple:
    """`(columns, indexes, foreign keys)` rows of one table; what cannot be read is empty."""
    try:
        columns = [tuple(column) for column in table_column_details(conn, name)]
    except sqlite3.Error:
        # A virtual table whose module is not loaded cannot be described.
        columns = []
    try:
        index_rows = conn.execute(f"PRAGMA index_list({escape_sqlite(name)})").fetchall()
        fk_rows = conn.execute(f"PRAGMA foreign_key_list({escape_sqlite(name)})").fetchall()
    except sqlite3.Error:
        return columns, [], []
    indexes = [tuple(row)[:5] for row in index_rows]
    return columns, indexes, [tuple(row)[:8] for row in fk_rows]


def catalog_matches(conn: Any, snapshot: Snapshot) -> bool:
    """Whether the stored catalog rows of the snapshot's database are exactly its rows.

    Rewriting identical rows is not free: every page written goes to the WAL, and a
    replicated internal database (Litestream) uploads each one.
    """
    name = snapshot.database_name
    stored = conn.execute(
        "SELECT path, is_memory, schema_version FROM catalog_databases"
        " WHERE database_name = ?",
        (name,),
    ).fetchone()
    expected = (snapshot.path, int(snapshot.is_memory), snapshot.schema_version)
    if stored is None or tuple(stored) != expected:
        return False
    for table, rows in zip(
        CATALOG_TABLES[1:],
        (snapshot.tables, snapshot.columns, snapshot.indexes, snapshot.foreign_keys),
    ):
        existing = conn.execute(
            f"SELECT * FROM {table} WHERE database_name = ?", (name,)
        ).fetchall()
        if sorted(map(tuple, existing), key=repr) != sorted(map(tuple, rows), key=repr):
            return False
    return True


def write_snapshot(conn: Any, snapshot: Snapshot) -> None:
    """Replace one database's catalog rows with the snapshot, in one transaction.

    Rows already equal to the snapshot are left alone (a restart writes nothing).
    """
    with conn:
        store_snapshot(conn, snapshot)


def store_snapshot(conn: Any, snapshot: Snapshot) -> None:
    """`write_snapshot` inside the caller's transaction."""
    name = snapshot.database_name
    if catalog_matches(conn, snapshot):
        return
    clear_database(conn, name)
    conn.execute(
        "INSERT INTO catalog_databases (database_name, path, is_memory, schema_version)"
        " VALUES (?, ?, ?, ?)",
        (name, snapshot.path, int(snapshot.is_memory), snapshot.schema_version),
    )
    for table, rows in zip(
        CATALOG_TABLES[1:],
        (snapshot.tables, snapshot.columns, snapshot.indexes, snapshot.foreign_keys),
    ):
        insert_rows(conn, table, rows)


# Rows per INSERT statement in `insert_rows`: at most 10 columns, so 2,000 parameters,
# well under SQLite's limit (32,766 since 3.32; 999 before, hence the fallback below).
_ROWS_PER_INSERT = 200


def insert_rows(conn: Any, table: str, rows: list) -> None:
    """`INSERT OR REPLACE` `rows` (tuples of equal width) into `table`, many per statement.

    One multi-row statement per 200 rows, not `executemany`: Python's sqlite3 steps
    and resets a statement for each row, which made writing the 8,000 column rows of
    2,000 tables about 30 ms; in statements of 200 rows it is under half of that.
    """
    if not rows:
        return
    width = len(rows[0])
    values = "(" + ", ".join("?" * width) + ")"
    step = _ROWS_PER_INSERT if sqlite3.sqlite_version_info >= (3, 32) else 999 // width
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        conn.execute(
            f"INSERT OR REPLACE INTO {table} VALUES " + ", ".join([values] * len(chunk)),
            [value for row in chunk for value in row],
        )


def clear_database(conn: Any, name: str) -> None:
    """Delete one database's catalog rows (inside the caller's transaction)."""
    for table in CATALOG_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE database_name = ?", (name,))


def purge_detached(conn: Any, attached: Iterable[str]) -> None:
    """Delete the catalog rows of every database not in `attached`, in one transaction."""
    names = list(attached)
    placeholders = ", ".join("?" for _ in names)
    where = f"database_name NOT IN ({placeholders})" if names else "1"
    with conn:
        for table in (*CATALOG_TABLES, "catalog_file_states"):
            conn.execute(f"DELETE FROM {table} WHERE {where}", names)


async def snapshot_of(db: "Database", name: str) -> Snapshot:
    """Read `db`'s catalog rows (recorded under `name`) on one of its read connections."""
    path = None if db.is_memory or not db.path else str(db.path)
    return await db.execute_fn(lambda conn: read_snapshot(conn, name, path, db.is_memory))


async def init_internal_db(db: "Database") -> None:
    """Create the catalog tables in `db` if they are missing (1.0a7's helper)."""
    await db.execute_write_script(";\n".join(CATALOG_SCHEMA) + ";")


async def populate_schema_tables(internal_db: "Database", db: "Database") -> None:
    """Replace `db`'s rows in the catalog of `internal_db`, in one transaction (1.0a7's helper)."""
    snapshot = await snapshot_of(db, db.name)
    await internal_db.execute_write_fn(lambda conn: write_snapshot(conn, snapshot))


class Catalog:
    """Keeps the internal database's catalog in step with the attached databases.

    It remembers the schema version it last wrote for each database object, so a refresh
    costs one `PRAGMA schema_version` read per mutable database when nothing changed.
    """

    def __init__(self, internal_db: "Database", stored_file_states: Optional[dict] = None):
        self.internal_db = internal_db
        # database name -> (database object token, schema version written)
        self._written: dict = {}
        # Snapshots are numbered when read; a write of an older snapshot than the one
        # already written is skipped, so overlapping refreshes never leave stale rows.
        # Only the internal write thread reads and updates `_latest_written`.
        self._sequence = itertools.count(1)
        self._latest_written: dict = {}
        # Called as `listener(conn, snapshot)` on the internal write thread after a
        # database's rows are written (or kept, with only `snapshot.tables`): systems that
        # follow tables (public grants) use it.
        self.listeners: list = []
        # Rows of databases detached while the server was down go at the first refresh
        # (the store no longer empties the catalog at start, see catalog_matches).
        self._purged = False
        # Catalog rows found at the first refresh (a reused --internal file), by database
        # name, until each is adopted or rewritten; see catalog_reuse.py.
        self._stored: Optional[dict] = None
        # The names `catalog_databases` held at the first refresh (None: not read).
        self._stored_names: Optional[set] = None
        # Quiet states of the attached files (file_states.py) as `catalog_file_states`
        # holds them: None when the internal database does not outlive the process.
        self._file_states: Optional[dict] = stored_file_states
        # Each database's `schema_probe.quiet_reads` when its state was last looked at.
        self._quiet_reads_seen: dict = {}

    async def refresh(self, databases: dict) -> None:
        """Bring the catalog up to date with `databases` (name -> Database).

        The schema versions of every database that could have changed are read in one
        trip to a read thread; each database is told its version (which keeps its
        schema cache honest) and only changed ones are re-read.
        """
        to_check = [
            (name, db)
            for name, db in databases.items()
            if not (
                not db.is_mutable
                and self._written.get(name, (None,))[0] == db.token
                and db.schema_version_known
            )
        ]
        versions = await _read_versions(databases, to_check)
        stale = []
        for name, db in to_check:
            version = versions.get(name)
            if version is None:
                continue
            db.note_schema_version(version)
            if self._written.get(name) != (db.token, version):
                stale.append((name, db))
        if self._stored is None:
            stale = await self._adopt_stored(stale)
        if stale:
            await self._refresh_together(stale)
        gone = [name for name in self._written if name not in databases]
        if not self._purged and self._stored_names is not None:
            # The first refresh read every stored database's name: when each is still
            # attached there is nothing to purge, and no write (nor commit) is needed.
            # (Rows are only ever written together with their catalog_databases row.)
            self._purged = self._stored_names <= set(databases)
        if gone or not self._purged:
            attached = list(databases)
            await self.internal_db.execute_write_fn(
                lambda conn: purge_detached(conn, attached)
            )
            self._purged = True
            for name in gone:
                self._written.pop(name, None)
                self._quiet_reads_seen.pop(name, None)
        if self._file_states is not None:
            await self._store_file_states(to_check)

    def seed(self, databases: dict) -> None:
        """Start each database's schema probe from the quiet state a previous process
        stored for its file, if any (file_states.py)."""
        for name, db in databases.items():
            state = (self._file_states or {}).get(name)
            if state is None or not _file_with_state(db):
                continue
            path, key, version = state
            if path == str(db.path):
                db.schema_probe.seed(key, version)

    async def _store_file_states(self, checked: list) -> None:
        """Store the quiet state of each checked database whose probe found a new one and
        whose catalog rows are written for its version. A look per database costs one
        comparison until its probe reads the file again."""
        pending = {}
        for name, db in checked:
            probe = db.schema_probe
            reads = probe.quiet_reads
            if self._quiet_reads_seen.get(name) == reads:
                continue
            state = probe.quiet_state()
            written = self._written.get(name)
            if state is not None and (written is None or written[1] != state[1]):
                continue  # its rows are not written yet: looked at again next time
            self._quiet_reads_seen[name] = reads
            if state is None or not _file_with_state(db):
                continue
            entry = (str(db.path), state[0], state[1])
            if self._file_states.get(name) != entry:
                pending[name] = entry
        if pending:
            # Only what was stored: a state the catalog does not vouch for (a virtual
            # table) must never seed a probe.
            stored = await self.internal_db.execute_write_fn(
                lambda conn: file_states.store_states(conn, pending)
            )
            self._file_states.update(stored)

    async def _adopt_stored(self, stale: list) -> list:
        """Keep the stored rows of each stale database they still describe; return the rest.

        Listeners are told about adopted databases as if their rows had been written.
        """
        try:
            self._stored = await self.internal_db.execute_fn(catalog_reuse.read_stored)
            self._stored_names = set(self._stored)
        except Exception as e:
            # Only a saving: without the stored rows every database is read as if new.
            logger.error("Could not read the stored catalog: %s", e)
            self._stored = {}
        candidates = [(name, db) for name, db in stale if name in self._stored and not db.is_memory]
        if not candidates:
            return stale
        adopted = {}
        # A file unchanged since the process that stored its rows (file_states.py) needs
        # no outline: its stored rows are for the version the probe answered.
        unchanged = [(name, db) for name, db in candidates if self._unchanged(name, db)]
        for name, db in unchanged:
            _, _, version, tables, _ = self._stored.pop(name)
            adopted[name] = (db, str(db.path), (version, tables, None), next(self._sequence))
        candidates = [(name, db) for name, db in candidates if name not in adopted]
        outlines = await _read_outlines(candidates) if candidates else []
        for (name, db), outline in zip(candidates, outlines):
            path = str(db.path) if db.path else None
            if not isinstance(outline, BaseException) and catalog_reuse.still_current(
                self._stored.pop(name), path, outline
            ):
                adopted[name] = (db, path, outline, next(self._sequence))
        if adopted:
            await self.internal_db.execute_write_fn(lambda conn: self._announce(conn, adopted))
        for name, (db, _, outline, _) in adopted.items():
            self._written[name] = (db.token, outline[0])
        return [(name, db) for name, db in stale if name not in adopted]

    def _unchanged(self, name: str, db: "Database") -> bool:
        stored = self._stored.get(name)
        state = (self._file_states or {}).get(name)
        return (
            stored is not None
            and state is not None
            and (stored[0], stored[1], stored[2]) == (state[0], False, state[2])
            and db.schema_probe.unchanged_since_seed()
        )

    def _announce(self, conn: Any, adopted: dict) -> None:
        """On the write thread: listeners hear of adopted databases (their tables only)."""
        for name, (_, path, (version, tables, _), sequence) in adopted.items():
            if self._latest_written.get(name, 0) > sequence:
                continue
            self._latest_written[name] = sequence
            snapshot = Snapshot(name, path, False, version, details_read=False)
            snapshot.tables = [(name, *table) for table in sorted(tables)]
            for listener in self.listeners:
                listener(conn, snapshot)

    async def _refresh_together(self, stale: list) -> None:
        """Bring the stale databases' rows up to date. Those that have none are copied
        straight from their files (catalog_fill.py); the others, and any the copy could not
        do, are read one after another on a read thread and written in one transaction:
        one durable commit (~1 ms each here) instead of one each.

        One at a time, not all at once: the reading is SQLite's work between GIL-holding
        steps, and read threads that take turns at the GIL finished 20 databases in about
        twice the time one thread took (more on a busy machine).
        """
        numbered = [(next(self._sequence), name, db) for name, db in stale]
        ready = []
        for sequence, name, db in await self._copy_new(numbered):
            try:
                snapshot = await snapshot_of(db, name)
            except Exception as e:
                # One unreadable database must not stop the others (or start-up).
                logger.error("Could not refresh the catalog of database %s: %s", name, e)
                continue
            ready.append((sequence, db, snapshot))
        if not ready:
            return
        await self.internal_db.execute_write_fn(
            lambda conn: self._write(conn, [(sequence, s) for sequence, _, s in ready])
        )
        for _, db, snapshot in ready:
            self._written[snapshot.database_name] = (db.token, snapshot.schema_version)

    async def _copy_new(self, numbered: list) -> list:
        """Copy the rows of the `(sequence, name, db)`s that have none; return the others."""
        sources = [
            (sequence, name, db, uri)
            for sequence, name, db in numbered
            if (uri := catalog_fill.source_uri(db)) is not None
        ]
        if not sources:
            return numbered
        copied = await self.internal_db.execute_write_fn(lambda conn: self._copy(conn, sources))
        for _, name, db, _ in sources:
            if name in copied:
                self._written[name] = (db.token, copied[name])
        return [(sequence, name, db) for sequence, name, db in numbered if name not in copied]

    def _copy(self, conn: Any, sources: list) -> dict:
        """On the write thread: copy the newer sources' rows, then tell the listeners.
        Returns `{name: schema version}` of the databases copied."""
        newer = [source for source in sources if self._latest_written.get(source[1], 0) <= source[0]]
        outcomes = catalog_fill.copy_catalogs(
            conn, [(name, str(db.path), uri) for _, name, db, uri in newer], clear_database
        )
        copied = {}
        for sequence, name, db, _ in newer:
            outcome = outcomes.get(name)
            if isinstance(outcome, BaseException):
                logger.debug("Reading the catalog of %s instead of copying it: %s", name, outcome)
            if not isinstance(outcome, tuple):
                continue
            version, tables = outcome
            copied[name] = version
            self._latest_written[name] = sequence
            snapshot = Snapshot(name, str(db.path), False, version, details_read=False)
            snapshot.tables = [(name, *table) for table in tables]
            for listener in self.listeners:
                listener(conn, snapshot)
        return copied

    def _write(self, conn: Any, numbered: list) -> None:
        """On the write thread: store `(sequence, snapshot)`s newer than what is written,
        in one transaction; then tell the listeners."""
        newer = [
            (sequence, snapshot)
            for sequence, snapshot in numbered
            if self._latest_written.get(snapshot.database_name, 0) <= sequence
        ]
        with conn:
            for _, snapshot in newer:
                store_snapshot(conn, snapshot)
        for sequence, snapshot in newer:
            self._latest_written[snapshot.database_name] = sequence
        for _, snapshot in newer:
            for listener in self.listeners:
                listener(conn, snapshot)

    async def refresh_database(self, name: str, db: "Database") -> None:
        """Re-read one database's schema and replace its catalog rows."""
        await self._refresh_together([(name, db)])


def _file_with_state(db: "Database") -> bool:
    """Whether `db` is a file whose quiet state may be kept: not a memory database, and
    not a followed file (whose connections must not stay open)."""
    return not db.is_memory and bool(db.path) and db.keeps_connections


async def _read_outlines(candidates: list) -> list:
    """The outline of each `(name, db)` (or the exception reading it raised), read one
    after another in one trip to a read thread: where the start-up checks opened (and
    parsed the schema of) each database's connection, with no hand-over per database."""

    def read_all() -> list:
        outlines: list = []
        for _, db in candidates:
            try:
                outlines.append(db.read_blocking(catalog_reuse.read_outline))
            except Exception as e:
                outlines.append(e)
        return outlines

    return await run_on(candidates[0][1].executor, read_all)


async def _read_versions(databases: dict, to_check: list) -> dict:
    """`{name: schema version}`; failures are left out.

    Each database is probed in place first (no thread trip); one this process's write
    thread is committing to answers with the version that commit leaves (a read would
    wait for the commit and find it); the few another writer keeps busy are read
    together on one read thread.
    """
    versions: dict = {}
    remaining = []
    for name, db in to_check:
        version = db.probe_schema_version()
        if version is None:
            version = db.committing_schema_version()
        if version is None:
            remaining.append((name, db))
        else:
            versions[name] = version
    if not remaining:
        return versions

    def read_all() -> dict:
        found = {}
        for name, db in remaining:
            try:
                found[name] = db.current_schema_version()
            except Exception as e:
                logger.error("Could not read the schema version of %s: %s", name, e)
        return found

    versions.update(await run_on(remaining[0][1].executor, read_all))
    return versions
