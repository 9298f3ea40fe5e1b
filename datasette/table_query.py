"""The SQL of a table page, built from already-parsed arguments (never from a request).

A page is `select <columns> from <table> where <filters and keyset> order by <sort,
primary keys> limit <size + 1>`: the extra row tells whether a next page exists. Tables
paginate by keyset (the `_next` token names the last row seen), views by offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional

from .exceptions import BadRequest
from .table_narrowing import Narrowing
from .utils import (
    compound_keys_after_sql,
    escape_sqlite,
    path_from_row_pks,
    tilde_encode,
    urlsafe_components,
)
from .utils.sqlite import sqlite_version

NULL_TOKEN = "$null"


@dataclass
class TableQuery:
    """Everything needed to write a table page's SQL.

    :param pks: primary key columns; `["rowid"]` for rowid tables, `[]` for views
    :param sort: column sorted by, with `sort_desc` for descending
    :param next_token: the `_next` value of the request, if any
    """

    table: str
    is_view: bool
    pks: list
    use_rowid: bool
    select_columns: list
    where_clauses: list = field(default_factory=list)
    params: dict = field(default_factory=dict)
    sort: Optional[str] = None
    sort_desc: bool = False
    next_token: Optional[str] = None
    page_size: int = 100
    # Declared column types, used to give token values back their stored type.
    column_types: dict = field(default_factory=dict)
    # Columns declared NOT NULL: a descending keyset on one needs no NULL branch, and
    # without that OR SQLite can walk the column's index.
    not_null: frozenset = frozenset()
    # Row values (`(a, b) > (?, ?)`, SQLite 3.15+) let SQLite seek a multi-column key.
    row_values: bool = field(default_factory=lambda: sqlite_version() >= (3, 15, 0))
    # An index intersection for equality filters (table_narrowing.py): added to the SQL
    # that visits every filtered row (counts, facets, pages sorted on unindexed columns),
    # and to every query once its rowids are read. Queries using it run via `checked`.
    narrowing: Optional[Narrowing] = None

    @property
    def from_sql(self) -> str:
        return f"from {escape_sqlite(self.table)}"

    def select_clause(self) -> str:
        """The column list: `rowid` first for rowid tables, then the chosen columns."""
        columns = [escape_sqlite(c) for c in self.select_columns]
        if self.use_rowid:
            columns.insert(0, "rowid")
        return ", ".join(columns)

    def filter_where(self) -> str:
        """`where ...` of the filters alone (for counts and facets), or ''.

        Counts and facets visit every filtered row, so the narrowing applies here.
        """
        clauses = list(self.where_clauses)
        if self.narrowing is not None:
            clauses.append(self.narrowing.clause(self.table))
        if not clauses:
            return ""
        return "where " + " and ".join(f"({c})" for c in clauses)

    async def checked(self, run: Callable[[], Awaitable[Any]]) -> Any:
        """`await run()` for a query built from this one; run again, with the narrowing
        written out in full, if the database changed since its rowids were read."""
        result = await run()
        if self.narrowing is not None and self.narrowing.stale():
            self.narrowing = self.narrowing.without_ids()
            result = await run()
        return result

    def visits_every_row(self) -> bool:
        """Whether the page must read every filtered row before its first: a sort on a
        column that leads no index (SQLite sorts them all). Ordered by primary key or by
        an indexed column, SQLite can stop after one page."""
        indexed = self.narrowing.indexed if self.narrowing is not None else frozenset()
        return bool(self.sort) and self.sort not in indexed and self.sort not in self.pks

    def filtered_sql(self) -> str:
        """`select * from table where filters`: the input to facets and suggestions."""
        return f"select * {self.from_sql} {self.filter_where()}".strip()

    def count_sql(self) -> str:
        return f"select count(*) {self.from_sql} {self.filter_where()}".strip()

    def order_by(self) -> str:
        if self.is_view and not self.sort:
            return ""
        terms = []
        if self.sort:
            terms.append(escape_sqlite(self.sort) + (" desc" if self.sort_desc else ""))
        terms.extend(escape_sqlite(pk) for pk in self.pks)
        return "order by " + ", ".join(terms) if terms else ""

    def page_sql_and_params(self, narrowed: bool = False) -> tuple:
        """The page's SQL and parameters, keyset or offset applied.

        :param narrowed: add the index intersection when it pays for this page (the SQL
            to run); without it, the plain SQL, which returns the same rows (the SQL to
            show)
        """
        clauses = list(self.where_clauses)
        narrowing = self.narrowing
        if narrowed and narrowing is not None:
            if narrowing.ids is not None or self.visits_every_row():
                clauses.append(narrowing.clause(self.table))
        params = dict(self.params)
        offset = ""
        if self.next_token:
            if self.is_view:
                if not self.next_token.isdigit():
                    raise BadRequest("Invalid _next token")
                offset = f" offset {int(self.next_token)}"
            else:
                clause, keyset_params = self.keyset_clause(self.next_token)
                clauses.append(clause)
                params.update(keyset_params)
        where = ("where " + " and ".join(f"({c})" for c in clauses)) if clauses else ""
        # Joined part by part, not whitespace-collapsed: a quoted name may hold a newline.
        parts = [
            f"select {self.select_clause()}",
            self.from_sql,
            where,
            self.order_by(),
            f"limit {self.page_size + 1}{offset}",
        ]
        return " ".join(part for part in parts if part), params

    def keyset_clause(self, token: str) -> tuple:
        """The predicate selecting rows after the row the token names.

        Its parameters are numbered after the filters' `p0, p1...` so neither overwrites
        the other.
        """
        # The NULL marker is written raw; a real text value "$null" is tilde-encoded
        # ("~24null"), so the marker is recognised before decoding.
        is_null = token.split(",", 1)[0] == NULL_TOKEN
        components = urlsafe_components(token)
        expected = len(self.pks) + (1 if self.sort else 0)
        if len(components) != expected:
            raise BadRequest("Invalid _next token")
        start = 1 + max(
            (int(name[1:]) for name in self.params if re.fullmatch(r"p\d+", name)),
            default=-1,
        )
        params: dict = {}
        pk_values = components[1:] if self.sort else components
        for i, (pk, value) in enumerate(zip(self.pks, pk_values)):
            typed = self.typed(pk, value)
            if isinstance(typed, str) and self._integer_key(pk):
                raise BadRequest("Invalid _next token")
            params[f"p{start + i}"] = typed
        if not self.sort:
            return compound_keys_after_sql(self.pks, start), params
        if is_null:
            return self._after_null(start), params
        params["sort_value"] = self.typed(self.sort, components[0])
        return self._after_value(start), params

    def _pk_after(self, start: int) -> str:
        """Primary keys after the token's: one row value when SQLite has them."""
        if not self.row_values:
            return compound_keys_after_sql(self.pks, start)
        if len(self.pks) == 1:
            return f"{escape_sqlite(self.pks[0])} > :p{start}"
        names = ", ".join(escape_sqlite(pk) for pk in self.pks)
        values = ", ".join(f":p{start + i}" for i in range(len(self.pks)))
        return f"({names}) > ({values})"

    def _after_null(self, start: int) -> str:
        """Rows after one whose sort value is NULL: NULLs sort first ascending, last
        descending, and tie on the primary keys."""
        column = escape_sqlite(self.sort)
        if self.sort_desc:
            return f"{column} is null and {self._pk_after(start)}"
        return f"{column} is not null or ({column} is null and {self._pk_after(start)})"

    def _after_value(self, start: int) -> str:
        """Rows after one whose sort value is not NULL, written so SQLite can seek an
        index on the sort column instead of scanning: ascending, one row value
        `(sort, pks) > (value, pk values)`; descending, `sort <= value` as the range with
        the tie broken inside it, plus the NULLs (which sort last) when the column may
        hold any. Same rows, same order as `sort > value or (sort = value and pks > ...)`.
        """
        column = escape_sqlite(self.sort)
        # Compare with the stored value of the row named by the token, so the value's
        # type (integer, real, text, blob) is exact; fall back to the token's text if
        # that row has gone.
        pk_match = " and ".join(
            f"{escape_sqlite(pk)} = :p{start + i}" for i, pk in enumerate(self.pks)
        )
        value = f"coalesce((select {column} {self.from_sql} where {pk_match}), :sort_value)"
        if self.sort_desc:
            within = f"{column} <= {value} and ({column} < {value} or {self._pk_after(start)})"
            if self.sort in self.not_null:
                return within
            return f"({within}) or {column} is null"
        if self.row_values:
            names = ", ".join(escape_sqlite(name) for name in [self.sort, *self.pks])
            values = ", ".join([value, *(f":p{start + i}" for i in range(len(self.pks)))])
            return f"({names}) > ({values})"
        pk_after = compound_keys_after_sql(self.pks, start)
        return f"{column} > {value} or ({column} = {value} and {pk_after})"

    def _integer_key(self, column: str) -> bool:
        """Rowid and INTEGER PRIMARY KEY columns only ever hold integers."""
        if column == "rowid":
            return True
        return len(self.pks) == 1 and self.column_types.get(column, "").upper() == "INTEGER"

    def typed(self, column: str, value: str) -> Any:
        """A token's text as the type SQLite would store in `column`.

        Columns with a declared type convert text themselves when compared (type
        affinity); only untyped columns (and rowid) need the number guessed back.
        """
        declared = "INTEGER" if column == "rowid" else self.column_types.get(column, "")
        if declared.strip() and "INT" not in declared.upper():
            return value
        try:
            return int(value)
        except ValueError:
            pass
        if not declared.strip():
            try:
                return float(value)
            except ValueError:
                pass
        return value

    def next_token_for(self, last_row: Any, offset: int) -> str:
        """The `_next` token of the page ending with `last_row`.

        :param offset: rows already skipped plus this page's size (views only)
        """
        if self.is_view:
            return str(offset)
        pk_token = path_from_row_pks(last_row, self.pks, self.use_rowid)
        if not self.sort:
            return pk_token
        value = last_row[self.sort]
        if value is None:
            return f"{NULL_TOKEN},{pk_token}"
        if isinstance(value, bytes):
            value = value.hex()
        return f"{tilde_encode(str(value))},{pk_token}"
