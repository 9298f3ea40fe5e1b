"""Real server processes on one `--internal FILE` (internal-db.md points 3 and 11).

An acknowledged plugin write survives SIGKILL of the server, and a second server on the
same file is refused while the first runs, then starts once it has been killed.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from .conftest import free_port

pytestmark = pytest.mark.slow

NOTES_PLUGIN = textwrap.dedent(
    '''
    from datasette import hookimpl, Response


    @hookimpl
    def startup(datasette):
        async def create_table():
            await datasette.get_internal_database().execute_write(
                "create table if not exists notes_plugin_notes "
                "(id integer primary key, body text)"
            )

        return create_table


    async def write_note(datasette, request):
        await datasette.get_internal_database().execute_write(
            "insert into notes_plugin_notes (body) values (?)",
            [request.args.get("body")],
        )
        return Response.json({"ok": True})


    async def read_notes(datasette):
        result = await datasette.get_internal_database().execute(
            "select body from notes_plugin_notes order by id"
        )
        return Response.json({"bodies": [row[0] for row in result.rows]})


    @hookimpl
    def register_routes():
        return [
            (r"^/-/write-note$", write_note),
            (r"^/-/read-notes$", read_notes),
        ]
    '''
)

START_TIMEOUT = 30
NOTE_COUNT = 50


def write_plugin(tmp_path):
    plugins_dir = tmp_path / "plugins"
    plugins_dir.mkdir(exist_ok=True)
    (plugins_dir / "notes_plugin.py").write_text(NOTES_PLUGIN)
    return plugins_dir


class Server:
    """`python -m datasette serve` in a subprocess, output captured to files."""

    def __init__(self, tmp_path, internal, plugins_dir, label):
        self.port = free_port()
        self.stdout_path = tmp_path / f"{label}.stdout"
        self.stderr_path = tmp_path / f"{label}.stderr"
        self._stdout = open(self.stdout_path, "wb")
        self._stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "datasette",
                "serve",
                "--internal",
                str(internal),
                "--port",
                str(self.port),
                "--plugins-dir",
                str(plugins_dir),
            ],
            stdout=self._stdout,
            stderr=self._stderr,
            cwd=str(tmp_path),
        )

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def output(self):
        return self.stdout_path.read_text() + self.stderr_path.read_text()

    def wait_until_ready(self):
        """Poll /-/versions.json until it answers 200 (at most START_TIMEOUT seconds)."""
        deadline = time.monotonic() + START_TIMEOUT
        for _ in range(START_TIMEOUT * 20):
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/-/versions.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise RuntimeError(f"server did not start; output:\n{self.output()}")

    def kill(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        """Stop cleanly (SIGTERM), or kill after 10 seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def cleanup(self):
        try:
            self.kill()
        finally:
            self._stdout.close()
            self._stderr.close()


def get_versions_with_internal(tmp_path, internal):
    """`datasette serve --internal FILE --get /-/versions.json` as a separate process."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "datasette",
            "serve",
            "--internal",
            str(internal),
            "--get",
            "/-/versions.json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
    )


def read_bodies(internal):
    conn = sqlite3.connect(str(internal))
    try:
        return [row[0] for row in conn.execute("select body from notes_plugin_notes order by id")]
    finally:
        conn.close()


def test_acknowledged_writes_survive_sigkill(tmp_path):
    internal = tmp_path / "internal.db"
    plugins_dir = write_plugin(tmp_path)
    expected = [f"note-{i}" for i in range(NOTE_COUNT)]

    first = Server(tmp_path, internal, plugins_dir, "first")
    try:
        first.wait_until_ready()
        with httpx.Client(base_url=first.url, timeout=10) as client:
            for body in expected:
                response = client.get("/-/write-note", params={"body": body})
                assert response.status_code == 200, response.text
                assert response.json() == {"ok": True}
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
        assert first.process.returncode == -signal.SIGKILL
    finally:
        first.cleanup()

    second = Server(tmp_path, internal, plugins_dir, "second")
    try:
        second.wait_until_ready()
        response = httpx.get(second.url + "/-/read-notes", timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["bodies"] == expected
        second.stop()
    finally:
        second.cleanup()
    assert read_bodies(internal) == expected


def test_second_process_refused_while_first_runs(tmp_path):
    internal = tmp_path / "internal.db"
    plugins_dir = write_plugin(tmp_path)

    first = Server(tmp_path, internal, plugins_dir, "first")
    try:
        first.wait_until_ready()
        refused = get_versions_with_internal(tmp_path, internal)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        output = [
            line for line in (refused.stdout + refused.stderr).splitlines() if line.strip()
        ]
        assert len(output) == 1, output
        assert str(internal) in output[0]
        assert "in use by another" in output[0]
        assert f"pid {first.process.pid}" in output[0]
        # The refused process did not disturb the running server.
        assert first.process.poll() is None
        assert httpx.get(first.url + "/-/versions.json", timeout=10).status_code == 200

        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
    finally:
        first.cleanup()

    allowed = get_versions_with_internal(tmp_path, internal)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "python" in allowed.stdout


def test_second_process_through_symlink_refused(tmp_path):
    internal = tmp_path / "internal.db"
    link = tmp_path / "alias.db"
    link.symlink_to(internal)
    plugins_dir = write_plugin(tmp_path)

    first = Server(tmp_path, internal, plugins_dir, "first")
    try:
        first.wait_until_ready()
        refused = get_versions_with_internal(tmp_path, link)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "in use by another" in refused.stdout + refused.stderr
    finally:
        first.cleanup()
