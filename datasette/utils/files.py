"""Files and processes: capped writers, CLI parameter types, plugin modules, SpatiaLite,
and the Docker build directory used by `datasette package` and `publish cloudrun`."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import re
import shlex
import shutil
import tempfile
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Union

import click
import markupsafe

from datasette.exceptions import SpatialiteNotFound, WriteLimitExceeded

from .config import deep_merge, parse_metadata

__all__ = [
    "LimitedWriter",
    "EscapeHtmlWriter",
    "StaticMount",
    "LoadExtension",
    "module_from_path",
    "link_or_copy",
    "link_or_copy_directory",
    "SPATIALITE_PATHS",
    "SPATIALITE_FUNCTIONS",
    "SPATIALITE_DOCKERFILE_EXTRAS",
    "find_spatialite",
    "make_dockerfile",
    "temporary_docker_directory",
]


# ---------------------------------------------------------------------------
# Writers wrapping anything with `async write(s)`


class LimitedWriter:
    """Pass writes through until more than `limit_mb` megabytes have been written.

    The write that crosses the limit raises `WriteLimitExceeded("CSV contains more
    than <bytes> bytes")` instead of being written. `limit_mb` of 0 means no limit.
    Text is counted by its UTF-8 size, since the limit is about bytes sent.
    """

    def __init__(self, writer: Any, limit_mb: float):
        self.writer = writer
        self.limit_bytes = int(limit_mb * 1024 * 1024)
        self.bytes_count = 0

    async def write(self, data: Union[str, bytes]) -> None:
        """Count `data`, refuse it if the cap is now exceeded, else forward it."""
        size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
        self.bytes_count += size
        if self.limit_bytes and self.bytes_count > self.limit_bytes:
            raise WriteLimitExceeded(
                "CSV contains more than {} bytes".format(self.limit_bytes)
            )
        await self.writer.write(data)


class EscapeHtmlWriter:
    """HTML-escape everything written, for output shown inside an HTML page."""

    def __init__(self, writer: Any):
        self.writer = writer

    async def write(self, content: str) -> None:
        """Escape `&`, `<`, `>`, quotes, then forward."""
        await self.writer.write(str(markupsafe.escape(content)))


# ---------------------------------------------------------------------------
# Click parameter types


class StaticMount(click.ParamType):
    """`--static mountpoint:directory` -> `(mountpoint, absolute_directory)`."""

    name = "mount:directory"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, tuple):
            return value
        if ":" not in value:
            self.fail(
                '"{}" should be of format mountpoint:directory'.format(value), param, ctx
            )
        mount, directory = value.split(":", 1)
        directory = os.path.abspath(directory)
        if not os.path.isdir(directory):
            self.fail("{} is not a valid directory path".format(value), param, ctx)
        return mount, directory


# "C:\..." is a Windows drive, not PATH:ENTRYPOINT
_DRIVE_RE = re.compile(r"^[A-Za-z]:[\\/]")


class LoadExtension(click.ParamType):
    """`--load-extension PATH[:ENTRYPOINT]` -> `PATH` or `(PATH, ENTRYPOINT)`."""

    name = "path:entrypoint?"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        skip = 2 if _DRIVE_RE.match(value) else 0
        colon = value.find(":", skip)
        if colon == -1:
            return value
        return value[:colon], value[colon + 1 :]


# ---------------------------------------------------------------------------
# Loading and copying files


def module_from_path(path: str, name: str) -> ModuleType:
    """Execute the Python file at `path` as a fresh module called `name`.

    Used for `--plugins-dir`: the module is not added to `sys.modules`, so two plugin
    directories may hold files with the same name.
    """
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def link_or_copy(src: str, dst: str) -> None:
    """Hard-link `src` to `dst`, copying instead across devices or where links fail."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def link_or_copy_directory(src: str, dst: str) -> None:
    """Recreate the tree `src` at `dst` (which may exist) with hard links, else copies."""
    try:
        shutil.copytree(src, dst, copy_function=os.link, dirs_exist_ok=True)
    except OSError:
        shutil.copytree(src, dst, dirs_exist_ok=True)


# ---------------------------------------------------------------------------
# SpatiaLite

SPATIALITE_PATHS = (
    "/usr/lib/x86_64-linux-gnu/mod_spatialite.so",
    "/usr/local/lib/mod_spatialite.dylib",
    "/usr/local/lib/mod_spatialite.so",
    "/opt/homebrew/lib/mod_spatialite.dylib",
)

# SQL functions SpatiaLite adds; seeing them means the extension is loaded.
SPATIALITE_FUNCTIONS = frozenset(
    (
        "AsGeoJSON",
        "AsText",
        "Area",
        "Buffer",
        "Centroid",
        "Contains",
        "Distance",
        "Envelope",
        "GeomFromGeoJSON",
        "GeomFromText",
        "Intersects",
        "MakePoint",
        "MbrContains",
        "NumPoints",
        "SetSRID",
        "Transform",
        "Within",
    )
)

