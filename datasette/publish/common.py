"""What every publish target shares, and the `publish` group and `package` command.

`register(cli)` adds both commands to a click group: the `publish` group is built fresh
each time and handed to the `publish_subcommand` hook, so calling it again simply
replaces the earlier commands. `package` runs `docker build` through `datasette.cli.call`,
looked up when the command runs, because tests patch that name.
"""

from __future__ import annotations

import secrets
import shutil
import sys
from typing import Any, Callable, Iterable, List, Optional, Tuple

import click

from datasette.utils.files import StaticMount, temporary_docker_directory

__all__ = [
    "add_common_publish_arguments_and_options",
    "fail_if_publish_binary_not_installed",
    "validate_plugin_secret",
    "plugin_secret_settings",
    "extra_metadata_from_options",
    "package",
    "register",
]

PUBLISH_SECRET_ENVVAR = "DATASETTE_PUBLISH_SECRET"
BRANCH_ARCHIVE_URL = "https://github.com/simonw/datasette/archive/{}.zip"

# The metadata options, in the order they are listed in --help.
METADATA_OPTIONS = (
    "title",
    "license",
    "license_url",
    "source",
    "source_url",
    "about",
    "about_url",
)


def _random_secret() -> str:
    return secrets.token_hex(32)


def validate_plugin_secret(ctx: Any, param: Any, value: Any) -> Any:
    """Click callback: refuse a `--plugin-secret` triple holding a single quote.

    The value ends up inside single quotes in a Dockerfile `ENV` line, and the plugin
    and setting names make up the environment variable name, so none may contain one.
    """
    for triple in value or ():
        if any("'" in part for part in triple):
            raise click.BadParameter("--plugin-secret cannot contain single quotes")
    return value


def _shared_decorators(include_plugin_secret: bool = True) -> List[Callable]:
    """The shared argument and options, first one listed first in --help."""
    decorators: List[Callable] = [
        click.argument("files", type=click.Path(exists=True), nargs=-1),
        click.option(
            "-m",
            "--metadata",
            type=click.File(mode="r"),
            help="Path to a JSON or YAML metadata file to deploy with",
        ),
        click.option(
            "--extra-options", help="Extra options appended to the datasette serve command"
        ),
        click.option("--branch", help="Install Datasette from this GitHub branch instead of PyPI"),
        click.option(
            "--template-dir",
            type=click.Path(exists=True, file_okay=False, dir_okay=True),
            help="Folder of custom templates to deploy",
        ),
        click.option(
            "--plugins-dir",
            type=click.Path(exists=True, file_okay=False, dir_okay=True),
            help="Folder of plugin .py files to deploy",
        ),
        click.option(
            "--static",
            type=StaticMount(),
            multiple=True,
            help="Static folder to deploy and serve, as MOUNT:DIRECTORY",
        ),
        click.option(
            "--install",
            multiple=True,
            help="Extra Python package to install (repeatable)",
        ),
    ]
    if include_plugin_secret:
        decorators.append(
            click.option(
                "--plugin-secret",
                nargs=3,
                type=(str, str, str),
                multiple=True,
                callback=validate_plugin_secret,
                help="A secret plugin setting, as PLUGIN SETTING VALUE: deployed as an "
                "environment variable and referenced from metadata",
            )
        )
    decorators += [
        click.option("--version-note", help="Note shown on /-/versions"),
        click.option(
            "--secret",
            envvar=PUBLISH_SECRET_ENVVAR,
            default=_random_secret,
            show_default="random",
            help="Secret used for signing cookies and tokens (also read from {})".format(
                PUBLISH_SECRET_ENVVAR
            ),
        ),
        click.option("--title", help="Title for metadata"),
        click.option("--license", help="License label for metadata"),
        click.option("--license_url", help="License URL for metadata"),
        click.option("--source", help="Source label for metadata"),
        click.option("--source_url", help="Source URL for metadata"),
        click.option("--about", help="About label for metadata"),
        click.option("--about_url", help="About URL for metadata"),
    ]
    return decorators


def _apply(decorators: Iterable[Callable], command: Callable) -> Callable:
    # click lists parameters in the order their decorators run last-to-first
    for decorator in reversed(list(decorators)):
        command = decorator(command)
    return command


