"""Many plugin writers, catalog refreshes, schema changes and readers hitting the internal
database at once (internal-db.md point 2: never "database is locked")."""

import asyncio

import pytest

WRITERS = 50
ROWS_PER_WRITER = 20


@pytest.fixture(params=["default", "file"])
def internal_arg(request, tmp_path):
    """Constructor kwargs: the default private internal database, or an `--internal` file."""
    if request.param == "default":
        return {}
    return {"internal": str(tmp_path / "internal.db")}


async def writer(internal, writer_id):
    """Insert ROWS_PER_WRITER rows, one write per row; every fifth writer uses execute_write_fn."""
    for n in range(ROWS_PER_WRITER):
        if writer_id % 5 == 0:

            def fn(conn, n=n):
                with conn:
                    conn.execute(
                        "insert into myplugin_events (writer, n) values (?, ?)",
                        [writer_id, n],
                    )
                return n

            assert await internal.execute_write_fn(fn) == n
        else:
            await internal.execute_write(
                "insert into myplugin_events (writer, n) values (?, ?)", [writer_id, n]
            )
        await asyncio.sleep(0)


async def refresher(ds, rounds=20):
    """Change a user database's schema and refresh the catalog, again and again."""
    db = ds.get_database("sample")
    for i in range(rounds):
        await ds.refresh_schemas()
        await db.execute_write(f"create table churn_{i} (id integer primary key, v text)")
        await ds.refresh_schemas()
        if i % 2:
            await db.execute_write(f"drop table churn_{i}")
        await ds.refresh_schemas()


async def reader(internal, stop, counts):
    """Read plugin rows and catalog rows until told to stop."""
    while not stop.is_set():
        count = (await internal.execute("select count(*) from myplugin_events")).single_value()
        counts.append(count)
        await internal.execute("select count(*) from catalog_columns")
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_concurrent_writers_refreshes_and_readers(make_ds, db_path, internal_arg):
    ds = make_ds([db_path], **internal_arg)
    await ds.invoke_startup()
    internal = ds.get_internal_database()
    await internal.execute_write(
        "create table myplugin_events (id integer primary key, writer integer, n integer)"
    )

    stop = asyncio.Event()
    counts = []
    readers = [asyncio.ensure_future(reader(internal, stop, counts)) for _ in range(3)]
    try:
        results = await asyncio.gather(
            *(writer(internal, i) for i in range(WRITERS)),
            refresher(ds),
            return_exceptions=True,
        )
    finally:
        stop.set()
    reader_results = await asyncio.gather(*readers, return_exceptions=True)

    errors = [r for r in results + reader_results if isinstance(r, BaseException)]
    assert errors == [], [repr(e) for e in errors]
    assert not any("locked" in repr(e) for e in errors)

    final = (await internal.execute("select count(*) from myplugin_events")).single_value()
    assert final == WRITERS * ROWS_PER_WRITER
    per_writer = await internal.execute(
        "select writer, count(*), count(distinct n) from myplugin_events group by writer"
    )
    assert [tuple(r) for r in per_writer] == [
        (i, ROWS_PER_WRITER, ROWS_PER_WRITER) for i in range(WRITERS)
    ]

    # Readers succeeded throughout and never saw rows go missing.
    assert counts, "readers never ran"
    assert all(0 <= c <= WRITERS * ROWS_PER_WRITER for c in counts)

    # The catalog ends in step with the user database.
    await ds.refresh_schemas()
    catalog_tables = {
        row[0]
        for row in (
            await internal.execute(
                "select table_name from catalog_tables where database_name = 'sample'"
            )
        ).rows
    }
    assert catalog_tables == set(await ds.get_database("sample").table_names())
    assert {f"churn_{i}" for i in range(0, 20, 2)} <= catalog_tables


@pytest.mark.asyncio
async def test_reader_counts_never_decrease(make_ds, db_path, internal_arg):
    ds = make_ds([db_path], **internal_arg)
    await ds.invoke_startup()
    internal = ds.get_internal_database()
    await internal.execute_write(
        "create table myplugin_events (id integer primary key, writer integer, n integer)"
    )
    observed = []

    async def sequential_reader(stop):
        while not stop.is_set():
            observed.append(
                (await internal.execute("select count(*) from myplugin_events")).single_value()
            )
            await asyncio.sleep(0)

    stop = asyncio.Event()
    reading = asyncio.ensure_future(sequential_reader(stop))
    try:
        await asyncio.gather(*(writer(internal, i) for i in range(10)), refresher(ds, 5))
    finally:
        stop.set()
    await reading
    assert observed == sorted(observed)
    assert (await internal.execute("select count(*) from myplugin_events")).single_value() == (
        10 * ROWS_PER_WRITER
    )
