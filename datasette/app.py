"""`Datasette`: the instance. It wires databases, settings, metadata, plugins and routes.

Work is handed to the rooms that own it: `database.py` runs queries, `internal/` keeps
the internal database, `router.py` dispatches requests, `views/` render them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import threading
import urllib.parse
import weakref
from collections import OrderedDict, deque, namedtuple
from concurrent import futures
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

from .client import DatasetteClient
from .database import (  # noqa: F401 - QueryInterrupted re-exported
    Database,
    DatabaseEnvironment,
    QueryInterrupted,
)
from .exceptions import (
    BadMetadataError,
    DatabaseNotFound,
    RowNotFound,
    StartupError,
    TableNotFound,
)
from .internal.catalog import Catalog
from .internal.guard import same_file
from .internal.activity import Activity
from .internal.cache import ResultCache
from .internal.public.store import PublicResources
from .internal.stats import StartWithServer
from .internal.watch import commit_watch
from .internal.store import (
    InternalStore,
    check_not_internal_path,
    ensure_not_internal_file,
)
from . import introspection
from . import permissions as permissions_engine
from . import request_memo
from .permissions import _UNSET, table_cascade
from .plugins import load_plugins_dir, pm
from .renderer import collect_renderers
from .templating import app_css_hash, build_jinja_env, plugin_template_dirs
from .templating import render_template as _render_template
from .settings import (  # noqa: F401 - re-exported
    DEFAULT_SETTINGS,
    EXTRA_DEFAULT_SETTINGS,
    OBSOLETE_SETTINGS,
    SETTINGS,
    SQLITE_LIMIT_ATTACHED,
    Setting,
)
from .signing import Signatures
from .tokens import PREFIX, token_payload
from .url_builder import Urls
from .utils import (
    await_me_maybe,
    escape_sqlite,
    parse_metadata,
    resolve_env_secrets,
    row_sql_params_pks,
    tilde_decode,
    urlsafe_components,
)
from .utils.config import deep_merge
from .utils.lazy_names import lazy_getattr
from .utils.sqlite import sqlite3
from .utils.versions import versions_info
from .version import __version__

if TYPE_CHECKING:  # only for annotations
    from .utils.asgi import Request

ResolvedTable = namedtuple("ResolvedTable", ("db", "table", "is_view"))
ResolvedRow = namedtuple(
    "ResolvedRow", ("db", "table", "sql", "params", "pks", "pk_values", "row")
)

_DATABASE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


class Datasette:
    """A Datasette instance: the databases it serves and everything needed to serve them.

    The constructor follows Datasette 1.0a7. `internal` is the path of a persistent
    internal database (None: a private temporary one). `unsafe_allow_internal` lets
    files marked as internal databases be served (with a warning) instead of refused.
    """

    INFO = 1
    WARNING = 2
    ERROR = 3

    def __init__(
        self,
        files: Optional[Iterable[str]] = None,
        immutables: Optional[Iterable[str]] = None,
        cache_headers: bool = True,
        cors: bool = False,
        inspect_data: Optional[dict] = None,
        config: Optional[dict] = None,
        metadata: Optional[dict] = None,
        sqlite_extensions: Optional[list] = None,
        template_dir: Optional[str] = None,
        plugins_dir: Optional[str] = None,
        static_mounts: Optional[list] = None,
        memory: bool = False,
        settings: Optional[dict] = None,
        secret: Optional[str] = None,
        version_note: Optional[str] = None,
        config_dir: Optional[Path] = None,
        pdb: bool = False,
        crossdb: bool = False,
        nolock: bool = False,
        internal: Optional[str] = None,
        unsafe_allow_internal: bool = False,
    ):
        if isinstance(files, str):
            raise ValueError("files= must be a list of paths, not a string")
        assert config_dir is None or isinstance(
            config_dir, Path
        ), "config_dir= should be a pathlib.Path"
        self.config_dir = config_dir
        self.pdb = pdb
        self._secret = secret or secrets.token_hex(32)
        self._signatures = Signatures()
        self._unsafe_allow_internal = unsafe_allow_internal
        self.startup_warnings: list = []
        self._internal_path = os.path.abspath(internal) if internal else None
        self.crossdb = crossdb
        self.nolock = nolock
        self.cache_headers = cache_headers
        self.cors = cors
        self.version_note = version_note
        # Each step reads what the ones before it set; the order is the start-up order.
        self._choose_files(files, immutables, inspect_data)
        check_not_internal_path(self._internal_path, list(self.files))
        self._read_configuration(config, metadata, settings)
        self._choose_directories(sqlite_extensions, template_dir, plugins_dir, static_mounts)
        self._start_read_pool()
        self._attach_databases(memory)
        self._open_internal_database()
        self._refuse_internal_files()
        self._prepare_serving()

    # -- construction steps ------------------------------------------------------------------

    def _choose_files(
        self,
        files: Optional[Iterable[str]],
        immutables: Optional[Iterable[str]],
        inspect_data: Optional[dict],
    ) -> None:
        """The files to serve: as given, else the configuration directory's databases.

        A configuration directory's `inspect-data.json` also makes the files it lists
        immutable, unless immutables were given.
        """
        files = list(files or [])
        immutables = list(immutables or [])
        config_dir = self.config_dir
        if config_dir and not files and not immutables:
            files = self._config_dir_databases(config_dir, self._internal_path)
        inspect_file = config_dir / "inspect-data.json" if config_dir else None
        if inspect_file is not None and inspect_file.exists() and not inspect_data:
            inspect_data = json.loads(inspect_file.read_text())
            if not immutables:
                immutable_filenames = [i["file"] for i in inspect_data.values()]
                immutables = [f for f in files if Path(f).name in immutable_filenames]
                files = [f for f in files if f not in immutables]
        self.files = tuple(files) + tuple(immutables)
        self.immutables = set(immutables)
        self.inspect_data = inspect_data

    def _refuse_internal_files(self) -> None:
        """Refuse to publish an internal database before any of its connections opens.

        Runs once the internal database is open: a file exactly as a previous process
        that read its tables left it (internal/file_states.py) has only its header read.
        """
        unchanged = {
            str(db.path)
            for db in self.databases.values()
            if db.path and db.schema_probe.unchanged_since_seed()
        }
        try:
            for file in self.files:
                warning = ensure_not_internal_file(
                    file, self._unsafe_allow_internal, str(file) in unchanged
                )
                if warning:
                    self.startup_warnings.append(warning)
        except BaseException:
            # No instance: the internal database's lock goes now, and a file it created.
            self._finalizer.detach()
            self._internal_store.abandon()
            raise

    def _read_configuration(
        self, config: Optional[dict], metadata: Optional[dict], settings: Optional[dict]
    ) -> None:
        """Metadata and settings: arguments win over the configuration directory's files."""
        config = config or {}
        metadata = metadata or {}
        # The contract names "datasette.json" for a config passed in; a directory's own
        # file is named as it is (it may be datasette.yaml).
        config_name = "datasette.json"
        if self.config_dir:
            metadata = metadata or _first_config_file(self.config_dir, "metadata")[0]
            if not config:
                config, config_name = _first_config_file(self.config_dir, "datasette")
        self._metadata_local = metadata
        config_settings = config.get("settings") or {}
        if not isinstance(config_settings, dict):
            raise StartupError(
                f"Config file {config_name}: settings should be an object of name: value pairs"
            )
        for key in config_settings:
            if key not in DEFAULT_SETTINGS and key not in EXTRA_DEFAULT_SETTINGS:
                raise StartupError(f"Invalid setting '{key}' in {config_name}")
        self._settings = {**DEFAULT_SETTINGS, **EXTRA_DEFAULT_SETTINGS}
        self._settings.update(config_settings)
        self._settings.update(settings or {})

    def _choose_directories(
        self,
        sqlite_extensions: Optional[list],
        template_dir: Optional[str],
        plugins_dir: Optional[str],
        static_mounts: Optional[list],
    ) -> None:
        """Extensions, templates, plugins and static folders; `--plugins-dir` files load here."""
        config_dir = self.config_dir
        self.sqlite_extensions = list(sqlite_extensions or [])
        if template_dir is None and config_dir and (config_dir / "templates").is_dir():
            template_dir = str(config_dir / "templates")
        if plugins_dir is None and config_dir and (config_dir / "plugins").is_dir():
            plugins_dir = str(config_dir / "plugins")
        if not static_mounts and config_dir and (config_dir / "static").is_dir():
            static_mounts = [("static", str((config_dir / "static").resolve()))]
        self.template_dir = template_dir
        self.plugins_dir = plugins_dir
        self.static_mounts = list(static_mounts or [])
        if plugins_dir:
            load_plugins_dir(plugins_dir)

    def _start_read_pool(self) -> None:
        """The read threads and query limits, handed to every `Database` as one environment."""
        num_sql_threads = self.setting("num_sql_threads")
        self.executor = (
            futures.ThreadPoolExecutor(
                max_workers=num_sql_threads, thread_name_prefix="datasette-sql"
            )
            if num_sql_threads
            else None
        )
        self.max_returned_rows = self.setting("max_returned_rows")
        self.sql_time_limit_ms = self.setting("sql_time_limit_ms")
        self.page_size = self.setting("default_page_size")
        self.database_environment = DatabaseEnvironment(
            executor=self.executor,
            time_limit_ms=self.sql_time_limit_ms,
            page_size=self.page_size,
            max_returned_rows=self.max_returned_rows,
            nolock=self.nolock,
            inspect_data=self.inspect_data,
            prepare_connection=self.prepare_connection,
            metadata=self.metadata,
            inline_read_budget_ms=float(self.setting("inline_read_budget_ms")),
        )

    def _attach_databases(self, memory: bool) -> None:
        """`_memory` (when asked for, for `--crossdb`, or with no files), then each file."""
        self.databases: "OrderedDict[str, Database]" = OrderedDict()
        if memory or self.crossdb or not self.files:
            self.add_database(
                Database(self, is_mutable=False, is_memory=True), name="_memory"
            )
        for file in self.files:
            self.add_database(
                Database(self, path=file, is_mutable=file not in self.immutables)
            )

    def _open_internal_database(self) -> None:
        """Open (check, lock, create or migrate) the internal database and its catalog."""
        self._internal_store = InternalStore(self._internal_path, __version__)
        self._internal_store.open()
        self._finalizer = weakref.finalize(self, self._internal_store.close)
        self._internal_database = self._internal_store.database(self)
        self.internal_db_created = True
        self._catalog = Catalog(self._internal_database, self._internal_store.file_states)
        self._catalog.seed(self.databases)
        self.public = PublicResources(
            self._internal_database,
            persistent=not self._internal_store.temporary,
        )
        self._catalog.listeners.append(self.public.catalog_listener)

    def _prepare_serving(self) -> None:
        """Renderers, templates, tokens and the in-process client; permissions come at start-up."""
        self.permissions: dict = {}
        self.renderers = collect_renderers(pm.hook.register_output_renderer(datasette=self))
        self._permission_checks: deque = deque(maxlen=200)
        self._root_token: Optional[str] = secrets.token_hex(32)
        self._startup_invoked = False
        # Counted by the router; background work (the column-statistics indexer) backs
        # off while it moves.
        self.requests_started = 0
        self._unit_registry: Any = None
        self._startup_lock = threading.Lock()
        self._startup_future: Optional[asyncio.Future] = None
        self.client = DatasetteClient(self)

    @property
    def jinja_env(self) -> Any:
        """The Jinja environment, built at first use: importing jinja2 and building it is
        ~15 ms that JSON pages and commands never need."""
        env = self.__dict__.get("_jinja_env")
        if env is None:
            env = build_jinja_env(self.template_dir, plugin_template_dirs())
            self.__dict__["_jinja_env"] = env
        return env

    @jinja_env.setter
    def jinja_env(self, env: Any) -> None:
        self.__dict__["_jinja_env"] = env

    # -- databases ------------------------------------------------------------------------

    @staticmethod
    def _config_dir_databases(config_dir: Path, internal_path: Optional[str]) -> list:
        """Database files in a configuration directory, leaving out its internal file."""
        found = []
        for path in sorted(config_dir.iterdir()):
            if path.suffix not in _DATABASE_SUFFIXES or not path.is_file():
                continue
            if internal_path and same_file(path, internal_path):
                continue
            found.append(str(path))
        return found

    def add_database(
        self, db: Database, name: Optional[str] = None, route: Optional[str] = None
    ) -> Database:
        """Attach `db` under `name` (made unique with `_2`, `_3`...) and return it.

        A database file marked as an internal database is refused (see internal-db.md).
        """
        if db.path and not db.is_memory and getattr(self, "_internal_store", None):
            check_not_internal_path(self._internal_store.path, [db.path])
            warning = ensure_not_internal_file(str(db.path), self._unsafe_allow_internal)
            if warning and warning not in self.startup_warnings:
                self.startup_warnings.append(warning)
        new_databases = self.databases.copy()
        if name is None:
            name = db.suggest_name()
        original, suffix = name, 2
        while name in new_databases:
            name = f"{original}_{suffix}"
            suffix += 1
        db.name = name
        db.route = route or name
        new_databases[name] = db
        # Replace rather than mutate, so iteration elsewhere never sees a change mid-loop.
        self.databases = new_databases
        catalog = getattr(self, "_catalog", None)
        if catalog is not None:
            catalog.seed({name: db})
        return db

    def add_memory_database(self, memory_name: str) -> Database:
        """Attach a named in-memory database shared across connections."""
        return self.add_database(Database(self, memory_name=memory_name))

    def remove_database(self, name: str) -> None:
        """Detach a database; its catalog rows go at the next refresh."""
        new_databases = self.databases.copy()
        db = new_databases.pop(name)
        self.databases = new_databases
        db.close()

    def get_database(self, name: Optional[str] = None, route: Optional[str] = None) -> Database:
        """A database by name or route; with neither, the first one."""
        if route is not None:
            matches = [db for db in self.databases.values() if db.route == route]
            if not matches:
                raise KeyError(route)
            return matches[0]
        if name is None:
            return next(iter(self.databases.values()))
        return self.databases[name]

    async def execute(
        self,
        db_name: str,
        sql: str,
        params: Any = None,
        truncate: bool = False,
        custom_time_limit: Optional[int] = None,
        page_size: Optional[int] = None,
        log_sql_errors: bool = True,
    ) -> Any:
        """Run read-only `sql` on the database named `db_name`; see `Database.execute`."""
        return await self.databases[db_name].execute(
            sql,
            params=params,
            truncate=truncate,
            custom_time_limit=custom_time_limit,
            page_size=page_size,
            log_sql_errors=log_sql_errors,
        )

    def get_internal_database(self) -> Database:
        """The private internal database: never served, never in `databases`."""
        return self._internal_database

    async def refresh_schemas(self) -> None:
        """Bring the internal catalog up to date with the attached databases."""
        await self._catalog.refresh(self.databases)
        if self.public.pending:
            await self.public.audit_pending(self)

    # -- settings, metadata, plugin configuration ------------------------------------------

    def setting(self, key: str) -> Any:
        """The effective value of a setting, or None for an unknown name."""
        return self._settings.get(key)

    def settings_dict(self) -> dict:
        """Every setting, in canonical order."""
        return {setting.name: self._settings.get(setting.name) for setting in SETTINGS}

    @property
    def _metadata(self) -> dict:
        return self.metadata()

    def _metadata_recursive_update(self, orig: dict, updated: dict) -> dict:
        if not isinstance(orig, dict) or not isinstance(updated, dict):
            return orig
        return deep_merge(orig, updated)

    def metadata(
        self,
        key: Optional[str] = None,
        database: Optional[str] = None,
        table: Optional[str] = None,
        fallback: bool = True,
    ) -> Any:
        """Metadata at table, database or instance level (see internals.md 2.7)."""
        assert not (
            database is None and table is not None
        ), "Cannot call metadata() with table= specified but not database="
        if not pm.hook.get_metadata.get_hookimpls():
            # Without hooks a lookup is a few dict reads, cheaper than memoizing it.
            return metadata_lookup(self._metadata_local or {}, key, database, table, fallback)
        memo = request_memo.current()
        if memo is not None and key is not None:
            # A page asks for the same keys many times (permission checks, renderers):
            # the hooks and the merge run once per request for each.
            memo_key = ("metadata", key, database, table, fallback)
            if memo_key not in memo:
                memo[memo_key] = self._metadata_uncached(key, database, table, fallback)
            return memo[memo_key]
        return self._metadata_uncached(key, database, table, fallback)

    def _metadata_uncached(
        self, key: Optional[str], database: Optional[str], table: Optional[str], fallback: bool
    ) -> Any:
        metadata: dict = {}
        for hook_dbs in pm.hook.get_metadata(
            datasette=self, key=key, database=database, table=table
        ):
            metadata = self._metadata_recursive_update(metadata, hook_dbs)
        # The local metadata wins; nested dicts stay the caller's own objects.
        metadata = self._metadata_recursive_update(metadata, self._metadata_local or {})
        return metadata_lookup(metadata, key, database, table, fallback)

    def plugin_config(
        self,
        plugin_name: str,
        database: Optional[str] = None,
        table: Optional[str] = None,
        fallback: bool = True,
    ) -> Any:
        """A plugin's configuration from metadata, with `$env`/`$file` secrets resolved."""
        plugins = self.metadata(
            "plugins", database=database, table=table, fallback=fallback
        )
        if plugins is None:
            return None
        plugin_config = plugins.get(plugin_name)
        if plugin_config is not None:
            plugin_config = resolve_env_secrets(plugin_config, os.environ)
        return plugin_config

    async def get_canned_queries(self, database_name: str, actor: Optional[dict]) -> dict:
        """Canned queries of a database: metadata `queries` updated by `canned_queries` hooks."""
        queries = dict(self.metadata("queries", database=database_name, fallback=False) or {})
        for more in pm.hook.canned_queries(
            datasette=self, database=database_name, actor=actor
        ):
            more = await await_me_maybe(more)
            if more:
                queries.update(more)
        normalised = {}
        for name, query in queries.items():
            query = {"sql": query} if isinstance(query, str) else dict(query)
            query["name"] = name
            normalised[name] = query
        return normalised

    async def get_canned_query(
        self, database_name: str, query_name: str, actor: Optional[dict]
    ) -> Optional[dict]:
        """One canned query's definition, or None."""
        return (await self.get_canned_queries(database_name, actor)).get(query_name)

    def add_message(self, request: Request, message: str, type: int = INFO) -> None:
        """Queue a flash message; it is sent as the signed `ds_messages` cookie."""
        if not hasattr(request, "_messages"):
            request._messages = []
        request._messages.append((message, type))
        request._messages_changed = True

    def show_messages(self, request: Optional[Request]) -> list:
        """Messages waiting for this request; showing them clears the cookie."""
        if request is None:
            return []
        messages = list(getattr(request, "_messages", None) or [])
        if messages:
            request._messages = []
            request._messages_changed = True
        return messages

    _show_messages = show_messages  # the 1.0a7 name

    async def render_template(
        self,
        templates: Any,
        context: Any = None,
        request: Optional[Request] = None,
        view_name: Optional[str] = None,
    ) -> str:
        """Render a template (name, list of names or `Template`) with plugin context."""
        return await _render_template(
            self, templates, context=context, request=request, view_name=view_name
        )

    def unit_registry(self) -> Any:
        """The Pint unit registry with the root metadata's `custom_units` (built once)."""
        if self._unit_registry is None:
            # pint takes a while to import and only pages with units need it.
            import pint

            registry = pint.UnitRegistry()
            for definition in self.metadata("custom_units") or []:
                try:
                    registry.define(definition)
                except Exception:
                    # A bad definition only loses that unit, not the page.
                    pass
            self._unit_registry = registry
        return self._unit_registry

    def app_css_hash(self) -> str:
        """Six hex characters identifying the bundled `app.css`."""
        return app_css_hash()

    # -- connections and startup -----------------------------------------------------------

    def prepare_connection(self, conn: "sqlite3.Connection", database: Optional[str]) -> None:
        """Set up a new connection to a user database, then run `prepare_connection` hooks.

        Every `Database` of this instance calls it (through `database_environment`) for
        each connection it opens; `/-/versions` uses it to report what connections see.
        """
        conn.row_factory = sqlite3.Row
        conn.text_factory = lambda x: str(x, "utf-8", "replace")
        if self.sqlite_extensions:
            conn.enable_load_extension(True)
            for extension in self.sqlite_extensions:
                if isinstance(extension, tuple):
                    path, entrypoint = extension
                    conn.execute("select load_extension(?, ?)", [path, entrypoint])
                else:
                    conn.execute("select load_extension(?)", [extension])
        if self.setting("cache_size_kb"):
            conn.execute(f"PRAGMA cache_size=-{self.setting('cache_size_kb')}")
        pm.hook.prepare_connection(conn=conn, database=database, datasette=self)
        if self.crossdb and database == "_memory":
            count = 0
            for db_name, db in self.databases.items():
                if count >= SQLITE_LIMIT_ATTACHED or db.is_memory:
                    continue
                qs = "mode=ro" if db.is_mutable else "immutable=1"
                conn.execute(
                    f"ATTACH DATABASE 'file:{db.path}?{qs}' AS [{db_name}]"
                )
                count += 1

    # The 1.0a7 name, which plugins written against it may still call.
    _prepare_connection = prepare_connection

    async def invoke_startup(self) -> None:
        """Run start-up once: permissions, Jinja environment hooks, `startup` hooks, catalog."""
        if self._startup_invoked:
            # Cheap when running already; follows the server to its own event loop.
            self.activity.ensure_background()
            return
        loop = asyncio.get_running_loop()
        with self._startup_lock:
            running = self._startup_future
            owner = running is None
            if owner:
                running = self._startup_future = loop.create_future()
        if not owner:
            if running.get_loop() is loop:
                await asyncio.shield(running)
            else:  # pragma: no cover - start-up racing from two event loops
                while not running.done():
                    await asyncio.sleep(0.01)
            if running.exception() is not None:
                raise running.exception()
            return
        try:
            await self._run_startup()
        except BaseException as e:
            with self._startup_lock:
                self._startup_future = None
            running.set_exception(e)
            running.exception()  # mark retrieved: the caller gets it raised
            raise
        self._startup_invoked = True
        running.set_result(None)

    async def _run_startup(self) -> None:
        self.permissions = permissions_engine.collect_permissions(self)
        # Only hooks make the environment now; otherwise the first page to render does.
        if pm.hook.prepare_jinja2_environment.get_hookimpls():
            for hook in pm.hook.prepare_jinja2_environment(env=self.jinja_env, datasette=self):
                await await_me_maybe(hook)
        # Before the first catalog refresh, which reconciles public grants with the tables.
        await self.public.load()
        await self.refresh_schemas()
        await self._run_startup_hooks()
        # After the hooks, so plugins have registered their job resume functions.
        await self.activity.on_startup()

    async def _run_startup_hooks(self) -> None:
        """Every plugin's `startup` hook in pluggy's order, then each result awaited.

        As 1.0a7 does (all hooks called, then what they returned awaited in turn), but
        one hook at a time, so a failure becomes a `StartupError` naming the plugin: the
        command line shows one line instead of a traceback from someone else's package.
        """
        impls = [
            impl
            for impl in reversed(pm.hook.startup.get_hookimpls())
            if not (impl.hookwrapper or getattr(impl, "wrapper", False))
        ]
        results = []
        for impl in impls:
            with _blaming(impl):
                # As pluggy calls it: only the arguments the hook declares.
                arguments = {"datasette": self}
                results.append((impl, impl.function(*(arguments[a] for a in impl.argnames))))
        for impl, result in results:
            with _blaming(impl):
                await await_me_maybe(result)

    def close(self) -> None:
        """Stop every write thread and the read pool; remove a temporary internal database."""
        for db in list(self.databases.values()):
            db.close()
        if "_result_cache" in self.__dict__:
            self.__dict__["_result_cache"].close()
        if "_commit_watch" in self.__dict__:
            self.__dict__["_commit_watch"].close()
        self._internal_database.close()
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        self._finalizer()

    # -- permissions -----------------------------------------------------------------------

    def get_permission(self, name_or_abbr: str) -> Any:
        """A registered `Permission` by name, then by abbreviation; else `KeyError`."""
        if name_or_abbr in self.permissions:
            return self.permissions[name_or_abbr]
        for permission in self.permissions.values():
            if permission.abbr == name_or_abbr:
                return permission
        raise KeyError(f"No permission found with name or abbreviation {name_or_abbr}")

    async def permission_allowed(
        self, actor: Optional[dict], action: str, resource: Any = None, default: Any = _UNSET
    ) -> Any:
        """Whether `actor` may perform `action` on `resource` (see permissions.py)."""
        return await permissions_engine.permission_allowed(
            self, actor, action, resource=resource, default=default
        )

    async def ensure_permissions(self, actor: Optional[dict], permissions: list) -> None:
        """Raise `Forbidden` unless the first explicit answer allows (none: allowed)."""
        await permissions_engine.ensure_permissions(self, actor, permissions)

    async def check_visibility(
        self,
        actor: Optional[dict],
        action: Optional[str] = None,
        resource: Any = None,
        permissions: Optional[list] = None,
    ) -> tuple:
        """`(visible, private)` for a resource and actor."""
        return await permissions_engine.check_visibility(
            self, actor, action=action, resource=resource, permissions=permissions
        )

    def create_token(
        self,
        actor_id: str,
        *,
        expires_after: Optional[int] = None,
        restrict_all: Optional[Iterable[str]] = None,
        restrict_database: Optional[dict] = None,
        restrict_resource: Optional[dict] = None,
    ) -> str:
        """A signed `dstok_` API token for `actor_id`, optionally expiring and restricted.

        Restricted actions are stored by their abbreviation when they have one
        (the payload is described in `tokens.py`).
        """
        restrictions = {"a": restrict_all, "d": restrict_database, "r": restrict_resource}
        payload = token_payload(self.permissions, actor_id, expires_after, restrictions)
        return PREFIX + self.sign(payload, namespace="token")

    async def actors_from_ids(self, actor_ids: Iterable) -> dict:
        """Actor dicts for ids from the `actors_from_ids` hook, else `{id: {"id": id}}`."""
        result = pm.hook.actors_from_ids(datasette=self, actor_ids=actor_ids)
        if result is None:
            return {actor_id: {"id": actor_id} for actor_id in actor_ids}
        return await await_me_maybe(result)

    async def expand_foreign_keys(
        self, actor: Optional[dict], database: str, table: str, column: str, values: Iterable
    ) -> dict:
        """Labels for foreign key values: `{(column, value): label}`.

        Empty when `column` is not a single-column foreign key or the actor cannot view
        the table it points to; `str(value)` labels when that table has no label column.
        """
        db = self.databases[database]
        fks = [fk for fk in await db.foreign_keys_for_table(table) if fk["column"] == column]
        if not fks:
            return {}
        fk = fks[0]
        visible, _ = await self.check_visibility(
            actor,
            permissions=table_cascade(database, fk["other_table"]),
        )
        if not visible:
            return {}
        values = [v for v in dict.fromkeys(values) if v is not None]
        label_column = await db.label_column_for_table(fk["other_table"])
        if not label_column:
            return {(fk["column"], value): str(value) for value in values}
        if not values:
            return {}
        placeholders = ", ".join("?" for _ in values)
        sql = "select {other_column}, {label_column} from {other_table} where {other_column} in ({placeholders})".format(
            other_column=escape_sqlite(fk["other_column"]),
            label_column=escape_sqlite(label_column),
            other_table=escape_sqlite(fk["other_table"]),
            placeholders=placeholders,
        )
        try:
            results = await db.execute(sql, values)
        except QueryInterrupted:
            return {}
        return {(fk["column"], row[0]): row[1] for row in results.rows}

    # -- signing ---------------------------------------------------------------------------

    def sign(self, value: Any, namespace: str = "default") -> str:
        """Sign a JSON-able value (itsdangerous `URLSafeSerializer`, salt = namespace)."""
        return self._signatures.sign(self._secret, value, namespace)

    def unsign(self, signed: str, namespace: str = "default") -> Any:
        """Verify and decode a signed value; raises `itsdangerous.BadSignature`."""
        return self._signatures.unsign(self._secret, signed, namespace)

    # -- URLs and the ASGI app -------------------------------------------------------------

    @property
    def urls(self) -> Urls:
        return Urls(self)

    def absolute_url(self, request: Request, path: str) -> str:
        """`path` made absolute against the request, https under `force_https_urls`."""
        url = urllib.parse.urljoin(request.url, path)
        if url.startswith("http://") and self.setting("force_https_urls"):
            url = "https://" + url[len("http://") :]
        return url

    def routes(self) -> list:
        """The route table: `(compiled regex, view)` pairs, plugin routes first."""
        # build_routes is imported at the end of this module (the note there says why).
        return build_routes(self)

    _routes = routes  # the 1.0a7 name

    def app(self) -> Any:
        """The ASGI application, plugin `asgi_wrapper` hooks inside response compression."""
        # build_app is imported at the end of this module (the note there says why).
        # Compression is needed only here, where the stack is built.
        from .utils.compression import GzipMiddleware, enabled

        # The column statistics indexer starts after the server's lifespan start-up.
        app = StartWithServer(build_app(self), self)
        # Outermost, so plugin wrappers still see (and may rewrite) uncompressed bodies.
        return GzipMiddleware(app) if enabled(self.setting("gzip_responses")) else app

    # -- resolving URL parts ---------------------------------------------------------------

    async def resolve_database(self, request: Request) -> Database:
        database_route = tilde_decode(request.url_vars["database"])
        try:
            return self.get_database(route=database_route)
        except KeyError:
            raise DatabaseNotFound(f"Database not found: {database_route}", database_route)

    async def resolve_table(self, request: Request) -> ResolvedTable:
        db = await self.resolve_database(request)
        table_name = tilde_decode(request.url_vars["table"])
        is_view = False
        if not await db.table_exists(table_name):
            is_view = await db.view_exists(table_name)
            if not is_view:
                raise TableNotFound(f"Table not found: {table_name}", db.name, table_name)
        return ResolvedTable(db, table_name, is_view)

    async def resolve_row(self, request: Request) -> ResolvedRow:
        db, table_name, _ = await self.resolve_table(request)
        pk_values = urlsafe_components(request.url_vars["pks"])
        sql, params, pks = await row_sql_params_pks(db, table_name, pk_values)
        if len(pk_values) != len(pks):
            # A key path with too few or too many parts names no row.
            raise RowNotFound(f"Row not found: {pk_values}", db.name, table_name, pk_values)
        results = await db.execute(sql, params, truncate=True)
        row = results.first()
        if row is None:
            raise RowNotFound(f"Row not found: {pk_values}", db.name, table_name, pk_values)
        return ResolvedRow(db, table_name, sql, params, pks, pk_values, row)

    # -- state that the router, views and plugins read -----------------------------------

    @property
    def startup_invoked(self) -> bool:
        """Whether `invoke_startup()` has finished."""
        return self._startup_invoked

    @property
    def permission_checks(self) -> deque:
        """The last 200 permission checks, oldest first, for `/-/permissions`."""
        return self._permission_checks

    @property
    def root_token(self) -> Optional[str]:
        """The one-use token `serve --root` prints; None once it has been used."""
        return self._root_token

    def expire_root_token(self) -> None:
        """Use up the root token: `/-/auth-token` accepts it once."""
        self._root_token = None

    @property
    def secret(self) -> str:
        """The signing secret, for middleware that signs or checks values (CSRF tokens)."""
        return self._secret

    # -- data for the /-/ pages ------------------------------------------------------------

    def versions_info(self) -> dict:
        """The `/-/versions` document: Python, this package, uvicorn and SQLite."""
        return versions_info(self)

    def threads_info(self) -> dict:
        """The `/-/threads` document: threads and event-loop tasks (none without threads)."""
        return introspection.threads_info(self)

    def actor_info(self, request: Request) -> dict:
        """The `/-/actor` document: who the request is from."""
        return {"actor": request.actor}

    def connected_databases_info(self) -> list:
        """The `/-/databases` document: each attached database's name, route, file and kind."""
        return introspection.connected_databases_info(self)

    def plugins_info(self, request: Optional[Request] = None, all: bool = False) -> list:
        """The `/-/plugins` document; default plugins only with `?all=1` (or `all=True`)."""
        return introspection.plugins_info(request, all=all)

    # The 1.0a7 names of the methods above, used by routes and plugins written against it.
    _versions = versions_info
    _threads = threads_info
    _actor = actor_info
    _connected_databases = connected_databases_info
    _plugins = plugins_info

    # -- activity: the audit log and the job ledger (internal/activity) ------------------

    @property
    def activity(self) -> Any:
        """The audit log, job ledger and their retention task, made on first use."""
        activity = self.__dict__.get("_activity")
        if activity is None:
            activity = Activity(self._internal_database, self.setting, self)
            self.__dict__["_activity"] = activity
        return activity

    @property
    def jobs(self) -> Any:
        """The job ledger: `job = await datasette.jobs.start(kind, title, ...)`."""
        return self.activity.jobs

    @property
    def result_cache(self) -> Any:
        """Table counts and facet results kept while their database is unchanged
        (internal/cache), made on first use."""
        cache = self.__dict__.get("_result_cache")
        if cache is None:
            cache = ResultCache(
                self._internal_database,
                lambda: bool(self.setting("result_cache")),
                watch=commit_watch(self),
            )
            self.__dict__["_result_cache"] = cache
        return cache

    async def audit(
        self,
        action: str,
        actor: Optional[dict] = None,
        database: Optional[str] = None,
        resource: Optional[str] = None,
        detail: Any = None,
    ) -> None:
        """Append one row to the audit log (UTC time, actor, action, target, JSON detail).

        Raises `TypeError` at once for a `detail` JSON cannot hold; a failure to write is
        logged on the `datasette.activity` logger and never fails the caller. Rows are
        written in batches: `await datasette.activity.audit.flush()` waits for them.
        """
        await self.activity.audit.record(
            action, actor=actor, database=database, resource=resource, detail=detail
        )


