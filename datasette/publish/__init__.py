"""`datasette publish` (Cloud Run, Heroku, and plugin targets) and `datasette package`.

`common` holds the options every target shares and `register(cli)`, which adds both
commands to the CLI; `cloudrun` and `heroku` are default plugins implementing
`publish_subcommand`.
"""
