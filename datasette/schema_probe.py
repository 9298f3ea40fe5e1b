"""A database's schema version, read on the event loop for the catalog refresh.

Every request to a core page starts by asking each mutable database for its schema
version (`Catalog.refresh`), so this is on the path of every request. `PRAGMA
schema_version` costs about 8 µs on a file in rollback-journal mode (SQLite takes and
drops its shared lock and looks for a hot journal and a WAL file: eight system calls),
where one `stat` of the file costs about 1 µs. So the probe remembers the file's stat
from just before its last PRAGMA read and answers from memory while the stat is
unchanged, when that is safe to conclude:

- The file was in rollback-journal mode at that read. Every commit then writes the file
  itself (its pages and the schema cookie in its header), which moves its modification
  time; switching to WAL writes the header too. In WAL mode commits go to the `-wal`
  file, so WAL files are always asked with the PRAGMA.
- The remembered modification and change times are older than `RACY_SECONDS` before
  that read. A file's timestamp has a granularity (the kernel's coarse clock, a second on some
  filesystems), so a write made in the same tick as the remembered stat could leave it
  unchanged; a timestamp that old cannot be equalled by a later write. (git's index
  treats "racily clean" entries the same way.) A file written in the last two seconds is
  asked with the PRAGMA until it has been quiet that long.
- The file is on a local filesystem (Linux's mount table says which): a network
  filesystem may hand back cached attributes, and SQLite's locks are what revalidate
  them there. Elsewhere, and for named in-memory databases, the PRAGMA answers.

The probe never opens the file itself: closing any descriptor of a file drops every
POSIX lock this process holds on it, SQLite's included. The PRAGMA runs on a connection
of the probe's own that never waits for a lock (a writer holding it gives None, and the
caller asks a read thread instead).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Optional

from .utils import schema as schema_utils
from .utils.sqlite import sqlite3

# Older than this before the last PRAGMA read, a modification time cannot be repeated by
# a later write (coarse clocks, filesystems with one- or two-second timestamps).
RACY_SECONDS = 2.0
# URI modes whose database is the file at `path` (`memory` names a memory database).
_FILE_MODES = (None, "ro", "rw", "rwc")
# Filesystems whose file attributes show every write made on this machine at once.
LOCAL_FILESYSTEMS = frozenset({
    "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "bcachefs", "reiserfs",
    "tmpfs", "ramfs", "overlay", "vfat", "exfat", "ntfs3", "hfsplus", "squashfs",
})
MOUNTINFO = "/proc/self/mountinfo"


def filesystem_type(mountinfo: str, path: str) -> Optional[str]:
    """The filesystem type of the mount holding `path` (absolute, symlinks resolved),
    read from the text of `/proc/self/mountinfo`; None if no mount holds it."""
    found, found_length = None, -1
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        # ID, parent, device, root, mount point, options, optional tags..., "-", type...
        if "-" not in fields[6:-1]:
            continue
        mount_point = _unescape(fields[4])
        inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
        # The longest mount point holding the path wins; of equal ones the last mounted.
        if inside and len(mount_point) >= found_length:
            found, found_length = fields[fields.index("-", 6) + 1], len(mount_point)
    return found


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash in names as octal escapes.
    for escaped, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(escaped, char)
    return field


def on_local_filesystem(path: str) -> bool:
    """Whether the file at `path` is on one of `LOCAL_FILESYSTEMS`; False when it cannot
    be told (no Linux mount table), so the caller keeps to SQLite's own reads."""
    try:
        with open(MOUNTINFO, encoding="utf-8", errors="replace") as f:
            mountinfo = f.read()
    except OSError:
        return False
    return filesystem_type(mountinfo, os.path.realpath(path)) in LOCAL_FILESYSTEMS


def _stat_key(stat: os.stat_result) -> tuple:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


