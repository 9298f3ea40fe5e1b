"""How much a restart with unchanged databases writes to the internal database.

    .venv/bin/python benchmarks/internal_churn.py [--databases 10] [--tables 20]

Litestream uploads every WAL frame written to a replicated file, so a catalog refresh
that rewrites unchanged rows at each start costs an upload of the whole catalog.
This starts an instance with `--internal FILE` twice over the same databases. Before
the second start the internal file's WAL is checkpointed and truncated; WAL frames are
then counted after start-up (all writers) and, separately, for a catalog refresh alone
(a fresh `Catalog`, as after a restart), on an instance whose other writers are idle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import sqlite3
import sys
import tempfile

sys._called_from_test = True  # type: ignore[attr-defined]  # no installed plugins
os.environ.setdefault("DATASETTE_LOAD_PLUGINS", "")

from datasette.app import Datasette  # noqa: E402
from datasette.internal.catalog import Catalog  # noqa: E402


def make_databases(folder: pathlib.Path, count: int, tables: int) -> list:
    paths = []
    for n in range(count):
        path = folder / f"db{n:02}.db"
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=wal")
        for t in range(tables):
            conn.execute(
                f"create table t{t} (id integer primary key, name text not null, "
                f"ref integer references t0(id), score real)"
            )
            conn.execute(f"create index t{t}_name on t{t}(name)")
        conn.commit()
        conn.close()
        paths.append(str(path))
    return paths


def wal_frames(internal: str) -> int:
    wal = internal + "-wal"
    if not os.path.exists(wal):
        return 0
    size = os.path.getsize(wal)
    if size <= 32:
        return 0
    page_size = sqlite3.connect(internal).execute("PRAGMA page_size").fetchone()[0]
    return (size - 32) // (page_size + 24)


def truncate_wal(internal: str) -> None:
    conn = sqlite3.connect(internal)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def start_once(paths: list, internal: str, catalog_only: bool = False) -> int:
    ds = Datasette(paths, internal=internal)
    try:
        await ds.invoke_startup()
        if not catalog_only:
            return wal_frames(internal)
        truncate_wal(internal)
        await Catalog(ds.get_internal_database()).refresh(ds.databases)
        return wal_frames(internal)
    finally:
        ds.close()


async def measure(databases: int, tables: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        paths = make_databases(folder, databases, tables)
        internal = str(folder / "internal.db")
        first = await start_once(paths, internal)
        truncate_wal(internal)
        restart = await start_once(paths, internal)
        catalog_refresh = await start_once(paths, internal, catalog_only=True)
        rows = sqlite3.connect(internal).execute(
            "select count(*) from catalog_columns"
        ).fetchone()[0]
    return {
        "databases": databases,
        "tables_per_database": tables,
        "catalog_column_rows": rows,
        "wal_frames_first_start": first,
        "wal_frames_restart_unchanged": restart,
        "wal_frames_catalog_refresh_after_restart": catalog_refresh,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=int, default=10)
    parser.add_argument("--tables", type=int, default=20)
    options = parser.parse_args()
    result = asyncio.run(measure(options.databases, options.tables))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
