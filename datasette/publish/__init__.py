"""`datasette publish` (Cloud Run, Heroku, and plugin targets) and `datasette package`.

`options` holds the options every target shares; `common` holds `register(cli)`, which
adds both commands to the CLI, and re-exports `options` for publish plugins; `cloudrun`
and `heroku` are default plugins implementing `publish_subcommand`.
"""
