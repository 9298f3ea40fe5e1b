"""The column statistics system, kept in the internal database.

`schema` holds its tables (a migration step), `compute` folds batches of rows into
statistics, `store` reads and writes them, `indexer` is the background task and `service`
is what views and plugins call; `suggestions` decides suggested facets from the statistics.
See docs/column-statistics.md.
"""

from .service import (  # noqa: F401
    StartWithServer,
    current_statistics,
    get_indexer,
    suggest_values,
    table_statistics,
    value_counts,
)
