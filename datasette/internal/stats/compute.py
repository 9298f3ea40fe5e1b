"""Column statistics computed one batch of rows at a time, merged into a running state.

A batch is a keyset range of the table (by rowid, or by primary key for tables without
rowid): one query finds where the range ends, one computes every column's aggregates over
it, and one per column whose distinct values are still being counted groups its values.
The running state is plain JSON, so the indexer can checkpoint it with the position and a
restart can carry on from there with exactly the result an uninterrupted run gives.

Values are compared as SQLite's BINARY collation does (a column's declared collation is
ignored): numbers, then text by its UTF-8 bytes, then blobs by their bytes. Text is read as
bytes (`RawText`) so that invalid UTF-8 is counted and compared as SQLite sees it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple


# Distinct values are counted exactly up to this many; beyond it the count is "at least".
DISTINCT_CAP = 1000
# Values longer than this (text characters, blob bytes) are counted by digest and never
# kept; a column holding one has no per-value counts.
KEPT_VALUE_LIMIT = 200
# Stored min and max text is cut to this many characters (blobs to this many bytes).
STORED_VALUE_LIMIT = 200
# Text that starts like an ISO 8601 date counts as date-like.
DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"
# Aggregates per column in the batch query: stay well under SQLite's 2000 result columns.
_COLUMNS_PER_QUERY = 100


def quote(name: str) -> str:
    """An identifier in double quotes: safe for any name, brackets and quotes included."""
    return '"' + name.replace('"', '""') + '"'


class RawText(bytes):
    """A text value as its stored bytes: kept apart from blobs, invalid UTF-8 intact."""


def prepare_connection(conn: Any) -> None:
    """Make `conn` return text as `RawText` and rows as tuples."""
    conn.text_factory = RawText
    conn.row_factory = None


@dataclass
class TableShape:
    """How to walk a table: its columns and the expressions of its keyset key."""

    table: str
    columns: List[str]
    key: List[str]  # quoted key expressions, in order
    rowid: bool
    # The table's SQL names a collation: GROUP BY and DISTINCT on its columns may then
    # disagree with these statistics, which compare as BINARY.
    collated: bool = False

    def signature(self) -> List[str]:
        """What the statistics depend on: the column names, in order."""
        return list(self.columns)


def table_shape(conn: Any, table: str) -> TableShape:
    """Columns and keyset key of `table`; raises `sqlite3.Error` for unreadable tables."""
    quoted = quote(table)
    info = conn.execute(f"PRAGMA table_xinfo({quoted})").fetchall()
    sql = conn.execute(
        "select sql from sqlite_master where name = ? and type = 'table'", (table,)
    ).fetchone()
    collated = bool(sql and sql[0] and "collate" in _text(sql[0]).lower())
    # table_xinfo lists hidden columns of virtual tables too (hidden = 1); keep the rest.
    columns = [_text(row[1]) for row in info if row[6] in (0, 2, 3)]
    lowered = {c.lower() for c in columns}
    for alias in ("rowid", "_rowid_", "oid"):
        if alias not in lowered:
            try:
                conn.execute(f"select {alias} from {quoted} limit 0")
            except Exception:
                break  # a WITHOUT ROWID table (any alias fails the same way)
            return TableShape(table, columns, [alias], True, collated)
    pks = sorted((row[5], _text(row[1])) for row in info if row[5])
    if not pks:
        raise ValueError(f"Table {table} has neither a usable rowid nor a primary key")
    return TableShape(table, columns, [quote(name) for _, name in pks], False, collated)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


# -- the running state ----------------------------------------------------------------------


def new_state(shape: TableShape) -> dict:
    """The state before the first batch."""
    return {"rows": 0, "columns": {name: _new_column() for name in shape.columns}}


def _new_column() -> dict:
    return {
        "nonnull": 0,
        "integer": 0,
        "real": 0,
        "text": 0,
        "blob": 0,
        "json_object": 0,
        "json_array": 0,
        "date": 0,
        "text_length_total": 0,
        "max_text_length": None,
        "min": None,
        "max": None,
        "distinct": {},  # key -> count, None once past DISTINCT_CAP
    }


def encode_value(value: Any) -> Optional[list]:
    """A SQLite value as JSON: `["n", int]`, `["r", float]`, `["t"|"b", base64]`."""
    if value is None:
        return None
    if isinstance(value, RawText):
        return ["t", base64.b64encode(bytes(value)).decode("ascii")]
    if isinstance(value, bytes):
        return ["b", base64.b64encode(value).decode("ascii")]
    if isinstance(value, float):
        return ["r", value]
    return ["n", value]


def decode_value(encoded: Optional[list]) -> Any:
    """The inverse of `encode_value`."""
    if encoded is None:
        return None
    kind, payload = encoded
    if kind == "t":
        return RawText(base64.b64decode(payload))
    if kind == "b":
        return base64.b64decode(payload)
    return payload


def sort_key(value: Any) -> tuple:
    """Order values as SQLite's BINARY collation does across storage classes."""
    if isinstance(value, RawText):
        return (2, bytes(value))
    if isinstance(value, bytes):
        return (3, value)
    return (1, value)


