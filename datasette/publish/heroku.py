"""`datasette publish heroku`: deploy the files to a Heroku app with `heroku builds:create`.

`check_output` and `call` are module globals, looked up when the command runs, so tests
can patch them here.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from contextlib import contextmanager
from functools import partial
from subprocess import CalledProcessError
from subprocess import call, check_output  # noqa: F401 - patched by tests
from typing import Any, Iterable, Iterator, List, Optional

import click

from datasette.hookspecs import hookimpl
from datasette.utils.files import deployed_serve_options, deployment_directory

from .options import (
    PublishOptions,
    add_common_publish_arguments_and_options,
    apply_options,
    fail_if_publish_binary_not_installed,
    install_requirements,
    output_text,
)

HEROKU_INSTALL_URL = "https://devcenter.heroku.com/articles/heroku-cli"
PYTHON_RUNTIME = "python-3.11.0"


def procfile_command(
    file_names: Iterable[str],
    metadata_file: Optional[str],
    extra_options: Optional[str],
    template_dir: Optional[str],
    plugins_dir: Optional[str],
    static: Optional[Iterable[tuple]],
    version_note: Optional[str],
) -> str:
    """The `web:` line: serve every file immutably on Heroku's `$PORT`."""
    serve = ["datasette", "serve", "--host", "0.0.0.0"]
    for filename in file_names:
        serve += ["-i", filename]
    serve.append("--cors")
    head = " ".join(shlex.quote(part) for part in serve)
    tail = ["--inspect-file", "inspect-data.json"] + deployed_serve_options(
        metadata_file, template_dir, plugins_dir, version_note, static, extra_options
    )
    # $PORT stays unquoted so the dyno's shell expands it
    return "web: {} --port $PORT {}".format(head, " ".join(shlex.quote(part) for part in tail))


@contextmanager
def temporary_heroku_directory(
    options: PublishOptions, name: str, extra_metadata: Optional[dict] = None
) -> Iterator[str]:
    """A temporary app directory `<tmp>/<name>` for a Heroku Python build.

    It holds the database files (linked or copied), `metadata.json` (the `--metadata`
    file merged with `extra_metadata`, only when non-empty), `runtime.txt`,
    `requirements.txt`, `bin/post_compile` (runs `datasette inspect` at build time),
    `Procfile`, and copies of the template, plugins and static folders. The working
    directory is the app directory while the context is open.
    """
    with deployment_directory(
        list(options.files),
        name,
        options.metadata,
        extra_metadata,
        options.template_dir,
        options.plugins_dir,
        options.static,
        partial(_write_build_files, options),
    ) as app_dir:
        yield app_dir


def _write_build_files(options: PublishOptions, file_names: List[str], has_metadata: bool) -> None:
    """`runtime.txt`, `requirements.txt`, `bin/post_compile` and `Procfile`, here."""
    with open("runtime.txt", "w") as fp:
        fp.write(PYTHON_RUNTIME)
    with open("requirements.txt", "w") as fp:
        fp.write("\n".join(install_requirements(options.branch, options.install)) + "\n")
    os.mkdir("bin")
    with open(os.path.join("bin", "post_compile"), "w") as fp:
        fp.write(
            "#!/usr/bin/env bash\n"
            "datasette inspect {} --inspect-file inspect-data.json\n".format(
                " ".join(shlex.quote(f) for f in file_names)
            )
        )
    os.chmod(os.path.join("bin", "post_compile"), 0o755)
    procfile = procfile_command(
        file_names,
        "metadata.json" if has_metadata else None,
        options.extra_options,
        options.template_dir,
        options.plugins_dir,
        options.static,
        options.version_note,
    )
    with open("Procfile", "w") as fp:
        fp.write(procfile + "\n")


def _run(command: list) -> None:
    """`call` a heroku command; a non-zero exit code ends the publish with that code."""
    returncode = call(command)
    if isinstance(returncode, int) and returncode != 0:
        sys.exit(returncode)


