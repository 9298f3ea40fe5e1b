"""The `datasette` command line. Commands parse flags and hand over to the package.

Refusals print one `Error: ...` line and exit 1 before any port is bound; click usage
errors exit 2. (A plugin's `startup` hook failing is reported the same way, after the
port was bound: `serve` listens before start-up fills the catalog.) `run_module` and
`call` are looked up on this module at call time because tests patch them.

`serve` runs in named steps, as uvicorn splits its command from its `Config`: the flags
(`SERVE_OPTIONS`) become a `ServeConfig`; `build_datasette` reads the files they name and
builds `Datasette`; `check_databases` opens each database once; then `--get` answers one
request, or the port is bound, start-up runs and `_run_server` hands over to uvicorn.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import os
import pathlib
import shutil
import socket
import sys
import tempfile
from runpy import run_module  # noqa: F401 - patched by tests
from subprocess import call  # noqa: F401 - patched by tests
from typing import Any, Callable, Iterable, List, NoReturn, Optional, Sequence, Tuple

import click

from .app import DEFAULT_SETTINGS, SETTINGS, Datasette
from .settings import EXTRA_DEFAULT_SETTINGS, EXTRA_SETTINGS
from . import cli_restore
from .internal.activity.progress import iterate_with_progress
from .exceptions import (
    ConnectionProblem,
    SpatialiteConnectionProblem,
    SpatialiteNotFound,
    StartupError,
)
from .plugins import pm
from .publish.common import register as register_publish
from .publish.options import apply_options
from .utils import (
    LoadExtension,
    StaticMount,
    check_connection,
    find_spatialite,
    pairs_to_nested_config,
    parse_metadata,
)
from .utils.calling import run_on
from .utils.sqlite import sqlite3
from .version import __version__


class DefaultCommandGroup(click.Group):
    """A group that runs `serve` when the first argument is not a command name."""

    default_command = "serve"

    def parse_args(self, ctx: click.Context, args: list) -> list:
        if not args or (
            args[0] not in self.commands and args[0] not in ("--help", "--version")
        ):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


# `--version` names the program as invoked (`python -m datasette`, a renamed script), as
# 1.0a7 does; `name` is only what click's test runner, which invokes nothing, reports.
@click.group(
    name="datasette",
    cls=DefaultCommandGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(version=__version__)
def cli() -> None:
    """Datasette is an open source multi-tool for exploring and publishing data.

    With no command, `serve` runs: `datasette my.db` serves my.db.
    """


# Top-level configuration keys a bare `-s NAME VALUE` may set whole (`-s plugins '{...}'`).
CONFIG_TOP_LEVEL_KEYS = frozenset(
    {"settings", "plugins", "databases", "allow", "allow_sql", "permissions",
     "extra_css_urls", "extra_js_urls"}
)


def _unknown_setting(name: str, known: Iterable[str]) -> NoReturn:
    """Refuse a bare `-s` name that is neither a setting nor a configuration key."""
    import difflib  # deferred: only a refused name needs it, and start-up time counts

    message = f"unknown setting '{name}'"
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        message += f" (did you mean '{close[0]}'?)"
    raise click.BadParameter(message + "; datasette --help-settings lists them")


def _convert_setting(name: str, value: str) -> tuple:
    """A known setting (1.0a7's or ours) becomes `settings.NAME`, type-checked; dotted
    names and top-level configuration keys are config paths; anything else is a typo."""
    known = {**DEFAULT_SETTINGS, **EXTRA_DEFAULT_SETTINGS}
    if name not in known:
        # 1.0a7 passed an unknown bare name on as a configuration key, silently
        # dropping a mistyped setting; we refuse it (CHANGES.md, issue 9).
        if "." not in name and name not in CONFIG_TOP_LEVEL_KEYS:
            _unknown_setting(name, known)
        return name, value
    default = known[name]
    key = f"settings.{name}"
    if isinstance(default, bool):
        lowered = value.lower()
        if lowered not in ("on", "off", "true", "false", "1", "0"):
            raise click.BadParameter(f'"{key}" should be on/off/true/false/1/0')
        return key, json.dumps(lowered in ("on", "true", "1"))
    if isinstance(default, int):
        if not value.isdigit():
            raise click.BadParameter(f'"{key}" should be an integer')
        return key, value
    return key, json.dumps(value)


def validate_settings(ctx: click.Context, param: click.Parameter, pairs: tuple) -> list:
    """Click callback for `-s KEY VALUE` pairs."""
    return [_convert_setting(name, value) for name, value in pairs]


def sqlite_extensions_option(fn: Callable) -> Callable:
    """The `--load-extension` option, shared by `serve` and `inspect`."""
    return click.option(
        "sqlite_extensions",
        "--load-extension",
        type=LoadExtension(),
        envvar="SQLITE_EXTENSIONS",
        multiple=True,
        help="Path to a SQLite extension to load, and optional entrypoint",
    )(fn)


def _fail(message: str) -> NoReturn:
    """Print one error line and exit 1."""
    raise click.ClickException(message)


def _load_object_file(path: Any, kind: str) -> dict:
    """The JSON or YAML object in the `kind` ("Config", "Metadata") file at `path`; {} if none.

    `path` may also be an open file, as 1.0a7's `click.File` options handed to `serve`.
    """
    if not path:
        return {}
    if hasattr(path, "read"):
        content = path.read()
        path = getattr(path, "name", "<file>")
    else:
        try:
            content = pathlib.Path(path).read_text()
        except OSError as e:
            _fail(f"Could not read {kind.lower()} file {path}: {e.strerror}")
    try:
        parsed = parse_metadata(content)
    except Exception:
        _fail(f"{kind} file {path} is not valid JSON or YAML")
    if not isinstance(parsed, dict):
        _fail(f"{kind} file {path} must contain a JSON or YAML object")
    return parsed


def _deep_merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_databases(ds: Datasette) -> None:
    """Probe every database file once, turning failures into one clear error line."""
    # A file exactly as a previous process that checked it left it (its stat is the one
    # that process stored, see internal/file_states.py) would pass again: skipped.
    databases = [
        db for db in ds.databases.values() if not db.schema_probe.unchanged_since_seed()
    ]
    if not databases:
        return

    def probe_all() -> Optional[tuple]:
        # In the databases' order (the first failure is the one reported), all in one
        # trip to a read thread: one thread opens every connection (which the catalog's
        # reads then find there), and no hand-over between the event loop and the
        # thread per database. Read threads taking turns at the GIL were slower still.
        for database in databases:
            try:
                database.read_blocking(check_connection)
            except (ConnectionProblem, sqlite3.Error) as e:
                return database, e
        return None

    failed = asyncio.run(run_on(ds.executor, probe_all))
    if failed is None:
        return
    database, error = failed
    if isinstance(error, SpatialiteConnectionProblem):
        suggestion = ""
        try:
            find_spatialite()
            suggestion = "\n\nTry adding the --load-extension=spatialite option."
        except SpatialiteNotFound:
            pass
        raise click.UsageError(
            "It looks like you're trying to load a SpatiaLite"
            " database without first loading the SpatiaLite module."
            f"{suggestion}\n\nRead more: "
            "https://docs.datasette.io/en/stable/spatialite.html"
        )
    raise click.ClickException(f"Connection to {database.path} failed check: {error}")


def _check_files(files: tuple) -> None:
    for file in files:
        if not os.path.exists(file):
            _fail(f"Invalid value for '[FILES]...': Path '{file}' does not exist.")
        if os.path.isdir(file):
            _fail(
                f"{file} is a directory: pass one directory alone to serve it in "
                "configuration directory mode, or pass database files"
            )


def _check_config_settings(config_data: dict, path: Any) -> None:
    """Refuse an unknown or mistyped setting in a configuration file, naming the file."""
    settings = config_data.get("settings")
    if settings is None:
        return
    name = getattr(path, "name", path)
    if not isinstance(settings, dict):
        _fail(f"Config file {name}: settings should be an object of name: value pairs")
    known = {**DEFAULT_SETTINGS, **EXTRA_DEFAULT_SETTINGS}
    for key, value in settings.items():
        if key not in known:
            _fail(f"Invalid setting '{key}' in {name}")
        default = known[key]
        if isinstance(default, bool):
            ok, expected = isinstance(value, bool), "true or false"
        elif isinstance(default, int):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            expected = "a number"
        else:
            ok, expected = isinstance(value, str), "a string"
        if not ok:
            _fail(f"Config file {name}: {key} should be {expected}, not {json.dumps(value)}")


def _bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves so a busy port is one clear error line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio only turns on TCP_NODELAY for sockets that say TCP,
    # and without it every small response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno in (98, 48):  # EADDRINUSE on Linux, macOS
            _fail(f"Port {port} on {host} is already in use; pick another with --port")
        _fail(f"Could not listen on {host}:{port}: {e.strerror}")
    # Listening before the URL is printed: a client that connects as soon as it reads
    # the line waits in the backlog while uvicorn starts, instead of being refused.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


# -- serve: flags -> ServeConfig -> Datasette -> checks -> uvicorn ---------------------------
#
# Each serve flag is one entry in SERVE_OPTIONS (listed in --help in this order) and one
# field of ServeConfig with the same name and default. To add a flag, add both; `serve`
# passes flags it does not name through `**more`, so its contract signature stays as is.

SERVE_OPTIONS: List[Callable] = [
    click.argument("files", type=click.Path(), nargs=-1),
    click.option(
        "-i",
        "--immutable",
        type=click.Path(exists=True),
        help="Database files to open in immutable mode",
        multiple=True,
    ),
    click.option("-h", "--host", default="127.0.0.1", help="Host to listen on (0.0.0.0 for all interfaces)"),
    click.option(
        "-p", "--port", default=8001, type=click.IntRange(0, 65535), help="Port to listen on (0 picks a free one)"
    ),
    click.option("--uds", help="Bind to a Unix domain socket"),
    click.option("--reload", is_flag=True, help="Restart the server when files change (not yet supported)"),
    click.option("--cors", is_flag=True, help="Send CORS headers allowing requests from any origin"),
    sqlite_extensions_option,
    click.option("--inspect-file", help='Path to a JSON file created by "datasette inspect"'),
    click.option("-m", "--metadata", type=click.Path(exists=True, dir_okay=False), help="Metadata file (JSON or YAML)"),
    click.option("--template-dir", type=click.Path(exists=True, file_okay=False), help="Folder of custom templates"),
    click.option("--plugins-dir", type=click.Path(exists=True, file_okay=False), help="Folder of plugin .py files"),
    click.option("--static", type=StaticMount(), help="Serve static files from a folder, as MOUNT:DIRECTORY", multiple=True),
    click.option("--memory", is_flag=True, help="Add an in-memory database called _memory"),
    click.option("-c", "--config", type=click.Path(exists=True, dir_okay=False), help="Configuration file (JSON or YAML)"),
    click.option("-s", "--setting", "settings", type=(str, str), callback=validate_settings, multiple=True, help="Setting, e.g. -s default_page_size 50"),
    click.option("--secret", envvar="DATASETTE_SECRET", help="Secret for signing cookies and tokens"),
    click.option("--root", is_flag=True, help="Print a one-time link that signs you in as root"),
    click.option("--get", help="Print the response to a GET of this path, then exit"),
    click.option("--token", help="API token sent as a Bearer header with --get"),
    click.option("--actor", help="Actor JSON sent as a ds_actor cookie with --get"),
    click.option("--version-note", help="Note shown on /-/versions"),
    click.option("--help-settings", is_flag=True, help="List every setting and exit"),
    click.option("--pdb", is_flag=True, help="Open the debugger on errors"),
    click.option("-o", "--open", "open_browser", is_flag=True, help="Open the site in a browser"),
    click.option("--create", is_flag=True, help="Create missing database files"),
    click.option("--crossdb", is_flag=True, help="Attach up to 10 databases to _memory for cross-database queries"),
    click.option("--nolock", is_flag=True, help="Ignore locking on mutable database files"),
    click.option("--ssl-keyfile", help="SSL key file"),
    click.option("--ssl-certfile", help="SSL certificate file"),
    click.option("--internal", type=click.Path(), help="File for a persistent internal database"),
    click.option(
        "--unsafe-allow-internal",
        is_flag=True,
        help="Serve database files marked as internal databases (warns instead of refusing)",
    ),
    click.option("--demo", is_flag=True, help="Serve the built-in demo database"),
    click.option(
        "--default-deny",
        is_flag=True,
        help="Private by default: only root, allow rules and public resources grant viewing",
    ),
    click.option("--restore", is_flag=True, help="Restore missing database files from their Litestream replicas first"),
    click.option("--follow", multiple=True, metavar="URL=DB_FILE", help="Serve DB_FILE as a read replica kept up to date from a Litestream replica URL"),
]


class ServeConfig:
    """Every `serve` flag as click parsed it; field names are the flags' parameter names.

    `ServeConfig(port=8080)`: flags not given keep the defaults below (all immutable);
    an unknown name is a TypeError. Not a dataclass: generating the methods of one with
    this many fields costs over a millisecond on every start-up.
    """

    files: tuple = ()
    immutable: tuple = ()
    host: str = "127.0.0.1"
    port: int = 8001
    uds: Optional[str] = None
    reload: bool = False
    cors: bool = False
    sqlite_extensions: tuple = ()
    inspect_file: Optional[str] = None
    metadata: Optional[str] = None
    template_dir: Optional[str] = None
    plugins_dir: Optional[str] = None
    static: tuple = ()
    memory: bool = False
    config: Optional[str] = None
    settings: Sequence[tuple] = ()
    secret: Optional[str] = None
    root: bool = False
    get: Optional[str] = None
    token: Optional[str] = None
    actor: Optional[str] = None
    version_note: Optional[str] = None
    help_settings: bool = False
    pdb: bool = False
    open_browser: bool = False
    create: bool = False
    crossdb: bool = False
    nolock: bool = False
    ssl_keyfile: Optional[str] = None
    ssl_certfile: Optional[str] = None
    internal: Optional[str] = None
    unsafe_allow_internal: bool = False
    demo: bool = False
    default_deny: bool = False
    restore: bool = False
    follow: tuple = ()

    def __init__(self, **flags: Any):
        for name, value in flags.items():
            if name not in ServeConfig.__annotations__:
                raise TypeError(f"ServeConfig got an unexpected flag {name!r}")
            setattr(self, name, value)

    @classmethod
    def defaults(cls) -> dict:
        """`{field name: default}`, in the order of the fields (and of `--help`)."""
        return {name: getattr(cls, name) for name in cls.__annotations__}

    def __repr__(self) -> str:
        flags = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.defaults())
        return f"ServeConfig({flags})"


@cli.command()
@functools.partial(apply_options, SERVE_OPTIONS)
def serve(
    files,
    immutable,
    host,
    port,
    uds,
    reload,
    cors,
    sqlite_extensions,
    inspect_file,
    metadata,
    template_dir,
    plugins_dir,
    static,
    memory,
    config,
    settings,
    secret,
    root,
    get,
    token,
    actor,
    version_note,
    help_settings,
    pdb,
    open_browser,
    create,
    crossdb,
    nolock,
    ssl_keyfile,
    ssl_certfile,
    internal,
    return_instance=False,
    **more,
):
    """Serve up specified SQLite database files with a web UI"""
    # The parameter list is the contract (internals.md 1.10), so the flags are gathered
    # from it rather than written out a second time.
    flags = dict(locals())
    del flags["return_instance"], flags["more"]
    return run_serve(ServeConfig(**flags, **more), return_instance=return_instance)


def run_serve(config: ServeConfig, return_instance: bool = False) -> Optional[Datasette]:
    """Carry out `serve`: refuse bad flag combinations, build, check, then serve or --get."""
    if config.help_settings:
        _print_settings_help()
        return None
    _check_flag_combinations(config)
    replication_prep = cli_restore.before_serve(config)
    ds = build_datasette(config)
    if return_instance:
        return ds
    cli_restore.setup_serve_replication(ds, config, replication_prep)
    # uvicorn is imported by `_run_server`, not on a thread meanwhile: a thread importing
    # (pure Python, holding the GIL) made every hand-over between the event loop and the
    # SQLite threads below wait up to the 5 ms switch interval, which cost more than the
    # ~25 ms of imports it overlapped.
    check_databases(ds)
    if config.get:
        _run_get(ds, config.get, config.token, config.actor)
        return None
    # Listening before start-up fills the catalog: a client that connects meanwhile
    # waits in the backlog and is answered as soon as the server is ready, instead of
    # being refused and trying again later.
    sock = None if config.uds else _bind_socket(config.host, config.port)
    try:
        asyncio.run(ds.invoke_startup())
    except StartupError as e:
        if sock is not None:
            sock.close()
        _fail(str(e))
    _run_server(ds, config, sock)
    return None


def _print_settings_help() -> None:
    """1.0a7's `Settings:` list as it was, then ours in a section of their own."""
    formatter = click.HelpFormatter()
    with formatter.section("Settings"):
        formatter.write_dl([(s.name, f"{s.help} (default={s.default})") for s in SETTINGS])
    with formatter.section("Settings of this server that Datasette 1.0a7 lacks"):
        formatter.write_dl(
            [(s.name, f"{s.help} (default={s.default})") for s in EXTRA_SETTINGS]
        )
    click.echo(formatter.getvalue())


def _check_flag_combinations(config: ServeConfig) -> None:
    if config.token and not config.get:
        _fail("--token can only be used with --get")
    if config.reload:
        _fail("--reload is not supported yet; restart the server after changes")


def build_datasette(config: ServeConfig) -> Datasette:
    """The `Datasette` the flags describe; any refusal is one error line and exit 1."""
    files, config_dir = _resolve_files(config)
    kwargs = _datasette_kwargs(config)
    if config_dir:
        kwargs["config_dir"] = config_dir
    try:
        ds = Datasette(files, **kwargs)
    except StartupError as e:
        _fail(str(e))
    for warning in ds.startup_warnings:
        click.echo(warning, err=True)
    if config.crossdb and len(ds.files) > 10:
        click.echo(
            "Warning: --crossdb only works with the first 10 attached databases", err=True
        )
    return ds


def _resolve_files(config: ServeConfig) -> Tuple[tuple, Optional[pathlib.Path]]:
    """`(database files, configuration directory)`: one directory alone is config-dir mode."""
    files = tuple(dict.fromkeys(config.files))  # same file twice is served once
    config_dir = None
    if len(files) == 1 and os.path.isdir(files[0]):
        config_dir = pathlib.Path(files[0])
        files = ()
    if config.create:
        for file in files:
            if not os.path.exists(file):
                sqlite3.connect(file).close()
    _check_files(files)
    if config.demo:
        files = files + (_write_demo_database(),)
    return files, config_dir


def _write_demo_database() -> str:
    """Write the demo database into a temporary folder removed at exit; return its path."""
    from .demo import write_demo_file  # only --demo needs the demo's data and builder

    demo_dir = tempfile.mkdtemp(prefix="datasette-demo-")
    atexit.register(shutil.rmtree, demo_dir, True)
    return str(write_demo_file(os.path.join(demo_dir, "demo.db")))


def _datasette_kwargs(config: ServeConfig) -> dict:
    """Keyword arguments for `Datasette(files, ...)`, with every file the flags name read."""
    # in this order, so the first of several refusals is the one `serve` always gave
    inspect_data = _load_inspect_file(config.inspect_file)
    config_data = _load_object_file(config.config, "Config")
    _check_config_settings(config_data, config.config)
    if config.settings:
        config_data = _deep_merge(config_data, pairs_to_nested_config(list(config.settings)))
    if config.default_deny:
        config_data = _deep_merge(config_data, {"settings": {"default_deny": True}})
    extensions = _resolve_extensions(config.sqlite_extensions)
    return dict(
        immutables=config.immutable,
        cache_headers=not config.reload,
        cors=config.cors,
        inspect_data=inspect_data,
        config=config_data,
        metadata=_load_object_file(config.metadata, "Metadata"),
        sqlite_extensions=extensions,
        template_dir=config.template_dir,
        plugins_dir=config.plugins_dir,
        static_mounts=config.static,
        settings=None,
        memory=config.memory,
        secret=config.secret,
        version_note=config.version_note,
        pdb=config.pdb,
        crossdb=config.crossdb,
        nolock=config.nolock,
        internal=config.internal,
        unsafe_allow_internal=config.unsafe_allow_internal,
    )


def _load_inspect_file(path: Optional[str]) -> Optional[dict]:
    if not path:
        return None
    try:
        return json.loads(pathlib.Path(path).read_text())
    except (OSError, ValueError) as e:
        _fail(f"Could not read inspect file {path}: {e}")


def _resolve_extensions(sqlite_extensions: Sequence) -> list:
    """`--load-extension` values, with `spatialite` replaced by the file found on disk."""
    extensions = []
    for extension in sqlite_extensions:
        if extension == "spatialite" or (
            isinstance(extension, tuple) and extension[0] == "spatialite"
        ):
            try:
                extension = find_spatialite()
            except SpatialiteNotFound:
                _fail("Could not find SpatiaLite extension")
        extensions.append(extension)
    return extensions


def _run_server(ds: Datasette, config: ServeConfig, sock: Optional[socket.socket]) -> None:
    """Print the URLs and run uvicorn on the bound `sock` (None: `--uds`) until it stops;
    then close `ds`."""
    import uvicorn  # only serving needs it, and it adds ~0.1 s to every other command

    bound_port = sock.getsockname()[1] if sock is not None else config.port
    url = f"http://{config.host}:{bound_port}{ds.urls.path('/')}"
    if config.root:
        click.echo(f"{url}-/auth-token?token={ds._root_token}")
    if config.open_browser:
        import webbrowser  # only --open needs it; it imports shlex and subprocess helpers

        webbrowser.open(url)
    server = uvicorn.Server(
        uvicorn.Config(cli_restore.wrap_serve_app(ds, ds.app()), host=config.host, port=bound_port, **_uvicorn_options(config))
    )
    click.echo(f"Serving on {config.uds or url} (press CTRL+C to stop)", err=True)
    try:
        server.run(sockets=[sock] if sock is not None else None)
    finally:
        ds.close()
    cli_restore.exit_if_replication_failed(ds)


def _uvicorn_options(config: ServeConfig) -> dict:
    options: dict = dict(log_level="info", lifespan="on", workers=1)
    if config.uds:
        options["uds"] = config.uds
    if config.ssl_keyfile:
        options["ssl_keyfile"] = config.ssl_keyfile
    if config.ssl_certfile:
        options["ssl_certfile"] = config.ssl_certfile
    return options


def _run_get(ds: Datasette, path: str, token: Optional[str], actor: Optional[str]) -> None:
    headers = {}
    cookies = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if actor:
        try:
            cookies["ds_actor"] = ds.client.actor_cookie(json.loads(actor))
        except ValueError:
            _fail("--actor must be JSON, e.g. --actor '{\"id\": \"root\"}'")

    async def fetch() -> Any:
        await ds.invoke_startup()
        return await ds.client.get(path, headers=headers, cookies=cookies)

    try:
        response = asyncio.run(fetch())
    except StartupError as e:
        _fail(str(e))
    finally:
        ds.close()
    click.echo(response.text)
    if response.status_code != 200:
        sys.exit(1)


@cli.command()
@click.option("--all", "all_", is_flag=True, help="Include built-in default plugins")
@click.option("--requirements", is_flag=True, help="Output requirements.txt of installed plugins")
@click.option("--plugins-dir", type=click.Path(exists=True, file_okay=False), help="Folder of plugin .py files")
def plugins(all_, requirements, plugins_dir):
    """List the installed plugins"""
    ds = Datasette(plugins_dir=plugins_dir)
    try:
        app_plugins = ds._plugins(all=all_)
    finally:
        ds.close()
    if requirements:
        for plugin in app_plugins:
            if plugin["version"]:
                click.echo(f"{plugin['name']}=={plugin['version']}")
    else:
        click.echo(json.dumps(app_plugins, indent=4))


@cli.command()
@click.argument("packages", nargs=-1)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade packages to latest version")
@click.option("-r", "--requirement", type=click.Path(exists=True), help="Install from requirements file")
@click.option("-e", "--editable", help="Install a project in editable mode from this path")
def install(packages, upgrade, requirement, editable):
    """Install plugins and packages from PyPI into the same environment as Datasette"""
    if not packages and not requirement and not editable:
        raise click.UsageError("Please specify at least one package to install")
    args = ["pip", "install"]
    if upgrade:
        args += ["--upgrade"]
    if editable:
        args += ["--editable", editable]
    if requirement:
        args += ["-r", requirement]
    args += list(packages)
    sys.argv = args
    sys.modules[__name__].run_module("pip", run_name="__main__")


@cli.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Don't ask for confirmation")
def uninstall(packages, yes):
    """Uninstall plugins and Python packages from the Datasette environment"""
    sys.argv = ["pip", "uninstall"] + list(packages) + (["-y"] if yes else [])
    sys.modules[__name__].run_module("pip", run_name="__main__")


@cli.command()
@click.argument("files", type=click.Path(exists=True), nargs=-1)
@click.option("--inspect-file", default="-", help="Where to write the JSON (default: stdout)")
@sqlite_extensions_option
def inspect(files, inspect_file, sqlite_extensions):
    """Write hash, size and table row counts of database files as JSON"""
    ds = Datasette([], immutables=files, sqlite_extensions=list(sqlite_extensions))

    async def collect() -> dict:
        data = {}
        # A bar on a terminal's stderr only: stdout may be the JSON itself.
        databases = list(ds.databases.items())
        for name, database in iterate_with_progress(databases, "Inspecting", min_items=1):
            if database.is_memory:
                continue
            counts = await database.table_counts(limit=3600 * 1000)
            data[name] = {
                "hash": database.hash,
                "size": database.size,
                "file": database.path,
                "tables": {table: {"count": count} for table, count in counts.items()},
            }
        return data

    try:
        data = asyncio.run(collect())
    finally:
        ds.close()
    text = json.dumps(data, indent=2)
    if inspect_file == "-":
        click.echo(text)
    else:
        pathlib.Path(inspect_file).write_text(text)


publish, package = register_publish(cli)
cli_restore.register(cli)


@cli.command(name="create-token")
@click.argument("id")
@click.option("--secret", envvar="DATASETTE_SECRET", help="Secret used to sign the token (the server's --secret)")
@click.option("-e", "--expires-after", type=int, help="Token expires after this many seconds")
@click.option("alls", "-a", "--all", type=str, metavar="ACTION", multiple=True, help="Restrict token to this action")
@click.option(
    "databases", "-d", "--database", type=(str, str), metavar="DB ACTION", multiple=True,
    help="Restrict token to this action on this database",
)
@click.option(
    "resources", "-r", "--resource", type=(str, str, str), metavar="DB RESOURCE ACTION",
    multiple=True, help="Restrict token to this action on this database resource (a table, SQL view or named query)",
)
@click.option("--debug", is_flag=True, help="Show decoded token")
@click.option("--plugins-dir", type=click.Path(exists=True, file_okay=False), help="Folder of plugin .py files")
def create_token(id, secret, expires_after, alls, databases, resources, debug, plugins_dir):
    """Create a signed API token for the specified actor ID"""
    if not (secret or "").strip():
        # Datasette would sign with a random secret, making a token no server accepts.
        # A usage error (exit 2) as click's own "missing option" is, but on one line.
        missing = click.ClickException(
            "create-token needs the server's secret: pass --secret or set "
            "DATASETTE_SECRET (it must not be empty)"
        )
        missing.exit_code = 2
        raise missing
    try:
        ds = Datasette(secret=secret, plugins_dir=plugins_dir)
    except StartupError as e:
        _fail(str(e))
    try:
        try:
            asyncio.run(ds.invoke_startup())
        except StartupError as e:
            _fail(str(e))
        for action in list(alls) + [a for _, a in databases] + [a for _, _, a in resources]:
            try:
                ds.get_permission(action)
            except KeyError:
                click.secho(f"  Unknown permission: {action} ", fg="red", err=True)
        restrict_database: dict = {}
        for database, action in databases:
            restrict_database.setdefault(database, []).append(action)
        restrict_resource: dict = {}
        for database, resource, action in resources:
            restrict_resource.setdefault(database, {}).setdefault(resource, []).append(action)
        token = ds.create_token(
            id,
            expires_after=expires_after,
            restrict_all=alls,
            restrict_database=restrict_database,
            restrict_resource=restrict_resource,
        )
        click.echo(token)
        if debug:
            click.echo("\nDecoded:\n")
            click.echo(json.dumps(ds.unsign(token[len("dstok_"):], namespace="token"), indent=2))
    finally:
        ds.close()


pm.hook.register_commands(cli=cli)
