"""`datasette publish cloudrun`: build an image with Cloud Build and deploy it to Cloud Run.

`check_output`, `check_call` and `get_existing_services` are module globals, looked up
when the command runs, so tests can patch them here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from subprocess import CalledProcessError
from subprocess import check_call, check_output  # noqa: F401 - patched by tests
from typing import Any, List, Optional

import click

from datasette.hookspecs import hookimpl
from datasette.utils.files import temporary_docker_directory

from .options import (
    PublishOptions,
    add_common_publish_arguments_and_options,
    apply_options,
    fail_if_publish_binary_not_installed,
    output_text,
)

GCLOUD_INSTALL_URL = "https://cloud.google.com/sdk/"
MEMORY_RE = re.compile(r"^\d+(Gi|G|Mi|M)$")


def get_existing_services() -> List[dict]:
    """The account's managed Cloud Run services as `{"name", "created", "url"}` dicts."""
    raw = check_output(
        "gcloud run services list --platform=managed --format json",
        shell=True,
        universal_newlines=True,
    )
    services = json.loads(output_text(raw) or "[]")
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


def validate_memory(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
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
        click.echo("=== metadata.json ===\n")
        with open("metadata.json") as fp:
            click.echo(fp.read())
    click.echo("\n=== Dockerfile ===\n")
    with open("Dockerfile") as fp:
        click.echo(fp.read())
    click.echo("\n==================\n")


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


def _gcloud_project() -> str:
    """The configured Google Cloud project; exit 1 with advice when there is none."""
    try:
        project = output_text(
            check_output("gcloud config get-value project", shell=True, universal_newlines=True)
        ).strip()
    except CalledProcessError as e:
        sys.exit(e.returncode or 1)
    if not project or project == "(unset)":
        raise click.ClickException(
            "No Google Cloud project is configured: run "
            "'gcloud config set project PROJECT' first"
        )
    return project


def _with_https_urls(extra_options: Optional[str]) -> str:
    """Cloud Run serves over https behind a proxy: add `force_https_urls` unless given."""
    if "force_https_urls" in (extra_options or ""):
        return extra_options or ""
    return " ".join(
        part for part in ((extra_options or "").strip(), "--setting force_https_urls on") if part
    )


CLOUDRUN_OPTIONS = [
    click.option(
        "-n",
        "--name",
        default="datasette",
        show_default=True,
        help="Application name used for the build directory",
    ),
    click.option("--service", default="", help="Cloud Run service to deploy (or replace)"),
    click.option("--spatialite", is_flag=True, help="Enable the SpatiaLite extension"),
    click.option(
        "--show-files",
        is_flag=True,
        help="Print the generated Dockerfile and metadata.json before deploying",
    ),
    click.option(
        "--memory",
        callback=validate_memory,
        help="Memory for each Cloud Run instance, e.g. 2Gi",
    ),
    click.option(
        "--cpu",
        type=click.Choice(["1", "2", "4"]),
        help="Number of vCPUs for each Cloud Run instance",
    ),
    click.option(
        "--timeout",
        type=int,
        help="Build timeout in seconds (also passed to the deployed service as its request timeout)",
    ),
    click.option(
        "--apt-get-install",
        "apt_get_extras",
        multiple=True,
        help="Extra Debian package to install in the image (repeatable)",
    ),
    click.option("--max-instances", type=int, help="Maximum number of Cloud Run instances"),
    click.option("--min-instances", type=int, help="Minimum number of Cloud Run instances"),
]


def _cloudrun(
    name: str,
    service: str,
    spatialite: bool,
    show_files: bool,
    memory: Optional[str],
    cpu: Optional[str],
    timeout: Optional[int],
    apt_get_extras: tuple,
    max_instances: Optional[int],
    min_instances: Optional[int],
    **flags: Any,
) -> None:
    """Publish databases to Datasette running on Google Cloud Run"""
    options = PublishOptions.take(flags)
    fail_if_publish_binary_not_installed("gcloud", "Google Cloud", GCLOUD_INSTALL_URL)
    project = _gcloud_project()
    if not service:
        service = _ask_for_service()
        if not service:
            raise click.ClickException("A service name is required")
    options = dataclasses.replace(options, extra_options=_with_https_urls(options.extra_options))
    environment_variables, extra_metadata = options.secrets_and_metadata()
    image = "gcr.io/{}/datasette-{}".format(project, service)
    with temporary_docker_directory(
        options.files,
        name,
        spatialite=spatialite,
        secret=options.secret,
        extra_metadata=extra_metadata,
        environment_variables=environment_variables,
        apt_get_extras=apt_get_extras,
        **options.build_directory_options(),
    ):
        if show_files:
            _show_files()
        build = "gcloud builds submit --tag {}".format(image)
        if timeout:
            # 1.0a7's meaning of --timeout: how long Cloud Build may take.
            build += " --timeout {}".format(timeout)
        _run(build)
    deploy = [
        "gcloud run deploy --allow-unauthenticated --platform=managed",
        "--image {} {}".format(image, service),
        *deploy_options(memory, cpu, timeout, min_instances, max_instances),
    ]
    _run(" ".join(deploy))


# Built once: the publish group is rebuilt on each `register`, the command is not.
cloudrun = click.command(name="cloudrun")(
    add_common_publish_arguments_and_options(apply_options(CLOUDRUN_OPTIONS, _cloudrun))
)


@hookimpl
def publish_subcommand(publish: click.Group) -> None:
    """Add `cloudrun` to the `publish` group."""
    publish.add_command(cloudrun)