def metadata_lookup(
    metadata: dict, key: Optional[str], database: Optional[str], table: Optional[str], fallback: bool
) -> Any:
    """`key` from the table's, then the database's, then the instance's level of `metadata`
    (only the most specific level without `fallback`); all levels merged if `key` is None."""
    search_list = [metadata]
    if database is not None:
        database_metadata = (metadata.get("databases") or {}).get(database) or {}
        search_list = [database_metadata, metadata]
        if table is not None:
            table_metadata = (database_metadata.get("tables") or {}).get(table) or {}
            search_list = [table_metadata, database_metadata, metadata]
    if not fallback:
        search_list = search_list[:1]
    if key is not None:
        for item in search_list:
            if key in item:
                return item[key]
        return None
    merged: dict = {}
    for item in search_list:
        merged.update(item)
    return merged


@contextlib.contextmanager
def _blaming(impl: Any) -> Iterator[None]:
    """Turn an exception from a plugin's hook into a `StartupError` naming the plugin."""
    try:
        yield
    except Exception as e:
        name = _plugin_display_name(impl.plugin, impl.plugin_name)
        message = str(e) or type(e).__name__
        raise StartupError(f"Plugin {name} failed in its startup hook: {message}") from e


def _plugin_display_name(plugin: Any, registered_name: str) -> str:
    """The name `/-/plugins` shows for a plugin: its distribution's, else its module's."""
    for candidate, dist in pm.list_plugin_distinfo():
        if candidate is plugin:
            return getattr(dist, "name", None) or dist.metadata["Name"]
    return getattr(plugin, "__name__", None) or registered_name


