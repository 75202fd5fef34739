"""HTTP/1.1 message framing: heads parsed once, bodies measured as they stream past.

Only what a proxy needs is parsed: start line, header names and values, and where the
body ends (Content-Length or chunked). Bodies are never buffered; they are counted.
"""

from __future__ import annotations

__all__ = ["HOP_BY_HOP", "BadMessage", "Chunked", "Head", "parse_head"]

MAX_HEAD = 64 * 1024
HOP_BY_HOP = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade")
)


class BadMessage(ValueError):
    """The peer sent something that is not HTTP/1.x; the request or connection ends."""


class Head:
    """A parsed request or response head."""

    __slots__ = ("body", "close", "first", "headers", "length", "version")

    def __init__(self) -> None:
        self.first: list[bytes] = []
        self.headers: list[tuple[bytes, bytes, bytes]] = []  # (name, lower name, value)
        self.version = b"HTTP/1.1"
        self.close = False
        self.body = "none"  # none | length | chunked | eof
        self.length = 0

    def get(self, lower: bytes) -> bytes | None:
        for _, name, value in self.headers:
            if name == lower:
                return value
        return None


def parse_head(raw: bytes, request: bool) -> Head:
    """Parse a head without its final blank line; ``BadMessage`` if it is not HTTP/1.x."""
    lines = raw.split(b"\r\n")
    head = Head()
    first = lines[0].split(b" ", 2)
    if len(first) != 3:
        raise BadMessage("bad start line")
    head.first = first
    version = first[2] if request else first[0]
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise BadMessage("unsupported HTTP version")
    head.version = version
    tokens: list[bytes] = []
    length: bytes | None = None
    chunked = False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name[-1:] in (b" ", b"\t") or name[:1] in (b" ", b"\t"):
            raise BadMessage("bad header line")
        lower = name.lower()
        value = value.strip()
        head.headers.append((name, lower, value))
        if lower == b"content-length":
            if length is not None and length != value:
                raise BadMessage("conflicting Content-Length")
            length = value
        elif lower == b"transfer-encoding":
            chunked = value.lower().endswith(b"chunked")
            if not chunked:
                raise BadMessage("unsupported Transfer-Encoding")
        elif lower == b"connection":
            tokens += [t.strip().lower() for t in value.split(b",")]
    if version == b"HTTP/1.1":
        head.close = b"close" in tokens
    else:
        head.close = b"keep-alive" not in tokens
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