SPATIALITE_DOCKERFILE_EXTRAS = ("python3-dev", "gcc", "libsqlite3-mod-spatialite")


def find_spatialite(paths: Sequence[str] = SPATIALITE_PATHS) -> str:
    """Path of the first existing SpatiaLite module in `paths`; `SpatialiteNotFound` if none.

    `datasette.utils.find_spatialite()` passes the list as patched there.
    """
    for path in paths:
        if os.path.exists(path):
            return path
    raise SpatialiteNotFound("Could not find SpatiaLite extension")


# ---------------------------------------------------------------------------
# Docker

_BASE_IMAGE = "python:3.11.0-slim-bullseye"


def _apt_get_block(packages: Sequence[str]) -> str:
    """A Dockerfile layer installing `packages`, padded by blank lines."""
    return (
        "\nRUN apt-get update && \\\n"
        "    apt-get install -y {} && \\\n"
        "    rm -rf /var/lib/apt/lists/*\n"
    ).format(" ".join(packages))


def deployed_serve_options(
    metadata_file: Optional[str],
    template_dir: Optional[str],
    plugins_dir: Optional[str],
    version_note: Optional[str],
    static: Optional[Iterable[tuple]],
    extra_options: Optional[str],
) -> list:
    """`datasette serve` options for files copied into a deployment (Docker or Heroku)."""
    options: list = []
    if metadata_file:
        options += ["--metadata", metadata_file]
    if template_dir:
        options += ["--template-dir", "templates/"]
    if plugins_dir:
        options += ["--plugins-dir", "plugins/"]
    if version_note:
        options += ["--version-note", version_note]
    for mount, _ in static or ():
        options += ["--static", "{}:{}".format(mount, mount)]
    if extra_options:
        options += extra_options.split()
    return options


def make_dockerfile(
    files: Sequence[str],
    metadata_file: Optional[str],
    extra_options: Optional[str],
    branch: Optional[str],
    template_dir: Optional[str],
    plugins_dir: Optional[str],
    static: Optional[Iterable[tuple]],
    install: Iterable[str],
    spatialite: bool,
    version_note: Optional[str],
    secret: str,
    environment_variables: Optional[dict] = None,
    port: int = 8001,
    apt_get_extras: Optional[Iterable[str]] = None,
) -> str:
    """The Dockerfile text that serves `files` (names inside the build directory).

    Layout: base image; the build directory copied to `/app`; an optional apt-get layer
    (`apt_get_extras`, plus SpatiaLite's packages when `spatialite`); one `ENV` line per
    entry of `environment_variables`, then `DATASETTE_SECRET` and, for SpatiaLite,
    `SQLITE_EXTENSIONS`; pip install of datasette (or the GitHub `branch` archive) and
    `install`; `datasette inspect` into `inspect-data.json`; `PORT`; and the `serve`
    command line with `-i` per file and the options given. `extra_options` is split on
    whitespace and appended to that command.
    """
    env = dict(environment_variables or {})
    env["DATASETTE_SECRET"] = secret
    packages = list(apt_get_extras or [])
    if spatialite:
        packages.extend(SPATIALITE_DOCKERFILE_EXTRAS)
        env["SQLITE_EXTENSIONS"] = SPATIALITE_PATHS[0]

    serve = ["datasette", "serve", "--host", "0.0.0.0"]
    for filename in files:
        serve += ["-i", filename]
    serve += ["--cors", "--inspect-file", "inspect-data.json"]
    serve += deployed_serve_options(
        metadata_file, template_dir, plugins_dir, version_note, static, extra_options
    )
    # $PORT must reach the shell unquoted so Docker's environment fills it in
    command = " ".join(shlex.quote(part) for part in serve) + " --port $PORT"

    if branch:
        sources = ["https://github.com/simonw/datasette/archive/{}.zip".format(branch)]
    else:
        sources = ["datasette"]
    sources += list(install or ())

    lines = [
        "FROM {}".format(_BASE_IMAGE),
        "COPY . /app",
        "WORKDIR /app",
        _apt_get_block(packages) if packages else "",
        "\n".join("ENV {} '{}'".format(key, value) for key, value in env.items()),
        "RUN pip install -U {}".format(" ".join(sources)),
        "RUN datasette inspect {} --inspect-file inspect-data.json".format(
            " ".join(files)
        ),
        "ENV PORT {}".format(port),
        "EXPOSE {}".format(port),
        "CMD {}".format(command),
    ]
    return "\n".join(lines).strip()