def _first_config_file(config_dir: Path, stem: str) -> tuple:
    """`(contents, file name)` of the directory's first `stem.json/.yaml/.yml`, or
    `({}, stem + ".json")`; a file that is not a JSON or YAML object is a `StartupError`
    naming it."""
    kind = "Metadata" if stem == "metadata" else "Config"
    for suffix in (".json", ".yaml", ".yml"):
        path = config_dir / f"{stem}{suffix}"
        if path.exists():
            try:
                parsed = parse_metadata(path.read_text())
            except (BadMetadataError, OSError, UnicodeDecodeError) as e:
                raise StartupError(f"{kind} file {path} is not valid JSON or YAML") from e
            if not isinstance(parsed, dict):
                raise StartupError(f"{kind} file {path} must contain a JSON or YAML object")
            return parsed, path.name
    return {}, f"{stem}.json"


# The router and the route table are imported last, after the names above, as the
# views they name (imported on first use) may reach back here for them. Names Datasette
# 1.0a7 exposed on this module, which plugins and tests import from here, follow; its
# view classes are imported when first asked for (`__getattr__` below), so start-up does
# not import every page (issue 15).
from .routes import build_routes, permanent_redirect, wrap_view  # noqa: E402,F401
from .router import DatasetteRouter, build_app  # noqa: E402,F401
from .client import DatasetteClient  # noqa: E402,F401,F811
from .exceptions import NotFound as _NotFound  # noqa: E402
from .views.special import JsonDataView  # noqa: E402,F401
from .custom_pages import _pattern as route_pattern_from_filepath  # noqa: E402,F401

# 1.0a7 view classes importable from this module: name -> module under datasette.views.
_VIEW_MODULES = {
    "AuthTokenView": "auth",
    "CreateTokenView": "auth",
    "LogoutView": "auth",
    "DatabaseView": "database",
    "TableCreateView": "database_create",
    "AllowDebugView": "debug",
    "ApiExplorerView": "debug",
    "MessagesDebugView": "debug",
    "PatternPortfolioView": "debug",
    "PermissionsDebugView": "debug",
    "IndexView": "index",
    "RowView": "row",
    "RowDeleteView": "row_write",
    "RowUpdateView": "row_write",
    "TableDropView": "table_write",
    "TableInsertView": "table_write",
    "TableUpsertView": "table_write",
}


# `from datasette.app import TableInsertView` and the like: the 1.0a7 view classes,
# imported on first use.
__getattr__ = lazy_getattr(
    globals(), {name: f"{__package__}.views.{module}" for name, module in _VIEW_MODULES.items()}
)


class NotFoundExplicit(_NotFound):
    """A 404 raised on purpose (not for a missing route)."""
