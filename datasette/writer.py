"""One write thread per mutable database.

SQLite allows one writer at a time. Rather than let connections fight over the lock (and
fail with "database is locked"), every write to a database goes through a single thread
that owns its only write connection. Callers put a `WriteTask` on the thread's inbox and
await the answer on an asyncio future made for that call.

The inbox is a plain thread-safe queue, because the write thread outlives event loops:
tests, `TestClient` and the server can all drive the same database from different loops.
Each reply future belongs to the caller's loop, which is exactly the loop that awaits
it; the thread hands the answer over with `loop.call_soon_threadsafe`, the one way into a
loop from another thread (a future, unlike the janus queue used before, costs no locks or
queues per write).

Acknowledged means committed: the answer is handed over only after the task's work has
been committed. Durability is SQLite's: the internal database commits with
`synchronous=FULL` in WAL mode (internal/store.py); user databases keep SQLite's default,
`synchronous=FULL`, in whatever journal mode the file has (we never change a user's
file), so an acknowledged write has been synced to disk.

Group commit. A commit costs a sync to disk (milliseconds in rollback-journal mode), far
more than an insert. So tasks submitted with `grouped=True` (the write API's, through
`Database.execute_write_transaction`), which promise not to BEGIN, COMMIT or roll back
themselves, share commits: when the thread picks up a grouped task it also takes every
grouped task already waiting in the inbox (up to `MAX_GROUP`; it never waits for more,
so a lone write gains no latency), runs them in order in one transaction, each inside its
own SAVEPOINT, and commits once. A task that raises is rolled back to its savepoint and
gets its own error; the others commit. Every task of the group is answered only after
that commit, so durability is unchanged. If a task's failure ends the whole transaction
(a `RAISE(ROLLBACK)` trigger, an `ON CONFLICT ROLLBACK` constraint, a full disk), the
tasks it took down with it are run again (so a grouped function must be safe to call
twice, its first run having been rolled back). A constraint checked only at COMMIT (a
deferred foreign key) fails the shared commit, so then each task is run again with a
commit of its own and only the culprit is refused. If the commit fails for any other
reason (a full disk, a lock held too long by another process), every task of the group
gets that error and nothing of it is written.

Every other task runs alone, as before, and manages its own transaction: arbitrary
`execute_write_fn` functions, `execute_write` / `execute_write_script` /
`execute_write_many` (`with conn:`), VACUUM, PRAGMAs. A group never spans one of them:
the first ungrouped task found while gathering ends the group and runs after its commit,
so tasks still run in submission order.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
import uuid
from typing import Any, Callable, Optional, Union

from .utils.sqlite import sqlite3

logger = logging.getLogger("datasette.writer")

# Put on the inbox to make the thread close its connection and exit.
_STOP = object()

# Most tasks sharing one commit: bounds how long the first of them waits for its answer.
MAX_GROUP = 64


class WriteTask:
    """One unit of work for a write thread: a function of the write connection."""

    __slots__ = ("fn", "task_id", "reply", "grouped")

    def __init__(
        self, fn: Callable, task_id: Union[uuid.UUID, int],
        reply: Optional[tuple[asyncio.AbstractEventLoop, asyncio.Future]],
        grouped: bool = False,
    ):
        self.fn = fn
        self.task_id = task_id
        # (the caller's loop, the future it awaits), or None for a fire-and-forget task
        self.reply = reply
        # True: `fn` leaves the transaction to the thread and may share its commit
        self.grouped = grouped


class WriteStats:
    """How many commits the thread made for grouped tasks, and how many tasks they held.

    Written only by the write thread; read anywhere (a slightly stale read is harmless).
    """

    __slots__ = ("commits", "tasks", "largest")

    def __init__(self) -> None:
        self.commits = 0
        self.tasks = 0
        self.largest = 0

    def record(self, size: int) -> None:
        self.commits += 1
        self.tasks += size
        self.largest = max(self.largest, size)

    def as_dict(self) -> dict:
        """`{"commits", "tasks", "largest"}`: grouped commits, the tasks they committed
        or refused, and the most tasks one commit held."""
        return {"commits": self.commits, "tasks": self.tasks, "largest": self.largest}


class WriteThread:
    """Owns a database's write connection and runs every write on it, in order.

    `connect` opens the write connection; it is called once, on the thread. If it fails,
    the error is remembered and returned to every task, so a write never hangs.
    """

    def __init__(self, connect: Callable[[], Any], name: str):
        self._connect = connect
        self._name = name
        self._inbox: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._thread: Optional[threading.Thread] = None
        self._start_lock = threading.Lock()
        self._sequence = itertools.count(1)  # ids of awaited tasks, for log lines
        self.stats = WriteStats()
        # While a group's COMMIT runs: the schema version it leaves (read just before it,
        # inside the transaction), else None. Readers of the file wait for that commit;
        # the per-request schema check need not (Database.committing_schema_version).
        self.committing_version: Optional[int] = None

    @property
    def thread(self) -> Optional[threading.Thread]:
        """The running thread, or None before the first write."""
        return self._thread

    @property
    def queued(self) -> int:
        """Tasks waiting in the inbox (approximate while the thread runs)."""
        return self._inbox.qsize()

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run,
                    name=f"datasette-writer-{self._name}",
                    daemon=True,
                )
                self._thread.start()

    async def submit(self, fn: Callable, block: bool = True, grouped: bool = False) -> Any:
        """Run `fn(conn)` on the write thread.

        With `block=True`, wait and return its result (or raise its exception). With
        `block=False`, return the task's `uuid.UUID` at once; the result is dropped and
        an exception is logged on the `datasette.writer` logger. With `grouped=True`,
        `fn` must not begin, commit or roll back: the thread runs it inside a savepoint
        of a transaction it may share with other grouped tasks (see the module docstring).
        """
        self._ensure_started()
        if not block:
            task_id = uuid.uuid4()
            self._inbox.put(WriteTask(fn, task_id, None, grouped))
            return task_id
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        # An awaited task's id only ever appears in a log line: a sequence number is
        # enough, and uuid4's os.urandom cost about 18 us per write on the event loop.
        self._inbox.put(WriteTask(fn, next(self._sequence), (loop, future), grouped))
        ok, value = await future
        if ok:
            return value
        raise value

    def stop(self, timeout: Optional[float] = 10) -> None:
        """Finish queued tasks, close the connection and end the thread."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._inbox.put(_STOP)
        thread.join(timeout)

    def _run(self) -> None:
        conn = None
        connect_error: Optional[BaseException] = None
        try:
            conn = self._connect()
        except Exception as e:  # remembered and handed to every task
            connect_error = e
            logger.error("Could not open write connection to %s: %s", self._name, e)
        try:
            task = None
            while True:
                if task is None:
                    task = self._inbox.get()
                if task is _STOP:
                    return
                if connect_error is not None:
                    self._reply(task, False, connect_error)
                    task = None
                    continue
                if task.grouped:
                    group, task = self._gather(task)
                    self._run_group(conn, group)
                else:
                    self._run_alone(conn, task)
                    task = None
                # Not kept while waiting for the next one: a finished task's reply queue
                # can reach its caller's frames, and through them a dropped instance.
                group = None
        finally:
            if conn is not None:
                conn.close()

    def _gather(self, first: WriteTask) -> tuple[list, Any]:
        """`first` and the grouped tasks queued right behind it, and the next task to
        run after them (None when the inbox ran dry). Never waits for more."""
        group = [first]
        while len(group) < MAX_GROUP:
            try:
                task = self._inbox.get_nowait()
            except queue.Empty:
                return group, None
            if task is _STOP or not task.grouped:
                return group, task
            group.append(task)
        return group, None

    def _run_alone(self, conn: Any, task: WriteTask) -> None:
        try:
            result = task.fn(conn)
        except BaseException as e:  # even SystemExit: the caller must hear back
            self._reply(task, False, e)
        else:
            self._reply(task, True, result)

    def _run_group(self, conn: Any, group: list) -> None:
        outcomes = run_grouped(conn, [task.fn for task in group], self._commit)
        self.stats.record(len(group))
        by_loop: dict = {}
        for task, (ok, value) in zip(group, outcomes):
            if task.reply is None:
                self._reply(task, ok, value)
            else:
                by_loop.setdefault(task.reply[0], []).append((task, ok, value))
        for loop, answers in by_loop.items():
            # One wake-up of each caller's loop for the whole group, not one per task.
            self._reply_all(loop, answers)

    def _commit(self, conn: Any) -> None:
        """COMMIT, with `committing_version` telling the schema version it leaves while
        it runs (a failed commit leaves the version before: the next check reads it)."""
        self.committing_version = conn.execute("PRAGMA schema_version").fetchone()[0]
        try:
            conn.commit()
        finally:
            self.committing_version = None

    def _reply(self, task: WriteTask, ok: bool, value: Any) -> None:
        if task.reply is None:
            if not ok:
                logger.error(
                    "Write task %s on %s failed: %r",
                    task.task_id,
                    self._name,
                    value,
                    exc_info=(type(value), value, value.__traceback__),
                )
            return
        self._reply_all(task.reply[0], [(task, ok, value)])

    def _reply_all(self, loop: asyncio.AbstractEventLoop, answers: list) -> None:
        """Hand `(task, ok, value)` answers to their callers, all waiting on `loop`."""
        try:
            loop.call_soon_threadsafe(_settle, answers, self._name)
        except RuntimeError:
            # The caller's loop is closed: nobody to tell.
            for task, ok, value in answers:
                if not ok:
                    logger.error(
                        "Write task %s on %s failed: %r", task.task_id, self._name, value
                    )