def add_common_publish_arguments_and_options(subcommand: Callable) -> Callable:
    """Decorator adding `FILES` and every shared publish option to a publish subcommand.

    The command function receives `files, metadata, extra_options, branch,
    template_dir, plugins_dir, static, install, plugin_secret, version_note, secret,
    title, license, license_url, source, source_url, about, about_url`. `metadata` is an
    open file (or None), `static` a tuple of `(mount, absolute_dir)` pairs and
    `plugin_secret` a tuple of `(plugin, setting, value)` triples.
    """
    return _apply(_shared_decorators(include_plugin_secret=True), subcommand)


def fail_if_publish_binary_not_installed(
    binary: str, publish_target: str, install_link: str
) -> None:
    """Exit 1 with a two-line explanation on stderr when `binary` is not on PATH."""
    if shutil.which(binary):
        return
    click.secho(
        "Publishing to {} requires {} to be installed and configured".format(
            publish_target, binary
        ),
        bg="red",
        fg="white",
        bold=True,
        err=True,
    )
    click.echo("Follow the instructions at {}".format(install_link), err=True)
    sys.exit(1)


def plugin_secret_env_var(plugin: str, setting: str) -> str:
    """`datasette-auth-github`, `client_id` -> `DATASETTE_AUTH_GITHUB_CLIENT_ID`."""
    return "{}_{}".format(plugin, setting).upper().replace("-", "_")


def plugin_secret_settings(
    plugin_secret: Optional[Iterable[Tuple[str, str, str]]],
) -> Tuple[dict, dict]:
    """`(environment_variables, plugins_metadata)` for the `--plugin-secret` triples.

    Each value goes into an environment variable; the metadata refers to it as
    `plugins.<plugin>.<setting> = {"$env": VAR}`.
    """
    environment: dict = {}
    plugins: dict = {}
    for plugin, setting, value in plugin_secret or ():
        var = plugin_secret_env_var(plugin, setting)
        environment[var] = value
        plugins.setdefault(plugin, {})[setting] = {"$env": var}
    return environment, plugins


def extra_metadata_from_options(**options: Any) -> dict:
    """The metadata keys given on the command line (title, license, ...), Nones dropped."""
    return {key: options.get(key) for key in METADATA_OPTIONS if options.get(key) is not None}


def install_requirements(branch: Optional[str], install: Iterable[str]) -> List[str]:
    """What pip must install: this package (or the branch archive), then `install`."""
    first = BRANCH_ARCHIVE_URL.format(branch) if branch else "datasette"
    return [first, *list(install or ())]


# ---------------------------------------------------------------------------
# package


def _docker_call(args: List[str]) -> Any:
    """Run `args` through `datasette.cli.call` (patched by tests), else subprocess."""
    cli_module = sys.modules.get("datasette.cli")
    runner = getattr(cli_module, "call", None)
    if runner is None:
        from subprocess import call as runner
    return runner(args)


def _package(
    files: tuple,
    tag: Optional[str],
    port: int,
    spatialite: bool,
    metadata: Any,
    extra_options: Optional[str],
    branch: Optional[str],
    template_dir: Optional[str],
    plugins_dir: Optional[str],
    static: tuple,
    install: tuple,
    version_note: Optional[str],
    secret: str,
    **metadata_options: Any,
) -> None:
    """Package SQLite files into a Datasette Docker container"""
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
        files,
        "datasette",
        metadata=metadata,
        extra_options=extra_options,
        branch=branch,
        template_dir=template_dir,
        plugins_dir=plugins_dir,
        static=static,
        install=install,
        spatialite=spatialite,
        version_note=version_note,
        secret=secret,
        extra_metadata=extra_metadata_from_options(**metadata_options),
        port=port,
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
        _apply(
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
            _apply(_shared_decorators(include_plugin_secret=False), _package),
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
    from datasette.plugins import pm

    @click.group()
    def publish() -> None:
        """Publish SQLite databases to the internet with a Datasette interface and API"""

    pm.hook.publish_subcommand(publish=publish)
    cli.add_command(publish, name="publish")
    cli.add_command(package, name="package")
    return publish, package