def distinct_key(value: Any) -> str:
    """A JSON-safe key equal for values SQLite's `DISTINCT` treats as equal.

    Integers and reals of equal value share a key; long values are keyed by digest
    (`h:`), which marks them as values not to keep.
    """
    if isinstance(value, RawText):
        raw = bytes(value)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if len(raw) > KEPT_VALUE_LIMIT * 4 or (text is not None and len(text) > KEPT_VALUE_LIMIT):
            return "h:t" + hashlib.sha256(raw).hexdigest()
        return "t:" + text if text is not None else "x:" + raw.hex()
    if isinstance(value, bytes):
        if len(value) > KEPT_VALUE_LIMIT:
            return "h:b" + hashlib.sha256(value).hexdigest()
        return "b:" + value.hex()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**63:
            return "n:" + str(int(value))
        return "r:" + repr(value)
    return "n:" + str(value)


def value_from_key(key: str) -> Any:
    """The value a kept key stands for (text with invalid UTF-8 is decoded with U+FFFD)."""
    kind, payload = key[0], key[2:]
    if kind == "n":
        return int(payload)
    if kind == "r":
        return float(payload)
    if kind == "t":
        return payload
    if kind == "x":
        return bytes.fromhex(payload).decode("utf-8", "replace")
    if kind == "b":
        return bytes.fromhex(payload)
    raise ValueError("Values keyed by digest are not kept")


# -- one batch --------------------------------------------------------------------------------


def _range_where(
    shape: TableShape, after: Optional[list], upto: Optional[list]
) -> Tuple[str, list]:
    """`where` clause and parameters for the keys in (after, upto]."""
    clauses, params = [], []
    if after is not None:
        left, right, values = _key_comparison(shape, after)
        clauses.append(f"{left} > {right}")
        params.extend(values)
    if upto is not None:
        left, right, values = _key_comparison(shape, upto)
        clauses.append(f"{left} <= {right}")
        params.extend(values)
    return (" where " + " and ".join(clauses)) if clauses else "", params


def _key_comparison(shape: TableShape, encoded_key: list) -> Tuple[str, str, list]:
    values = [decode_value(v) for v in encoded_key]
    # Text must be bound as text (not blob) to compare as the stored key does; binding
    # its bytes cast to text keeps invalid UTF-8 intact.
    placeholders = ["cast(? as text)" if isinstance(v, RawText) else "?" for v in values]
    params = [bytes(v) if isinstance(v, RawText) else v for v in values]
    if len(values) == 1:
        return shape.key[0], placeholders[0], params
    return "(" + ", ".join(shape.key) + ")", "(" + ", ".join(placeholders) + ")", params


def _column_aggregates(quoted: str) -> List[str]:
    is_text = f"typeof({quoted}) = 'text'"
    json_kind = (
        f"case when {is_text} then case when json_valid({quoted}) then json_type({quoted}) end end"
    )
    return [
        f"count({quoted})",
        f"sum(typeof({quoted}) = 'integer')",
        f"sum(typeof({quoted}) = 'real')",
        f"sum({is_text})",
        f"sum(typeof({quoted}) = 'blob')",
        f"sum(({json_kind}) = 'object')",
        f"sum(({json_kind}) = 'array')",
        f"sum(case when {is_text} then {quoted} glob '{DATE_GLOB}' end)",
        f"sum(case when {is_text} then length({quoted}) end)",
        f"max(case when {is_text} then length({quoted}) end)",
        f"min({quoted} collate binary)",
        f"max({quoted} collate binary)",
    ]


_COUNTERS = (
    "nonnull",
    "integer",
    "real",
    "text",
    "blob",
    "json_object",
    "json_array",
    "date",
    "text_length_total",
)


