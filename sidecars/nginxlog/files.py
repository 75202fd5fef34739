"""Follow log files: globs rescanned, rename rotation, copytruncate, files not there yet.

A file renamed away stays open and is read to its end for a while after the new file
appears, because NGINX keeps writing to the old one until ``nginx -s reopen``; a file that
shrinks was truncated in place and is read again from its start.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .feed import Feed

__all__ = ["FileFollower", "load_checkpoint", "save_checkpoint"]

_CHUNK = 128 << 10
_RETIRE_AFTER = 5.0
_BUSY_PERIOD = 0.1


@dataclass(slots=True)
class _Open:
    path: str
    handle: BinaryIO
    key: tuple[int, int]
    partial: bytes = b""
    skipping: bool = False
    retired_at: float = 0.0

    @property
    def offset(self) -> int:
        """Where the next unread line starts: what a restart resumes from."""
        return self.handle.tell() - len(self.partial)


class FileFollower:
    """Every file the patterns name, each read to its end whenever it may have grown."""

    def __init__(
        self,
        patterns: Iterable[str],
        feed: Feed,
        *,
        start_at_end: bool,
        max_line: int,
        log: logging.Logger,
        checkpoint: dict[str, tuple[int, int, int]] | None = None,
    ) -> None:
        self.patterns = list(patterns)
        self.feed = feed
        self.start_at_end = start_at_end
        self.max_line = max_line
        self.log = log
        self.checkpoint = checkpoint or {}
        self.open: dict[str, _Open] = {}
        self.retired: list[_Open] = []
        self._first_scan = True
        self.unreadable: dict[str, str] = {}
        """Paths that exist but cannot be opened, and why."""
        self._start_late: set[str] = set()
        self._missing: set[str] = set()

    def paths(self) -> list[str]:
        found: dict[str, None] = {}
        for pattern in self.patterns:
            if glob.has_magic(pattern):
                for path in sorted(glob.glob(pattern)):
                    if os.path.isfile(path):
                        found[path] = None
            else:
                found[pattern] = None
        return list(found)

    def open_existing(self) -> None:
        """Open the files there now, at the start position the settings ask for; files
        found by later polls are new and read from their start."""
        for pattern in self.patterns:
            if glob.has_magic(pattern) and not glob.glob(pattern):
                self.log.info("no log file matches yet", extra={"pattern": pattern})
        for path in self.paths():
            try:
                stat = os.stat(path)
            except OSError:
                self._gone(path)
                continue
            key = (stat.st_dev, stat.st_ino)
            if (
                path not in self.open
                and not self._followed(key)
                and self._open(path, key, stat.st_size) is None
                and self.start_at_end
            ):
                self._start_late.add(path)  # lines already there are old ones
        self._first_scan = False

    def _gone(self, path: str) -> None:
        if path not in self._missing:
            self._missing.add(path)
            self.log.info(
                "log file does not exist (yet); it is read from its start once it does",
                extra={"path": path},
            )

    async def poll(self) -> None:
        """Open new files, notice rotation and truncation, read everything new."""
        for path in self.paths():
            current = self.open.get(path)
            try:
                stat = os.stat(path)
            except OSError:
                if current is not None:
                    await self._read(current)
                elif path not in self.unreadable:
                    self._gone(path)
                continue
            if path in self._missing:
                self._missing.discard(path)
                self.log.info("log file appeared", extra={"path": path})
            key = (stat.st_dev, stat.st_ino)
            if current is not None and current.key != key:
                await self._read(current)
                current.retired_at = time.monotonic()
                self.retired.append(current)
                self.feed.stats.rotations += 1
                self.log.info("file rotated, reading the new one", extra={"path": path})
                current = None
            if current is None:
                if self._followed(key):
                    continue
                current = self._open(path, key, stat.st_size)
                if current is None:
                    continue
            elif stat.st_size < current.handle.tell():
                self.log.info("file truncated, reading from its start", extra={"path": path})
                self.feed.stats.rotations += 1
                current.handle.seek(0)
                current.partial, current.skipping = b"", False
            await self._read(current)
        now = time.monotonic()
        for old in list(self.retired):
            await self._read(old)
            if now - old.retired_at > _RETIRE_AFTER:
                old.handle.close()
                self.retired.remove(old)

    def _followed(self, key: tuple[int, int]) -> bool:
        """Whether a file is already read under another name (a glob matching its new name)."""
        return any(entry.key == key for entry in [*self.open.values(), *self.retired])

    def _open(self, path: str, key: tuple[int, int], size: int) -> _Open | None:
        try:
            handle = open(path, "rb", buffering=0)  # noqa: SIM115 - kept open while followed
        except OSError as exc:
            if path not in self.unreadable:
                self.log.warning("cannot open log file", extra={"path": path, "error": str(exc)})
            self.unreadable[path] = exc.strerror or str(exc)
            return None
        self.unreadable.pop(path, None)
        start = 0
        saved = self.checkpoint.pop(path, None)
        if saved is not None:
            same = (saved[0], saved[1]) == key and saved[2] <= size
            start = saved[2] if same else 0  # else rotated while we were away: all of it is new
        elif (self._first_scan or path in self._start_late) and self.start_at_end:
            start = size
        self._start_late.discard(path)
        handle.seek(start)
        entry = _Open(path, handle, key)
        self.open[path] = entry
        self.log.info("following file", extra={"path": path, "offset": start})
        return entry

    async def _read(self, entry: _Open) -> None:
        while True:
            try:
                data = entry.handle.read(_CHUNK)
            except OSError as exc:
                self.log.warning(
                    "cannot read log file", extra={"path": entry.path, "error": str(exc)}
                )
                return
            if not data:
                return
            self._consume(entry, data)
            await asyncio.sleep(0)

    def _consume(self, entry: _Open, data: bytes) -> None:
        if entry.skipping:
            newline = data.find(b"\n")
            if newline < 0:
                return
            data, entry.skipping = data[newline + 1 :], False
        buffer = entry.partial + data if entry.partial else data
        cut = buffer.rfind(b"\n") + 1
        if cut:
            self.feed.lines(buffer, cut)
        entry.partial = buffer[cut:]
        if len(entry.partial) > self.max_line:
            self.feed.too_long()
            entry.partial, entry.skipping = b"", True

    def positions(self) -> dict[str, tuple[int, int, int]]:
        """``path -> (device, inode, offset)`` of every open file, for the checkpoint."""
        saved = dict(self.checkpoint)
        for path, entry in self.open.items():
            if not entry.skipping:
                saved[path] = (*entry.key, entry.offset)
        return saved

    async def follow(self, stopping: asyncio.Event, interval: float) -> None:
        """Poll every ``_BUSY_PERIOD`` while lines keep coming, and every ``interval``
        seconds while the files are quiet. Change notifications (watchfiles) cost 1.3 MB of
        resident memory and two threads in every Pod and save at most ``interval`` of
        delay on a metric that is scraped every 15 s or more; each NGINX write is also one
        notification, which at tens of thousands a second costs more than the reading."""
        while not stopping.is_set():
            wait = _BUSY_PERIOD if await self._poll_found_lines() else interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), wait)

    async def _poll_found_lines(self) -> bool:
        stats = self.feed.stats
        before = (stats.lines, stats.bytes)
        await self.poll()
        return (stats.lines, stats.bytes) != before

    def close(self) -> None:
        for entry in [*self.open.values(), *self.retired]:
            with contextlib.suppress(OSError):
                entry.handle.close()
        self.open.clear()
        self.retired.clear()


def load_checkpoint(path: Path, log: logging.Logger) -> dict[str, tuple[int, int, int]]:
    """Offsets saved by an earlier run; an unreadable file means starting afresh."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {name: (int(v[0]), int(v[1]), int(v[2])) for name, v in data["files"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        log.warning("ignoring unreadable checkpoint", extra={"path": str(path), "error": str(exc)})
        return {}


def save_checkpoint(path: Path, positions: dict[str, tuple[int, int, int]]) -> None:
    """Write atomically (temporary file, then rename), so a crash leaves the old one whole."""
    temporary = path.with_name(f".{path.name}.tmp")
    data = {"files": {name: list(value) for name, value in positions.items()}}
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
