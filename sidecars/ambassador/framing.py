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
    find headers with ``bytes.find`` (C speed) instead of a Python loop over lines. ``hop``
    counts the lines a proxy must drop: without one, the head goes on as it is.
    """

    __slots__ = (
        "body",
        "close",
        "first",
        "forwarded",
        "hop",
        "host",
        "length",
        "low",
        "raw",
        "tokens",
        "upgrade",
        "version",
    )

    def __init__(self, raw: bytes, low: bytes, first: list[bytes], version: bytes) -> None:
        self.raw = raw
        self.low = low
        self.first = first
        self.version = version
        self.close = False
        self.body = "none"  # none | length | chunked | eof
        self.length = 0
        self.tokens: frozenset[bytes] = _NO_TOKENS  # Connection header tokens, lower-case
        self.upgrade = b""  # Upgrade header value, lower-case
        self.host: bytes | None = None  # lower-case
        self.forwarded = False  # an X-Forwarded-For line was seen
        self.hop = 0

    def get(self, lower: bytes) -> bytes | None:
        """The first value of header ``lower`` (a lower-case name), stripped."""
        start = self.low.find(b"\r\n" + lower + b":")
        if start < 0:
            return None
        start += len(lower) + 3
        end = self.low.find(b"\r\n", start)
        return self.raw[start : end if end >= 0 else len(self.raw)].strip()

    def without(self, pattern: re.Pattern[bytes], hop_only: bool = False) -> bytes:
        """``raw`` without the header lines ``pattern`` matches, nor those Connection names.

        ``hop_only``: ``pattern`` names no more than the hop-by-hop fields and
        X-Forwarded-For. Then a lone ``Connection: keep-alive`` (or ``close``), the usual
        case, is cut out where it is found, at a third of the cost of the substitution.
        """
        if hop_only and self.hop == 1 and self.tokens in _COMMON_TOKENS.values():
            start = self.low.find(b"\r\nconnection:")
            end = self.low.find(b"\r\n", start + 2)
            return self.raw[:start] + (self.raw[end:] if end > 0 else b"")
        raw = pattern.sub(b"", self.raw)
        if self.tokens and self.tokens not in _COMMON_TOKENS.values():
            extra = self.tokens - HOP_BY_HOP - _NOT_HEADERS
            if extra:
                raw = line_pattern(extra).sub(b"", raw)
        return raw


# The fields that frame, route or must not be passed on, and any folded (obs-fold) line, in
# one pass. Whitespace before the colon of these is refused (a smuggling vector).
_FIELDS = re.compile(
    rb"\r\n(?:(content-length|transfer-encoding|connection|upgrade|host|x-forwarded-for|"
    rb"keep-alive|proxy-connection|te|trailer)([ \t]*):[ \t]*([^\r\n]*)|[ \t])"
)
_NO_TOKENS: frozenset[bytes] = frozenset()
_COMMON_TOKENS = {
    b"keep-alive": frozenset((b"keep-alive",)),
    b"close": frozenset((b"close",)),
}
_VERSIONS = frozenset((b"HTTP/1.1", b"HTTP/1.0"))
_CONTENT_LENGTH = line_pattern([b"content-length"])


def parse_head(raw: bytes, request: bool) -> Head:
    """Scan a head without its final blank line; ``BadMessage`` if it is not HTTP/1.x.

    One regular-expression pass over the lower-case head finds the few fields that matter
    to a proxy; everything else is passed on as it is. Whatever two parsers could read two
    ways is refused: a transfer coding other than a final ``chunked`` and, in a request
    (which may go on a pooled connection), a bare CR or LF, where the server behind may
    split lines, and a second Host.
    """
    if request:
        lines = raw.count(b"\r\n")
        if raw.count(b"\n") != lines or raw.count(b"\r") != lines:
            raise BadMessage("bare CR or LF in the head")
    end = raw.find(b"\r\n")
    first = (raw if end < 0 else raw[:end]).split(b" ", 2)
    if len(first) != 3:
        if request or len(first) != 2:
            raise BadMessage("bad start line")
        first.append(b"")
    version = first[2] if request else first[0]
    if version not in _VERSIONS:
        raise BadMessage("unsupported HTTP version")
    head = Head(raw, raw.lower(), first, version)
    length: bytes | None = None
    codings: list[bytes] | None = None
    for name, space, value in _FIELDS.findall(head.low):
        if space or not name:
            raise BadMessage("folded header or space before a colon")
        if name == b"content-length":
            value = value.rstrip()
            if length is not None and value != length:
                raise BadMessage("conflicting Content-Length")
            length = value
        elif name == b"host":
            if head.host is not None and request:
                raise BadMessage("more than one Host")
            head.host = value.rstrip()
        elif name == b"connection":
            value = value.rstrip()
            tokens = _COMMON_TOKENS.get(value)
            if tokens is None:
                tokens = frozenset(t.strip() for t in value.split(b",") if t.strip())
            head.tokens = head.tokens | tokens if head.tokens else tokens
            head.hop += 1
        elif name == b"transfer-encoding":
            codings = codings or []
            codings.extend(c.strip() for c in value.split(b","))
            if value != value.rstrip() or b"" in codings:
                if request:  # some servers read neither "chunked\t" nor "chunked," as chunked
                    raise BadMessage("Transfer-Encoding with an empty or padded element")
                codings = [c for c in codings if c]
        elif name == b"upgrade":
            head.upgrade = value.rstrip()
            head.hop += 1
        elif name == b"x-forwarded-for":
            head.forwarded = True
            head.hop += 1
        else:
            head.hop += 1
    if version == b"HTTP/1.1":
        head.close = b"close" in head.tokens
    else:
        head.close = b"keep-alive" not in head.tokens
    if codings is not None:
        if length is not None:
            if request:
                raise BadMessage("both Content-Length and Transfer-Encoding")
            # in a response Transfer-Encoding wins, and Content-Length is not passed on
            head.raw = _CONTENT_LENGTH.sub(b"", head.raw)
            head.low = head.raw.lower()
        if not codings or codings.count(b"chunked") > 1:
            raise BadMessage("bad Transfer-Encoding")
        if codings[-1] == b"chunked":
            head.body = "chunked"
        elif request:
            raise BadMessage("Transfer-Encoding without a final chunked")
        else:
            head.body = "eof"
    elif length is not None:
        if not length.isdigit():
            raise BadMessage("bad Content-Length")
        head.length = int(length)
        head.body = "length" if head.length else "none"
    elif not request:
        head.body = "eof"
    return head


class Chunked:
    """Finds the end of a chunked body in the bytes that stream past.

    Strict where a lenient server could see a different end: sizes are bare hex digits,
    every line ends in CRLF, and each chunk's data is followed by exactly CRLF.
    """

    __slots__ = ("done", "line", "remaining", "state")

    def __init__(self) -> None:
        self.state = _SIZE
        self.remaining = 0  # data bytes left in the chunk; in the trailer, bytes allowed
        self.line = b""
        self.done = False

    def feed(self, data: bytes, pos: int = 0, out: list[bytes] | None = None) -> int:
        """How far into ``data`` (from ``pos``) this body goes; sets ``done`` at its end.

        With ``out``, the chunks' data (without sizes, CRLFs and trailers) is appended to it:
        the body decoded for a client that cannot read chunked framing.
        """
        size = len(data)
        while pos < size:
            if self.state == _DATA:
                take = min(self.remaining, size - pos)
                if out is not None:
                    out.append(data[pos : pos + take])
                pos += take
                self.remaining -= take
                if not self.remaining:
                    self.state = _DATA_END
                continue
            end = data.find(b"\n", pos)
            if end < 0:
                self.line += data[pos:]
                if len(self.line) > _MAX_LINE:
                    raise BadMessage("chunk line too long")
                return size
            line = self.line + data[pos:end] if self.line else data[pos:end]
            self.line = b""
            pos = end + 1
            if not line.endswith(b"\r") or b"\r" in line[:-1] or len(line) > _MAX_LINE:
                raise BadMessage("chunk line without CRLF")
            line = line[:-1]
            if self.state == _SIZE:
                match = _CHUNK_SIZE.fullmatch(line)
                if match is None:
                    raise BadMessage("bad chunk size")
                self.remaining = int(match[1], 16)
                if self.remaining:
                    self.state = _DATA
                else:
                    self.state = _TRAILER
                    self.remaining = MAX_HEAD
            elif self.state == _DATA_END:
                if line:
                    raise BadMessage("chunk data longer than its size")
                self.state = _SIZE
            elif not line:
                self.done = True
                return pos
            else:
                self.remaining -= len(line) + 2
                if self.remaining < 0:
                    raise BadMessage("trailer too large")
        return pos


_SIZE, _DATA, _DATA_END, _TRAILER = range(4)
_MAX_LINE = 4096
_CHUNK_SIZE = re.compile(rb"([0-9a-fA-F]{1,15})[ \t]*(?:;[^\r\n]*)?")
