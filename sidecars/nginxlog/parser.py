"""Chunks of log lines in, the captured fields of each line out.

The regex path runs one ``findall`` over a whole chunk (in C). A match can only start at a
line start and matches never overlap, so as many matches as lines means every line
matched exactly once; otherwise the chunk is halved until the lines that do not match are
found one by one. Either way each line gets what matching it alone gives, which is what
the C scanner (``_tally.c``) computes directly for formats whose expression never
backtracks; the regex stays the reference and runs every other format.
"""

from __future__ import annotations

import json
from typing import Any

from .logformat import LogFormat, Step
from .native import scan_rows
from .variables import FIELD_SOURCES

__all__ = ["JsonLinesParser", "LineParser", "Parser", "Rows"]

Rows = list[tuple[bytes, ...]]
"""The captured fields of each line that matched."""

_SMALL = 16
_SLICE = 32 << 10


class LineParser:
    """Parses lines of one NGINX format, capturing the given fields."""

    def __init__(self, log_format: LogFormat, wanted: set[str], native: bool = True) -> None:
        self.pattern = log_format.compile(wanted)
        self.fields = self.pattern.fields
        self.regex = self.pattern.regex
        self.width = self.pattern.width
        self.steps: tuple[Step, ...] | None = None
        """What the C scanner runs instead of the regex, when built and able to."""
        if native and scan_rows is not None:
            self.steps = self.pattern.steps

    def scan(self, chunk: bytes, rows: Rows, bad: list[bytes], end: int | None = None) -> int:
        """Count the fields of every line of ``chunk[:end]`` (whole lines, each ending in a
        newline) into ``rows``, append lines that do not match to ``bad``; the line count.

        Slices of about ``_SLICE`` bytes keep the cost of finding a bad line small; they
        are searched in place (``pos``/``endpos``), never copied."""
        end = len(chunk) if end is None else end
        if self.steps is not None and scan_rows is not None:
            return scan_rows(self.steps, self.width, chunk, end, rows, bad)
        lines, start = 0, 0
        while start < end:
            stop = chunk.find(b"\n", start + _SLICE, end) + 1 or end
            lines += self._scan(chunk, start, stop, rows, bad)
            start = stop
        return lines

    def _scan(self, chunk: bytes, start: int, end: int, rows: Rows, bad: list[bytes]) -> int:
        lines = chunk.count(b"\n", start, end)
        found = self.regex.findall(chunk, start, end)
        if len(found) == lines:
            rows.extend(found)
            return lines
        if lines <= _SMALL:
            match = self.regex.match
            for line in chunk[start:end].split(b"\n")[:-1]:
                hit = match(line)
                if hit is None:
                    bad.append(line)
                else:
                    rows.append(hit.groups(b""))  # as findall: b"" for a path not there
            return lines
        middle = chunk.find(b"\n", (start + end) // 2, end) + 1
        if middle <= start or middle >= end:
            middle = chunk.find(b"\n", start, end) + 1
        return self._scan(chunk, start, middle, rows, bad) + self._scan(
            chunk, middle, end, rows, bad
        )


class JsonLinesParser:
    """One JSON object a line, keys named after NGINX variables (``"status": 200``)."""

    steps: tuple[Step, ...] | None = None
    width = 0

    def __init__(self, wanted: set[str]) -> None:
        self.fields = tuple(sorted(wanted & set(FIELD_SOURCES)))
        self.sources = {name: FIELD_SOURCES[name] for name in self.fields}

    def scan(self, chunk: bytes, rows: Rows, bad: list[bytes], end: int | None = None) -> int:
        lines = chunk[:end].split(b"\n")[:-1]
        loads, fields, field = json.loads, self.fields, self._field
        for line in lines:
            try:
                record = loads(line)
            except ValueError:
                record = None
            if type(record) is not dict:
                bad.append(line)
                continue
            rows.append(tuple([field(record, name) for name in fields]))
        return len(lines)

    def _field(self, record: dict[str, Any], name: str) -> bytes:
        for source in self.sources[name]:
            value = record.get(source, _ABSENT)
            if value is _ABSENT:
                continue
            if type(value) is str:
                text = value
            elif value is None or type(value) is bool:
                text = json.dumps(value)
            else:
                text = str(value)  # the JSON spelling of a number, without json.dumps' cost
            if source == "request":
                parts = text.split(" ")
                text = parts[0] if name == "method" else (parts[1] if len(parts) > 1 else "")
            return text.encode()
        return b"0" if name in ("bytes", "request_length") else b""  # a size not logged is 0


_ABSENT = object()


Parser = LineParser | JsonLinesParser
