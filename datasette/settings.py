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

# Settings of ours that 1.0a7 lacks. Kept out of SETTINGS so `/-/settings.json` and
# `--help-settings` stay as 1.0a7 shows them; accepted in the config's `settings` and by the
# constructor (`-s settings.gzip_responses false` on the command line).
EXTRA_SETTINGS = (
    Setting("inline_read_budget_ms", 2, "Milliseconds a read may first run on the event loop before moving to a read thread (0: always a thread)"),
    Setting("default_deny", False, "Refuse every view permission to anyone but root unless a rule or a public resource allows it"),
    Setting("gzip_responses", True, "Gzip text-like responses (HTML, JSON, CSV, CSS, JS) when the client accepts it"),
    Setting("column_stats", True, "Index per-column statistics in the background (docs/column-statistics.md)"),
    Setting("column_stats_batch_ms", 50, "Milliseconds each batch of the column statistics indexer may take before it yields"),
    # Retention of the audit log and of finished jobs (docs/activity.md); 0 = no limit.
    Setting("audit_max_age_days", 0, "Days audit log rows are kept (0 = forever)"),
    Setting("audit_max_rows", 0, "Most audit log rows kept, newest first (0 = no limit)"),
    Setting("jobs_max_age_days", 30, "Days finished jobs are kept (0 = forever)"),
    Setting("jobs_max_rows", 1000, "Most finished jobs kept, newest first (0 = no limit)"),
    Setting("result_cache", True, "Reuse table counts and facet results while their database is unchanged, kept in the internal database"),
)

EXTRA_DEFAULT_SETTINGS = {setting.name: setting.default for setting in EXTRA_SETTINGS}

OBSOLETE_SETTINGS = {
    "hash_urls": "hash_urls is no longer a setting: hashed URLs are provided by a plugin",
    "default_cache_ttl_hashed": "default_cache_ttl_hashed is no longer a setting: hashed URLs are provided by a plugin",
}

SQLITE_LIMIT_ATTACHED = 10
