"""Reading a table page's special `_` parameters, with a clear 400 for each mistake."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from ..exceptions import BadRequest, DatasetteError
from ..utils import value_as_boolean

if TYPE_CHECKING:
    from ..app import Datasette
    from ..utils.asgi import Request

SHAPES = ("objects", "arrays", "array", "arrayfirst", "object")


def extras_requested(request: Request) -> set:
    """Names from every `_extra=` (repeatable, comma-separated)."""
    names: set = set()
    for value in request.args.getlist("_extra"):
        names.update(part.strip() for part in value.split(",") if part.strip())
    return names


def page_size(request: Request, datasette: Datasette, table_metadata: dict) -> int:
    """`_size` (a number or `max`), else metadata `size`, else `default_page_size`."""
    max_rows = datasette.setting("max_returned_rows")
    size = request.args.get("_size")
    if size is None or size == "":
        return int(table_metadata.get("size") or datasette.setting("default_page_size"))
    if size == "max":
        return max_rows
    if not (size.isascii() and size.isdigit()):  # isdigit alone accepts "²"
        raise BadRequest("_size must be a positive integer")
    if int(size) > max_rows:
        raise BadRequest(f"_size must be <= {max_rows}")
    return int(size)


@dataclass
class SortChoice:
    """The column a page is sorted by (None: natural order) and its direction."""

    column: Optional[str] = None
    desc: bool = False


def sort_choice(
    request: Request, table_metadata: dict, columns: list, use_rowid: bool, is_view: bool
) -> SortChoice:
    """The sort column and direction from `_sort`/`_sort_desc` or metadata defaults."""
    sort = request.args.get("_sort")
    sort_desc = request.args.get("_sort_desc")
    if sort and sort_desc:
        raise BadRequest("Cannot use _sort and _sort_desc at the same time")
    if not sort and not sort_desc:
        meta_sort = table_metadata.get("sort")
        meta_desc = table_metadata.get("sort_desc")
        if meta_sort and meta_desc:
            raise BadRequest("Cannot use _sort and _sort_desc at the same time")
        if meta_sort:
            return SortChoice(meta_sort, False)
        if meta_desc:
            return SortChoice(meta_desc, True)
        return SortChoice()
    column = sort or sort_desc
    sortable = table_metadata.get("sortable_columns")
    if sortable is None:
        sortable = list(columns) + (["rowid"] if use_rowid else [])
    if column not in sortable:
        raise BadRequest(f"Cannot sort table by {column}")
    return SortChoice(column, bool(sort_desc))


def selected_columns(request: Request, columns: list, pks: list) -> list:
    """Columns chosen with `_col` (pks always included) or removed with `_nocol`."""
    wanted = request.args.getlist("_col")
    unwanted = request.args.getlist("_nocol")
    # `_json` names columns too (issue 9: a name the table lacks is a 400, like `_col`).
    unknown_json = [c for c in request.args.getlist("_json") if c and c not in columns + pks]
    if unknown_json:
        raise BadRequest("_json={} - invalid columns".format(", ".join(unknown_json)))
    if wanted:
        invalid = [c for c in wanted if c not in columns]
        if invalid:
            raise BadRequest("_col={} - invalid columns".format(", ".join(invalid)))
        chosen = [pk for pk in pks if pk in columns]
        for column in wanted:
            if column not in chosen:
                chosen.append(column)
        columns = chosen
    if unwanted:
        invalid = [c for c in unwanted if c not in columns or c in pks]
        if invalid:
            raise BadRequest("_nocol={} - invalid columns".format(", ".join(invalid)))
        columns = [c for c in columns if c not in unwanted]
    return list(columns)


def label_columns(request: Request, default_on: bool, fk_columns: list) -> list:
    """Foreign key columns whose values get labels (`_labels`, `_label=C`)."""
    labels = request.args.get("_labels")
    if labels is not None and labels != "":
        try:
            on = value_as_boolean(labels)
        except ValueError:
            raise BadRequest("_labels must be on/off/true/false/1/0")
    else:
        on = default_on
    if on:
        return list(fk_columns)
    chosen = request.args.getlist("_label")
    return [c for c in fk_columns if c in chosen]


@dataclass
class TableArgs:
    """The parsed special parameters of one table request."""

    size: int
    sort: SortChoice
    columns: list
    labels: list
    shape: str
    extras: set = field(default_factory=set)
    next_token: Optional[str] = None
    nocount: bool = False
    nofacet: bool = False
    nosuggest: bool = False
    timelimit: Optional[int] = None


def shape_of(request: Request) -> str:
    """`_shape`, defaulting to `objects`; an unknown shape is a 400."""
    shape = request.args.get("_shape") or "objects"
    if shape not in SHAPES:
        raise DatasetteError(f"Invalid _shape: {shape}", status=400)
    return shape


def timelimit_of(request: Request) -> Optional[int]:
    """`_timelimit` in milliseconds, or None; anything but digits is a 400."""
    value = request.args.get("_timelimit")
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()):  # isdigit alone accepts "²"
        raise BadRequest("_timelimit must be a positive integer")
    return int(value)
