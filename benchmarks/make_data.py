"""Generate the benchmark data: one big table with FTS and foreign keys, and many small DBs.

Deterministic (fixed seeds, no network). Writes into an output directory:

- `big.db`: `items` (~1,000,000 rows: integer pk `id`, `title`, `category_id` -> `categories`,
  `state`, `created`, `price`, `tags` as a JSON array), `categories` (50 rows with `name`),
  an FTS5 table `items_fts` (`content="items"`) over `title`, indexes on `category_id`
  and `state`.
- `many/db_00.db` ... `many/db_19.db`: 100 small tables of ~10 rows each.

Generation is skipped when the files exist and `VERSION` in the output directory matches
the stamp for the requested parameters; `--force` regenerates.

    python benchmarks/make_data.py [--out benchmarks/data] [--rows 1000000] [--force]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
DEFAULT_ROWS = 1_000_000
MANY_DATABASES = 20
TABLES_PER_DATABASE = 100
ROWS_PER_SMALL_TABLE = 10
CATEGORY_COUNT = 50
# Bump when the shape of the generated data changes, so old data is regenerated.
FORMAT_VERSION = 1
SEED = 20240101
CHUNK = 50_000

# A word every title can contain; `compare.py` searches for it. It is one of WORDS, so it
# turns up in roughly 1 row in 100.
SEARCH_WORD = "lantern"

WORDS: tuple[str, ...] = tuple(
    """
    amber anchor apple arch arrow aspen atlas autumn badge bakery bamboo banner barley
    basket beacon bell berry birch blossom bonnet boulder bramble breeze brick bridge
    bronze brook bucket buffalo cabin cactus candle canoe canyon carpet castle cedar
    cellar chalk channel chapel cherry chimney cider cinder circle cliff clock clover
    cobalt comet copper coral cotton cove crane creek crown crystal cypress dagger daisy
    dawn delta desert diamond dune eagle echo elder ember emerald engine falcon feather
    fern ferry fiddle field flint forest fountain fox frost garden garnet glacier glade
    granite grove harbor harvest hawk hazel heather hedge helmet heron hickory hill
    hollow honey horizon island ivory ivy jasper juniper kettle kite lagoon lake lantern
    larch laurel lemon lighthouse lily linen maple marble marsh meadow mesa mill mint
    mirror monarch moss mountain needle nest nutmeg oak oasis ocean olive onyx orchard
    otter owl paddle palm panther pearl pebble pepper pine plum pond poplar prairie
    quarry quartz quill rabbit raven reed ridge river robin rose ruby saddle sage salmon
    sapphire shadow shell silver slate sparrow spruce summit sunset swan thistle thunder
    timber topaz tower trail tulip tundra valley velvet violet walnut willow winter wren
    """.split()
)

STATES: tuple[str, ...] = tuple(
    """
    AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV
    NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY
    """.split()
)

TAGS: tuple[str, ...] = (
    "new", "sale", "popular", "limited", "eco", "imported", "local", "handmade",
    "vintage", "gift", "bulk", "premium",
)


def stamp(rows: int) -> str:
    """The VERSION file contents for data generated with these parameters."""
    return (
        f"format={FORMAT_VERSION} seed={SEED} rows={rows} categories={CATEGORY_COUNT} "
        f"many={MANY_DATABASES}x{TABLES_PER_DATABASE}x{ROWS_PER_SMALL_TABLE}\n"
    )


def expected_files(out: str) -> list[str]:
    """Every file the generator writes (besides VERSION)."""
    files = [os.path.join(out, "big.db")]
    files += [
        os.path.join(out, "many", f"db_{i:02d}.db") for i in range(MANY_DATABASES)
    ]
    return files


def is_current(out: str, rows: int) -> bool:
    """True when all files exist and the VERSION stamp matches these parameters."""
    version_path = os.path.join(out, "VERSION")
    if not os.path.exists(version_path):
        return False
    with open(version_path) as fp:
        if fp.read() != stamp(rows):
            return False
    return all(os.path.exists(path) for path in expected_files(out))


def _connect_for_bulk(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    return conn


def _item_rows(rows: int, rng: random.Random) -> Iterator[list[tuple]]:
    """Yield chunks of `items` rows, each chunk a list of tuples."""
    start = date(2019, 1, 1)
    days = [(start + timedelta(days=d)).isoformat() for d in range(5 * 365 + 1)]
    tag_json = [
        json.dumps(sorted(set(rng.sample(TAGS, k))))
        for k in (0, 1, 1, 2, 2, 3)
        for _ in range(20)
    ]
    words = WORDS
    states = STATES
    next_id = 1
    while next_id <= rows:
        count = min(CHUNK, rows - next_id + 1)
        lengths = rng.choices((2, 3, 3, 4, 4, 5), k=count)
        title_words = rng.choices(words, k=sum(lengths))
        categories = rng.choices(range(1, CATEGORY_COUNT + 1), k=count)
        chosen_states = rng.choices(states, k=count)
        created = rng.choices(days, k=count)
        tags = rng.choices(tag_json, k=count)
        chunk = []
        position = 0
        for i in range(count):
            length = lengths[i]
            title = " ".join(title_words[position : position + length]).capitalize()
            position += length
            chunk.append(
                (
                    next_id + i,
                    title,
                    categories[i],
                    chosen_states[i],
                    created[i],
                    round(rng.uniform(0.5, 999.99), 2),
                    tags[i],
                )
            )
        next_id += count
        yield chunk


def make_big(path: str, rows: int) -> None:
    """Write big.db: categories, items, items_fts and the indexes."""
    rng = random.Random(SEED)
    conn = _connect_for_bulk(path)
    try:
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        conn.executemany(
            "INSERT INTO categories (id, name) VALUES (?, ?)",
            (
                (i, f"{WORDS[(i * 7) % len(WORDS)].capitalize()} goods")
                for i in range(1, CATEGORY_COUNT + 1)
            ),
        )
        conn.execute(
            """
            CREATE TABLE items (
                id INTEGER PRIMARY KEY,
                title TEXT NOT NULL,
                category_id INTEGER NOT NULL REFERENCES categories(id),
                state TEXT NOT NULL,
                created TEXT NOT NULL,
                price REAL NOT NULL,
                tags TEXT NOT NULL
            )
            """
        )
        for chunk in _item_rows(rows, rng):
            conn.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?)", chunk)
        conn.execute("CREATE INDEX idx_items_category_id ON items (category_id)")
        conn.execute("CREATE INDEX idx_items_state ON items (state)")
        conn.execute(
            'CREATE VIRTUAL TABLE items_fts USING fts5(title, content="items", content_rowid="id")'
        )
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()


def make_small(path: str, db_index: int) -> None:
    """Write one of the many/ databases: 100 small tables of a few columns each."""
    rng = random.Random(SEED + 1000 + db_index)
    conn = _connect_for_bulk(path)
    try:
        conn.execute("BEGIN")
        for t in range(TABLES_PER_DATABASE):
            table = f"t_{t:03d}"
            conn.execute(
                f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT, "
                "quantity INTEGER, score REAL)"
            )
            conn.executemany(
                f"INSERT INTO {table} (id, name, quantity, score) VALUES (?, ?, ?, ?)",
                (
                    (
                        r + 1,
                        f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
                        rng.randrange(1000),
                        round(rng.random() * 100, 3),
                    )
                    for r in range(ROWS_PER_SMALL_TABLE)
                ),
            )
        conn.execute("COMMIT")
    finally:
        conn.close()


WIDE_TABLES = 2000


def ensure_wide(out: str, tables: int = WIDE_TABLES) -> str:
    """`out/wide.db`: one database of `tables` small tables (the 2,000-table start-up).

    Generated on first use only (apart from VERSION: it does not depend on `--rows`), and
    again if it does not hold `tables` tables.
    """
    path = os.path.join(out, "wide.db")
    if os.path.exists(path):
        conn = sqlite3.connect(path)
        try:
            count = conn.execute("select count(*) from sqlite_master where type = 'table'")
            if count.fetchone()[0] == tables:
                return path
        finally:
            conn.close()
    os.makedirs(out, exist_ok=True)
    tmp = path + ".tmp"
    _remove(tmp)
    conn = _connect_for_bulk(tmp)
    try:
        conn.execute("BEGIN")
        for t in range(tables):
            conn.execute(
                f"CREATE TABLE w_{t:04d} (id INTEGER PRIMARY KEY, name TEXT, "
                "quantity INTEGER, score REAL)"
            )
            conn.execute(f"INSERT INTO w_{t:04d} VALUES (1, 'one', 1, 1.0)")
        conn.execute("COMMIT")
    finally:
        conn.close()
    _replace(tmp, path)
    return path


def _replace(tmp_path: str, final_path: str) -> None:
    os.replace(tmp_path, final_path)


def _remove(path: str) -> None:
    if os.path.exists(path):
        os.remove(path)


def generate(out: str, rows: int = DEFAULT_ROWS, force: bool = False) -> bool:
    """Make sure `out` holds current data. Returns True if it (re)generated anything."""
    if not force and is_current(out, rows):
        return False
    os.makedirs(os.path.join(out, "many"), exist_ok=True)
    _remove(os.path.join(out, "VERSION"))
    big = os.path.join(out, "big.db")
    tmp = big + ".tmp"
    _remove(tmp)
    make_big(tmp, rows)
    _replace(tmp, big)
    for i in range(MANY_DATABASES):
        path = os.path.join(out, "many", f"db_{i:02d}.db")
        tmp = path + ".tmp"
        _remove(tmp)
        make_small(tmp, i)
        _replace(tmp, path)
    # The stamp goes last: an interrupted run leaves no VERSION and is redone next time.
    with open(os.path.join(out, "VERSION"), "w") as fp:
        fp.write(stamp(rows))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows in big.db items")
    parser.add_argument("--force", action="store_true", help="regenerate even if current")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    made = generate(args.out, args.rows, args.force)
    elapsed = time.perf_counter() - start
    if made:
        print(f"generated {args.rows:,} rows + {MANY_DATABASES} small databases "
              f"in {args.out} in {elapsed:.1f}s")
    else:
        print(f"data in {args.out} is current (VERSION matches); nothing to do")
    return 0


if __name__ == "__main__":
    sys.exit(main())