def _plain_commit(conn: Any) -> None:
    conn.commit()


def run_grouped(conn: Any, fns: list, commit: Callable[[Any], None] = _plain_commit) -> list:
    """Run each `fn(conn)` in its own savepoint of one transaction, then commit once
    (with `commit(conn)`).

    Returns `(ok, result or exception)` per function, in order. A function that raises is
    rolled back to its savepoint; one whose failure ends the whole transaction makes the
    functions it undid run again in a new one. A constraint only checked at COMMIT (a
    deferred foreign key) makes each function run again with a commit of its own, so only
    the one that broke it fails. If the transaction itself fails otherwise (BEGIN, a
    savepoint, the commit), nothing is written and every function not already refused
    gets that error.
    """
    if len(fns) == 1:
        return [_run_in_transaction(conn, fns[0], commit)]
    outcomes: list = [None] * len(fns)
    todo = list(range(len(fns)))
    try:
        while todo:
            lost_at = _run_in_savepoints(conn, fns, todo, outcomes)
            if lost_at is None:
                commit(conn)
                break
            # The failure at `lost_at` rolled everything back: run the undone work again.
            todo = [i for i in todo if i > lost_at or (i < lost_at and outcomes[i][0])]
    except sqlite3.IntegrityError:
        _rollback(conn)
        return [o if o is None or not o[0] else _run_in_transaction(conn, fns[i], commit)
                for i, o in enumerate(outcomes)]
    except BaseException as e:  # nothing of the group was written: each task hears why
        _rollback(conn)
        return [(False, e) if o is None or o[0] else o for o in outcomes]
    return outcomes


