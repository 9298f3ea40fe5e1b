"""The instance settings of Datasette 1.0a7: names, defaults and help, in canonical order."""

from __future__ import annotations

from collections import namedtuple

Setting = namedtuple("Setting", ("name", "default", "help"))

SETTINGS = (
    Setting("default_page_size", 100, "Rows per page on table pages (?_size= can ask for up to max_returned_rows)"),
    Setting("max_returned_rows", 1000, "Most rows a table page or SQL query returns; more are reported as truncated"),
    Setting("max_insert_rows", 100, "Most rows one call to the JSON insert or upsert API may write"),
    Setting("num_sql_threads", 3, "Threads that run read queries (0 runs them on the event loop)"),
    Setting("sql_time_limit_ms", 1000, "Milliseconds a query may run before it is interrupted"),
    Setting("default_facet_size", 30, "Values shown for each requested facet"),
    Setting("facet_time_limit_ms", 200, "Milliseconds allowed to compute each requested facet"),
    Setting("facet_suggest_time_limit_ms", 50, "Milliseconds allowed for each suggested-facet probe"),
    Setting("allow_facet", True, "Let users facet by any column with ?_facet="),
    Setting("allow_download", True, "Let users download immutable database files"),
    Setting("allow_signed_tokens", True, "Let users create signed API tokens and use them"),
    Setting("default_allow_sql", True, "Let anyone run arbitrary SQL unless a rule says otherwise"),
    Setting("max_signed_tokens_ttl", 0, "Longest lifetime in seconds of a signed API token (0 = no limit)"),
    Setting("suggest_facets", True, "Compute and show suggested facets"),
    Setting("default_cache_ttl", 5, "Seconds for the Cache-Control max-age header (0 sends no-cache)"),
    Setting("cache_size_kb", 0, "SQLite page cache per connection in KB (0 keeps SQLite's default)"),
    Setting("allow_csv_stream", True, "Let .csv?_stream=1 export every row of a table"),
    Setting("max_csv_mb", 100, "Largest CSV export in MB (0 = no limit)"),
    Setting("truncate_cells_html", 2048, "Characters after which long HTML cells are cut (0 = never)"),
    Setting("force_https_urls", False, "Build absolute URLs with https:// whatever the request used"),
    Setting("template_debug", False, "Allow ?_context=1 to show the template context"),
    Setting("trace_debug", False, "Allow ?_trace=1 to show the SQL queries a page ran"),
    Setting("base_url", "/", "Path prefix for every URL, for serving behind a proxy"),
)

DEFAULT_SETTINGS = {setting.name: setting.default for setting in SETTINGS}

OBSOLETE_SETTINGS = {
    "hash_urls": "hash_urls is no longer a setting: hashed URLs are provided by a plugin",
    "default_cache_ttl_hashed": "default_cache_ttl_hashed is no longer a setting: hashed URLs are provided by a plugin",
}

SQLITE_LIMIT_ATTACHED = 10
