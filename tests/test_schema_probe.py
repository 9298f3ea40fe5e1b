"""The per-request schema version probe (schema_probe.py): read from the file's header in
rollback-journal mode, by `PRAGMA schema_version` otherwise, and always what SQLite says."""

import os
import sqlite3
import subprocess
import sys

import httpx
import pytest

from datasette.schema_probe import SchemaProbe, header_schema_version


def pragma_version(path):
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("PRAGMA schema_version").fetchone()[0]
    finally:
        conn.close()


def execute(path, *statements):
    """Run statements on a connection of their own, committed and closed (another writer)."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def make_probe(path):
    fallback = []

    def connect():
        fallback.append(True)
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=0)

    return SchemaProbe(str(path), None, connect), fallback


def test_rollback_journal_file_is_read_from_its_header(tmp_path):
    path = tmp_path / "data.db"
    execute(path, "create table t (id integer primary key)")
    probe, fallback = make_probe(path)
    assert probe.version() == pragma_version(path) == 1
    execute(path, "alter table t add column name text")
    assert probe.version() == pragma_version(path) == 2
    execute(path, "create index t_name on t (name)")
    assert probe.version() == pragma_version(path) == 3
    # No fallback connection was needed for a file in rollback-journal mode.
    assert fallback == []
    probe.close()


def test_signed_cookie_matches_the_pragma(tmp_path):
    path = tmp_path / "data.db"
    execute(path, "create table t (id)", "PRAGMA schema_version = -5")
    probe, fallback = make_probe(path)
    assert probe.version() == pragma_version(path) == -5
    assert fallback == []
    probe.close()


def test_wal_file_is_asked_with_the_pragma_and_sees_uncheckpointed_changes(tmp_path):
    path = tmp_path / "data.db"
    execute(path, "PRAGMA journal_mode = wal", "create table t (id)")
    keeper = sqlite3.connect(str(path), isolation_level=None)
    # With a connection left open the WAL is not checkpointed away at close, so the main
    # file's header still holds the old version while the WAL holds the new one.
    keeper.execute("PRAGMA wal_autocheckpoint = 0")
    keeper.execute("select 1 from t").fetchall()
    probe, fallback = make_probe(path)
    before = probe.version()
    execute(path, "PRAGMA wal_autocheckpoint = 0", "alter table t add column name text")
    with open(path, "rb") as f:
        assert header_schema_version(f.read(100)) is None  # WAL: the header is not trusted
    assert probe.version() == pragma_version(path) == before + 1
    assert fallback == [True]
    keeper.close()
    probe.close()


def test_switch_to_wal_by_another_connection_is_followed(tmp_path):
    path = tmp_path / "data.db"
    execute(path, "create table t (id)")
    probe, _ = make_probe(path)
    assert probe.version() == 1
    keeper = sqlite3.connect(str(path), isolation_level=None)
    keeper.execute("PRAGMA journal_mode = wal")
    keeper.execute("PRAGMA wal_autocheckpoint = 0")
    keeper.execute("create table u (id)")
    assert probe.version() == pragma_version(path) == 2
    keeper.close()
    probe.close()


def test_empty_and_foreign_files(tmp_path):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    probe, fallback = make_probe(empty)
    assert probe.version() == 0  # SQLite's answer for a database with no schema yet
    assert fallback == [True]
    execute(empty, "create table t (id)")
    assert probe.version() == 1
    probe.close()
    assert header_schema_version(b"not a database" * 10) is None
    assert header_schema_version(b"SQLite format 3\x00") is None  # too short


def test_close_releases_the_descriptor(tmp_path):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to list open descriptors")
    path = tmp_path / "data.db"
    execute(path, "create table t (id)")
    probe, _ = make_probe(path)

    def open_on_file():
        found = 0
        for name in os.listdir("/proc/self/fd"):
            try:
                found += os.readlink(f"/proc/self/fd/{name}") == str(path)
            except OSError:
                pass
        return found

    assert probe.version() == 1
    assert open_on_file() == 1
    probe.close()
    assert open_on_file() == 0
    # A closed probe opens again if asked (as the Database's connections do).
    assert probe.version() == 1
    probe.close()


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_schema_change_by_another_process_is_seen_by_the_next_request(
    make_ds, serve_ds, tmp_path, journal_mode
):
    path = tmp_path / "live.db"
    execute(
        path,
        f"PRAGMA journal_mode = {journal_mode}",
        "create table items (id integer primary key, title text)",
        "insert into items values (1, 'one')",
    )
    ds = make_ds([str(path)])
    with serve_ds(ds) as server:
        first = httpx.get(server.url + "/live/items/1.json?_shape=objects").json()
        assert first["rows"] == [{"id": 1, "title": "one"}]
        script = (
            "import sqlite3, sys\n"
            "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "conn.execute('alter table items add column price real default 2.5')\n"
            "conn.execute('create table extra (id)')\n"
            "conn.close()\n"
        )
        subprocess.run([sys.executable, "-c", script, str(path)], check=True)
        after = httpx.get(server.url + "/live/items/1.json?_shape=objects").json()
        assert after["rows"] == [{"id": 1, "title": "one", "price": 2.5}]
        tables = httpx.get(server.url + "/live.json").json()
        assert "extra" in [table["name"] for table in tables["tables"]]
