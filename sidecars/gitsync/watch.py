"""Whether anything was written in the published tree since the last look: inotify.

Readers may write into the published tree. Comparing it with its commit costs a walk of
every file and two git processes (about 40 ms on 5,000 files), and a stat walk in Python
alone 14 ms of CPU: too much for every poll, which otherwise costs one ``git ls-remote``.
An inotify watch on each directory of the tree costs nothing while nobody writes; the
next poll after a write runs the full check. Reading the events is three libc calls
through ``ctypes`` (0.4 MB; an inotify package would add a dependency for the same).

inotify does not see writes made by another machine to a network volume; the periodic
check (``GITSYNC_VERIFY_PERIOD``) covers those, and every tree when inotify is missing
or its watch limit is reached.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

__all__ = ["TreeWatch"]

_IN_MODIFY = 0x002
_IN_ATTRIB = 0x004
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_ONLYDIR = 0x01000000
_IN_DONT_FOLLOW = 0x02000000
_MASK = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
    | _IN_ONLYDIR
    | _IN_DONT_FOLLOW
)
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC


class TreeWatch:
    """Watches one tree (and optionally its git directory) at a time."""

    def __init__(self) -> None:
        self._libc: ctypes.CDLL | None = None
        self._fd: int | None = None
        self.reason = ""
        """Why no watch is in place (only the periodic check can see damage then)."""

    def follow(self, *directories: Path) -> bool:
        """Watch every directory under ``directories`` (not following symlinks) instead of
        what was watched before. False, with ``reason`` set, when that is not possible."""
        self.close()
        import ctypes  # 0.4 MB, only in a long-running helper

        try:
            libc = self._libc or ctypes.CDLL(None, use_errno=True)
            self._libc = libc
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError) as exc:
            return self._give_up(f"inotify is not available: {exc}")
        if fd < 0:
            return self._give_up(f"inotify_init1: {os.strerror(ctypes.get_errno())}")
        self._fd = fd
        for top in directories:
            for dirpath, dirnames, _ in os.walk(top):
                dirnames[:] = [name for name in dirnames if name != ".git"]
                if libc.inotify_add_watch(fd, os.fsencode(dirpath), _MASK) < 0:
                    number = ctypes.get_errno()
                    if number in (errno.ENOENT, errno.ENOTDIR):
                        continue
                    self.close()
                    return self._give_up(f"inotify_add_watch {dirpath}: {os.strerror(number)}")
        return True

    def _give_up(self, reason: str) -> bool:
        self.reason = reason
        return False

    def changed(self) -> bool:
        """Whether any event arrived since the last call; the events are discarded."""
        if self._fd is None:
            return False
        seen = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return seen
            except OSError:
                return True
            if not data:
                return seen
            seen = True

    def close(self) -> None:
        """Closing the inotify descriptor removes all its watches at once."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