def _run_in_transaction(conn: Any, fn: Callable, commit: Callable[[Any], None]) -> tuple:
    """`(ok, result or exception)` of `fn(conn)` run and committed on its own: a group of
    one needs no savepoint."""
    try:
        if conn.in_transaction:  # left open by someone else's failed work
            conn.rollback()
        conn.execute("BEGIN")
        result = fn(conn)
        commit(conn)
    except BaseException as e:  # the task's answer; nothing of it is kept
        _rollback(conn)
        return (False, e)
    return (True, result)


def _rollback(conn: Any) -> None:
    """Roll back what is open; a failure is logged, the error that led here is the one
    the tasks hear."""
    try:
        if conn.in_transaction:
            conn.rollback()
    except Exception as e:  # logged: the caller reports the first error
        logger.error("Rollback after a failed write failed: %r", e)


def _run_in_savepoints(conn: Any, fns: list, todo: list, outcomes: list) -> Optional[int]:
    """Run `fns[i]` for each `i` of `todo` in one open transaction, noting each outcome;
    the index whose failure ended the transaction, else None (left open to commit)."""
    if conn.in_transaction:  # left open by someone else's failed work
        conn.rollback()
    conn.execute("BEGIN")
    for i in todo:
        conn.execute("SAVEPOINT grouped_task")
        try:
            outcomes[i] = (True, fns[i](conn))
        except BaseException as e:  # the task's own answer; the group goes on
            outcomes[i] = (False, e)
            if not conn.in_transaction:
                return i
            conn.execute("ROLLBACK TO grouped_task")
        conn.execute("RELEASE grouped_task")
    return None


def _settle(answers: list, name: str) -> None:
    """Give each caller its answer, on its loop; a cancelled caller only hears of failures
    through the log."""
    for task, ok, value in answers:
        future = task.reply[1]
        if not future.cancelled():
            future.set_result((ok, value))
        elif not ok:
            logger.error("Write task %s on %s failed: %r", task.task_id, name, value)
