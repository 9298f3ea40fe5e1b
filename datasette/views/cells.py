"""Cell rendering for the table, row and query pages.

Every displayed cell goes through the `render_cell` hook first; then the default
display: expanded foreign keys as links, binary values as `.blob` download links,
empty values as a non-breaking space, URLs as links, numbers in their column's unit,
long text cut at `truncate_cells_html`. Rows reach the templates as `DisplayRow`s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

from markupsafe import Markup, escape

from ..plugins import pm
from ..utils import await_me_maybe, format_bytes, is_url, tilde_encode, truncate_url

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request

NBSP = Markup("&nbsp;")


class DisplayRow:
    """One displayed row: iterable cells, `row["col"]` raw values, `row.display("col")` HTML.

    Each cell is `{"column", "value", "raw", "value_type"}`, `value` being the rendered
    HTML. `row` is the database row behind the cells, for columns not displayed.
    """

    def __init__(self, cells: list, row: Any = None):
        self.cells = cells
        self._row = row

    def __iter__(self) -> Iterator[dict]:
        return iter(self.cells)

    def __len__(self) -> int:
        return len(self.cells)

    def _cell(self, column: str) -> Optional[dict]:
        for cell in self.cells:
            if cell["column"] == column:
                return cell
        return None

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, slice)):
            return self.cells[key]
        cell = self._cell(key)
        if cell is not None:
            return cell["raw"]
        if self._row is not None:
            try:
                value = self._row[key]
            except (KeyError, IndexError, ValueError):
                raise KeyError(key)
            return value["value"] if isinstance(value, dict) else value
        raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        return self._cell(key) is not None

    def keys(self) -> list:
        """The displayed columns, in order."""
        return [cell["column"] for cell in self.cells]

    def display(self, key: str) -> Optional[Markup]:
        """The rendered HTML of a column's cell, or None when it is not displayed."""
        cell = self._cell(key)
        return cell["value"] if cell is not None else None

    def __repr__(self) -> str:
        return "<DisplayRow {}>".format({cell["column"]: cell["raw"] for cell in self.cells})


def value_type(value: Any) -> str:
    """The `type-...` CSS suffix of a raw value: `none`, `int`, `float`, `str`, `bytes`."""
    return "none" if value is None else type(value).__name__


def with_unit(datasette: Datasette, value: Any, unit: str) -> Any:
    """A number shown in its column's unit (`5&nbsp;m`), scaled by Pint; else as text."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    try:
        quantity = round((value * datasette.unit_registry()(unit)).to_compact(), 6)
        text = "{:~P}".format(quantity)
    except Exception:
        # An unknown unit still shows the value with the unit's name.
        text = "{} {}".format(value, unit)
    return Markup(str(escape(text)).replace(" ", "&nbsp;"))


async def plugin_cell(
    datasette: Datasette,
    request: Request,
    *,
    row: Any,
    value: Any,
    column: str,
    table: Optional[str],
    database: str,
) -> Any:
    """The first non-None `render_cell` answer (after awaiting), or None."""
    for candidate in pm.hook.render_cell(
        row=row,
        value=value,
        column=column,
        table=table,
        database=database,
        datasette=datasette,
        request=request,
    ):
        candidate = await await_me_maybe(candidate)
        if candidate is not None:
            return candidate
    return None


def binary_link(url: str, value: bytes) -> Markup:
    """`<Binary: N bytes>` linking to a `.blob` download (titled with its size from 1 KB)."""
    size = len(value)
    formatted = format_bytes(size)
    title = "" if formatted.endswith("bytes") else ' title="{}"'.format(escape(formatted))
    return Markup(
        '<a class="blob-download" href="{}"{}>&lt;Binary:&nbsp;{:,}&nbsp;byte{}&gt;</a>'.format(
            escape(url), title, size, "" if size == 1 else "s"
        )
    )


def url_link(value: str, truncate_at: int) -> Markup:
    """A link whose text is the URL, shortened to `truncate_at` characters."""
    url = value.strip()
    return Markup('<a href="{}">{}</a>'.format(escape(url), escape(truncate_url(url, truncate_at))))


def truncated_text(value: Any, truncate_at: int) -> str:
    """`str(value)`, cut to `truncate_at` characters plus an ellipsis (0 = never)."""
    text = str(value)
    if truncate_at and len(text) > truncate_at:
        return text[:truncate_at] + "\u2026"
    return text


def label_cell(datasette: Datasette, database: str, value: dict, other_table: Optional[str]) -> Markup:
    """An expanded foreign key: a link to the row it points at, labelled when it has one."""
    raw = value["value"]
    label = value.get("label")
    if label is None or other_table is None:
        return escape(str(raw))
    href = datasette.urls.row(database, other_table, tilde_encode(str(raw)))
    # Compared as stored, not as text: an integer key into a table without a label
    # column gets its text as label, and shows link and value (as 1.0a7 does).
    if label == raw:
        return Markup('<a href="{}">{}</a>').format(href, str(raw))
    return Markup('<a href="{}">{}</a>&nbsp;<em>{}</em>').format(
        href, str(label) or "-", str(raw)
    )


def default_cell(
    datasette: Datasette,
    value: Any,
    column: str,
    *,
    blob_url: Callable[[], str],
    units: dict,
    truncate: int,
) -> Any:
    """The display HTML of one plain (not label) cell without plugins.

    `blob_url` is called only for binary values: each page links them differently.
    """
    if isinstance(value, bytes):
        return binary_link(blob_url(), value)
    if value is None or value == "":
        return NBSP
    if isinstance(value, str) and is_url(value.strip()):
        return url_link(value, truncate)
    if column in units and isinstance(value, (int, float)) and not isinstance(value, bool):
        return with_unit(datasette, value, units[column])
    return escape(truncated_text(value, truncate))
