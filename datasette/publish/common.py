"""The `publish` group and the `package` command; the door plugins import publish helpers from.

`register(cli)` adds both commands to a click group: the `publish` group is built fresh
each time and handed to the `publish_subcommand` hook, so calling it again simply
replaces the earlier commands. `package` runs `docker build` through `datasette.cli.call`,
looked up when the command runs, because tests patch that name. The shared options live
in `options.py` and are re-exported here, where publish plugins have always found them.
"""

from __future__ import annotations

import shutil
import sys
from subprocess import call as subprocess_call
from typing import Any, List, Optional, Tuple

import click

from datasette.plugins import pm
from datasette.utils.files import temporary_docker_directory

from .options import (  # noqa: F401 - re-exported for publish plugins
    METADATA_OPTIONS,
    PUBLISH_SECRET_ENVVAR,
    PublishOptions,
    add_common_publish_arguments_and_options,
    apply_options,
    extra_metadata_from_options,
    fail_if_publish_binary_not_installed,
    install_requirements,
    plugin_secret_env_var,
    plugin_secret_settings,
    shared_decorators,
    validate_plugin_secret,
)

__all__ = [
    "add_common_publish_arguments_and_options",
    "fail_if_publish_binary_not_installed",
    "validate_plugin_secret",
    "plugin_secret_settings",
    "extra_metadata_from_options",
    "package",
    "register",
]


# ---------------------------------------------------------------------------
# package


def _docker_call(args: List[str]) -> Any:
    """Run `args` through `datasette.cli.call` (patched by tests), else subprocess."""
    cli_module = sys.modules.get("datasette.cli")
    runner = getattr(cli_module, "call", None) or subprocess_call
    return runner(args)


def _package(tag: Optional[str], port: int, spatialite: bool, **flags: Any) -> None:
    """Package SQLite files into a Datasette Docker container"""
    options = PublishOptions.take(flags)
    if not shutil.which("docker"):
        click.secho(
            ' The package command requires "docker" to be installed and configured ',
            bg="red",
            fg="white",
            bold=True,
            err=True,
        )
        sys.exit(1)
    with temporary_docker_directory(
        options.files,
        "datasette",
        spatialite=spatialite,
        secret=options.secret,
        extra_metadata=extra_metadata_from_options(**options.metadata_options),
        port=port,
        **options.build_directory_options(),
    ):
        args = ["docker", "build"]
        if tag:
            args += ["-t", tag]
        args.append(".")
        returncode = _docker_call(args)
    if isinstance(returncode, int) and returncode != 0:
        sys.exit(returncode)


def _make_package_command() -> click.Command:
    return click.command(name="package")(
        apply_options(
            [
                click.option(
                    "-t",
                    "--tag",
                    help="Name for the built Docker image, optionally as name:tag",
                ),
                click.option(
                    "-p",
                    "--port",
                    type=click.IntRange(1, 65535),
                    default=8001,
                    show_default=True,
                    help="Port the container serves on",
                ),
                click.option("--spatialite", is_flag=True, help="Enable the SpatiaLite extension"),
            ],
            apply_options(shared_decorators(include_plugin_secret=False), _package),
        )
    )


package = _make_package_command()


# ---------------------------------------------------------------------------
# registration


def register(cli: click.Group) -> Tuple[click.Group, click.Command]:
    """Add the `publish` group (filled by the `publish_subcommand` hook) and `package`.

    Safe to call more than once, on the same or different groups: each call builds a
    new `publish` group, replacing any earlier one. Returns `(publish, package)`.
    """
    @click.group()
    def publish() -> None:
        """Publish SQLite databases to the internet with a Datasette interface and API"""

    pm.hook.publish_subcommand(publish=publish)
    cli.add_command(publish, name="publish")
    cli.add_command(package, name="package")
    return publish, package
