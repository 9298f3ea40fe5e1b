"""`Datasette`: the instance. It wires databases, settings, metadata, plugins and routes.

Work is handed to the rooms that own it: `database.py` runs queries, `internal/` keeps
the internal database, `router.py` dispatches requests, `views/` render them.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import secrets
import threading
import time
import weakref
from collections import OrderedDict, deque, namedtuple
from concurrent import futures
from pathlib import Path
from typing import Any, Iterable, Optional

from itsdangerous import URLSafeSerializer

from .client import DatasetteClient
from .database import Database, QueryInterrupted  # noqa: F401 - re-exported
from .exceptions import (
    DatabaseNotFound,
    RowNotFound,
    StartupError,
    TableNotFound,
)
from .internal.catalog import Catalog
from .internal.store import (
    INTERNAL_DATABASE_NAME,
    InternalStore,
    check_not_internal_path,
    ensure_not_internal_file,
)
from . import permissions as permissions_engine
from .permissions import _UNSET, table_cascade
from .plugins import pm, load_plugins_dir
from .renderer import collect_renderers
from .templating import app_css_hash, build_jinja_env, plugin_template_dirs
from .templating import render_template as _render_template
from .settings import (  # noqa: F401 - re-exported
    DEFAULT_SETTINGS,
    OBSOLETE_SETTINGS,
    SETTINGS,
    SQLITE_LIMIT_ATTACHED,
    Setting,
)
from .url_builder import Urls
from .utils import (
    await_me_maybe,
    resolve_env_secrets,
    row_sql_params_pks,
    tilde_decode,
    urlsafe_components,
)
from .utils.sqlite import sqlite3
from .version import __version__

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
        self._unsafe_allow_internal = unsafe_allow_internal
        self.startup_warnings: list = []
        internal_path = os.path.abspath(internal) if internal else None
        self._internal_path = internal_path

        files = list(files or [])
        immutables = list(immutables or [])
        if config_dir and not files and not immutables:
            files = self._config_dir_databases(config_dir, internal_path)
        if config_dir and (config_dir / "inspect-data.json").exists() and not inspect_data:
            import json

            inspect_data = json.loads((config_dir / "inspect-data.json").read_text())
            if not immutables:
                immutable_filenames = [i["file"] for i in inspect_data.values()]
                immutables = [
                    f for f in files if Path(f).name in immutable_filenames
                ]
                files = [f for f in files if f not in immutables]
        self.files = tuple(files) + tuple(immutables)
        self.immutables = set(immutables)
        self.inspect_data = inspect_data
        self.crossdb = crossdb
        self.nolock = nolock
        self.cache_headers = cache_headers
        self.cors = cors
        self.version_note = version_note

        # Refuse to publish an internal database before anything opens or creates one.
        check_not_internal_path(internal_path, list(self.files))
        for file in self.files:
            warning = ensure_not_internal_file(file, unsafe_allow_internal)
            if warning:
                self.startup_warnings.append(warning)

        config = config or {}
        metadata = metadata or {}
        if config_dir:
            metadata = metadata or _first_config_file(config_dir, "metadata") or {}
            config = config or _first_config_file(config_dir, "datasette") or {}
        self._metadata_local = metadata
        config_settings = config.get("settings") or {}
        for key in config_settings:
            if key not in DEFAULT_SETTINGS:
                raise StartupError(f"Invalid setting '{key}' in datasette.json")
        self._settings = dict(DEFAULT_SETTINGS)
        self._settings.update(config_settings)
        self._settings.update(settings or {})

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

        self.databases: "OrderedDict[str, Database]" = OrderedDict()
        if memory or crossdb or not self.files:
            self.add_database(
                Database(self, is_mutable=False, is_memory=True), name="_memory"
            )
        for file in self.files:
            self.add_database(
                Database(self, path=file, is_mutable=file not in self.immutables)
            )

        self._internal_store = InternalStore(internal_path, __version__)
        self._internal_store.open()
        self._finalizer = weakref.finalize(self, self._internal_store.close)
        internal_db = Database(self, path=self._internal_store.path, mode="rwc")
        internal_db.name = INTERNAL_DATABASE_NAME
        internal_db.is_internal = True
        internal_db._connection_setup = self._internal_store.setup_connection
        self._internal_database = internal_db
        self.internal_db_created = True
        self._catalog = Catalog(internal_db)

        self.permissions: dict = {}
        self.renderers = collect_renderers(self)
        self.jinja_env = build_jinja_env(self.template_dir, plugin_template_dirs())
        self._permission_checks: deque = deque(maxlen=200)
        self._root_token = secrets.token_hex(32)
        self._startup_invoked = False
        self._unit_registry: Any = None
        self._startup_lock = threading.Lock()
        self._startup_future: Optional[asyncio.Future] = None
        self.client = DatasetteClient(self)

    # -- databases ------------------------------------------------------------------------

    @staticmethod
    def _config_dir_databases(config_dir: Path, internal_path: Optional[str]) -> list:
        """Database files in a configuration directory, leaving out its internal file."""
        found = []
        for path in sorted(config_dir.iterdir()):
            if path.suffix not in _DATABASE_SUFFIXES or not path.is_file():
                continue
            if internal_path and os.path.exists(internal_path):
                if os.path.samefile(path, internal_path):
                    continue
            elif internal_path and os.path.realpath(path) == internal_path:
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

    def get_internal_database(self) -> Database:
        """The private internal database: never served, never in `databases`."""
        return self._internal_database

    async def refresh_schemas(self) -> None:
        """Bring the internal catalog up to date with the attached databases."""
        await self._catalog.refresh(self.databases)

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
        for key, upd_value in updated.items():
            if isinstance(upd_value, dict) and isinstance(orig.get(key), dict):
                orig[key] = self._metadata_recursive_update(orig[key], upd_value)
            else:
                orig[key] = upd_value
        return orig

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
        metadata: dict = {}
        for hook_dbs in pm.hook.get_metadata(
            datasette=self, key=key, database=database, table=table
        ):
            metadata = self._metadata_recursive_update(metadata, hook_dbs)
        # The local metadata wins; nested dicts stay the caller's own objects.
        metadata = self._metadata_recursive_update(metadata, self._metadata_local or {})
        databases = metadata.get("databases") or {}
        search_list = []
        if database is not None:
            search_list.append(databases.get(database) or {})
        if table is not None:
            table_metadata = ((databases.get(database) or {}).get("tables") or {}).get(
                table
            ) or {}
            search_list.insert(0, table_metadata)
        search_list.append(metadata)
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

    def add_message(self, request: Any, message: str, type: int = INFO) -> None:
        """Queue a flash message; it is sent as the signed `ds_messages` cookie."""
        if not hasattr(request, "_messages"):
            request._messages = []
        request._messages.append((message, type))
        request._messages_changed = True

    def _show_messages(self, request: Any) -> list:
        """Messages waiting for this request; showing them clears the cookie."""
        if request is None:
            return []
        messages = list(getattr(request, "_messages", None) or [])
        if messages:
            request._messages = []
            request._messages_changed = True
        return messages

    async def render_template(
        self,
        templates: Any,
        context: Any = None,
        request: Any = None,
        view_name: Optional[str] = None,
    ) -> str:
        """Render a template (name, list of names or `Template`) with plugin context."""
        return await _render_template(
            self, templates, context=context, request=request, view_name=view_name
        )

    def unit_registry(self) -> Any:
        """The Pint unit registry with the root metadata's `custom_units` (built once)."""
        if self._unit_registry is None:
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

    def _prepare_connection(self, conn: Any, database: str) -> None:
        """Set up a new connection to a user database, then run `prepare_connection` hooks."""
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

    async def invoke_startup(self) -> None:
        """Run start-up once: permissions, Jinja environment hooks, `startup` hooks, catalog."""
        if self._startup_invoked:
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
        from .permissions import collect_permissions

        self.permissions = collect_permissions(self)
        for hook in pm.hook.prepare_jinja2_environment(env=self.jinja_env, datasette=self):
            await await_me_maybe(hook)
        await self.refresh_schemas()
        for hook in pm.hook.startup(datasette=self):
            await await_me_maybe(hook)

    def close(self) -> None:
        """Stop every write thread and the read pool; remove a temporary internal database."""
        for db in list(self.databases.values()):
            db.close()
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

        Restricted actions are stored by their abbreviation when they have one.
        """

        def abbreviate(action: str) -> str:
            permission = self.permissions.get(action)
            return permission.abbr if permission is not None and permission.abbr else action

        token: dict = {"a": actor_id, "t": int(time.time())}
        if expires_after:
            token["d"] = expires_after
        if restrict_all or restrict_database or restrict_resource:
            restrictions: dict = {}
            if restrict_all:
                restrictions["a"] = [abbreviate(a) for a in restrict_all]
            if restrict_database:
                restrictions["d"] = {
                    database: [abbreviate(a) for a in actions]
                    for database, actions in restrict_database.items()
                }
            if restrict_resource:
                restrictions["r"] = {
                    database: {
                        resource: [abbreviate(a) for a in actions]
                        for resource, actions in resources.items()
                    }
                    for database, resources in restrict_resource.items()
                }
            token["_r"] = restrictions
        return "dstok_" + self.sign(token, namespace="token")

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
        sql = "select [{other_column}], [{label_column}] from [{other_table}] where [{other_column}] in ({placeholders})".format(
            other_column=fk["other_column"].replace("]", "]]"),
            label_column=label_column.replace("]", "]]"),
            other_table=fk["other_table"].replace("]", "]]"),
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
        return URLSafeSerializer(self._secret, namespace).dumps(value)

    def unsign(self, signed: str, namespace: str = "default") -> Any:
        """Verify and decode a signed value; raises `itsdangerous.BadSignature`."""
        return URLSafeSerializer(self._secret, namespace).loads(signed)

    # -- URLs and the ASGI app -------------------------------------------------------------

    @property
    def urls(self) -> Urls:
        return Urls(self)

    def absolute_url(self, request: Any, path: str) -> str:
        """`path` made absolute against the request, https under `force_https_urls`."""
        import urllib.parse

        url = urllib.parse.urljoin(request.url, path)
        if url.startswith("http://") and self.setting("force_https_urls"):
            url = "https://" + url[len("http://") :]
        return url

    def _routes(self) -> list:
        from .routes import build_routes

        return build_routes(self)

    def app(self) -> Any:
        """The ASGI application, plugin `asgi_wrapper` hooks outermost."""
        from .router import build_app

        return build_app(self)

    # -- resolving URL parts ---------------------------------------------------------------

    async def resolve_database(self, request: Any) -> Database:
        database_route = tilde_decode(request.url_vars["database"])
        try:
            return self.get_database(route=database_route)
        except KeyError:
            raise DatabaseNotFound(f"Database not found: {database_route}", database_route)

    async def resolve_table(self, request: Any) -> ResolvedTable:
        db = await self.resolve_database(request)
        table_name = tilde_decode(request.url_vars["table"])
        is_view = False
        if not await db.table_exists(table_name):
            is_view = await db.view_exists(table_name)
            if not is_view:
                raise TableNotFound(f"Table not found: {table_name}", db.name, table_name)
        return ResolvedTable(db, table_name, is_view)

    async def resolve_row(self, request: Any) -> ResolvedRow:
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

    # -- data for the /-/ pages ------------------------------------------------------------

    def _versions(self) -> dict:
        from .utils.versions import versions_info

        return versions_info(self)

    def _threads(self) -> dict:
        if self.setting("num_sql_threads") == 0:
            return {"num_threads": 0, "threads": []}
        threads = list(threading.enumerate())
        info: dict = {
            "num_threads": len(threads),
            "threads": [
                {"name": t.name, "ident": t.ident, "daemon": t.daemon} for t in threads
            ],
        }
        try:
            tasks = asyncio.all_tasks()
        except RuntimeError:
            tasks = set()
        info["num_tasks"] = len(tasks)
        info["tasks"] = [str(t) for t in tasks]
        return info

    def _actor(self, request: Any) -> dict:
        return {"actor": request.actor}

    def _connected_databases(self) -> list:
        return [
            {
                "name": d.name,
                "route": d.route,
                "path": d.path,
                "size": d.size,
                "is_mutable": d.is_mutable,
                "is_memory": d.is_memory,
                "hash": d.hash,
            }
            for name, d in self.databases.items()
        ]

    def _plugins(self, request: Any = None, all: bool = False) -> list:
        from .plugins import get_plugins

        ps = list(get_plugins())
        should_show_all = False
        if request is not None:
            should_show_all = bool(request.args.get("all"))
        else:
            should_show_all = all
        if not should_show_all:
            ps = [p for p in ps if p["name"] not in _default_plugin_names()]
        return sorted(
            (
                {
                    "name": p["name"],
                    "static": p["static_path"] is not None,
                    "templates": p["templates_path"] is not None,
                    "version": p.get("version"),
                    "hooks": list(sorted(set(p["hooks"]))),
                }
                for p in ps
            ),
            key=lambda p: p["name"],
        )


def _default_plugin_names() -> set:
    from .plugins import DEFAULT_PLUGINS

    return set(DEFAULT_PLUGINS)


def _first_config_file(config_dir: Path, stem: str) -> Optional[dict]:
    from .utils import parse_metadata

    for suffix in (".json", ".yaml", ".yml"):
        path = config_dir / f"{stem}{suffix}"
        if path.exists():
            return parse_metadata(path.read_text())
    return None


def _utc_now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


# Names Datasette 1.0a7 exposed on this module, which plugins and tests import from here.
from .routes import permanent_redirect, wrap_view  # noqa: E402,F401
from .router import DatasetteRouter  # noqa: E402,F401
from .client import DatasetteClient  # noqa: E402,F401,F811
from .exceptions import NotFound as _NotFound  # noqa: E402
from .views.auth import AuthTokenView, CreateTokenView, LogoutView  # noqa: E402,F401
from .views.database import DatabaseView  # noqa: E402,F401
from .views.database_create import TableCreateView  # noqa: E402,F401
from .views.debug import (  # noqa: E402,F401
    AllowDebugView,
    ApiExplorerView,
    MessagesDebugView,
    PatternPortfolioView,
    PermissionsDebugView,
)
from .views.index import IndexView  # noqa: E402,F401
from .views.row import RowView  # noqa: E402,F401
from .views.row_write import RowDeleteView, RowUpdateView  # noqa: E402,F401
from .views.special import JsonDataView  # noqa: E402,F401
from .views.table_write import TableDropView, TableInsertView, TableUpsertView  # noqa: E402,F401
from .custom_pages import _pattern as route_pattern_from_filepath  # noqa: E402,F401


class NotFoundExplicit(_NotFound):
    """A 404 raised on purpose (not for a missing route)."""
