"""SQL helpers: read-only validation, keyset pagination, named parameters, row lookup."""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any, Sequence

from datasette.exceptions import (
    ConnectionProblem,
    InvalidSql,
    SpatialiteConnectionProblem,
)

from .text import escape_sqlite

if TYPE_CHECKING:  # only for annotations: database.py imports this package
    from ..database import Database

__all__ = [
    "allowed_pragmas",
    "validate_sql_select",
    "compound_keys_after_sql",
    "derive_named_parameters",
    "row_sql_params_pks",
    "check_connection",
]

# PRAGMA table-valued functions user SQL may call, in the order the error message lists them.
allowed_pragmas = (
    "database_list",
    "foreign_key_list",
    "function_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "page_count",
    "max_page_count",
    "page_size",
    "schema_version",
    "table_info",
    "table_xinfo",
)

# Whitespace and comments may precede the statement. `\s` is matched one character at a
# time: `(\s+)*` would backtrack exponentially on long runs of spaces. A block comment
# body may not contain `*/`, so backtracking cannot stretch one comment over code up to
# a later comment's end ("/**/ update ... /* x */ select").
_LEADING_NOISE = r"(?:\s|--[^\n]*\n|/\*(?:[^*]|\*(?!/))*\*/)*"
_ALLOWED_START_RE = re.compile(
    _LEADING_NOISE + r"(?:explain\s+(?:query\s+plan\s+)?)?(?:select|with)\b"
)

# Deliberately no word boundaries: "pragma" anywhere, even inside a string literal or a
# longer name, must be one of the allowed table-valued functions.
_DISALLOWED_PRAGMA_RE = re.compile(
    r"pragma(?!_(?:{}))".format("|".join(allowed_pragmas))
)
_DISALLOWED_PRAGMA_MESSAGE = (
    "Statement contained a disallowed PRAGMA. Allowed pragma functions are "
    + ", ".join("pragma_{}()".format(name) for name in allowed_pragmas)
)


def validate_sql_select(sql: str) -> None:
    """Raise `InvalidSql` unless `sql` is a read-only query a user may run.

    Lines starting with `--` are ignored; after any whitespace and comments the statement
    must begin with `select`, `with`, or `explain [query plan]` followed by one of those.
    Any `pragma` must be one of the `pragma_<name>()` functions in `allowed_pragmas`.
    """
    kept_lines = [
        line for line in sql.split("\n") if not line.lstrip().startswith("--")
    ]
    cleaned = "\n".join(kept_lines).strip().lower()
    if not _ALLOWED_START_RE.match(cleaned):
        raise InvalidSql("Statement must be a SELECT")
    if _DISALLOWED_PRAGMA_RE.search(cleaned):
        raise InvalidSql(_DISALLOWED_PRAGMA_MESSAGE)


def compound_keys_after_sql(pks: Sequence[str], start_index: int = 0) -> str:
    """The keyset-pagination clause for "rows after this key" over `pks`.

    Parameters are `:p<start_index>`, `:p<start_index + 1>`... in key order.
    `["a", "b"]` -> `((a > :p0)\\n  or\\n(a = :p0 and b > :p1))`.
    """
    names = [escape_sqlite(pk) for pk in pks]
    params = [":p{}".format(start_index + i) for i in range(len(names))]
    clauses = []
    # Clause k pins the first k keys and steps the (k+1)th forward.
    for k in range(len(names)):
        conditions = [
            "{} = {}".format(names[i], params[i]) for i in range(k)
        ] + ["{} > {}".format(names[k], params[k])]
        clauses.append("({})".format(" and ".join(conditions)))
    return "({})".format("\n  or\n".join(clauses))


_NAMED_PARAMETER_RE = re.compile(r":([a-zA-Z0-9_]+)")


def _unique(names: Sequence[str]) -> list:
    """`names` without repeats, first occurrence order kept."""
    return list(dict.fromkeys(names))


async def derive_named_parameters(db: Database, sql: str) -> list:
    """Names of the `:named` parameters of `sql`, in order of first use, without colons.

    SQLite's own parser is asked (each parameter is an `explain` `Variable` opcode), so
    `'0:00'` inside a string literal is not mistaken for a parameter. If `explain` fails,
    for instance on invalid SQL, a `:name` regular expression is the fallback.
    """
    guesses = _NAMED_PARAMETER_RE.findall(sql)
    explain = "explain " + sql.strip().rstrip(";")
    extra = {}
    if "log_sql_errors" in inspect.signature(db.execute).parameters:
        # Invalid SQL is expected here and handled below; the query itself logs it
        extra["log_sql_errors"] = False
    try:
        results = await db.execute(explain, {name: None for name in guesses}, **extra)
        names = [
            row["p4"].lstrip(":")
            for row in results.rows
            if row["opcode"] == "Variable" and isinstance(row["p4"], str)
        ]
    except Exception:
        # Any failure (syntax error, time limit, odd db object) means "ask the regex".
        return _unique(guesses)
    return _unique(names)


async def row_sql_params_pks(db: Database, table: str, pk_values: Sequence[Any]) -> tuple:
    """`(sql, params, pks)` selecting one row of `table` by its primary key values.

    Tables without an explicit primary key are addressed by `rowid`: the SQL selects
    `rowid, *` and `pks` is `["rowid"]`. Parameters are named `p0`, `p1`...
    """
    pks = list(await db.primary_keys(table))
    select = "*"
    if not pks:
        select = "rowid, *"
        pks = ["rowid"]
    wheres = [
        '"{}"=:p{}'.format(pk.replace('"', '""'), i) for i, pk in enumerate(pks)
    ]
    sql = "select {} from {} where {}".format(
        select, escape_sqlite(table), " AND ".join(wheres)
    )
    params = {"p{}".format(i): value for i, value in enumerate(pk_values)}
    return sql, params, pks


def check_connection(conn: Any) -> None:
    """Probe every table of an open connection with `PRAGMA table_info`.

    Raises `SpatialiteConnectionProblem` when a table needs a SpatiaLite virtual-table
    module that is not loaded, and `ConnectionProblem` for any other failure.
    """
    # Only virtual tables (rootpage 0) can fail here: an ordinary table's columns were
    # parsed with the schema by the first statement, so probing 2,000 of them is waste.
    tables = [
        row[0]
        for row in conn.execute(
            "select name from sqlite_master where type = 'table' and rootpage = 0"
        ).fetchall()
    ]
    for table in tables:
        try:
            conn.execute("PRAGMA table_info({})".format(escape_sqlite(table)))
        except Exception as e:
            # SpatiaLite's virtual tables all use modules named Virtual<Something>
            if str(e).startswith("no such module: Virtual"):
                raise SpatialiteConnectionProblem(e) from e
            raise ConnectionProblem(e) from e
