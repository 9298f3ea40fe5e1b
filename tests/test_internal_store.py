"""The internal database's store: creation, persistence, checks on open, migration.

Covers internal-db.md points 3, 4, 6 (rebuild on start), 7, 9, 12 and 13, through
`Datasette(internal=...)` and `InternalStore` directly.
"""

import datetime
import glob
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import types

import pytest
from click.testing import CliRunner

from datasette import hookimpl
from datasette.app import Datasette
from datasette.cli import cli
from datasette.exceptions import InternalDatabaseError
from datasette.internal import guard, migrations
from datasette.internal.catalog import CATALOG_TABLES
from datasette.internal.store import InternalStore
from datasette.plugins import pm
from datasette.version import __version__

from .fixtures import make_sample_db


def sha256(path):
    with open(path, "rb") as fp:
        return hashlib.sha256(fp.read()).hexdigest()


def fingerprint(path):
    """Bytes and modification time of a file, to prove it was not touched."""
    return sha256(path), os.stat(path).st_mtime_ns


def make_internal_file(path):
    """A valid, current internal database file, closed (WAL checkpointed)."""
    Datasette([], internal=str(path)).close()
    assert not os.path.exists(str(path) + "-wal") or os.path.getsize(str(path) + "-wal") == 0
    return path


def query(path, sql, params=()):
    """Rows from a plain sqlite3 connection, closed afterwards."""
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def damage(path):
    """Fill an internal file with a plugin table, then overwrite pages in its middle."""
    conn = sqlite3.connect(str(path))
    conn.execute("create table plugin_filler (id integer primary key, body text)")
    conn.executemany(
        "insert into plugin_filler (body) values (?)", [("x" * 200,) for _ in range(2000)]
    )
    conn.commit()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    page_count = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    assert page_count > 50
    with open(path, "r+b") as fp:
        # Pages are numbered from 1; the filler table's leaf pages fill the file's end.
        for pgno in range(page_count // 2, page_count // 2 + 4):
            fp.seek((pgno - 1) * page_size)
            fp.write(b"\xff" * page_size)


def quick_check_fails(path):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA quick_check").fetchall() != [("ok",)]
    except sqlite3.DatabaseError:
        return True
    finally:
        conn.close()


async def catalog_database_names(ds):
    """{catalog table: set of database_name values} read through the internal database."""
    internal = ds.get_internal_database()
    found = {}
    for table in CATALOG_TABLES:
        result = await internal.execute(f"select distinct database_name from {table}")
        found[table] = {row[0] for row in result.rows}
    return found


# -- a new file ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_new_internal_file_mode_wal_application_id_and_marker(tmp_path, make_ds):
    path = tmp_path / "internal.db"
    ds = make_ds([], internal=str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    await ds.invoke_startup()
    await ds.get_internal_database().execute_write("create table probe (a)")
    # SQLite's companion files while it is open are private too.
    for suffix in ("-wal", "-shm"):
        companion = str(path) + suffix
        assert os.path.exists(companion), suffix
        assert stat.S_IMODE(os.stat(companion).st_mode) == 0o600, suffix
    assert query(path, "PRAGMA journal_mode") == [("wal",)]
    assert query(path, "PRAGMA application_id") == [(guard.APPLICATION_ID,)]
    rows = query(
        path, "select schema_version, created_by, created_at from _datasette_internal"
    )
    assert len(rows) == 1
    schema_version, created_by, created_at = rows[0]
    assert schema_version == migrations.CURRENT_SCHEMA_VERSION
    assert created_by == __version__
    created = datetime.datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs(now - created) < datetime.timedelta(hours=1)


def test_internal_store_directly_creates_and_releases(tmp_path):
    path = tmp_path / "direct.db"
    store = InternalStore(str(path), "9.9")
    store.open()
    try:
        assert store.created is True
        assert store.path == str(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert query(path, "select created_by from _datasette_internal") == [("9.9",)]
    finally:
        store.close()
    # Reopening an existing current file: not created, not migrated, no backup.
    again = InternalStore(str(path), "9.9")
    again.open()
    try:
        assert again.created is False
        assert again.migrated_from is None
        assert again.backup_path is None
    finally:
        again.close()


def test_empty_existing_file_is_initialised(tmp_path, make_ds):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    make_ds([], internal=str(path))
    assert query(path, "select schema_version from _datasette_internal") == [
        (migrations.CURRENT_SCHEMA_VERSION,)
    ]


# -- persistence and the catalog ----------------------------------------------------------


@pytest.mark.asyncio
async def test_plugin_table_survives_restart(tmp_path):
    path = tmp_path / "internal.db"
    ds = Datasette([], internal=str(path))
    try:
        await ds.invoke_startup()
        internal = ds.get_internal_database()
        await internal.execute_write(
            "create table if not exists myplugin_settings (key text primary key, value text)"
        )
        await internal.execute_write(
            "insert into myplugin_settings values (?, ?)", ["colour", "teal"]
        )
    finally:
        ds.close()
    ds2 = Datasette([], internal=str(path))
    try:
        await ds2.invoke_startup()
        result = await ds2.get_internal_database().execute(
            "select key, value from myplugin_settings"
        )
        assert [tuple(row) for row in result.rows] == [("colour", "teal")]
    finally:
        ds2.close()


@pytest.mark.asyncio
async def test_catalog_rebuilt_on_restart_lists_only_attached(tmp_path):
    internal_path = tmp_path / "internal.db"
    one = make_sample_db(tmp_path / "one.db")
    two = make_sample_db(tmp_path / "two.db")
    ds = Datasette([str(one), str(two)], internal=str(internal_path))
    try:
        await ds.invoke_startup()
        before = await catalog_database_names(ds)
        # The sample data has tables, columns, indexes and foreign keys in both files.
        for table in CATALOG_TABLES:
            assert {"one", "two"} <= before[table], table
        await ds.get_internal_database().execute_write(
            "create table owned_rows (note text)"
        )
        await ds.get_internal_database().execute_write(
            "insert into owned_rows values ('kept')"
        )
    finally:
        ds.close()

    ds2 = Datasette([str(one)], internal=str(internal_path))
    try:
        await ds2.invoke_startup()
        after = await catalog_database_names(ds2)
        assert after["catalog_databases"] == set(ds2.databases) == {"one"}
        for table in CATALOG_TABLES:
            assert "two" not in after[table], table
            assert "one" in after[table], table
        # Rebuilding the catalog leaves data it does not own alone (point 13).
        owned = await ds2.get_internal_database().execute("select note from owned_rows")
        assert [row[0] for row in owned.rows] == ["kept"]
    finally:
        ds2.close()


# -- refusals on open ------------------------------------------------------------------


def test_newer_schema_version_is_refused_untouched(tmp_path):
    path = make_internal_file(tmp_path / "internal.db")
    newer = migrations.CURRENT_SCHEMA_VERSION + 1
    conn = sqlite3.connect(str(path))
    conn.execute("update _datasette_internal set schema_version = ?", [newer])
    conn.commit()
    conn.close()
    before = fingerprint(path)
    with pytest.raises(InternalDatabaseError) as excinfo:
        Datasette([], internal=str(path))
    message = str(excinfo.value)
    assert str(newer) in message
    assert "version" in message
    assert fingerprint(path) == before
    assert query(path, "select schema_version from _datasette_internal") == [(newer,)]


def test_older_file_is_backed_up_and_migrated(tmp_path, make_ds, caplog):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(str(path))
    applied = migrations.migrate(conn, "0.1", target=1)
    assert [step.version for step in applied] == [1]
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("create table oldplugin_items (id integer primary key, name text)")
    conn.executemany("insert into oldplugin_items (name) values (?)", [("a",), ("b",)])
    conn.commit()
    conn.close()
    assert query(path, "select schema_version from _datasette_internal") == [(1,)]

    ds = make_ds([], internal=str(path))

    assert ds._internal_store.migrated_from == 1
    assert query(path, "select schema_version from _datasette_internal") == [
        (migrations.CURRENT_SCHEMA_VERSION,)
    ]
    assert query(path, "select name from oldplugin_items order by id") == [("a",), ("b",)]
    # The creator of the file is still the one that made it.
    assert query(path, "select created_by from _datasette_internal") == [("0.1",)]
    history = query(path, "select version, applied_by from _datasette_internal_migrations")
    assert (migrations.CURRENT_SCHEMA_VERSION, __version__) in history

    backups = glob.glob(str(path) + ".v1-*.bak")
    assert len(backups) == 1
    assert ds._internal_store.backup_path == backups[0]
    assert stat.S_IMODE(os.stat(backups[0]).st_mode) == 0o600
    # It says where the backup went.
    assert backups[0] in caplog.text
    backup = sqlite3.connect(backups[0])
    try:
        assert backup.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert backup.execute("select schema_version from _datasette_internal").fetchall() == [
            (1,)
        ]
        assert backup.execute("select count(*) from oldplugin_items").fetchone() == (2,)
    finally:
        backup.close()


def test_failed_migration_step_rolls_back_everything(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(str(path))
    migrations.migrate(conn, "0.1", target=1)
    conn.close()
    broken = migrations.Migration(
        migrations.CURRENT_SCHEMA_VERSION + 1,
        "broken",
        ("create table added_by_broken_step (a)", "this is not sql"),
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS + (broken,))
    conn = sqlite3.connect(str(path))
    try:
        with pytest.raises(sqlite3.Error):
            migrations.migrate(conn, "9.9", target=broken.version)
    finally:
        conn.close()
    # Not even the steps before the broken one were kept: one transaction.
    assert query(path, "select schema_version from _datasette_internal") == [(1,)]
    names = {row[0] for row in query(path, "select name from sqlite_master")}
    assert names == {"_datasette_internal"}


def test_damaged_file_is_refused_untouched(tmp_path):
    path = make_internal_file(tmp_path / "internal.db")
    damage(path)
    assert quick_check_fails(path)
    before = fingerprint(path)
    with pytest.raises(InternalDatabaseError) as excinfo:
        Datasette([], internal=str(path))
    assert "damaged" in str(excinfo.value)
    assert str(path) in str(excinfo.value)
    assert fingerprint(path) == before


def test_file_with_user_tables_and_no_marker_is_refused(tmp_path, db_path):
    before = sha256(db_path)
    with pytest.raises(InternalDatabaseError) as excinfo:
        Datasette([], internal=str(db_path))
    assert "not an internal database" in str(excinfo.value)
    assert sha256(db_path) == before


def test_lookalike_marker_table_is_refused(tmp_path):
    path = tmp_path / "lookalike.db"
    conn = sqlite3.connect(str(path))
    conn.execute("create table _datasette_internal (name text, value text)")
    conn.execute("insert into _datasette_internal values ('a', 'b')")
    conn.commit()
    conn.close()
    before = sha256(path)
    with pytest.raises(InternalDatabaseError) as excinfo:
        Datasette([], internal=str(path))
    assert "not made by Datasette" in str(excinfo.value)
    assert sha256(path) == before


def test_non_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the pages you are looking for\n" * 10)
    before = sha256(path)
    with pytest.raises(InternalDatabaseError) as excinfo:
        Datasette([], internal=str(path))
    assert "not a SQLite database" in str(excinfo.value)
    assert sha256(path) == before


def test_missing_folder_is_refused_naming_it(tmp_path):
    folder = tmp_path / "does-not-exist"
    with pytest.raises(InternalDatabaseError) as excinfo:
        Datasette([], internal=str(folder / "internal.db"))
    assert str(folder) in str(excinfo.value)
    assert not folder.exists()


def test_directory_path_is_refused(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(InternalDatabaseError) as excinfo:
        Datasette([], internal=str(folder))
    assert "directory" in str(excinfo.value)
    assert list(folder.iterdir()) == []


def test_refused_open_releases_the_lock(db_path):
    # Were the lock kept after a refusal, the second attempt would say "in use".
    for _ in range(2):
        with pytest.raises(InternalDatabaseError) as excinfo:
            InternalStore(str(db_path), __version__).open()
        assert "not an internal database" in str(excinfo.value)


@pytest.mark.parametrize(
    "problem", ["missing-folder", "directory", "not-sqlite", "damaged", "newer"]
)
def test_cli_refusals_are_one_line(tmp_path, problem):
    if problem == "missing-folder":
        path = tmp_path / "nowhere" / "internal.db"
        expected = str(tmp_path / "nowhere")
    elif problem == "directory":
        path = tmp_path / "folder"
        path.mkdir()
        expected = "directory"
    elif problem == "not-sqlite":
        path = tmp_path / "text.db"
        path.write_text("plain text, not a database\n" * 10)
        expected = "not a SQLite database"
    elif problem == "damaged":
        path = make_internal_file(tmp_path / "internal.db")
        damage(path)
        expected = "damaged"
    else:
        path = make_internal_file(tmp_path / "internal.db")
        conn = sqlite3.connect(str(path))
        conn.execute("update _datasette_internal set schema_version = 999")
        conn.commit()
        conn.close()
        expected = "999"
    result = CliRunner().invoke(
        cli, ["serve", "--internal", str(path), "--get", "/-/versions.json"]
    )
    assert result.exit_code == 1, result.output
    output = [line for line in result.output.splitlines() if line.strip()]
    assert len(output) == 1, output
    assert expected in output[0]


# -- one instance per file (in process; real processes in test_internal_lock_and_crash) ---


def test_second_instance_on_same_file_is_refused_until_closed(tmp_path):
    path = tmp_path / "internal.db"
    first = Datasette([], internal=str(path))
    try:
        with pytest.raises(InternalDatabaseError) as excinfo:
            Datasette([], internal=str(path))
        assert "in use" in str(excinfo.value)
        assert str(os.getpid()) in str(excinfo.value)
    finally:
        first.close()
    Datasette([], internal=str(path)).close()


@pytest.mark.parametrize("link_kind", ["symlink", "hardlink"])
def test_second_instance_through_link_is_refused(tmp_path, link_kind):
    path = tmp_path / "internal.db"
    link = tmp_path / "other-name.db"
    first = Datasette([], internal=str(path))
    try:
        if link_kind == "symlink":
            link.symlink_to(path)
        else:
            os.link(path, link)
        with pytest.raises(InternalDatabaseError) as excinfo:
            Datasette([], internal=str(link)).close()
        assert "in use" in str(excinfo.value)
    finally:
        first.close()


# -- the default, temporary internal database ----------------------------------------------


@pytest.mark.asyncio
async def test_default_internal_database_is_temporary_and_removed_on_close(tmp_path):
    ds = Datasette([])
    internal = ds.get_internal_database()
    folder = os.path.dirname(internal.path)
    try:
        await ds.invoke_startup()
        await internal.execute_write("create table scratch (a)")
        assert os.path.isdir(folder)
        assert not folder.startswith(str(tmp_path))
        assert os.path.isfile(internal.path)
    finally:
        ds.close()
    assert not os.path.exists(folder)


def test_default_internal_folder_removed_at_exit_without_close(tmp_path):
    script = (
        "from datasette.app import Datasette\n"
        "ds = Datasette([])\n"
        "print(ds.get_internal_database().path)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    internal_path = result.stdout.strip().splitlines()[-1]
    assert internal_path.endswith(".db")
    assert not os.path.exists(os.path.dirname(internal_path))


# -- prepare_connection is for user databases only ----------------------------------------


@pytest.mark.asyncio
async def test_internal_connections_skip_prepare_connection(tmp_path, db_path):
    seen = []

    @hookimpl
    def prepare_connection(conn, database, datasette):
        seen.append(database)

    plugin = types.ModuleType("record_prepare_connection")
    plugin.prepare_connection = prepare_connection
    pm.register(plugin, name="x")
    try:
        ds = Datasette([str(db_path)], internal=str(tmp_path / "internal.db"))
        try:
            await ds.invoke_startup()
            internal = ds.get_internal_database()
            await internal.execute_write("create table probe (a)")
            await internal.execute_write("insert into probe values (1)")
            assert (await internal.execute("select count(*) from probe")).rows[0][0] == 1
            await internal.execute("select count(*) from catalog_tables")
            await ds.get_database("sample").execute("select count(*) from books")
            await ds.get_database("sample").execute_write("insert into tags values (9, 'x')")
        finally:
            ds.close()
    finally:
        pm.unregister(name="x")
    assert "sample" in seen
    assert internal.name not in seen
    assert set(seen) == {"sample"}
