"""Which databases, tables and canned queries are public, kept in the internal database.

The state is read once at start-up into memory, so a permission check is a dictionary
lookup; every change is written through the internal database's single writer first and
only then applied in memory, so what a check sees has always been stored.

A public table is identified by its b-tree root page as well as its name. Each time the
catalog re-reads a database, `reconcile` compares the grants with the tables it found:

- the same root page under a new name, the old name gone: the table was renamed, and the
  grant follows it;
- no table at that name or root page any more: the table was dropped, and the grant goes,
  so a table created later with the same name is private until someone makes it public;
- the same name and root page but a definition that is not the old one with columns
  appended: the table was dropped and created again in between, and the grant goes.

Every change a reconcile makes is reported (`on_change`) for the audit log.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Optional

from ..clock import utc_now

if TYPE_CHECKING:
    from ...app import Datasette



@dataclass(frozen=True)
class PublicState:
    """An immutable snapshot of everything public; replaced whole on every change."""

    databases: dict = field(default_factory=dict)  # name -> allow_sql (bool)
    tables: dict = field(default_factory=dict)  # (database, table) -> (rootpage, sql)
    queries: dict = field(default_factory=dict)  # (database, query) -> True

    @property
    def is_empty(self) -> bool:
        return not (self.databases or self.tables or self.queries)

    def database_has_public_parts(self, database: str) -> bool:
        """Whether anything in `database` is public (which makes the database reachable)."""
        if database in self.databases:
            return True
        return any(db == database for db, _ in self.tables) or any(
            db == database for db, _ in self.queries
        )


@dataclass(frozen=True)
class Change:
    """One change of visibility, as the audit log records it."""

    action: str  # "make-public", "make-private", "rename", "revoke-dropped", "allow-sql"
    database: str
    resource: Optional[str]
    detail: dict


_COLUMNS_RE = re.compile(r"\((.*)\)", re.DOTALL)


def _definition(sql: Optional[str]) -> str:
    """The part of a CREATE TABLE statement after the table name, whitespace folded."""
    if not sql:
        return ""
    match = _COLUMNS_RE.search(sql)
    body = match.group(1) if match else sql
    return " ".join(body.split())


def same_table(old_sql: Optional[str], new_sql: Optional[str]) -> bool:
    """Whether `new_sql` is `old_sql`'s table, unchanged or with columns appended.

    `ALTER TABLE ... ADD COLUMN` only appends to the column list, so it keeps the grant;
    any other difference means the table was created anew.
    """
    old, new = _definition(old_sql), _definition(new_sql)
    if not old or old == new:
        return True
    return new.startswith(old + ",")


class PublicResources:
    """The public databases, tables and queries of one `Datasette` instance.

    :param internal_db: the internal `Database` the state is stored in
    :param persistent: whether that database outlives the process (`--internal FILE`)
    """

    def __init__(self, internal_db: Any, persistent: bool = False):
        self.internal_db = internal_db
        self.persistent = persistent
        # Changes made by reconciles (on the internal write thread), waiting to be audited
        # on the event loop; list.append and list.pop(0) are atomic.
        self.pending: list = []
        self.state = PublicState()
        # Reconciles run on the internal write thread, changes on the event loop; the
        # lock keeps each read-modify-replace of `state` whole.
        self._lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------

    async def load(self) -> None:
        """Read the stored state into memory (at start-up)."""
        databases = await self.internal_db.execute(
            "select database_name, allow_sql from public_databases where is_public"
        )
        tables = await self.internal_db.execute(
            "select database_name, table_name, rootpage, table_sql from public_tables"
        )
        queries = await self.internal_db.execute(
            "select database_name, query_name from public_queries"
        )
        with self._lock:
            self.state = PublicState(
                databases={row[0]: bool(row[1]) for row in databases.rows},
                tables={(row[0], row[1]): (row[2], row[3]) for row in tables.rows},
                queries={(row[0], row[1]): True for row in queries.rows},
            )

    # -- questions -------------------------------------------------------------------

    def is_public_database(self, database: str) -> bool:
        return database in self.state.databases

    def allows_sql(self, database: str) -> bool:
        return bool(self.state.databases.get(database))

    def is_public_table(self, database: str, table: str) -> bool:
        state = self.state
        return database in state.databases or (database, table) in state.tables

    def is_public_query(self, database: str, query: str) -> bool:
        state = self.state
        return database in state.databases or (database, query) in state.queries

    def listing(self) -> dict:
        """Everything public, for `/-/public.json`."""
        state = self.state
        return {
            "databases": [
                {"database": name, "allow_sql": allow_sql}
                for name, allow_sql in sorted(state.databases.items())
            ],
            "tables": [
                {"database": db, "table": table} for db, table in sorted(state.tables)
            ],
            "queries": [
                {"database": db, "query": query} for db, query in sorted(state.queries)
            ],
        }

    # -- changes ---------------------------------------------------------------------

    async def set_table(
        self, database: str, table: str, public: bool, actor_id: Optional[str], rootpage: Any, sql: Any
    ) -> bool:
        """Make a table public or private; True if that changed anything."""
        key = (database, table)
        if (key in self.state.tables) == public:
            return False
        values = {"rootpage": rootpage, "table_sql": sql} if public else None
        await self._save("public_tables", ("database_name", "table_name"), key, values, actor_id)
        self._update("tables", key, (rootpage, sql) if public else None)
        return True

    async def set_database(
        self, database: str, public: Optional[bool], allow_sql: Optional[bool], actor_id: Optional[str]
    ) -> bool:
        """Make a database public/private and/or set its SQL flag; True if anything changed."""
        current = self.state.databases
        was_public = database in current
        now_public = was_public if public is None else public
        now_sql = now_public and (bool(current.get(database)) if allow_sql is None else allow_sql)
        if now_public == was_public and now_sql == bool(current.get(database)):
            return False
        values = {"allow_sql": int(now_sql), "is_public": 1} if now_public else None
        await self._save("public_databases", ("database_name",), (database,), values, actor_id)
        self._update("databases", database, now_sql if now_public else None)
        return True

    async def set_query(self, database: str, query: str, public: bool, actor_id: Optional[str]) -> bool:
        """Make a canned query public or private; True if that changed anything."""
        key = (database, query)
        if (key in self.state.queries) == public:
            return False
        await self._save(
            "public_queries", ("database_name", "query_name"), key, {} if public else None, actor_id
        )
        self._update("queries", key, True if public else None)
        return True

    async def _save(
        self, table: str, key_columns: tuple, key: tuple, values: Optional[dict], actor_id: Optional[str]
    ) -> None:
        """Store one row of `table` (`values` None: delete it), through the internal writer."""

        def write(conn: Any) -> None:
            with conn:
                if values is None:
                    where = " and ".join(f"{column} = ?" for column in key_columns)
                    conn.execute(f"delete from {table} where {where}", key)
                    return
                row = {**dict(zip(key_columns, key)), **values}
                row.update({"changed_by": actor_id, "changed_at": utc_now()})
                columns = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                conn.execute(
                    f"insert or replace into {table} ({columns}) values ({marks})", list(row.values())
                )

        await self.internal_db.execute_write_fn(write)

    def _update(self, part: str, key: Any, value: Any) -> None:
        """Replace `state` with one entry of `part` set to `value` (None: removed)."""
        with self._lock:
            entries = dict(getattr(self.state, part))
            if value is None:
                entries.pop(key, None)
            else:
                entries[key] = value
            self.state = dataclasses.replace(self.state, **{part: entries})

    async def import_rows(self, rows: Iterable[tuple], actor_id: Optional[str]) -> int:
        """Store `(database, table)` grants in bulk (root pages are filled by the next
        reconcile); returns how many were new."""
        new = [row for row in rows if tuple(row) not in self.state.tables]

        def write(conn: Any) -> None:
            with conn:
                conn.executemany(
                    "insert or ignore into public_tables (database_name, table_name,"
                    " rootpage, table_sql, changed_by, changed_at) values (?, ?, null, null, ?, ?)",
                    [(db, table, actor_id, utc_now()) for db, table in new],
                )

        await self.internal_db.execute_write_fn(write)
        await self.load()
        return len(new)

    # -- following the tables --------------------------------------------------------

    def reconcile(self, conn: Any, database: str, tables: Iterable[tuple]) -> list:
        """Bring the grants of `database` in line with its tables as just read.

        `tables` holds `(name, rootpage, sql)` for every table. Runs on the internal write
        thread (inside the catalog refresh), writes its changes in one transaction and
        returns them as `Change` objects.
        """
        by_name = {name: (rootpage, sql) for name, rootpage, sql in tables}
        by_page = {rootpage: name for name, (rootpage, _) in by_name.items()}
        grants = {
            table: value for (db, table), value in self.state.tables.items() if db == database
        }
        if not grants:
            return []
        changes: list = []
        updates: dict = {}
        removed: list = []
        for table, (rootpage, sql) in grants.items():
            current = by_name.get(table)
            if rootpage == 0:
                continue  # a view: it has no b-tree, so its grant follows its name
            if rootpage is None and current is not None:
                # Imported without a root page: adopt the table as it is now.
                updates[table] = (table, current[0], current[1])
            elif current is not None and current[0] == rootpage:
                if same_table(sql, current[1]):
                    if current[1] != sql:
                        updates[table] = (table, current[0], current[1])
                else:
                    removed.append(table)
                    changes.append(Change("revoke-recreated", database, table, {"table": table}))
            elif rootpage in by_page and by_page[rootpage] not in grants and (
                current is None
            ):
                new_name = by_page[rootpage]
                updates[table] = (new_name, rootpage, by_name[new_name][1])
                changes.append(
                    Change("rename", database, new_name, {"from": table, "to": new_name})
                )
            else:
                removed.append(table)
                changes.append(Change("revoke-dropped", database, table, {"table": table}))
        if not updates and not removed:
            return []
        with conn:
            for table in removed:
                conn.execute(
                    "delete from public_tables where database_name = ? and table_name = ?",
                    (database, table),
                )
            for old, (new, rootpage, sql) in updates.items():
                conn.execute(
                    "update public_tables set table_name = ?, rootpage = ?, table_sql = ?"
                    " where database_name = ? and table_name = ?",
                    (new, rootpage, sql, database, old),
                )
        with self._lock:
            state_tables = dict(self.state.tables)
            for table in removed:
                state_tables.pop((database, table), None)
            for old, (new, rootpage, sql) in updates.items():
                state_tables.pop((database, old), None)
                state_tables[(database, new)] = (rootpage, sql)
            self.state = dataclasses.replace(self.state, tables=state_tables)
        self.pending.extend(changes)
        return changes

    async def audit_pending(self, datasette: Datasette) -> None:
        """Write the audit rows of changes reconciles made (no-op without an audit log)."""
        audit = getattr(datasette, "audit", None)
        while self.pending:
            change = self.pending.pop(0)
            if audit is not None:
                await audit(
                    "public." + change.action,
                    actor=None,
                    database=change.database,
                    resource=change.resource,
                    detail=change.detail,
                )

    def catalog_listener(self, conn: Any, snapshot: Any) -> None:
        """For `Catalog.listeners`: reconcile after each database's catalog rows are written."""
        tables = [(name, rootpage, sql) for _, name, rootpage, sql in snapshot.tables]
        self.reconcile(conn, snapshot.database_name, tables)
