"""Default plugin: SQL functions every user-database connection gets."""

from .hookspecs import hookimpl
from .utils import escape_fts


@hookimpl
def prepare_connection(conn):
    conn.create_function("escape_fts", 1, escape_fts)
