"""The internal database: a private SQLite file (or temporary file) for the catalog and plugins.

`store` opens and guards it, `migrations` versions its schema, `catalog` keeps the
derived catalog tables current and `guard` recognises internal files so they are never
served by mistake.
"""
