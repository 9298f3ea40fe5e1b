"""No-thread mode (`num_sql_threads=0`), the mode the browser build runs in under Pyodide.

Two guards keep the mode from rotting:

* In-process tests that make starting a thread an error, as it is under Pyodide, and give
  the event loop an inline default executor (what Pyodide's loop does for
  `run_in_executor`), then read, write (user and internal databases) and serve pages.
* A re-run of key database and HTTP test modules with `--no-threads` (tests/conftest.py),
  which makes `num_sql_threads=0` the default of every instance they build.
"""

import asyncio
import concurrent.futures
import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs submitted calls at once on the calling thread, like Pyodide's `run_in_executor`
    (a ThreadPoolExecutor only because asyncio insists; it never starts a worker)."""

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:
            future.set_exception(e)
        return future


@contextlib.contextmanager
def threadless():
    """Inside, starting a thread raises, as under Pyodide; yields the attempts seen.

    Entered inside the test, where the event loop is running; left before the loop's own
    teardown, which starts a thread to shut its default executor down."""
    attempts = []
    original = threading.Thread.start

    def refuse(self):
        attempts.append(self.name)
        raise RuntimeError("can't start new thread")

    threading.Thread.start = refuse
    asyncio.get_running_loop().set_default_executor(InlineExecutor())
    try:
        yield attempts
    finally:
        threading.Thread.start = original


@pytest.mark.asyncio
async def test_pages_reads_and_writes_without_any_thread(make_ds, db_path):
    with threadless() as attempts:
        await _pages_reads_and_writes(make_ds, db_path)
    assert attempts == []


async def _pages_reads_and_writes(make_ds, db_path):
    before = set(threading.enumerate())
    ds = make_ds([str(db_path)], settings={"num_sql_threads": 0})
    assert ds.executor is None
    await ds.invoke_startup()

    versions = await ds.client.get("/-/versions.json")
    assert versions.status_code == 200
    assert (await ds.client.get("/-/threads.json")).json() == {"num_threads": 0, "threads": []}
    page = await ds.client.get("/sample/authors")
    assert page.status_code == 200 and "<table" in page.text
    css = await ds.client.get("/-/static/app.css")
    assert css.status_code == 200 and len(css.content) > 100

    token = ds.create_token("root")
    inserted = await ds.client.post(
        "/sample/authors/-/insert",
        json={"row": {"name": "Written inline"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert inserted.status_code == 201, inserted.text
    rows = (await ds.client.get("/sample/authors.json?_shape=array")).json()
    assert "Written inline" in [row["name"] for row in rows]

    sql = await ds.client.get("/sample.json?sql=select+count(*)+as+n+from+authors&_shape=array")
    assert sql.json() == [{"n": len(rows)}]

    # The internal database was written (catalog) through the same inline path.
    internal = ds.get_internal_database()
    tables = await internal.execute(
        "select table_name from catalog_tables where database_name = 'sample'"
    )
    assert "authors" in {row["table_name"] for row in tables.rows}
    await internal.execute_write("create table if not exists lite_probe (x)")
    await internal.execute_write("insert into lite_probe values (1)")
    assert (await internal.execute("select count(*) from lite_probe")).single_value() == 1

    assert set(threading.enumerate()) == before
    for db in list(ds.databases.values()) + [internal]:
        assert db.write_thread is None


@pytest.mark.asyncio
async def test_block_false_is_ignored_without_threads(make_ds, db_path):
    with threadless() as attempts:
        ds = make_ds([str(db_path)], settings={"num_sql_threads": 0})
        db = ds.get_database("sample")
        cursor = await db.execute_write("insert into authors (name) values ('Async')", block=False)
    assert cursor.rowcount == 1
    assert attempts == []


def test_no_threads_option_sets_the_default(make_ds, pytestconfig):
    ds = make_ds()
    expected = 0 if pytestconfig.getoption("--no-threads") else 3
    assert ds.setting("num_sql_threads") == expected


# Key database and HTTP modules, re-run with every instance in no-thread mode. Left out:
# tests about the write thread itself (test_database_writes.py) and interleaving tests
# that need a thread to switch away mid-write.
NO_THREAD_MODULES = [
    "tests/test_database_reads.py",
    "tests/test_write_api.py",
    "tests/test_write_api_create.py",
    "tests/test_table_json.py",
    "tests/test_row_json.py",
    "tests/test_canned_queries.py",
    "tests/test_internal_store.py",
    "tests/test_no_threads.py::test_no_threads_option_sets_the_default",
]


@pytest.mark.slow
def test_key_modules_pass_in_no_thread_mode():
    env = {**os.environ, "DATASETTE_TEST_NO_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-threads",
         *NO_THREAD_MODULES],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, tail + result.stderr[-3000:]
    assert " passed" in tail and "failed" not in tail