class SchemaProbe:
    """Reads one database's schema version without leaving the calling thread.

    :param path: the database file, or None when there is no file to stat
    :param mode: the URI `mode` the database's connections use
    :param connect: opens the fallback connection (read-only, `timeout=0`)
    :param local_devices: whether each device number is on a local filesystem, shared by
        the probes of one instance so the mount table is read once per device
    :param racy_seconds: how old the file's timestamps must be, at a PRAGMA read, for
        its stat to stand for that read (default `RACY_SECONDS`)
    """

    def __init__(
        self,
        path: Optional[str],
        mode: Optional[str],
        connect: Callable[[], Any],
        local_devices: Optional[dict] = None,
        racy_seconds: Optional[float] = None,
    ):
        statable = path is not None and mode in _FILE_MODES
        self._path = os.fspath(path) if statable else None  # type: ignore[arg-type]
        self._connect = connect
        self._local_devices = {} if local_devices is None else local_devices
        self._conn: Any = None
        racy = RACY_SECONDS if racy_seconds is None else racy_seconds
        self._racy_ns = int(racy * 1_000_000_000)
        # The stat taken just before the last PRAGMA read, when it may be trusted.
        self._quiet_key: Optional[tuple] = None
        self._version: Optional[int] = None
        # Whether `_quiet_key` came from a previous process (`seed`), not a read here.
        self._seeded = False
        # How many reads have left a trusted stat: a new one is a new state to store.
        self.quiet_reads = 0
        # Two event loops in two threads may share a Database (tests, clients).
        self._lock = threading.Lock()

    def version(self) -> Optional[int]:
        """The schema version now; None if it cannot be read without waiting (a writer
        holds the lock), and the caller asks a read thread instead."""
        with self._lock:
            key = self._stat()
            if key is not None and key == self._quiet_key:
                return self._version
            started = time.time_ns()
            self._quiet_key = None
            self._seeded = False
            try:
                if self._conn is None:
                    self._conn = self._connect()
                version = schema_utils.schema_version(self._conn)
                rollback = key is not None and not _in_wal_mode(self._conn)
            except sqlite3.Error:
                return None
            # Both timestamps: `utime` can set the modification time back, not the change time.
            if rollback and max(key[3], key[4]) < started - self._racy_ns:
                self._quiet_key, self._version = key, version
                self.quiet_reads += 1
            return version

    def seed(self, key: tuple, version: int) -> None:
        """Start from a quiet state a previous process stored (`internal/file_states.py`):
        while the file's stat is `key`, its schema version is `version`. Ignored once the
        probe has read the file itself."""
        with self._lock:
            if self._quiet_key is None:
                self._quiet_key, self._version, self._seeded = key, version, True

    def quiet_state(self) -> Optional[tuple]:
        """`(stat key, version)` of the last read when its stat may be trusted, else None."""
        with self._lock:
            if self._quiet_key is None:
                return None
            return self._quiet_key, self._version

    def unchanged_since_seed(self) -> bool:
        """Whether the file is still exactly as the seeding process left it: seeded, and
        its stat (taken now) is the seeded one."""
        with self._lock:
            return self._seeded and self._stat() == self._quiet_key

    def _stat(self) -> Optional[tuple]:
        """The file's stat key, or None when the file's stat cannot be trusted (not on a
        local filesystem, not a file, not there)."""
        if self._path is None:
            return None
        try:
            stat = os.stat(self._path)
        except OSError:
            return None  # not there yet (or gone): the PRAGMA says what it is
        local = self._local_devices.get(stat.st_dev)
        if local is None:
            local = self._local_devices[stat.st_dev] = on_local_filesystem(self._path)
        if not local:
            self._path = None
            return None
        return _stat_key(stat)

    def close(self) -> None:
        """Forget the fallback connection (its owner closes it) and what was read; a
        later `version()` opens a new one."""
        with self._lock:
            self._conn = None
            self._quiet_key = None
            self._seeded = False


def _in_wal_mode(conn: Any) -> bool:
    # Without an assignment the pragma reports the mode the file's header records.
    return str(conn.execute("pragma journal_mode").fetchone()[0]).lower() == "wal"
