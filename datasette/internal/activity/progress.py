"""Progress bars for long command-line work: shown on a terminal, silent anywhere else.

click's own bar prints its label once when output is not a terminal; logs and pipes
should get nothing at all, so `progress_bar` hands back a silent stand-in there.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

import click

MIN_ITEMS = 200
"""Fewer items than this finish too fast for a bar to help: no bar."""


class _Silent:
    """Does what a progress bar does, showing nothing."""

    def __enter__(self) -> "_Silent":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, n: int, current_item: Any = None) -> None:
        return None


def is_terminal(file: Any) -> bool:
    """Whether `file` is an interactive terminal."""
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):
        return False


def progress_bar(
    label: str,
    length: int,
    file: Any = None,
    min_items: int = MIN_ITEMS,
    item_show_func: Optional[Callable[[Any], Optional[str]]] = None,
) -> Any:
    """A click progress bar of `length` items on `file` (default stderr), if it is a
    terminal and there are at least `min_items` items; otherwise a silent stand-in.

    Use it as a context manager and call `update(n)` as items are done.
    """
    file = file if file is not None else sys.stderr
    if length < min_items or not is_terminal(file):
        return _Silent()
    return click.progressbar(
        length=length, label=label, file=file, item_show_func=item_show_func
    )


def iterate_with_progress(items: list, label: str, file: Any = None,
                          min_items: int = MIN_ITEMS) -> Any:
    """Yield `items`, moving a `progress_bar` one step after each."""
    with progress_bar(label, len(items), file=file, min_items=min_items) as bar:
        for item in items:
            yield item
            bar.update(1)
