"""`datasette.utils`: the door to the helper modules.

Every name is re-exported from the submodule that owns it, because plugins and the test
suite import them from `datasette.utils`. The one function written here is
`find_spatialite()`: tests and packagers patch `datasette.utils.SPATIALITE_PATHS`, so the
list is read from this module when it is called.

Submodules reachable as `datasette.utils.<name>`: `text`, `sql`, `urls`, `config`,
`calling`, `actors`, `jsonenc`, `files`, `baseconv`, `check_callable`, `sqlite`,
`schema`, `params`, `timelimit`, plus `asgi`, `testing` and `internal_db`, which are
imported on demand rather than here (they depend on heavier parts of the package).
"""

from datasette.exceptions import (
    BadMetadataError,
    ConnectionProblem,
    InvalidSql,
    SpatialiteConnectionProblem,
    SpatialiteNotFound,
    StartupError,
    WriteLimitExceeded,
)

from . import baseconv, check_callable, files
from .actors import actor_matches_allow, display_actor
from .calling import (
    async_call_with_supported_arguments,
    await_me_maybe,
    call_with_supported_arguments,
    documented,
    functions_marked_as_documented,
)
from .config import pairs_to_nested_config, parse_metadata, resolve_env_secrets
from .files import (
    SPATIALITE_FUNCTIONS,
    SPATIALITE_PATHS,
    EscapeHtmlWriter,
    LimitedWriter,
    LoadExtension,
    StaticMount,
    link_or_copy,
    link_or_copy_directory,
    make_dockerfile,
    module_from_path,
    temporary_docker_directory,
)
from .jsonenc import CustomJSONEncoder, CustomRow
from .params import MultiParams
from .schema import (
    Column,
    detect_fts,
    detect_fts_sql,
    detect_json1,
    detect_primary_keys,
    detect_spatialite,
    get_all_foreign_keys,
    get_outbound_foreign_keys,
    table_column_details,
    table_columns,
)
from .sql import (
    allowed_pragmas,
    check_connection,
    compound_keys_after_sql,
    derive_named_parameters,
    row_sql_params_pks,
    validate_sql_select,
)
from .sqlite import (
    sqlite3,
    sqlite_version,
    supports_generated_columns,
    supports_table_xinfo,
    using_pysqlite3,
)
from .text import (
    escape_css_string,
    escape_fts,
    escape_sqlite,
    format_bytes,
    is_url,
    tilde_decode,
    tilde_encode,
    to_css_class,
    truncate_url,
    value_as_boolean,
)
from .timelimit import sqlite_timelimit
from .urls import (
    PrefixedUrlString,
    add_cors_headers,
    initial_path_for_datasette,
    path_from_row_pks,
    path_with_added_args,
    path_with_format,
    path_with_removed_args,
    path_with_replaced_args,
    resolve_routes,
    urlsafe_components,
)


def find_spatialite() -> str:
    """Path of the first existing SpatiaLite module in `SPATIALITE_PATHS` (as patched here)."""
    return files.find_spatialite(SPATIALITE_PATHS)


__all__ = [
    # exceptions
    "BadMetadataError",
    "ConnectionProblem",
    "InvalidSql",
    "SpatialiteConnectionProblem",
    "SpatialiteNotFound",
    "StartupError",
    "WriteLimitExceeded",
    # submodules
    "baseconv",
    "check_callable",
    # actors
    "actor_matches_allow",
    "display_actor",
    # calling
    "async_call_with_supported_arguments",
    "await_me_maybe",
    "call_with_supported_arguments",
    "documented",
    "functions_marked_as_documented",
    # config
    "pairs_to_nested_config",
    "parse_metadata",
    "resolve_env_secrets",
    # files
    "SPATIALITE_FUNCTIONS",
    "SPATIALITE_PATHS",
    "EscapeHtmlWriter",
    "LimitedWriter",
    "LoadExtension",
    "StaticMount",
    "find_spatialite",
    "link_or_copy",
    "link_or_copy_directory",
    "make_dockerfile",
    "module_from_path",
    "temporary_docker_directory",
    # json
    "CustomJSONEncoder",
    "CustomRow",
    # params
    "MultiParams",
    # schema
    "Column",
    "detect_fts",
    "detect_fts_sql",
    "detect_json1",
    "detect_primary_keys",
    "detect_spatialite",
    "get_all_foreign_keys",
    "get_outbound_foreign_keys",
    "table_column_details",
    "table_columns",
    # sql
    "allowed_pragmas",
    "check_connection",
    "compound_keys_after_sql",
    "derive_named_parameters",
    "row_sql_params_pks",
    "validate_sql_select",
    # sqlite
    "sqlite3",
    "sqlite_version",
    "supports_generated_columns",
    "supports_table_xinfo",
    "using_pysqlite3",
    # text
    "escape_css_string",
    "escape_fts",
    "escape_sqlite",
    "format_bytes",
    "is_url",
    "tilde_decode",
    "tilde_encode",
    "to_css_class",
    "truncate_url",
    "value_as_boolean",
    # timelimit
    "sqlite_timelimit",
    # urls
    "PrefixedUrlString",
    "add_cors_headers",
    "initial_path_for_datasette",
    "path_from_row_pks",
    "path_with_added_args",
    "path_with_format",
    "path_with_removed_args",
    "path_with_replaced_args",
    "resolve_routes",
    "urlsafe_components",
]
