"""Test plugin: hooks that extend the command line.

register_commands and publish_subcommand run when `datasette.cli` is imported, so this
plugin must be registered before that import (tests re-import the module to do so).
"""

import click

from datasette import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command(name="hooks-hello")
    @click.argument("name")
    @click.option("--shout", is_flag=True, help="Upper-case the greeting")
    def hooks_hello(name, shout):
        """Say hello from the hooks_cli test plugin"""
        message = "Hello {} from hooks_cli".format(name)
        click.echo(message.upper() if shout else message)


@hookimpl
def publish_subcommand(publish):
    @publish.command(name="hooks-target")
    @click.argument("files", nargs=-1)
    @click.option("--service", default="hooks-service")
    def hooks_target(files, service):
        """Publish to the pretend target of the hooks_cli test plugin"""
        click.echo("would publish {} to {}".format(", ".join(files), service))
