"""Opening the internal database: where it lives, what is checked, and how it is created.

Without a path it is a file in a private temporary folder, removed when the instance is
closed or the process exits: a file in WAL mode lets readers and the one writer work at
the same time, which a shared-cache memory database cannot (its table locks fail with
"database table is locked").

With a path (`--internal FILE`), before anything is written:
- the folder must exist and the path must not be a directory;
- the process takes an exclusive lock (see `lock.py`);
- an existing file must be SQLite, pass `PRAGMA quick_check`, carry our marker (or have
  no tables at all) and have a schema version this code knows; a file from a newer
  version is refused untouched, an older one is backed up beside itself and migrated;
- a new file is created mode 0600, in WAL mode, with durable (`synchronous=FULL`) commits.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any, Optional

from ..database import Database
from ..exceptions import InternalDatabaseError
from ..utils.sqlite import sqlite3
from . import catalog, file_states, guard, migrations
from .clock import utc_now
from .lock import InternalFileLock

if TYPE_CHECKING:  # only for annotations: app.py imports this module
    from ..app import Datasette

logger = logging.getLogger("datasette.internal")

INTERNAL_DATABASE_NAME = "__INTERNAL__"


class InternalStore:
    """Owns the internal database file: checks, creation, migration, lock, clean-up.

    :param path: the `--internal` file, or None for a private temporary file
    :param package_version: recorded in the marker row of a new file
    """

    def __init__(self, path: Optional[str], package_version: str):
        self.package_version = package_version
        self.temporary = path is None
        self._tmpdir: Optional[str] = None
        if path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="datasette-internal-")
            self.path = os.path.join(self._tmpdir, "internal.db")
        else:
            self.path = os.path.abspath(os.fspath(path))
        self.created = False
        self._made_file = False  # whether `open` made the file (and `abandon` removes it)
        self.backup_path: Optional[str] = None
        self.migrated_from: Optional[int] = None
        self._lock: Optional[InternalFileLock] = None
        # The attached files' quiet states a previous process stored (file_states.py);
        # None for a temporary file, which no later process reads.
        self.file_states: Optional[dict] = None if self.temporary else {}

    # -- opening ------------------------------------------------------------------------

    def open(self) -> None:
        """Check, lock, create or migrate the file; raise `InternalDatabaseError` if unusable."""
        existed = True
        if not self.temporary:
            self._check_location()
            existed = os.path.exists(self.path)
            self._lock = InternalFileLock(self.path)
            self._lock.acquire()
            if not existed:
                self.created = True
        self._made_file = not existed
        try:
            if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
                self._check_existing()
            else:
                self._create_file()
            self._initialise()
        except BaseException as e:
            self.close()
            if not existed:
                _remove_database_files(self.path)
            if isinstance(e, sqlite3.Error):
                raise InternalDatabaseError(
                    f"Could not prepare internal database {self.path}: {e}"
                )
            raise
        if self._lock is not None:
            self._lock.record_holder()

    def _check_location(self) -> None:
        parent = os.path.dirname(self.path)
        problem = directory_problem(self.path)
        if problem:
            raise InternalDatabaseError(problem)
        if not os.path.isdir(parent):
            raise InternalDatabaseError(
                f"Cannot create internal database {self.path}: "
                f"folder {parent} does not exist"
            )

    def _check_existing(self) -> None:
        path = self.path
        is_sqlite, application_id = guard.read_header(path)
        if not is_sqlite:
            raise InternalDatabaseError(
                f"Cannot use {path} as the internal database: it is not a SQLite database"
            )
        try:
            conn = guard.open_read_only(path)
        except sqlite3.Error as e:
            raise InternalDatabaseError(f"Cannot open internal database {path}: {e}")
        try:
            problem = _quick_check(conn)
            if problem:
                raise InternalDatabaseError(
                    f"Internal database {path} is damaged ({problem}); "
                    "refusing to use it. The file was left unchanged."
                )
            marker = guard.marker_state(conn)
            if marker == "lookalike":
                raise InternalDatabaseError(
                    f"Cannot use {path} as the internal database: its "
                    f"{guard.MARKER_TABLE} table was not made by Datasette"
                )
            if marker is None:
                has_tables = conn.execute(
                    "select count(*) from sqlite_master where type = 'table'"
                ).fetchone()[0]
                if has_tables:
                    raise InternalDatabaseError(
                        f"Cannot use {path} as the internal database: it has tables "
                        f"but no {guard.MARKER_TABLE} marker, so it is not an internal "
                        "database"
                    )
                if application_id == guard.APPLICATION_ID:
                    raise InternalDatabaseError(
                        f"Cannot use {path} as the internal database: it carries the "
                        "internal application id but no marker table"
                    )
                return
            version = migrations.stored_version(conn)
        finally:
            conn.close()
        if version > migrations.CURRENT_SCHEMA_VERSION:
            raise InternalDatabaseError(
                f"Internal database {path} has schema version {version}, newer than "
                f"this Datasette supports ({migrations.CURRENT_SCHEMA_VERSION}); "
                "upgrade Datasette or use another --internal file. The file was left "
                "unchanged."
            )
        if version < migrations.CURRENT_SCHEMA_VERSION:
            self.migrated_from = version
            self.backup_path = self._backup(version)

    def _backup(self, version: int) -> str:
        """Copy the file beside itself with SQLite's online backup; return the copy's path."""
        stamp = utc_now().replace(":", "").replace("-", "")
        backup_path = f"{self.path}.v{version}-{stamp}.bak"
        counter = 2
        while os.path.exists(backup_path):
            backup_path = f"{self.path}.v{version}-{stamp}-{counter}.bak"
            counter += 1
        source = guard.open_read_only(self.path)
        fd = os.open(backup_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        target = sqlite3.connect(backup_path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        logger.warning(
            "Internal database %s: schema version %s will be migrated to %s; "
            "a backup copy was written to %s",
            self.path,
            version,
            migrations.CURRENT_SCHEMA_VERSION,
            backup_path,
        )
        return backup_path

    def _create_file(self) -> None:
        # Created by us (or by the lock, also 0600) before SQLite touches it; an empty
        # file someone else made is narrowed to 0600 too, since it becomes ours now.
        if not os.path.exists(self.path):
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        os.chmod(self.path, 0o600)
        self.created = True

    def _initialise(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=5.0)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            # A temporary file dies with the process, so creating it needs no flush to disk
            # (~10 ms of every start without --internal); a kept file is flushed.
            conn.execute("PRAGMA synchronous=OFF" if self.temporary else "PRAGMA synchronous=FULL")
            migrations.migrate(conn, self.package_version)
            with conn:
                # Not emptied: the first refresh keeps rows that are still right and
                # purges detached databases, so an unchanged restart writes nothing.
                catalog.create_catalog_tables(conn)
            if not self.temporary:
                self.file_states = file_states.read_states(conn)
        finally:
            conn.close()

    # -- connections --------------------------------------------------------------------

    def database(self, ds: "Datasette") -> Database:
        """The `Database` for the opened file: never served, its connections set up here."""
        db = Database(ds, path=self.path, mode="rwc", connection_setup=self.setup_connection)
        db.name = INTERNAL_DATABASE_NAME
        db.is_internal = True
        return db

    @staticmethod
    def setup_connection(conn: Any, write: bool) -> None:
        """Prepare a connection to the internal database.

        Plugin `prepare_connection` hooks are deliberately not run: their SQL functions
        are for user databases. Reads are query-only so every write goes through the one
        write thread; the writer commits durably.
        """
        conn.row_factory = sqlite3.Row
        conn.text_factory = lambda b: str(b, "utf-8", "replace")
        if write:
            conn.execute("PRAGMA synchronous=FULL")
        else:
            conn.execute("PRAGMA query_only=1")

    # -- closing ------------------------------------------------------------------------

    def abandon(self) -> None:
        """Close, removing the file if this store created it: a start refused once the
        internal database was open leaves no new file behind."""
        if self._made_file and not self.temporary:
            _remove_database_files(self.path)
        self.close()

    def close(self) -> None:
        """Release the lock and remove a temporary file's folder."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None


