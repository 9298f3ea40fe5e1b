"""Command-line progress bars: on a terminal (a real pty), and silence anywhere else."""

import os
import pty
import select
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from datasette.cli import cli
from datasette.internal.activity.progress import iterate_with_progress, progress_bar

pytestmark = pytest.mark.slow  # starts processes


def many_tables(path, count):
    conn = sqlite3.connect(str(path))
    for i in range(count):
        conn.execute(f"create table t{i} (id integer primary key, v text)")
    conn.commit()
    conn.close()
    return path


def run_on_terminal(args):
    """Run `args` with stderr on a new pseudo-terminal; return (stdout, terminal output)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "100"},
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 4096)
        except OSError:  # the other end closed
            break
        if not data:
            break
        chunks.append(data)
    stdout = process.stdout.read()
    process.wait(timeout=60)
    os.close(master)
    assert process.returncode == 0, stdout
    return stdout.decode(), b"".join(chunks).decode(errors="replace")


def test_inspect_shows_a_bar_on_a_terminal(tmp_path):
    a = many_tables(tmp_path / "a.db", 3)
    b = many_tables(tmp_path / "b.db", 2)
    stdout, terminal = run_on_terminal(
        [sys.executable, "-m", "datasette", "inspect", str(a), str(b)]
    )
    assert "Inspecting" in terminal
    assert "100%" in terminal
    assert '"tables"' in stdout and "Inspecting" not in stdout


def test_inspect_is_quiet_when_output_is_not_a_terminal(tmp_path):
    a = many_tables(tmp_path / "a.db", 3)
    result = CliRunner().invoke(cli, ["inspect", str(a)])
    assert result.exit_code == 0
    assert "Inspecting" not in result.output
    assert result.output.lstrip().startswith("{")
    process = subprocess.run(
        [sys.executable, "-m", "datasette", "inspect", str(a)], capture_output=True
    )
    assert process.stderr == b""


CATALOG_SCRIPT = (
    "import asyncio, sys\n"
    "from datasette.app import Datasette\n"
    "ds = Datasette([sys.argv[1]])\n"
    "asyncio.run(ds.invoke_startup())\n"
    "ds.close()\n"
)


def test_the_catalog_of_many_tables_shows_a_bar_on_a_terminal(tmp_path):
    path = many_tables(tmp_path / "wide.db", 600)
    _, terminal = run_on_terminal([sys.executable, "-c", CATALOG_SCRIPT, str(path)])
    assert "Cataloguing wide" in terminal
    assert "100%" in terminal


def test_the_catalog_is_quiet_off_a_terminal_and_for_few_tables(tmp_path):
    wide = many_tables(tmp_path / "wide.db", 600)
    process = subprocess.run(
        [sys.executable, "-c", CATALOG_SCRIPT, str(wide)], capture_output=True
    )
    assert process.returncode == 0
    assert process.stderr == b""
    narrow = many_tables(tmp_path / "narrow.db", 20)
    _, terminal = run_on_terminal([sys.executable, "-c", CATALOG_SCRIPT, str(narrow)])
    assert "Cataloguing" not in terminal


def test_the_silent_stand_in_still_yields_every_item(tmp_path):
    with open(tmp_path / "log.txt", "w") as file:
        assert list(iterate_with_progress(list(range(500)), "x", file=file)) == list(range(500))
        with progress_bar("x", 10_000, file=file) as bar:
            bar.update(10)
    assert (tmp_path / "log.txt").read_text() == ""
