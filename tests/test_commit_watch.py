"""The commit watcher (datasette/internal/watch.py): one per database, shared by the result
cache and the column statistics, read once per request, and able to watch named in-memory
databases (whose statistics must still notice writes)."""

import sqlite3
import uuid

import pytest

from datasette import request_memo
from datasette.internal.stats import get_indexer
from datasette.internal.stats.changes import get_ledger
from datasette.internal.watch import commit_watch
from datasette.utils import sqlite as sqlite_module

from .test_result_cache import make_plants

# A count, two facets and suggested facets: the cache and the statistics both ask.
PAGE = "/data/plants?_facet=colour&_facet=planted&colour=red"


@pytest.fixture
def count_data_version_reads(monkeypatch):
    """A list that gets one entry per statement reading `data_version`, on any connection
    opened from now on (nested statements of table-valued pragmas not counted twice)."""
    reads = []
    real_connect = sqlite_module.sqlite3.connect

    def connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)

        def trace(sql):
            if "data_version" in sql and not sql.startswith("--"):
                reads.append(sql)

        conn.set_trace_callback(trace)
        return conn

    monkeypatch.setattr(sqlite_module.sqlite3, "connect", connect)
    return reads


@pytest.mark.asyncio
async def test_cache_and_statistics_share_one_watcher_read_once_per_request(
    make_ds, tmp_path, count_data_version_reads
):
    ds = make_ds([str(make_plants(tmp_path / "data.db"))])
    await ds.invoke_startup()
    await get_indexer(ds).run_until_idle()
    db = ds.get_database("data")
    watch = commit_watch(ds)
    assert ds.result_cache.generations.watch is watch
    assert get_ledger(ds).sync(db).watch is watch
    for _ in range(2):  # the first fills the cache, the second is served from it
        count_data_version_reads.clear()
        response = await ds.client.get(PAGE)
        assert response.status_code == 200
        assert count_data_version_reads == [
            "SELECT * FROM pragma_data_version(), pragma_schema_version()"
        ]


@pytest.mark.asyncio
async def test_within_a_request_only_this_process_writes_move_the_epoch(make_ds, tmp_path):
    path = make_plants(tmp_path / "data.db")
    ds = make_ds([str(path)])
    db = ds.get_database("data")
    watch = commit_watch(ds)
    token = request_memo.open_memo()
    try:
        first = watch.request_epoch(db)
        other = sqlite3.connect(str(path))
        with other:
            other.execute("insert into plants (name) values ('from elsewhere')")
        other.close()
        # Another connection's commit during the request is left to the next request...
        assert watch.request_epoch(db) == first
        # ...but this process's own write is seen at once.
        await db.execute_write("insert into plants (name) values ('from here')")
        after_write = watch.request_epoch(db)
        assert after_write is not None and after_write != first
    finally:
        request_memo.close_memo(token)
    # Outside a request every call reads the watcher.
    other = sqlite3.connect(str(path))
    with other:
        other.execute("insert into plants (name) values ('again')")
    other.close()
    assert watch.request_epoch(db) not in (None, after_write)


@pytest.mark.asyncio
async def test_statistics_of_a_named_memory_database_follow_its_writes(make_ds):
    ds = make_ds([])
    name = f"watched_{uuid.uuid4().hex[:8]}"
    db = ds.add_memory_database(name)
    await db.execute_write_script(
        "create table things (id integer primary key, label text);"
        "insert into things (label) values ('a'), ('b'), ('c');"
    )
    await ds.invoke_startup()
    indexer = get_indexer(ds)
    await indexer.run_until_idle()
    url = f"/{name}/things/-/stats.json"
    settled = (await ds.client.get(url)).json()
    # Watched through the shared memory: unchanged means current (not "changed" forever).
    assert indexer.is_current(db) is True
    assert settled["state"] == "done" and settled["stale"] is False
    assert settled["row_count"] == 3
    await db.execute_write("insert into things (label) values ('d')")
    assert indexer.is_current(db) is False
    assert (await ds.client.get(url)).json()["stale"] is True
    await indexer.run_until_idle()
    again = (await ds.client.get(url)).json()
    assert again["stale"] is False and again["row_count"] == 4