def _remove_database_files(path: str) -> None:
    """Remove a file this store created and SQLite's companions, after a failed open."""
    for leftover in (path, path + "-wal", path + "-shm", path + "-journal"):
        try:
            os.remove(leftover)
        except OSError:
            pass


def _quick_check(conn: Any) -> Optional[str]:
    """None when `PRAGMA quick_check` passes, else a short description of the damage."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as e:
        return str(e)
    messages = [row[0] for row in rows]
    if messages == ["ok"]:
        return None
    return "; ".join(messages[:3])


def check_not_internal_path(internal_path: Optional[str], files: list) -> None:
    """Refuse to serve the internal file itself, whatever path spells it."""
    if internal_path is None:
        return
    for file in files:
        if guard.same_file(file, internal_path):
            raise InternalDatabaseError(
                f"Refusing to serve {file}: it is the internal database given to "
                "--internal. Use a different file for one of them."
            )


def directory_problem(path: Optional[str]) -> Optional[str]:
    """The refusal for an `--internal` path that is a directory, else None."""
    if path and os.path.isdir(path):
        return f"--internal {path} is a directory; give the path of a database file"
    return None


def ensure_not_internal_file(
    path: str, allow: bool, tables_known_clean: bool = False
) -> Optional[str]:
    """Refuse (or, with `allow`, warn about) serving a file marked as an internal database.

    Returns a warning to show, or None. Raises `InternalDatabaseError` when refused.
    `tables_known_clean`: see `guard.inspect_file`.
    """
    if not os.path.isfile(path):
        return None
    report = guard.inspect_file(path, tables_known_clean)
    if report.is_internal:
        if not allow:
            raise InternalDatabaseError(guard.refusal_message(path))
        return (
            f"Warning: serving {path}, which is a Datasette internal database, "
            "because --unsafe-allow-internal was given"
        )
    if report.marker == "lookalike":
        return (
            f"Warning: {path} has a table named {guard.MARKER_TABLE} that is not a "
            "Datasette internal database marker; serving it as an ordinary database"
        )
    return None
