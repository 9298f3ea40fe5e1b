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

Acknowledged means committed: the answer is handed over only after the task's function,
which commits its own work, has returned. Durability is SQLite's: the internal database
commits with `synchronous=FULL` in WAL mode (internal/store.py); user databases keep
SQLite's default, `synchronous=FULL`, in whatever journal mode the file has, so an
acknowledged write has been synced to disk. Commits are not batched across tasks: each
task is its own transaction (the write API's `in_transaction`, `execute_write`'s
`with conn:`), and sharing one commit between callers would need those functions to
give up their BEGIN/COMMIT to the thread.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import uuid
from typing import Any, Callable, Optional

logger = logging.getLogger("datasette.writer")

# Put on the inbox to make the thread close its connection and exit.
_STOP = object()


class WriteTask:
    """One unit of work for a write thread: a function of the write connection."""

    __slots__ = ("fn", "task_id", "reply")

    def __init__(
        self, fn: Callable, task_id: uuid.UUID,
        reply: Optional[tuple[asyncio.AbstractEventLoop, asyncio.Future]],
    ):
        self.fn = fn
        self.task_id = task_id
        # (the caller's loop, the future it awaits), or None for a fire-and-forget task
        self.reply = reply


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

    @property
    def thread(self) -> Optional[threading.Thread]:
        """The running thread, or None before the first write."""
        return self._thread

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run,
                    name=f"datasette-writer-{self._name}",
                    daemon=True,
                )
                self._thread.start()

    async def submit(self, fn: Callable, block: bool = True) -> Any:
        """Run `fn(conn)` on the write thread.

        With `block=True`, wait and return its result (or raise its exception). With
        `block=False`, return the task's `uuid.UUID` at once; the result is dropped and
        an exception is logged on the `datasette.writer` logger.
        """
        self._ensure_started()
        task_id = uuid.uuid4()
        if not block:
            self._inbox.put(WriteTask(fn, task_id, None))
            return task_id
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._inbox.put(WriteTask(fn, task_id, (loop, future)))
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
            while True:
                task = self._inbox.get()
                if task is _STOP:
                    return
                if connect_error is not None:
                    self._reply(task, False, connect_error)
                    continue
                try:
                    result = task.fn(conn)
                except BaseException as e:  # even SystemExit: the caller must hear back
                    self._reply(task, False, e)
                else:
                    self._reply(task, True, result)
                # Not kept while waiting for the next one: a finished task's reply queue
                # can reach its caller's frames, and through them a dropped instance.
                task = result = None
        finally:
            if conn is not None:
                conn.close()

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
        loop, future = task.reply
        try:
            loop.call_soon_threadsafe(_settle, future, ok, value, self._name, task.task_id)
        except RuntimeError:
            # The caller's loop is closed: nobody to tell.
            if not ok:
                logger.error("Write task %s on %s failed: %r", task.task_id, self._name, value)


def _settle(future: asyncio.Future, ok: bool, value: Any, name: str, task_id: uuid.UUID) -> None:
    """Give the caller its answer, on its loop; a cancelled caller only hears of failures
    through the log."""
    if not future.cancelled():
        future.set_result((ok, value))
    elif not ok:
        logger.error("Write task %s on %s failed: %r", task_id, name, value)
