"""`serve` listens before start-up fills the catalog: a client that connects meanwhile
waits and is answered once the server is ready; a failing `startup` hook still ends the
process with one error line."""

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from .conftest import free_port

SLOW_STARTUP_PLUGIN = '''
import asyncio, pathlib
from datasette import hookimpl

@hookimpl
def startup(datasette):
    async def inner():
        await asyncio.sleep(1.0)
        pathlib.Path({marker!r}).write_text("done")
    return inner
'''

FAILING_STARTUP_PLUGIN = '''
from datasette import hookimpl

@hookimpl
def startup(datasette):
    raise ValueError("no start for you")
'''


def serve(tmp_path, plugin_source, port):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "plugin.py").write_text(plugin_source)
    db = tmp_path / "data.db"
    db.write_bytes(b"")
    return subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", str(db), "--port", str(port),
         "--plugins-dir", str(plugins)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, DATASETTE_LOAD_PLUGINS=""),  # no installed plugins
    )


def connect_when_listening(port, process, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            time.sleep(0.01)
    raise AssertionError("never listened")


@pytest.mark.slow
def test_a_client_connecting_during_startup_waits_and_sees_it_complete(tmp_path):
    marker = tmp_path / "startup-done"
    port = free_port()
    process = serve(tmp_path, SLOW_STARTUP_PLUGIN.format(marker=str(marker)), port)
    try:
        connect_when_listening(port, process).close()
        # Listening while the startup hook still sleeps: nothing is served yet.
        assert not marker.exists()
        response = httpx.get(f"http://127.0.0.1:{port}/data.json", timeout=30)
        # Answered only after start-up (hooks, catalog) was complete.
        assert marker.read_text() == "done"
        assert response.status_code == 200
        assert response.json()["tables"] == []
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_a_failing_startup_hook_is_one_error_line_after_listening(tmp_path):
    port = free_port()
    process = serve(tmp_path, FAILING_STARTUP_PLUGIN, port)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "no start for you" in lines[0], output
    # The port was let go: it can be bound again at once.
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))
