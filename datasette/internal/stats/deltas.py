"""Applying one write's changed rows to a table's stored statistics.

A write through the JSON write API knows exactly which rows it removed and which it
added (`changes.py` reads them on the database's write thread). Here, on the internal
database's write thread, each side is folded into a running state with the very queries
the indexer uses (`compute._fold_aggregates`, `compute._fold_distinct`, over the rows bound
as a VALUES list on the internal connection: the same SQLite judges JSON, dates and
lengths), and the difference is applied to `stats_columns`:

- counts (rows, nulls, each type, text length total, each kept value) move exactly;
- a distinct count stays exact while the column's value list is complete (a value
  reaching 0 goes, a new one comes); without a list it becomes a lower bound ("at
  least"), lowered by one for each removed non-null value so it stays true;
- min, max and the longest text are extended exactly by added values; removing a value
  that may have been the current one flags that side in `stale_extremes` instead, and
  the indexer recomputes it (`indexer.py`). A stored text cut to `STORED_VALUE_LIMIT`
  is compared as the prefix it is: when that cannot decide, the side is flagged too.

Anything that does not add up (a removed value missing from the list, text that is not
UTF-8, other column names) raises `Mismatch`: the caller then re-indexes the table.
"""

from __future__ import annotations

from typing import Any, Iterable, List

from . import compute
from .compute import DISTINCT_CAP, STORED_VALUE_LIMIT, RawText, decode_value, sort_key
from .store import utc_now

# Bits of `stats_columns.stale_extremes`.
STALE_MIN, STALE_MAX, STALE_LENGTH = 1, 2, 4
# Bound parameters per VALUES query (SQLite allows 32766 since 3.32; stay well below).
_PARAMS_PER_QUERY = 5000


class Mismatch(Exception):
    """The stored statistics and a write's rows disagree: re-index instead."""


