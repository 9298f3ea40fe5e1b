"""The views: one module per family of pages. `Context` is the base of template contexts.

The read views stand in floors; a module imports only from floors below it, at the top
of the file, so no two views import each other:

1. `table_args` (special `_` parameters), `chrome` (render_page, inherited metadata,
   database colour), `cells` (`DisplayRow` and cell rendering), `renderers` (plugin
   output formats and their links).
2. `page_data`: data for pages, shared by JSON, CSV and HTML: the table page query,
   label expansion, sort values, foreign-key tables, cache headers.
3. `table_extras` (the `_extra=` values; JSON, so no HTML module below it), `csv`.
4. The HTML pages: `table_html`, `row_html`, `query_html`, `database_html`, `index_html`.
5. `query`: arbitrary SQL and canned queries, answered for `database` and `table`.
6. The entry points the routes name: `table`, `row`, `database`, `index`, `download`.
"""


class Context:
    """Base class for dataclass template contexts passed to `render_template`."""
