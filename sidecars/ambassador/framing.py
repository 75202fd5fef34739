"""HTTP/1.1 message framing: heads parsed once, bodies measured as they stream past.

Only what a proxy needs is parsed: start line, header names and values, and where the
body ends (Content-Length or chunked). Bodies are never buffered; they are counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "HOP_BY_HOP",
    "BadMessage",
    "Chunked",
    "Head",
    "line_pattern",
    "parse_head",
]

MAX_HEAD = 64 * 1024
HOP_BY_HOP = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade")
)
_NOT_HEADERS = frozenset((b"close",))


def line_pattern(names: Iterable[bytes]) -> re.Pattern[bytes]:
    """Matches every line of the named headers, so one ``sub`` call drops them all."""
    alternatives = b"|".join(re.escape(name.strip().lower()) for name in sorted(set(names)))
    return re.compile(b"\\r\\n(?:" + alternatives + b"):[^\\r\\n]*", re.IGNORECASE)


class BadMessage(ValueError):
    """The peer sent something that is not HTTP/1.x; the request or connection ends."""


class Head:
    """A request or response head, scanned rather than split: a proxy mostly passes it on.

    ``raw`` is the head without its final blank line; ``low`` its lower-case twin used to
    find headers with ``bytes.find`` (C speed) instead of a Python loop over lines.
    """

    __slots__ = ("body", "close", "first", "length", "low", "raw", "tokens", "version")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.low = raw.lower()
        self.first: list[bytes] = []
        self.version = b"HTTP/1.1"
        self.close = False
        self.body = "none"  # none | length | chunked | eof
        self.length = 0
        self.tokens: frozenset[bytes] = frozenset()  # Connection header tokens, lower-case

    def get(self, lower: bytes) -> bytes | None:
        """The first value of header ``lower`` (a lower-case name), stripped."""
        start = self.low.find(b"\r\n" + lower + b":")
        if start < 0:
            return None
        start += len(lower) + 3
        end = self.low.find(b"\r\n", start)
        return self.raw[start : end if end >= 0 else len(self.raw)].strip()

    def without(self, pattern: re.Pattern[bytes]) -> bytes:
        """``raw`` without the header lines ``pattern`` matches, nor those Connection names."""
        raw = pattern.sub(b"", self.raw)
        if self.tokens and self.tokens not in _COMMON_TOKENS.values():
            extra = self.tokens - HOP_BY_HOP - _NOT_HEADERS
            if extra:
                raw = line_pattern(extra).sub(b"", raw)
        return raw


_LENGTH = b"\r\ncontent-length:"
_CODING = b"\r\ntransfer-encoding:"
_CONNECTION = b"\r\nconnection:"
_COMMON_TOKENS = {
    b"keep-alive": frozenset((b"keep-alive",)),
    b"close": frozenset((b"close",)),
}


def _value(head: Head, start: int, key: bytes) -> bytes:
    start += len(key)
    end = head.low.find(b"\r\n", start)
    return head.raw[start : end if end >= 0 else len(head.raw)].strip()


def parse_head(raw: bytes, request: bool) -> Head:
    """Scan a head without its final blank line; ``BadMessage`` if it is not HTTP/1.x."""
    head = Head(raw)
    end = raw.find(b"\r\n")
    first = (raw if end < 0 else raw[:end]).split(b" ", 2)
    if len(first) != 3 and not (not request and len(first) == 2):
        raise BadMessage("bad start line")
    if len(first) == 2:
        first.append(b"")
    head.first = first
    version = first[2] if request else first[0]
    if version != b"HTTP/1.1" and version != b"HTTP/1.0":
        raise BadMessage("unsupported HTTP version")
    head.version = version
    if b"\r\n " in raw or b"\r\n\t" in raw or b" :" in raw or b"\t:" in raw:
        raise BadMessage("folded header or space before a colon")
    low = head.low
    length: bytes | None = None
    position = low.find(_LENGTH)
    if position >= 0:
        length = _value(head, position, _LENGTH)
        again = low.find(_LENGTH, position + 2)
        if again >= 0 and _value(head, again, _LENGTH) != length:
            raise BadMessage("conflicting Content-Length")
    chunked = False
    position = low.find(_CODING)
    if position >= 0:
        chunked = _value(head, position, _CODING).lower().endswith(b"chunked")
        if not chunked:
            raise BadMessage("unsupported Transfer-Encoding")
    position = low.find(_CONNECTION)
    if position >= 0:
        value = _value(head, position, _CONNECTION).lower()
        tokens = _COMMON_TOKENS.get(value)
        if tokens is None:
            tokens = frozenset(t.strip() for t in value.split(b",") if t.strip())
        head.tokens = tokens
    if version == b"HTTP/1.1":
        head.close = b"close" in head.tokens
    else:
        head.close = b"keep-alive" not in head.tokens
    if chunked:
        if length is not None:
            raise BadMessage("both Content-Length and chunked")
        head.body = "chunked"
    elif length is not None:
        if not length.isdigit():
            raise BadMessage("bad Content-Length")
        head.length = int(length)
        head.body = "length" if head.length else "none"
    elif not request:
        head.body = "eof"
    return head


class Chunked:
    """Finds the end of a chunked body in the bytes that stream past."""

    __slots__ = ("done", "line", "remaining", "state")

    def __init__(self) -> None:
        self.state = 0  # 0 size line, 1 data and its CRLF, 2 trailer lines
        self.remaining = 0
        self.line = b""
        self.done = False

    def feed(self, data: bytes, pos: int = 0) -> int:
        """How far into ``data`` (from ``pos``) this body goes; sets ``done`` at its end."""
        size = len(data)
        while pos < size:
            if self.state == 1:
                take = min(self.remaining, size - pos)
                pos += take
                self.remaining -= take
                if not self.remaining:
                    self.state = 0
                continue
            end = data.find(b"\n", pos)
            if end < 0:
                self.line += data[pos:]
                if len(self.line) > 4096:
                    raise BadMessage("chunk size line too long")
                return size
            line = (self.line + data[pos:end]).strip()
            self.line = b""
            pos = end + 1
            if self.state == 0:
                try:
                    chunk = int(line.split(b";", 1)[0], 16)
                except ValueError:
                    raise BadMessage("bad chunk size") from None
                if chunk < 0:
                    raise BadMessage("bad chunk size")
                if chunk:
                    self.remaining = chunk + 2
                    self.state = 1
                else:
                    self.state = 2
            elif not line:
                self.done = True
                return pos
        return pos