def rows_state(
    conn: Any, columns: List[str], rows: List[tuple], uncounted: Iterable[str] = ()
) -> dict:
    """The indexer's running state for just `rows` (values as read: text as `str`, or as
    `RawText` when it is not UTF-8). Distinct values of the `uncounted` columns are not
    grouped (their `distinct` is None, as past the cap)."""
    shape = compute.TableShape("", list(columns), [], True)
    state = compute.new_state(shape)
    for name in uncounted:
        state["columns"][name]["distinct"] = None
    per_query = max(1, _PARAMS_PER_QUERY // max(1, len(columns)))
    for start in range(0, len(rows), per_query):
        chunk = rows[start : start + per_query]
        source, params = _values_source(columns, chunk)
        compute._fold_aggregates(conn, shape, state, source, params)
        compute._fold_distinct(conn, shape, state, source, params, " where ")
        state["rows"] += len(chunk)
    return state


def _values_source(columns: List[str], rows: List[tuple]) -> tuple:
    params: list = []
    tuples = []
    for row in rows:
        marks = []
        for value in row:
            # Text travels as its bytes cast back to text, so invalid UTF-8 stays as stored.
            marks.append("cast(? as text)" if isinstance(value, RawText) else "?")
            params.append(bytes(value) if isinstance(value, RawText) else value)
        tuples.append("(" + ", ".join(marks) + ")")
    names = ", ".join(
        f"column{i + 1} as {compute.quote(name)}" for i, name in enumerate(columns)
    )
    return f"(select {names} from (values {', '.join(tuples)}))", params


def apply_change(conn: Any, table_id: int, columns: List[str], minus: dict, plus: dict) -> bool:
    """Apply `plus - minus` to table `table_id`'s statistics, in the caller's transaction.

    Returns True when a side of some column was flagged stale (the indexer has work).
    """
    stored = conn.execute(
        "select column_id, column_name, null_count, distinct_count, distinct_exact, "
        "min_value, max_value, integer_count, real_count, text_count, blob_count, "
        "json_object_count, json_array_count, date_count, avg_text_length, "
        "max_text_length, values_kept, stale_extremes from stats_columns "
        "where table_id = ? order by position",
        (table_id,),
    ).fetchall()
    if [row[1] for row in stored] != list(columns):
        raise Mismatch("columns differ")
    flagged = False
    for row in stored:
        flagged |= _apply_column(conn, row, minus, plus)
    conn.execute(
        "update stats_tables set row_count = row_count + ?, updated_at = ? where table_id = ?",
        (plus["rows"] - minus["rows"], utc_now(), table_id),
    )
    return flagged


_COUNTS = (
    ("integer_count", "integer"),
    ("real_count", "real"),
    ("text_count", "text"),
    ("blob_count", "blob"),
    ("json_object_count", "json_object"),
    ("json_array_count", "json_array"),
    ("date_count", "date"),
)


def _apply_column(conn: Any, row: tuple, minus: dict, plus: dict) -> bool:
    (column_id, name, nulls, distinct, exact, low, high, *rest) = row
    counts = dict(zip((field for field, _ in _COUNTS), rest[:7]))
    avg_length, longest, values_kept, stale = rest[7:]
    gone, came = minus["columns"][name], plus["columns"][name]
    if minus["rows"] == plus["rows"] and gone == came:
        return bool(stale)  # the write left this column's values as they were
    nulls += (plus["rows"] - came["nonnull"]) - (minus["rows"] - gone["nonnull"])
    total_length = round((avg_length or 0) * counts["text_count"])
    total_length += came["text_length_total"] - gone["text_length_total"]
    for field, counter in _COUNTS:
        counts[field] += came[counter] - gone[counter]
    if nulls < 0 or min(counts.values()) < 0:
        raise Mismatch("counts below zero")
    nonnull = sum(counts[f] for f in ("integer_count", "real_count", "text_count", "blob_count"))
    update = dict(counts, null_count=nulls)
    update["avg_text_length"] = total_length / counts["text_count"] if counts["text_count"] else None
    update["distinct_count"], update["distinct_exact"], update["values_kept"] = _distinct(
        conn, column_id, (distinct, bool(exact), bool(values_kept)), gone, came, nonnull
    )
    low, high, longest, stale = _extremes(low, high, longest, stale, gone, came)
    if nonnull == 0:
        low = high = None
        stale &= ~(STALE_MIN | STALE_MAX)
    if counts["text_count"] == 0:
        longest = None
        stale &= ~STALE_LENGTH
    update.update(min_value=low, max_value=high, max_text_length=longest, stale_extremes=stale)
    conn.execute(
        "update stats_columns set "
        + ", ".join(f"{field} = ?" for field in update)
        + " where column_id = ?",
        list(update.values()) + [column_id],
    )
    return bool(stale)


# -- distinct values ----------------------------------------------------------------------------


def _distinct(
    conn: Any, column_id: int, current: tuple, gone: dict, came: dict, nonnull: int
) -> tuple:
    """`(distinct_count, distinct_exact, values_kept)` after the change."""
    distinct, exact, kept = current
    removed, added = gone["distinct"], came["distinct"]
    if not kept and (removed is None or added is None):
        # Values not grouped: any removed one may have been the last of its kind.
        if not gone["nonnull"] and not came["nonnull"]:
            return distinct, exact, False
        return max(0, min(nonnull, distinct - gone["nonnull"])), False, False
    if removed is None or added is None:
        raise Mismatch("more distinct values in one write than are counted")
    net = {key: added.get(key, 0) - removed.get(key, 0) for key in set(removed) | set(added)}
    net = {key: n for key, n in net.items() if n}
    if not kept:
        if not net:
            return distinct, exact, False
        # Without the list a new value may or may not be new, and each removed value
        # may have been the last of its kind: what is left is a lower bound.
        lost = sum(-n for n in net.values() if n < 0)
        return max(0, min(nonnull, distinct - lost)), False, False
    if any(key.startswith("x:") for key in net):
        raise Mismatch("text that is not UTF-8")
    unkept = [key for key, n in net.items() if key[0] in "hb" and n > 0]
    for key, n in sorted(net.items(), key=lambda item: item[1]):  # removals first
        if key not in unkept:
            distinct += _move_count(conn, column_id, compute.value_from_key(key), n)
    if unkept or distinct > DISTINCT_CAP:
        conn.execute("delete from stats_value_counts where column_id = ?", (column_id,))
        if distinct > DISTINCT_CAP:
            return DISTINCT_CAP + 1, False, False
        # Blobs and long values were never in the list, so each is a new value.
        return distinct + len(unkept), True, False
    return distinct, True, True


def _move_count(conn: Any, column_id: int, value: Any, n: int) -> int:
    """Add `n` to a kept value's count; returns +1 for a new value, -1 for a gone one, else 0."""
    found = conn.execute(
        "select c.value_id, c.count from stats_value_counts c "
        "join stats_value_ids v on v.value_id = c.value_id "
        "where c.column_id = ? and v.value = ?",
        (column_id, value),
    ).fetchone()
    if found is None:
        if n < 0:
            raise Mismatch("a removed value was not in the list")
        conn.execute("insert or ignore into stats_value_ids (value) values (?)", (value,))
        conn.execute(
            "insert into stats_value_counts (column_id, value_id, count) "
            "select ?, value_id, ? from stats_value_ids where value = ?",
            (column_id, n, value),
        )
        return 1
    value_id, count = found
    if count + n < 0:
        raise Mismatch("a value's count below zero")
    if count + n == 0:
        conn.execute(
            "delete from stats_value_counts where column_id = ? and value_id = ?",
            (column_id, value_id),
        )
        return -1
    conn.execute(
        "update stats_value_counts set count = ? where column_id = ? and value_id = ?",
        (count + n, column_id, value_id),
    )
    return 0


# -- extremes -----------------------------------------------------------------------------------


def _extremes(low: Any, high: Any, longest: Any, stale: int, gone: dict, came: dict) -> tuple:
    """New `(min, max, max_text_length, stale_extremes)`.

    An added value beyond the stored one (even a stale one, which can only be too far
    out) is the new extreme exactly; otherwise a removed value that may have been the
    extreme flags its side.
    """
    new_low, new_high = decode_value(came["min"]), decode_value(came["max"])
    old_low, old_high = decode_value(gone["min"]), decode_value(gone["max"])
    if new_low is not None and (low is None or _beyond(new_low, low, -1)):
        low, stale = compute.stored_value(new_low), stale & ~STALE_MIN
    elif old_low is not None and not _beyond(old_low, low, 1, strict=True):
        stale |= STALE_MIN
    if new_high is not None and (high is None or _beyond(new_high, high, 1)):
        high, stale = compute.stored_value(new_high), stale & ~STALE_MAX
    elif old_high is not None and not _beyond(old_high, high, -1, strict=True):
        stale |= STALE_MAX
    came_long, gone_long = came["max_text_length"], gone["max_text_length"]
    if came_long is not None and (longest is None or came_long >= longest):
        longest, stale = came_long, stale & ~STALE_LENGTH
    elif gone_long is not None and longest is not None and gone_long >= longest:
        stale |= STALE_LENGTH
    return low, high, longest, stale


def _beyond(value: Any, stored: Any, direction: int, strict: bool = False) -> bool:
    """Whether `value` is certainly at or past the true extreme `stored` stands for, in
    `direction` (-1 below a min, +1 above a max); `strict` asks for strictly past.

    `stored` is what the store keeps: text decoded and maybe cut to its first
    `STORED_VALUE_LIMIT` characters, blobs maybe cut. A value that starts with a cut
    stored value cannot be placed, so it is not "certainly" anything.
    """
    if stored is None:
        return False
    if isinstance(stored, str):
        if "\ufffd" in stored:  # stored from text that was not UTF-8: no exact order
            return False
        cut = len(stored) >= STORED_VALUE_LIMIT
        stored = RawText(stored.encode("utf-8"))
    else:
        cut = isinstance(stored, bytes) and len(stored) >= STORED_VALUE_LIMIT
    if cut and isinstance(value, bytes) and type(value) is type(stored):
        if bytes(value).startswith(bytes(stored)):
            return False
    a, b = sort_key(value), sort_key(stored)
    if a == b:
        return not strict and not cut
    return (a < b) if direction < 0 else (a > b)

