"""Small function-scoped fixtures shared by the test files.

Data builders live in `tests/fixtures.py`; this file only hands out fresh instances,
files and servers, and cleans them up.
"""

import sys

# Before datasette is imported: do not load installed plugins' entry points in tests.
sys._called_from_test = True  # type: ignore[attr-defined]

import os  # noqa: E402

# Server processes started by tests load no installed plugins either, unless a test asks.
os.environ.setdefault("DATASETTE_LOAD_PLUGINS", "")

import socket  # noqa: E402
import sqlite3  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402

from datasette.app import Datasette  # noqa: E402
from datasette.plugins import pm  # noqa: E402

from .fixtures import READ_API_METADATA, make_read_api_db, make_sample_db  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--no-threads",
        action="store_true",
        help="Run every in-process Datasette with num_sql_threads=0 (the mode used under "
        "Pyodide); also DATASETTE_TEST_NO_THREADS=1. tests/test_no_threads.py runs a subset so.",
    )


def pytest_configure(config):
    if config.getoption("--no-threads") or os.environ.get("DATASETTE_TEST_NO_THREADS"):
        from datasette import settings

        # The dict the constructor copies its defaults from: an explicit setting still wins.
        settings.DEFAULT_SETTINGS["num_sql_threads"] = 0


@pytest.fixture
def db_path(tmp_path):
    """A real SQLite file with a few related tables (see `fixtures.make_sample_db`)."""
    path = tmp_path / "sample.db"
    make_sample_db(path)
    return path


@pytest.fixture
def make_ds():
    """Factory for `Datasette` instances that are closed after the test."""
    instances = []

    def factory(*args, **kwargs):
        ds = Datasette(*args, **kwargs)
        instances.append(ds)
        return ds

    yield factory
    for ds in instances:
        ds.close()


def one_row_db(path, table="t"):
    """A SQLite file at `path` holding `table` (`id` integer primary key, `name`) with the
    row `(1, 'one')`; returns the path as a string."""
    conn = sqlite3.connect(path)
    conn.execute(f"create table {table} (id integer primary key, name text)")
    conn.execute(f"insert into {table} values (1, 'one')")
    conn.commit()
    conn.close()
    return str(path)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """Runs a Datasette app under a real uvicorn server in a thread (polls `started`)."""

    def __init__(self, ds):
        import uvicorn

        self.ds = ds
        self.port = free_port()
        config = uvicorn.Config(
            ds.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def serve_ds():
    """Context-manager factory: `with serve_ds(ds) as server: httpx.get(server.url + ...)`."""
    return ServerThread


@pytest.fixture(scope="session")
def read_api_db_path(tmp_path_factory):
    """The read-API fixture database (`fixtures.db`), built once per test session.

    Tests must not write to it; use `make_read_api_db` for a private copy.
    """
    path = tmp_path_factory.mktemp("read_api") / "fixtures.db"
    make_read_api_db(path)
    return path


@pytest.fixture(scope="module")
def read_api_server(read_api_db_path):
    """A real uvicorn server over the read-API fixtures, with their metadata.

    Settings keep pages small and limits low so pagination and truncation are exercised:
    `default_page_size` 50, `max_returned_rows` 100, `sql_time_limit_ms` 200.
    """
    import copy

    ds = Datasette(
        [str(read_api_db_path)],
        metadata=copy.deepcopy(READ_API_METADATA),
        settings={"default_page_size": 50, "max_returned_rows": 100, "sql_time_limit_ms": 200},
    )
    with ServerThread(ds) as server:
        yield server
    ds.close()


@pytest.fixture
def registered():
    """`registered(obj, name)` registers a plugin object, unregistered after the test."""
    names = []

    def register(plugin, name):
        pm.register(plugin, name=name)
        names.append(name)

    yield register
    for name in names:
        pm.unregister(name=name)
