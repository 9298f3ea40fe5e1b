"""What every publish target shares: the common options, and helpers for using them.

Targets (the built-in `cloudrun` and `heroku`, and plugins through `datasette.publish.common`)
decorate their command with `add_common_publish_arguments_and_options` and gather the
values with `PublishOptions.take`. This module imports no plugin machinery, so the default
publish plugins can import it while the plugin manager loads them.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import sys
from typing import Any, Callable, Iterable, List, Optional, Tuple

import click

from datasette.utils.files import StaticMount

__all__ = [
    "add_common_publish_arguments_and_options",
    "apply_options",
    "PublishOptions",
    "fail_if_publish_binary_not_installed",
    "validate_plugin_secret",
    "plugin_secret_env_var",
    "plugin_secret_settings",
    "extra_metadata_from_options",
    "install_requirements",
    "output_text",
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


def validate_plugin_secret(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Click callback: refuse a `--plugin-secret` triple holding a single quote.

    The value ends up inside single quotes in a Dockerfile `ENV` line, and the plugin
    and setting names make up the environment variable name, so none may contain one.
    """
    for triple in value or ():
        if any("'" in part for part in triple):
            raise click.BadParameter("--plugin-secret cannot contain single quotes")
    return value


def shared_decorators(include_plugin_secret: bool = True) -> List[Callable]:
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


def apply_options(decorators: Iterable[Callable], command: Callable) -> Callable:
    """Apply click decorators so the first in `decorators` is the first listed in --help."""
    # click lists parameters in the reverse of the order their decorators ran
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
    return apply_options(shared_decorators(include_plugin_secret=True), subcommand)


# The shared options other than the metadata ones, in the order the command receives them.
SHARED_OPTIONS = (
    "files",
    "metadata",
    "extra_options",
    "branch",
    "template_dir",
    "plugins_dir",
    "static",
    "install",
    "plugin_secret",
    "version_note",
    "secret",
)


@dataclasses.dataclass
class PublishOptions:
    """The shared publish options of one command run, as click parsed them.

    `metadata_options` holds the `--title`, `--license`... values by parameter name.
    """

    files: tuple = ()
    metadata: Any = None
    extra_options: Optional[str] = None
    branch: Optional[str] = None
    template_dir: Optional[str] = None
    plugins_dir: Optional[str] = None
    static: tuple = ()
    install: tuple = ()
    plugin_secret: tuple = ()
    version_note: Optional[str] = None
    secret: str = ""
    metadata_options: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def take(cls, flags: dict) -> "PublishOptions":
        """Remove the shared options from a command's keyword arguments into a new object."""
        shared = {name: flags.pop(name) for name in SHARED_OPTIONS if name in flags}
        metadata_options = {name: flags.pop(name) for name in METADATA_OPTIONS if name in flags}
        return cls(**shared, metadata_options=metadata_options)

    def secrets_and_metadata(self) -> Tuple[dict, dict]:
        """`(environment variables, extra metadata)`: the metadata options plus the
        `--plugin-secret` references (see `plugin_secret_settings`)."""
        environment, secret_plugins = plugin_secret_settings(self.plugin_secret)
        extra_metadata = extra_metadata_from_options(**self.metadata_options)
        if secret_plugins:
            extra_metadata["plugins"] = secret_plugins
        return environment, extra_metadata

    def build_directory_options(self) -> dict:
        """Keyword arguments every build directory (Docker or Heroku) takes from these."""
        return dict(
            metadata=self.metadata,
            extra_options=self.extra_options,
            branch=self.branch,
            template_dir=self.template_dir,
            plugins_dir=self.plugins_dir,
            static=self.static,
            install=self.install,
            version_note=self.version_note,
        )


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


def output_text(output: Any) -> str:
    """What `check_output` returned, as text whether it gave bytes or str."""
    if isinstance(output, bytes):
        return output.decode("utf-8")
    return str(output)


def install_requirements(branch: Optional[str], install: Iterable[str]) -> List[str]:
    """What pip must install: this package (or the branch archive), then `install`."""
    first = BRANCH_ARCHIVE_URL.format(branch) if branch else "datasette"
    return [first, *list(install or ())]
