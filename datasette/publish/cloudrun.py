"""`datasette publish cloudrun`: build an image with Cloud Build and deploy it to Cloud Run.

`check_output`, `check_call` and `get_existing_services` are module globals, looked up
when the command runs, so tests can patch them here.
"""

from __future__ import annotations

import json
import os
import re
import sys
from subprocess import CalledProcessError
from subprocess import check_call, check_output  # noqa: F401 - patched by tests
from typing import Any, List, Optional

import click

from datasette import hookimpl
from datasette.utils.files import temporary_docker_directory

from .common import (
    add_common_publish_arguments_and_options,
    extra_metadata_from_options,
    fail_if_publish_binary_not_installed,
    plugin_secret_settings,
)

GCLOUD_INSTALL_URL = "https://cloud.google.com/sdk/"
MEMORY_RE = re.compile(r"^\d+(Gi|G|Mi|M)$")


def _text(output: Any) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8")
    return str(output)


def get_existing_services() -> List[dict]:
    """The account's managed Cloud Run services as `{"name", "created", "url"}` dicts."""
    raw = check_output(
        "gcloud run services list --platform=managed --format json",
        shell=True,
        universal_newlines=True,
    )
    services = json.loads(_text(raw) or "[]")
    result = []
    for service in services:
        metadata = service.get("metadata") or {}
        address = (service.get("status") or {}).get("address") or {}
        result.append(
            {
                "name": metadata.get("name"),
                "created": metadata.get("creationTimestamp"),
                "url": address.get("url"),
            }
        )
    return result


def _run(command: str) -> None:
    """`check_call` a shell command; a failure exits with its code (gcloud explains)."""
    try:
        check_call(command, shell=True)
    except CalledProcessError as e:
        sys.exit(e.returncode or 1)


def validate_memory(ctx: Any, param: Any, value: Optional[str]) -> Optional[str]:
    """Click callback: `--memory` must look like 512Mi, 1Gi, 2G or 256M."""
    if value is not None and not MEMORY_RE.match(value):
        raise click.BadParameter("--memory should be a number then Gi, G, Mi or M")
    return value


def _ask_for_service() -> str:
    """List the existing services, then prompt for the one to deploy to."""
    click.echo("No --service was given: enter the Cloud Run service to deploy to.")
    click.echo("Picking the name of an existing service replaces that service.")
    services = get_existing_services()
    if services:
        click.echo("")
        click.echo("Existing services:")
        click.echo("")
        for service in services:
            click.echo(
                "  {} - created {} - {}".format(service["name"], service["created"], service["url"])
            )
    click.echo("")
    return click.prompt("Service name", type=str).strip()


def _show_files() -> None:
    """Print the generated metadata.json (if any) and Dockerfile from the build dir."""
    if os.path.exists("metadata.json"):
        click.echo("--- metadata.json ---")
        with open("metadata.json") as fp:
            click.echo(fp.read())
        click.echo("")
    click.echo("--- Dockerfile ---")
    with open("Dockerfile") as fp:
        click.echo(fp.read())
    click.echo("---")


def deploy_options(
    memory: Optional[str],
    cpu: Optional[str],
    timeout: Optional[int],
    min_instances: Optional[int],
    max_instances: Optional[int],
) -> List[str]:
    """The sizing flags for `gcloud run deploy`, in a fixed order."""
    flags = []
    for flag, value in (
        ("--memory", memory),
        ("--cpu", cpu),
        ("--timeout", timeout),
        ("--min-instances", min_instances),
        ("--max-instances", max_instances),
    ):
        if value is not None:
            flags.append("{} {}".format(flag, value))
    return flags


@hookimpl
def publish_subcommand(publish: click.Group) -> None:
    @publish.command()
    @add_common_publish_arguments_and_options
    @click.option(
        "-n",
        "--name",
        default="datasette",
        show_default=True,
        help="Application name used for the build directory",
    )
    @click.option("--service", default="", help="Cloud Run service to deploy (or replace)")
    @click.option("--spatialite", is_flag=True, help="Enable the SpatiaLite extension")
    @click.option(
        "--show-files",
        is_flag=True,
        help="Print the generated Dockerfile and metadata.json before deploying",
    )
    @click.option(
        "--memory",
        callback=validate_memory,
        help="Memory for each Cloud Run instance, e.g. 2Gi",
    )
    @click.option(
        "--cpu",
        type=click.Choice(["1", "2", "4"]),
        help="Number of vCPUs for each Cloud Run instance",
    )
    @click.option("--timeout", type=int, help="Request timeout in seconds")
    @click.option(
        "--apt-get-install",
        "apt_get_extras",
        multiple=True,
        help="Extra Debian package to install in the image (repeatable)",
    )
    @click.option("--max-instances", type=int, help="Maximum number of Cloud Run instances")
    @click.option("--min-instances", type=int, help="Minimum number of Cloud Run instances")
    def cloudrun(
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
        service,
        spatialite,
        show_files,
        memory,
        cpu,
        timeout,
        apt_get_extras,
        max_instances,
        min_instances,
        **metadata_options,
    ):
        """Publish databases to Datasette running on Google Cloud Run"""
        fail_if_publish_binary_not_installed("gcloud", "Google Cloud", GCLOUD_INSTALL_URL)
        try:
            project = _text(
                check_output(
                    "gcloud config get-value project",
                    shell=True,
                    universal_newlines=True,
                )
            ).strip()
        except CalledProcessError as e:
            sys.exit(e.returncode or 1)
        if not project or project == "(unset)":
            raise click.ClickException(
                "No Google Cloud project is configured: run "
                "'gcloud config set project PROJECT' first"
            )

        if not service:
            service = _ask_for_service()
            if not service:
                raise click.ClickException("A service name is required")

        environment_variables, secret_plugins = plugin_secret_settings(plugin_secret)
        extra_metadata = extra_metadata_from_options(**metadata_options)
        if secret_plugins:
            extra_metadata["plugins"] = secret_plugins

        if "force_https_urls" not in (extra_options or ""):
            extra_options = " ".join(
                part
                for part in ((extra_options or "").strip(), "--setting force_https_urls on")
                if part
            )

        image = "gcr.io/{}/datasette-{}".format(project, service)
        with temporary_docker_directory(
            files,
            name,
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
            extra_metadata=extra_metadata,
            environment_variables=environment_variables,
            apt_get_extras=apt_get_extras,
        ):
            if show_files:
                _show_files()
            _run("gcloud builds submit --tag {}".format(image))
        deploy = [
            "gcloud run deploy --allow-unauthenticated --platform=managed",
            "--image {} {}".format(image, service),
            *deploy_options(memory, cpu, timeout, min_instances, max_instances),
        ]
        _run(" ".join(deploy))