def publish_metadata(metadata: Any, extra_metadata: Optional[dict]) -> dict:
    """The `metadata` file's content (an open file or None) with the non-None
    `extra_metadata` options (title, license...) merged over it."""
    content = (parse_metadata(metadata.read()) if metadata else {}) or {}
    deep_merge(content, {k: v for k, v in (extra_metadata or {}).items() if v is not None})
    return content


def copy_deployment_files(
    saved_cwd: str,
    target_dir: str,
    sources: list,
    file_names: list,
    template_dir: Optional[str],
    plugins_dir: Optional[str],
    static: Optional[Iterable[tuple]],
) -> None:
    """Link or copy databases, templates, plugins and static folders into a deployment
    directory; relative paths are taken from `saved_cwd`."""
    for source, filename in zip(sources, file_names):
        link_or_copy(source, os.path.join(target_dir, filename))
    if template_dir:
        link_or_copy_directory(
            os.path.join(saved_cwd, template_dir), os.path.join(target_dir, "templates")
        )
    if plugins_dir:
        link_or_copy_directory(
            os.path.join(saved_cwd, plugins_dir), os.path.join(target_dir, "plugins")
        )
    for mount, path in static or ():
        link_or_copy_directory(os.path.join(saved_cwd, path), os.path.join(target_dir, mount))


@contextmanager
def deployment_directory(
    files: Sequence[str],
    name: str,
    metadata: Any,
    extra_metadata: Optional[dict],
    template_dir: Optional[str],
    plugins_dir: Optional[str],
    static: Optional[Iterable[tuple]],
    write_build_files: Callable[[List[str], bool], None],
) -> Iterator[str]:
    """A temporary deployment directory `<tmp>/<name>`, shared by Docker and Heroku builds.

    Filled in this order: `metadata.json` (the open `metadata` file merged with the
    non-None `extra_metadata` values, only when non-empty), whatever
    `write_build_files(file_names, has_metadata)` writes into the working directory, then
    the database `files` (linked or copied) and the template, plugins and static folders.
    The working directory is the deployment directory while the context is open; the
    previous one is restored and the directory deleted on exit.
    """
    saved_cwd = os.getcwd()
    tmp = tempfile.TemporaryDirectory()
    try:
        target_dir = os.path.join(tmp.name, name)
        os.mkdir(target_dir)
        sources = [os.path.join(saved_cwd, path) for path in files]
        file_names = [os.path.basename(path) for path in files]
        metadata_content = publish_metadata(metadata, extra_metadata)
        os.chdir(target_dir)
        if metadata_content:
            with open("metadata.json", "w") as fp:
                fp.write(json.dumps(metadata_content, indent=2))
        write_build_files(file_names, bool(metadata_content))
        copy_deployment_files(
            saved_cwd, target_dir, sources, file_names, template_dir, plugins_dir, static
        )
        yield target_dir
    finally:
        os.chdir(saved_cwd)
        tmp.cleanup()


@contextmanager
def temporary_docker_directory(
    files: Sequence[str],
    name: str,
    metadata: Any,
    extra_options: Optional[str],
    branch: Optional[str],
    template_dir: Optional[str],
    plugins_dir: Optional[str],
    static: Optional[Iterable[tuple]],
    install: Iterable[str],
    spatialite: bool,
    version_note: Optional[str],
    secret: str,
    extra_metadata: Optional[dict] = None,
    environment_variables: Optional[dict] = None,
    port: int = 8001,
    apt_get_extras: Optional[Iterable[str]] = None,
) -> Iterator[str]:
    """A temporary build directory `<tmp>/<name>` holding everything to build an image.

    It receives the database `files` (hard-linked or copied), `metadata.json` (the
    open `metadata` file parsed as JSON/YAML, deep-merged with the non-None values of
    `extra_metadata`; written only when non-empty), the Dockerfile from
    `make_dockerfile`, and copies of `template_dir`, `plugins_dir` and each static
    `(mount, path)`. While the context is open the working directory is the build
    directory (build tools run there); the previous one is restored and the
    directory deleted on exit. Relative paths are taken from the caller's directory.
    """

    def write_dockerfile(file_names: List[str], has_metadata: bool) -> None:
        dockerfile = make_dockerfile(
            file_names,
            "metadata.json" if has_metadata else None,
            extra_options,
            branch,
            template_dir,
            plugins_dir,
            static,
            install,
            spatialite,
            version_note,
            secret,
            environment_variables,
            port=port,
            apt_get_extras=apt_get_extras,
        )
        with open("Dockerfile", "w") as fp:
            fp.write(dockerfile)

    with deployment_directory(
        files, name, metadata, extra_metadata, template_dir, plugins_dir, static, write_dockerfile
    ) as build_dir:
        yield build_dir
