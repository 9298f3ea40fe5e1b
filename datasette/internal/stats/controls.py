"""Which form control suits a column, chosen from its declared type and its statistics.

Used by the edit and insert forms (`/DB/TABLE/-/form.json`): a foreign key gets a
search-as-you-type box over the referenced column, numbers a number input, date-like text
a date input, text with few distinct values a select of them, JSON or long text a
textarea, anything else a text input.
"""

from __future__ import annotations

from typing import Any, Optional

# A select lists at most this many values; more and the column gets a text input.
SELECT_LIMIT = 20
# Text averaging more characters than this gets a textarea.
LONG_TEXT = 80


def choose_control(
    declared_type: str, stats: Optional[dict], row_count: int, foreign_key: Optional[dict]
) -> dict:
    """`{"control": ..., "options": [...]}` for one column (options only for a select).

    :param declared_type: the column's declared SQLite type ("" when untyped)
    :param stats: the column's statistics (as `table_statistics` lists them) or None
    :param row_count: rows in the table when the statistics were made
    :param foreign_key: `{"other_table", "other_column"}` when the column references one
    """
    if foreign_key is not None:
        return {"control": "foreign-key"}
    declared = (declared_type or "").upper()
    if stats is None:
        return {"control": _by_type(declared)}
    non_null = row_count - stats["null_count"]
    numbers = stats["integer_count"] + stats["real_count"]
    if non_null and numbers == non_null:
        return {"control": "number"}
    if stats["text_count"] and stats["date_count"] == stats["text_count"]:
        if stats["max_text_length"] == 10:  # plain YYYY-MM-DD, what a date input gives
            return {"control": "date"}
    if stats["json_object_count"] or stats["json_array_count"]:
        return {"control": "textarea"}
    if (stats["avg_text_length"] or 0) > LONG_TEXT:
        return {"control": "textarea"}
    values = stats.get("values")
    if (
        values
        and stats["values_kept"]
        and stats["distinct_count"] <= SELECT_LIMIT
        and stats["text_count"] == non_null
    ):
        return {"control": "select", "options": [_plain(v["value"]) for v in values]}
    return {"control": _by_type(declared)}


def _by_type(declared: str) -> str:
    if "INT" in declared or any(word in declared for word in ("REAL", "FLOA", "DOUB", "NUMERIC")):
        return "number"
    if "DATE" in declared:
        return "date"
    return "text"


def _plain(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
