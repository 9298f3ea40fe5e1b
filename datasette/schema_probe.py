"""A database's schema version, read on the event loop for the catalog refresh.

Every request to a core page starts by asking each mutable database for its schema
version (`Catalog.refresh`), so this is on the path of every request. `PRAGMA
schema_version` costs about 8 µs on a file in rollback-journal mode: SQLite takes and
drops its shared lock and looks for a hot journal and a WAL file (eight system calls). In that mode a commit writes the schema cookie into the
file's header (a big-endian signed 32-bit integer at offset 40) before it returns, so
one `pread` of the header reads the same number in about a tenth of the time, and a
request that starts after a committed schema change still sees it.

The header answers only when it says "SQLite format 3" in rollback-journal mode (bytes
18 and 19 both 1). In WAL mode (both 2) a commit goes to the `-wal` file and the header
can be stale until a checkpoint, so the PRAGMA answers, on a connection of the probe's
own that never waits for a lock; so does anything else (a new empty file, a named
in-memory database, an unusual URI `mode`, a system without `os.pread`). A file switched to WAL by another process
has 2 there from the switch on, before any commit made in WAL mode.

The header is read only from a file on a local filesystem (Linux's mount table says
which): a network filesystem may hand back a cached copy of the header until something
revalidates it, and SQLite's locks are what do that there.

A header read part-way through another process's commit gives the old or the new
version; either is a version the database had or is about to have, and what SQLite
reads afterwards waits for the commit, so nothing is cached under a wrong version for
longer than the next request.

The descriptor is opened once and closed only by `close()`, after the database's own
connections: closing any descriptor of a file drops every POSIX lock this process holds
on it, SQLite's included, so it must not be opened and closed per read.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Optional

from .utils import schema as schema_utils
from .utils.sqlite import sqlite3

_MAGIC = b"SQLite format 3\x00"
_HEADER_BYTES = 44  # up to and including the schema cookie at offset 40
# URI modes whose database is the file at `path` (`memory` names a memory database).
_FILE_MODES = (None, "ro", "rw", "rwc")
# Filesystems whose reads see every write made on this machine at once (page cache).
LOCAL_FILESYSTEMS = frozenset({
    "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "bcachefs", "reiserfs",
    "tmpfs", "ramfs", "overlay", "vfat", "exfat", "ntfs3", "hfsplus", "squashfs",
})
MOUNTINFO = "/proc/self/mountinfo"


def header_schema_version(header: bytes) -> Optional[int]:
    """The schema cookie of a rollback-journal database's first bytes; None when the
    header is short, not SQLite's, or in WAL mode (where it may be out of date)."""
    if len(header) < _HEADER_BYTES or header[18] != 1 or header[19] != 1:
        return None
    if not header.startswith(_MAGIC):
        return None
    return int.from_bytes(header[40:44], "big", signed=True)


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


class SchemaProbe:
    """Reads one database's schema version without leaving the calling thread.

    :param path: the database file, or None when there is no file to read
    :param mode: the URI `mode` the database's connections use
    :param connect: opens the fallback connection (read-only, `timeout=0`)
    :param local_devices: whether each device number is on a local filesystem, shared by
        the probes of one instance so the mount table is read once per device
    """

    def __init__(
        self,
        path: Optional[str],
        mode: Optional[str],
        connect: Callable[[], Any],
        local_devices: Optional[dict] = None,
    ):
        readable = path is not None and mode in _FILE_MODES and hasattr(os, "pread")
        self._path = os.fspath(path) if readable else None  # type: ignore[arg-type]
        self._connect = connect
        self._local_devices = {} if local_devices is None else local_devices
        self._fd: Optional[int] = None
        self._conn: Any = None
        # Two event loops in two threads may share a Database (tests, clients).
        self._lock = threading.Lock()

    def version(self) -> Optional[int]:
        """The schema version now; None if it cannot be read without waiting (a writer
        holds the lock), and the caller asks a read thread instead."""
        with self._lock:
            version = self._from_header()
            if version is not None:
                return version
            try:
                if self._conn is None:
                    self._conn = self._connect()
                return schema_utils.schema_version(self._conn)
            except sqlite3.Error:
                return None

    def _from_header(self) -> Optional[int]:
        if self._path is None:
            return None
        if self._fd is None:
            try:
                device = os.stat(self._path).st_dev
            except OSError:
                return None  # not there yet (or gone): the PRAGMA says what it is
            local = self._local_devices.get(device)
            if local is None:
                local = self._local_devices[device] = on_local_filesystem(self._path)
            if not local:
                self._path = None
                return None
            try:
                self._fd = os.open(self._path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                return None
        try:
            return header_schema_version(os.pread(self._fd, _HEADER_BYTES, 0))
        except OSError:
            return None

    def close(self) -> None:
        """Forget the fallback connection (its owner closes it) and close the descriptor;
        a later `version()` opens them again."""
        with self._lock:
            self._conn = None
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
