"""The per-request schema version probe (schema_probe.py): `PRAGMA schema_version`,
answered from memory while a quiet rollback-journal file's stat is unchanged, and always
what SQLite says."""

import os
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from datasette import schema_probe
from datasette.schema_probe import SchemaProbe, filesystem_type, on_local_filesystem

# Short enough for tests, far above the kernel's timestamp tick on local filesystems.
RACY = 0.05


def settle():
    """Let a file's timestamps fall older than RACY."""
    time.sleep(RACY * 2)


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
    """A probe on `path` and the list of PRAGMA schema_version reads it has made."""
    reads = []

    def connect():
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=0
        )
        conn.set_trace_callback(
            lambda sql: reads.append(sql) if "schema_version" in sql.lower() else None
        )
        return conn

    return SchemaProbe(str(path), None, connect, local_devices, racy_seconds=RACY), reads


def needs_local_tmp(tmp_path):
    if not on_local_filesystem(str(tmp_path)):
        pytest.skip("a file's stat is trusted only on a local filesystem")


def test_quiet_rollback_journal_file_is_answered_from_its_stat(tmp_path):
    needs_local_tmp(tmp_path)
    path = tmp_path / "data.db"
    execute(path, "create table t (id integer primary key)")
    settle()
    probe, reads = make_probe(path)
    assert probe.version() == pragma_version(path) == 1
    assert len(reads) == 1
    assert probe.version() == 1
    assert probe.version() == 1
    assert len(reads) == 1  # the file is unchanged: no PRAGMA
    execute(path, "alter table t add column name text")
    assert probe.version() == pragma_version(path) == 2
    assert len(reads) == 2
    # Just written: its timestamps could be equalled by another write in the same tick.
    assert probe.version() == 2
    assert len(reads) == 3
    settle()
    assert probe.version() == 2
    assert probe.version() == 2
    assert len(reads) == 4
    execute(path, "create index t_name on t (name)")
    assert probe.version() == pragma_version(path) == 3
    probe.close()


def test_data_writes_move_the_stat_too(tmp_path):
    needs_local_tmp(tmp_path)
    path = tmp_path / "data.db"
    execute(path, "create table t (id integer primary key)")
    settle()
    probe, reads = make_probe(path)
    assert probe.version() == 1
    assert probe.version() == 1
    assert len(reads) == 1
    execute(path, "insert into t values (1)")
    assert probe.version() == 1
    assert len(reads) == 2  # a write of any kind means asking again
    probe.close()


def test_a_timestamp_set_back_is_not_trusted(tmp_path):
    needs_local_tmp(tmp_path)
    path = tmp_path / "data.db"
    execute(path, "create table t (id)")
    settle()
    probe, reads = make_probe(path)
    assert probe.version() == 1
    execute(path, "alter table t add column name text")
    # As `cp -p` or rsync would leave it: the old modification time, a new change time.
    old = time.time_ns() - 3_600 * 1_000_000_000
    os.utime(path, ns=(old, old))
    assert probe.version() == pragma_version(path) == 2
    assert probe.version() == 2
    assert len(reads) == 3  # the change time is recent, so the stat is not trusted yet
    probe.close()


def test_signed_cookie_matches_the_pragma(tmp_path):
    path = tmp_path / "data.db"
    execute(path, "create table t (id)", "PRAGMA schema_version = -5")
    probe, _ = make_probe(path)
    assert probe.version() == pragma_version(path) == -5
    probe.close()


def test_wal_file_is_always_asked_with_the_pragma(tmp_path):
    path = tmp_path / "data.db"
    execute(path, "PRAGMA journal_mode = wal", "create table t (id)")
    keeper = sqlite3.connect(str(path), isolation_level=None)
    # With a connection left open the WAL is not checkpointed away at close, so the main
    # file is untouched while the WAL holds the new schema.
    keeper.execute("PRAGMA wal_autocheckpoint = 0")
    keeper.execute("select 1 from t").fetchall()
    settle()
    probe, reads = make_probe(path)
    before = probe.version()
    assert probe.version() == before
    assert len(reads) == 2  # WAL commits leave the main file alone: never trusted
    main_stat = os.stat(path)
    execute(path, "PRAGMA wal_autocheckpoint = 0", "alter table t add column name text")
    assert os.stat(path).st_mtime_ns == main_stat.st_mtime_ns
    assert probe.version() == pragma_version(path) == before + 1
    keeper.close()
    probe.close()


def test_switch_to_wal_by_another_connection_is_followed(tmp_path):
    path = tmp_path / "data.db"
    execute(path, "create table t (id)")
    settle()
    probe, _ = make_probe(path)
    assert probe.version() == 1
    assert probe.version() == 1
    keeper = sqlite3.connect(str(path), isolation_level=None)
    keeper.execute("PRAGMA journal_mode = wal")
    keeper.execute("PRAGMA wal_autocheckpoint = 0")
    settle()
    assert probe.version() == 1  # switching wrote the header, and now it is WAL
    keeper.execute("create table u (id)")
    assert probe.version() == pragma_version(path) == 2
    keeper.close()
    probe.close()


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    probe, _ = make_probe(empty)
    assert probe.version() == 0  # SQLite's answer for a database with no schema yet
    execute(empty, "create table t (id)")
    assert probe.version() == 1
    probe.close()


def test_close_forgets_and_a_later_read_asks_again(tmp_path):
    path = tmp_path / "data.db"
    execute(path, "create table t (id)")
    settle()
    probe, reads = make_probe(path)
    assert probe.version() == 1
    probe.close()
    assert probe.version() == 1
    assert len(reads) == 2


def test_a_file_not_on_a_local_filesystem_is_asked_with_the_pragma(tmp_path):
    path = tmp_path / "data.db"
    execute(path, "create table t (id)")
    settle()
    local_devices = {os.stat(path).st_dev: False}  # as if the mount table said "nfs"
    probe, reads = make_probe(path, local_devices)
    assert probe.version() == 1
    assert probe.version() == 1
    assert len(reads) == 2
    execute(path, "alter table t add column name text")
    assert probe.version() == pragma_version(path) == 2
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
    make_ds, serve_ds, tmp_path, journal_mode, monkeypatch
):
    # The file is quiet before the change, so the probe answers from its stat until then.
    monkeypatch.setattr(schema_probe, "RACY_SECONDS", RACY)
    path = tmp_path / "live.db"
    execute(
        path,
        f"PRAGMA journal_mode = {journal_mode}",
        "create table items (id integer primary key, title text)",
        "insert into items values (1, 'one')",
    )
    settle()
    ds = make_ds([str(path)])
    with serve_ds(ds) as server:
        for _ in range(3):
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
