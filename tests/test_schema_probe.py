"""The per-request schema version probe (schema_probe.py): read from the file's header in
rollback-journal mode, by `PRAGMA schema_version` otherwise, and always what SQLite says."""

import os
import sqlite3
import subprocess
import sys

import httpx
import pytest

from datasette.schema_probe import (
    SchemaProbe,
    filesystem_type,
    header_schema_version,
    on_local_filesystem,
)


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


def make_probe(path, local_devices=None):
    fallback = []

    def connect():
        fallback.append(True)
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=0)

    return SchemaProbe(str(path), None, connect, local_devices), fallback


def needs_local_tmp(tmp_path):
    if not on_local_filesystem(str(tmp_path)):
        pytest.skip("the header is read only on a local filesystem Linux's mount table names")


def test_rollback_journal_file_is_read_from_its_header(tmp_path):
    needs_local_tmp(tmp_path)
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
    needs_local_tmp(tmp_path)
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
    needs_local_tmp(tmp_path)
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


def test_a_file_not_on_a_local_filesystem_is_asked_with_the_pragma(tmp_path):
    path = tmp_path / "data.db"
    execute(path, "create table t (id)")
    local_devices = {os.stat(path).st_dev: False}  # as if the mount table said "nfs"
    probe, fallback = make_probe(path, local_devices)
    assert probe.version() == 1
    execute(path, "alter table t add column name text")
    assert probe.version() == pragma_version(path) == 2
    assert fallback == [True]
    probe.close()


MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 27 0:40 / /srv/data rw,relatime shared:7 master:2 - nfs4 server:/export rw
41 40 0:41 / /srv/data/local rw,relatime - tmpfs tmpfs rw
42 27 0:42 / /mnt/with\\040space rw - xfs /dev/vdb rw
43 27 0:43 / /srv/data rw - ext4 /dev/vdc rw
"""


@pytest.mark.parametrize(
    "path,expected",
    [
        ("/home/user/data.db", "ext4"),
        ("/srv/data/local/a.db", "tmpfs"),  # the longest mount point holding the path
        ("/srv/database.db", "ext4"),  # /srv/data is not a prefix of /srv/database.db
        ("/mnt/with space/a.db", "xfs"),  # octal escapes in mount points
        ("/srv/data/a.db", "ext4"),  # mounted over /srv/data later: the last one wins
    ],
)
def test_filesystem_type_from_the_mount_table(path, expected):
    assert filesystem_type(MOUNTINFO, path) == expected


def test_a_network_mount_is_not_local():
    table = MOUNTINFO.replace("43 27 0:43 / /srv/data rw - ext4 /dev/vdc rw\n", "")
    assert filesystem_type(table, "/srv/data/a.db") == "nfs4"
    assert filesystem_type("", "/a.db") is None


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