def _ensure_builds_plugin() -> None:
    """`heroku builds:create` comes from the heroku-builds plugin: offer to install it."""
    if "heroku-builds" in output_text(check_output(["heroku", "plugins"])):
        return
    click.echo(
        "Publishing to Heroku needs the heroku-builds plugin for the heroku CLI.",
        err=True,
    )
    if click.confirm("Install it now with 'heroku plugins:install heroku-builds'?"):
        call(["heroku", "plugins:install", "heroku-builds"])
    else:
        click.echo("Install it with: heroku plugins:install heroku-builds", err=True)
        sys.exit(1)


def _app_name(name: Optional[str]) -> str:
    """Reuse the app called `name` if this account has one, else create an app."""
    if name:
        apps = json.loads(output_text(check_output(["heroku", "apps:list", "--json"])) or "[]")
        if any(app.get("name") == name for app in apps):
            return name
    command = ["heroku", "apps:create"]
    if name:
        command.append(name)
    command.append("--json")
    return json.loads(output_text(check_output(command)))["name"]


HEROKU_OPTIONS = [
    click.option(
        "-n",
        "--name",
        default="datasette",
        show_default=True,
        help="Heroku app to deploy to: reused if it exists, created otherwise",
    ),
    click.option("--tar", help="tar program for heroku builds:create, e.g. gtar"),
    click.option(
        "--generate-dir",
        type=click.Path(file_okay=False, dir_okay=True),
        help="Write the generated app files to this new directory and stop",
    ),
]


def _heroku(name: str, tar: Optional[str], generate_dir: Optional[str], **flags: Any) -> None:
    """Publish databases to Datasette running on Heroku"""
    options = PublishOptions.take(flags)
    if generate_dir:
        generate_dir = os.path.abspath(generate_dir)
        if os.path.exists(generate_dir):
            raise click.ClickException("Directory already exists")
    else:
        fail_if_publish_binary_not_installed("heroku", "Heroku", HEROKU_INSTALL_URL)
        _ensure_builds_plugin()
    secret_env, extra_metadata = options.secrets_and_metadata()
    # The server runs one worker; the secret signs cookies and tokens.
    environment_variables = {
        "DATASETTE_SECRET": options.secret,
        "WEB_CONCURRENCY": "1",
        **secret_env,
    }
    with temporary_heroku_directory(
        options, name or "datasette", extra_metadata=extra_metadata
    ) as app_dir:
        if generate_dir:
            _write_generated_files(app_dir, generate_dir, environment_variables)
        else:
            _deploy(name, tar, environment_variables)


def _write_generated_files(app_dir: str, generate_dir: str, environment_variables: dict) -> None:
    """`--generate-dir`: copy the app directory out and say which config vars to set."""
    shutil.copytree(app_dir, generate_dir)
    click.echo(
        "Generated files written to {}; nothing was deployed.".format(generate_dir),
        err=True,
    )
    click.echo(
        "Set these config vars on the app: {}".format(", ".join(environment_variables)),
        err=True,
    )


def _deploy(name: str, tar: Optional[str], environment_variables: dict) -> None:
    """Set the config vars on the app, then build it from the working directory."""
    try:
        app_name = _app_name(name)
    except CalledProcessError as e:
        sys.exit(e.returncode or 1)
    for key, value in environment_variables.items():
        _run(["heroku", "config:set", "-a", app_name, "{}={}".format(key, value)])
    build = ["heroku", "builds:create", "-a", app_name, "--include-vcs-ignore"]
    if tar:
        build += ["--tar", tar]
    _run(build)


# Built once: the publish group is rebuilt on each `register`, the command is not.
heroku = click.command(name="heroku")(
    add_common_publish_arguments_and_options(apply_options(HEROKU_OPTIONS, _heroku))
)


@hookimpl
def publish_subcommand(publish: click.Group) -> None:
    """Add `heroku` to the `publish` group."""
    publish.add_command(heroku)
