"""Whether column statistics are kept: the `column_stats` setting, per-database metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...app import Datasette


def _enabled(value: Any) -> bool:
    """Settings may arrive as text from the command line: "off", "false", "0" turn it off."""
    if isinstance(value, str):
        return value.strip().lower() not in ("off", "false", "0", "no", "")
    return bool(value)


def stats_enabled(datasette: Datasette) -> bool:
    """Whether the `column_stats` setting is on (default on)."""
    try:
        return _enabled(datasette.setting("column_stats"))
    except KeyError:
        return True


def database_enabled(datasette: Datasette, db: Any) -> bool:
    """Whether `db` is indexed: not the internal database, not anonymous memory, not
    turned off with `"column_stats": false` in its metadata."""
    if getattr(db, "is_internal", False) or (db.is_memory and not db.memory_name):
        return False
    try:
        configured = datasette.metadata("column_stats", database=db.name, fallback=False)
    except Exception:  # pragma: no cover - a metadata plugin failing is not our concern
        configured = None
    return configured is None or _enabled(configured)
