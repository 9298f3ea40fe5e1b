"""One write thread per mutable database.

SQLite allows one writer at a time. Rather than let connections fight over the lock (and
fail with "database is locked"), every write to a database goes through a single thread
that owns its only write connection. Callers put a `WriteTask` on the thread's inbox and
await the answer on a `janus` queue made for that call.

The inbox is a plain thread-safe queue, not a janus queue, because a janus queue is bound
to one event loop while the write thread outlives loops: tests, `TestClient` and the
server can all drive the same database from different loops. Each reply queue is created
in the caller's loop, which is exactly the loop that awaits it.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from typing import Any, Callable, Optional

import janus

logger = logging.getLogger("datasette.writer")

# Put on the inbox to make the thread close its connection and exit.
_STOP = object()


class WriteTask:
    """One unit of work for a write thread: a function of the write connection."""

    __slots__ = ("fn", "task_id", "reply_queue")

    def __init__(self, fn: Callable, task_id: uuid.UUID, reply_queue: Optional[Any]):
        self.fn = fn
        self.task_id = task_id
        self.reply_queue = reply_queue


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
        reply: janus.Queue = janus.Queue()
        try:
            self._inbox.put(WriteTask(fn, task_id, reply))
            ok, value = await reply.async_q.get()
        finally:
            reply.close()
            await reply.wait_closed()
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
        finally:
            if conn is not None:
                conn.close()

    def _reply(self, task: WriteTask, ok: bool, value: Any) -> None:
        if task.reply_queue is None:
            if not ok:
                logger.error(
                    "Write task %s on %s failed: %r",
                    task.task_id,
                    self._name,
                    value,
                    exc_info=(type(value), value, value.__traceback__),
                )
            return
        try:
            task.reply_queue.sync_q.put((ok, value))
        except Exception:
            # The caller's queue was closed (its task was cancelled): nobody to tell.
            if not ok:
                logger.error("Write task %s on %s failed: %r", task.task_id, self._name, value)
