"""What the rest of Datasette (and plugins) use: the indexer of an instance, and reads.

Views and plugins read statistics through these functions, never through SQL of their own:
`table_statistics()` for one table, `suggest_values()` for autosuggest. The indexer is
started by `StartWithServer`, an ASGI wrapper that starts it once the server's lifespan
start-up (and so `invoke_startup()`) is complete and stops it at shutdown; in-process
clients that send no lifespan events (tests, `datasette.client`) never start it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from . import store
from .indexer import ColumnStatsIndexer, stats_enabled

if TYPE_CHECKING:
    from ...app import Datasette


# Most values a table's statistics list for one column (most frequent first).
TOP_VALUES = 10
# How long `current_statistics` answers from memory.
CACHE_SECONDS = 1.0


def get_indexer(datasette: Datasette) -> ColumnStatsIndexer:
    """The instance's indexer, created on first use (not started)."""
    indexer = getattr(datasette, "_column_stats_indexer", None)
    if indexer is None:
        indexer = ColumnStatsIndexer(datasette)
        datasette._column_stats_indexer = indexer
    return indexer


async def table_statistics(
    datasette: Datasette, database: str, table: str, top_values: int = TOP_VALUES
) -> Optional[dict]:
    """The statistics of one table, or None when it has not been seen by the indexer.

    The result has `state` (queued, indexing, done, error), `stale` (True when the table
    changed since the statistics were made: they are being recomputed), `row_count`,
    `indexed_at` and `columns`: one dict per column with the fields of `stats_columns`
    plus `values` (up to `top_values` most frequent `{"value", "count"}`, or None when
    the column's values are not kept).
    """
    internal = datasette.get_internal_database()

    def read(conn: Any) -> Optional[dict]:
        found = store.read_table(conn, database, table)
        if found is None:
            return None
        for column in found["columns"]:
            column_id = column.pop("column_id")
            column["values"] = None
            if column["values_kept"]:
                column["values"] = [
                    {"value": value, "count": count}
                    for value, count in store.column_values(conn, column_id)[:top_values]
                ]
        found.pop("table_id")
        return found

    found = await internal.execute_fn(read)
    if found is not None and not _is_current(datasette, database):
        found["stale"] = True  # written since the indexer last looked
    return found


async def value_counts(
    datasette: Datasette, database: str, table: str, wanted: Dict[str, str]
) -> Dict[str, int]:
    """How many rows hold each wanted value, `{column: filter text}` -> `{column: rows}`,
    for the columns whose every value is kept and current (others are left out).

    The text is matched as SQLite's `column = :value` would match it in a typed column:
    as an integer, a real or the text itself (estimates for query planning, not answers).
    """
    stats = await current_statistics(datasette, database, table)
    if stats is None:
        return {}
    kept = {
        column: stats["columns"][column]["column_id"]
        for column in wanted
        if column in stats["columns"] and stats["columns"][column].get("values_kept")
    }
    if not kept:
        return {}

    def read(conn: Any) -> Dict[str, int]:
        counts = {}
        for column, column_id in kept.items():
            candidates = _typed_candidates(wanted[column])
            marks = ", ".join("?" for _ in candidates)
            row = conn.execute(
                "select coalesce(sum(c.count), 0) from stats_value_counts c "
                "join stats_value_ids v on v.value_id = c.value_id "
                f"where c.column_id = ? and v.value in ({marks})",
                [column_id, *candidates],
            ).fetchone()
            counts[column] = row[0]
        return counts

    return await datasette.get_internal_database().execute_fn(read)


def _typed_candidates(text: str) -> list:
    """The stored values a filter's text may stand for: the text, and the number it reads as."""
    candidates: list = [text]
    for convert in (int, float):
        try:
            number = convert(text)
        except (TypeError, ValueError):
            continue
        if number not in candidates:
            candidates.append(number)
    return candidates


def _is_current(datasette: Datasette, database: str) -> bool:
    db = datasette.databases.get(database)
    return db is None or get_indexer(datasette).is_current(db)


async def current_statistics(datasette: Datasette, database: str, table: str) -> Optional[dict]:
    """`{"row_count", "columns": {name: column dict}}` when the table's statistics are
    finished and current; None otherwise (not indexed yet, stale, off, an error).

    Made for code on the request path, such as suggested facets: reads are cached for
    `CACHE_SECONDS`, the time the indexer itself may take to notice a change.
    """
    if not stats_enabled(datasette) or not _is_current(datasette, database):
        return None
    cache = _cache(datasette)
    key = (database, table)
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    internal = datasette.get_internal_database()

    def read(conn: Any) -> Optional[dict]:
        found = store.read_table(conn, database, table)
        if found is None or found["state"] != "done" or found["stale"]:
            return None
        return {
            "row_count": found["row_count"],
            "columns": {column["name"]: column for column in found["columns"]},
        }

    result = await internal.execute_fn(read)
    if len(cache) > 1000:
        cache.clear()
    cache[key] = (now, result)
    return result


def _cache(datasette: Datasette) -> dict:
    cache = getattr(datasette, "_column_stats_cache", None)
    if cache is None:
        cache = datasette._column_stats_cache = {}
    return cache


async def suggest_values(
    datasette: Datasette, database: str, table: str, column: str, prefix: str, limit: int
) -> Optional[List[dict]]:
    """Kept values of a column starting with `prefix` (case-insensitive), most frequent
    first, at most `limit`; None when the column has no kept values (yet)."""
    internal = datasette.get_internal_database()
    folded = prefix.casefold()

    def read(conn: Any) -> Optional[List[dict]]:
        found = store.read_table(conn, database, table)
        if found is None:
            return None
        for entry in found["columns"]:
            if entry["name"] == column and entry["values_kept"]:
                matches = []
                for value, count in store.column_values(conn, entry["column_id"]):
                    if isinstance(value, bytes):
                        continue
                    if str(value).casefold().startswith(folded):
                        matches.append({"value": value, "count": count})
                        if len(matches) >= limit:
                            break
                return matches
        return None

    return await internal.execute_fn(read)


class StartWithServer:
    """ASGI wrapper: start the indexer after lifespan start-up, stop it at shutdown."""

    def __init__(self, app: Any, datasette: Datasette):
        self.app = app
        self.datasette = datasette

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def watching_send(message: dict) -> None:
            if message["type"] == "lifespan.startup.complete":
                get_indexer(self.datasette).start()
            elif message["type"] == "lifespan.shutdown.complete":
                await get_indexer(self.datasette).stop()
            await send(message)

        await self.app(scope, receive, watching_send)