def run_batch(
    conn: Any, shape: TableShape, state: dict, position: Optional[list], limit: int
) -> Tuple[Optional[list], int, bool]:
    """Fold up to `limit` rows after `position` into `state`.

    Returns `(new position, rows read, finished)`. `state` is changed in place.
    """
    quoted_table = quote(shape.table)
    key_list = ", ".join(shape.key)
    where, params = _range_where(shape, position, None)
    bound = conn.execute(
        f"select {key_list} from {quoted_table}{where} order by {key_list} limit 1 offset ?",
        params + [max(limit - 1, 0)],
    ).fetchone()
    upto = [encode_value(v) for v in bound] if bound is not None else None
    where, params = _range_where(shape, position, upto)
    source = f"{quoted_table}{where}"
    count = conn.execute(f"select count(*) from {source}", params).fetchone()[0]
    if count:
        _fold_aggregates(conn, shape, state, source, params)
        _fold_distinct(conn, shape, state, source, params, " and " if where else " where ")
    state["rows"] += count
    if upto is None:
        return position, count, True
    return upto, count, False


def _fold_aggregates(conn: Any, shape: TableShape, state: dict, source: str, params: list) -> None:
    for start in range(0, len(shape.columns), _COLUMNS_PER_QUERY):
        names = shape.columns[start : start + _COLUMNS_PER_QUERY]
        selects: List[str] = []
        for name in names:
            selects.extend(_column_aggregates(quote(name)))
        row = conn.execute(f"select {', '.join(selects)} from {source}", params).fetchone()
        width = len(_column_aggregates("x"))
        for index, name in enumerate(names):
            _merge_column(state["columns"][name], row[index * width : (index + 1) * width])


def _merge_column(column: dict, values: tuple) -> None:
    for counter, value in zip(_COUNTERS, values[:9]):
        column[counter] += value or 0
    longest = values[9]
    if longest is not None and (
        column["max_text_length"] is None or longest > column["max_text_length"]
    ):
        column["max_text_length"] = longest
    low, high = values[10], values[11]
    if low is not None:
        current = decode_value(column["min"])
        if current is None or sort_key(low) < sort_key(current):
            column["min"] = encode_value(low)
    if high is not None:
        current = decode_value(column["max"])
        if current is None or sort_key(high) > sort_key(current):
            column["max"] = encode_value(high)


def _fold_distinct(
    conn: Any, shape: TableShape, state: dict, source: str, params: list, joiner: str
) -> None:
    for name in shape.columns:
        column = state["columns"][name]
        seen: Optional[Dict[str, int]] = column["distinct"]
        if seen is None:
            continue
        quoted = quote(name)
        rows = conn.execute(
            f"select {quoted}, count(*) from {source}{joiner}{quoted} is not null "
            f"group by {quoted} collate binary",
            params,
        ).fetchall()
        for value, n in rows:
            key = distinct_key(value)
            seen[key] = seen.get(key, 0) + n
        if len(seen) > DISTINCT_CAP:
            column["distinct"] = None


# -- the result -------------------------------------------------------------------------------


def finish(shape: TableShape, state: dict) -> Tuple[int, List[dict]]:
    """`(row count, one dict per column)` from a completed state, ready to store."""
    rows = state["rows"]
    columns = [_column_result(name, state["columns"][name], rows) for name in shape.columns]
    for column in columns:
        column["binary_collation"] = not shape.collated
    return rows, columns


def _column_result(name: str, column: dict, rows: int) -> dict:
    seen = column["distinct"]
    exact = seen is not None
    values_kept = exact and column["blob"] == 0 and not any(key.startswith("h:") for key in seen)
    return {
        "name": name,
        "null_count": rows - column["nonnull"],
        "distinct_count": len(seen) if exact else DISTINCT_CAP + 1,
        "distinct_exact": exact,
        "min": stored_value(decode_value(column["min"])),
        "max": stored_value(decode_value(column["max"])),
        "integer_count": column["integer"],
        "real_count": column["real"],
        "text_count": column["text"],
        "blob_count": column["blob"],
        "json_object_count": column["json_object"],
        "json_array_count": column["json_array"],
        "date_count": column["date"],
        "avg_text_length": (column["text_length_total"] / column["text"])
        if column["text"]
        else None,
        "max_text_length": column["max_text_length"],
        "values": _kept_values(seen) if values_kept else None,
    }


def _kept_values(seen: Dict[str, int]) -> Dict[Any, int]:
    # Different invalid UTF-8 byte strings may decode to the same text: add their counts.
    values: Dict[Any, int] = {}
    for key, n in seen.items():
        value = value_from_key(key)
        values[value] = values.get(value, 0) + n
    return values


def stored_value(value: Any) -> Any:
    """A min or max as stored: text decoded (U+FFFD for invalid UTF-8) and cut short."""
    if isinstance(value, RawText):
        return bytes(value).decode("utf-8", "replace")[:STORED_VALUE_LIMIT]
    if isinstance(value, bytes):
        return value[:STORED_VALUE_LIMIT]
    return value
