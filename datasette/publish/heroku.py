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
import tempfile
from contextlib import contextmanager
from subprocess import CalledProcessError
from subprocess import call, check_output  # noqa: F401 - patched by tests
from typing import Any, Iterable, Iterator, Optional

import click

from datasette import hookimpl
from datasette.utils.files import (
    copy_deployment_files,
    deployed_serve_options,
    publish_metadata,
)

from .common import (
    add_common_publish_arguments_and_options,
    extra_metadata_from_options,
    fail_if_publish_binary_not_installed,
    install_requirements,
    plugin_secret_settings,
)

HEROKU_INSTALL_URL = "https://devcenter.heroku.com/articles/heroku-cli"
PYTHON_RUNTIME = "python-3.11.0"


def _text(output: Any) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8")
    return str(output)


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
    files: Iterable[str],
    name: str,
    metadata: Any,
    extra_options: Optional[str],
    branch: Optional[str],
    template_dir: Optional[str],
    plugins_dir: Optional[str],
    static: Optional[Iterable[tuple]],
    install: Iterable[str],
    version_note: Optional[str],
    extra_metadata: Optional[dict] = None,
) -> Iterator[str]:
    """A temporary app directory `<tmp>/<name>` for a Heroku Python build.

    It holds the database files (linked or copied), `metadata.json` (the `metadata`
    file merged with `extra_metadata`, only when non-empty), `runtime.txt`,
    `requirements.txt`, `bin/post_compile` (runs `datasette inspect` at build time),
    `Procfile`, and copies of the template, plugins and static folders. The working
    directory is the app directory while the context is open.
    """
    files = list(files)
    saved_cwd = os.getcwd()
    tmp = tempfile.TemporaryDirectory()
    try:
        app_dir = os.path.join(tmp.name, name)
        os.mkdir(app_dir)
        sources = [os.path.join(saved_cwd, path) for path in files]
        file_names = [os.path.basename(path) for path in files]
        metadata_content = publish_metadata(metadata, extra_metadata)
        os.chdir(app_dir)
        if metadata_content:
            with open("metadata.json", "w") as fp:
                fp.write(json.dumps(metadata_content, indent=2))
        with open("runtime.txt", "w") as fp:
            fp.write(PYTHON_RUNTIME)
        with open("requirements.txt", "w") as fp:
            fp.write("\n".join(install_requirements(branch, install)) + "\n")
        os.mkdir("bin")
        with open(os.path.join("bin", "post_compile"), "w") as fp:
            fp.write(
                "#!/usr/bin/env bash\n"
                "datasette inspect {} --inspect-file inspect-data.json\n".format(
                    " ".join(shlex.quote(f) for f in file_names)
                )
            )
        os.chmod(os.path.join("bin", "post_compile"), 0o755)
        with open("Procfile", "w") as fp:
            fp.write(
                procfile_command(
                    file_names,
                    "metadata.json" if metadata_content else None,
                    extra_options,
                    template_dir,
                    plugins_dir,
                    static,
                    version_note,
                )
                + "\n"
            )
        copy_deployment_files(
            saved_cwd, app_dir, sources, file_names, template_dir, plugins_dir, static
        )
        yield app_dir
    finally:
        os.chdir(saved_cwd)
        tmp.cleanup()


def _run(command: list) -> None:
    """`call` a heroku command; a non-zero exit code ends the publish with that code."""
    returncode = call(command)
    if isinstance(returncode, int) and returncode != 0:
        sys.exit(returncode)


def _ensure_builds_plugin() -> None:
    """`heroku builds:create` comes from the heroku-builds plugin: offer to install it."""
    if "heroku-builds" in _text(check_output(["heroku", "plugins"])):
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
        apps = json.loads(_text(check_output(["heroku", "apps:list", "--json"])) or "[]")
        if any(app.get("name") == name for app in apps):
            return name
    command = ["heroku", "apps:create"]
    if name:
        command.append(name)
    command.append("--json")
    return json.loads(_text(check_output(command)))["name"]


@hookimpl
def publish_subcommand(publish: click.Group) -> None:
    @publish.command()
    @add_common_publish_arguments_and_options
    @click.option(
        "-n",
        "--name",
        default="datasette",
        show_default=True,
        help="Heroku app to deploy to: reused if it exists, created otherwise",
    )
    @click.option("--tar", help="tar program for heroku builds:create, e.g. gtar")
    @click.option(
        "--generate-dir",
        type=click.Path(file_okay=False, dir_okay=True),
        help="Write the generated app files to this new directory and stop",
    )
    def heroku(
        files,
        metadata,
        extra_options,
        branch,
        template_dir,
        plugins_dir,
        static,
        install,
        plugin_secret,
        version_note,
        secret,
        name,
        tar,
        generate_dir,
        **metadata_options,
    ):
        """Publish databases to Datasette running on Heroku"""
        if generate_dir:
            generate_dir = os.path.abspath(generate_dir)
            if os.path.exists(generate_dir):
                raise click.ClickException("Directory already exists")
        else:
            fail_if_publish_binary_not_installed("heroku", "Heroku", HEROKU_INSTALL_URL)
            _ensure_builds_plugin()

        secret_env, secret_plugins = plugin_secret_settings(plugin_secret)
        extra_metadata = extra_metadata_from_options(**metadata_options)
        if secret_plugins:
            extra_metadata["plugins"] = secret_plugins
        # The server runs one worker; the secret signs cookies and tokens.
        environment_variables = {
            "DATASETTE_SECRET": secret,
            "WEB_CONCURRENCY": "1",
            **secret_env,
        }

        with temporary_heroku_directory(
            files,
            name or "datasette",
            metadata=metadata,
            extra_options=extra_options,
            branch=branch,
            template_dir=template_dir,
            plugins_dir=plugins_dir,
            static=static,
            install=install,
            version_note=version_note,
            extra_metadata=extra_metadata,
        ) as app_dir:
            if generate_dir:
                shutil.copytree(app_dir, generate_dir)
                click.echo(
                    "Generated files written to {}; nothing was deployed.".format(generate_dir),
                    err=True,
                )
                click.echo(
                    "Set these config vars on the app: {}".format(", ".join(environment_variables)),
                    err=True,
                )
                return
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
