"""Starting and stopping Litestream children that die with their parent.

On Linux each child asks the kernel (`prctl(PR_SET_PDEATHSIG, SIGTERM)`) to be sent
SIGTERM when the thread that started it exits, so a SIGKILLed server leaves no
`litestream` behind. Elsewhere a watchdog in the child cannot be added, so the
parent's normal shutdown is the only stop.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
from typing import Any, Optional, Sequence

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int, death_signal: int) -> Any:
    """A `preexec_fn` that arms PDEATHSIG, then exits if the parent is already gone."""

    def preexec() -> None:
        # Its own process group: a Ctrl+C meant for the server must not reach Litestream
        # first, or it would exit before the server stops it (and be "restarted").
        os.setpgid(0, 0)
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        except Exception:  # pragma: no cover - no prctl: best effort only
            return
        # The parent may have died between fork and prctl; then nobody would signal us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def popen_kwargs(death_signal: int = signal.SIGTERM) -> dict:
    """Keyword arguments for `subprocess`/`asyncio` spawning a child tied to this process.

    :param death_signal: what the child gets when this process dies. SIGTERM lets
        `litestream replicate` sync once more; a follower waiting on a lock ignores
        SIGTERM, so followers ask for SIGKILL (their file is a copy, resumed on restart).
    """
    if sys.platform.startswith("linux"):
        return {"preexec_fn": _die_with_parent(os.getpid(), death_signal)}
    return {"start_new_session": True}


def child_environment(extra: Optional[dict] = None) -> dict:
    """This process's environment plus `extra` (credentials)."""
    env = dict(os.environ)
    env.update(extra or {})
    return env


async def spawn(args: Sequence[str], env: Optional[dict] = None) -> asyncio.subprocess.Process:
    """Start `args` with stdout and stderr piped together, tied to this process's life."""
    return await asyncio.create_subprocess_exec(
        *args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=child_environment(env),
        **popen_kwargs(),
    )


async def stop(process: asyncio.subprocess.Process, grace: float = 10.0) -> Optional[int]:
    """SIGTERM (Litestream syncs once more and exits), then SIGKILL after `grace` seconds."""
    if process.returncode is not None:
        return process.returncode
    try:
        process.send_signal(signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return await asyncio.wait_for(process.wait(), timeout=grace)
    except asyncio.TimeoutError:
        try:
            process.kill()
        except ProcessLookupError:
            pass
        return await process.wait()


def start_sync(
    args: Sequence[str],
    env: Optional[dict] = None,
    death_signal: int = signal.SIGTERM,
    **kwargs: Any,
) -> subprocess.Popen:
    """`subprocess.Popen` with the same die-with-parent arrangement (for threads and CLIs)."""
    return subprocess.Popen(
        list(args), env=child_environment(env), **popen_kwargs(death_signal), **kwargs
    )


def stop_sync(process: subprocess.Popen, grace: float = 10.0) -> Optional[int]:
    """The blocking twin of `stop`."""
    if process.poll() is not None:
        return process.returncode
    process.terminate()
    try:
        return process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
