"""HTTP/1.1 message framing: heads parsed once, bodies measured as they stream past.

Only what a proxy needs is parsed: start line, header names and values, and where the
body ends (Content-Length or chunked). Bodies are never buffered; they are counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from mypy_extensions import i64

__all__ = [
    "HOP_BY_HOP",
    "BadMessage",
    "Chunked",
    "Head",
    "line_pattern",
    "parse_head",
    "read_head",
]

MAX_HEAD: Final = 64 * 1024
HOP_BY_HOP: Final = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade")
)
_NOT_HEADERS: Final = frozenset((b"close",))


def line_pattern(names: Iterable[bytes]) -> re.Pattern[bytes]:
    """Matches every line of the named headers, so one ``sub`` call drops them all."""
    alternatives = b"|".join(re.escape(name.strip().lower()) for name in sorted(set(names)))
    return re.compile(b"\\r\\n(?:" + alternatives + b"):[^\\r\\n]*", re.IGNORECASE)


class BadMessage(ValueError):
    """The peer sent something that is not HTTP/1.x; the request or connection ends."""


class Head:
    """A request or response head, scanned rather than split: a proxy mostly passes it on.

    ``raw`` is the head without its final blank line. ``hop`` counts the lines a proxy must
    drop: without one, the head goes on as it is. ``size`` is how many bytes of the read
    the head took, blank line included.
    """

    __slots__ = (
        "authority",
        "body",
        "close",
        "codings",
        "conn_at",
        "conn_end",
        "first",
        "forwarded",
        "hop",
        "host",
        "length",
        "low",
        "path",
        "raw",
        "size",
        "status",
        "tokens",
        "upgrade",
        "version",
    )

    def __init__(self, first: list[bytes], version: bytes) -> None:
        self.raw = b""
        self.low = b""  # the lower-case twin of ``raw``, made when a lookup needs it
        self.size = 0
        self.first = first
        self.version = version
        self.status = -1  # a response's three-digit status code
        self.close = False
        self.body = "none"  # none | length | chunked | eof
        self.length = 0
        self.tokens: frozenset[bytes] = _NO_TOKENS  # Connection header tokens, lower-case
        self.codings: list[bytes] | None = None  # Transfer-Encoding, lower-case
        self.upgrade = b""  # Upgrade header value, lower-case
        self.host: bytes | None = None  # lower-case
        self.authority = b""  # an absolute-form target's authority, lower-case
        self.path = b""  # the target's path and query: what routes a request
        self.forwarded = False  # an X-Forwarded-For line was seen
        self.hop = 0
        # where a Connection line holding just keep-alive or close starts (its CRLF) and ends
        self.conn_at = -1
        self.conn_end = 0

    def get(self, lower: bytes) -> bytes | None:
        """The first value of header ``lower`` (a lower-case name), stripped."""
        if not self.low:
            self.low = self.raw.lower()
        start = self.low.find(b"\r\n" + lower + b":")
        if start < 0:
            return None
        start += len(lower) + 3
        end = self.low.find(b"\r\n", start)
        return self.raw[start : end if end >= 0 else len(self.raw)].strip()

    def get_all(self, lower: bytes) -> bytes | None:
        """Every line of header ``lower`` combined into one value, as RFC 9110 5.3 reads a
        repeated field; ``None`` when there is none."""
        if not self.low:
            self.low = self.raw.lower()
        values = []
        start = self.low.find(b"\r\n" + lower + b":")
        while start >= 0:
            start += len(lower) + 3
            end = self.low.find(b"\r\n", start)
            value = self.raw[start : end if end >= 0 else len(self.raw)].strip(b" \t")
            if value:
                values.append(value)
            start = self.low.find(b"\r\n" + lower + b":", end) if end >= 0 else -1
        return b", ".join(values) if values else None

    def without(self, pattern: re.Pattern[bytes], hop_only: bool = False) -> bytes:
        """``raw`` without the header lines ``pattern`` matches, nor those Connection names.

        ``hop_only``: ``pattern`` names no more than the hop-by-hop fields and
        X-Forwarded-For. Then a lone ``Connection: keep-alive`` (or ``close``), the usual
        case, is cut out where the scan saw it, at a fraction of the cost of the substitution.
        """
        if hop_only and self.hop == 1 and self.conn_at >= 0:
            return self.raw[: self.conn_at] + self.raw[self.conn_end :]
        raw = pattern.sub(b"", self.raw)
        if self.tokens and self.tokens not in _COMMON_TOKENS.values():
            extra = self.tokens - HOP_BY_HOP - _NOT_HEADERS
            if extra:
                raw = line_pattern(extra).sub(b"", raw)
        return raw


_NO_TOKENS: Final[frozenset[bytes]] = frozenset()
_COMMON_TOKENS: Final = {
    b"keep-alive": frozenset((b"keep-alive",)),
    b"close": frozenset((b"close",)),
}
_CONTENT_LENGTH: Final = line_pattern([b"content-length"])
_MAX_LENGTH: Final = 1 << 62
# the fields a proxy reads, by kind; every other field is passed on unread
_LENGTH: Final = 1
_CODING: Final = 2
_CONNECTION: Final = 3
_UPGRADE: Final = 4
_HOST: Final = 5
_FORWARDED: Final = 6
_HOP: Final = 7
_SP: Final = 32
_HT: Final = 9
_LF: Final = 10
_CR: Final = 13
_COLON: Final = 58


def parse_head(raw: bytes, request: bool) -> Head:
    """Scan a head without its final blank line; ``BadMessage`` if it is not HTTP/1.x."""
    head = _read(raw, request, True)
    assert head is not None
    return head


def read_head(data: bytes, request: bool) -> Head | None:
    """The head at the start of ``data``, or ``None`` while its blank line has not come;
    ``BadMessage`` if it is not HTTP/1.x."""
    return _read(data, request, False)


def _scan(data: bytes, request: bool, whole: bool) -> Head | None:
    """One pass over the bytes, reading only the few fields that matter to a proxy, and
    checking every byte against RFC 9112's grammar on the way.

    Whatever two parsers could read two ways is refused: a bare CR or LF (a server may end
    lines there), a control byte, a folded line, whitespace before a colon, a transfer
    coding other than a final ``chunked`` and, in a request (which may go on a pooled
    connection), a second Host. A byte loop with a table lookup per byte: compiled, it
    costs less than the method calls and regular expressions that would do the same.
    """
    size: i64 = len(data)
    head: Head | None = None
    i: i64 = 0
    line: i64 = 0
    colon: i64 = -1
    sp1: i64 = -1
    sp2: i64 = -1
    allowed: i64 = _IN_TARGET if request else _IN_STATUS
    while i < size:
        c: i64 = data[i]
        if _BYTES[c] & allowed:
            i += 1
            continue
        if c == _CR:
            if i + 1 == size and not whole:
                return None
            if i + 1 == size or data[i + 1] != _LF:
                raise BadMessage("bare CR or LF in the head")
            if head is None:
                head = _start_line(data, i, sp1, sp2, request)
            elif i == line:
                return _finish(head, data, i - 2, i + 2, request)
            else:
                _field(head, data, line, colon, i, request)
            i += 2
            line = i
            colon = -1
            allowed = _IN_NAME
            continue
        if head is None:
            if c != _SP or (sp2 >= 0 and request):
                raise BadMessage(_bad_byte(c, "the start line"))
            if sp1 < 0:
                sp1 = i
            elif sp2 < 0:
                sp2 = i
        elif c == _COLON and colon < 0 and i > line:
            colon = i
            allowed = _IN_VALUE
        else:
            raise BadMessage(_bad_byte(c, "a field value" if colon >= 0 else "a field name"))
        i += 1
    if not whole:
        return None
    if head is None:
        head = _start_line(data, size, sp1, sp2, request)
    elif line < size:
        _field(head, data, line, colon, size, request)
    return _finish(head, data, size, size, request)


def _bad_byte(c: int, where: str) -> str:
    if c == _LF:
        return "bare CR or LF in the head"
    if c in (_SP, _HT):
        return f"whitespace in {where}"
    return f"byte 0x{c:02x} not allowed in {where}"


# what each byte may be, by bit: in a field name (a token), a field value (with its spaces),
# a request line, a status line
_IN_NAME: Final = 1
_IN_VALUE: Final = 2
_IN_TARGET: Final = 4
_IN_STATUS: Final = 8
_IN_HOST: Final = 16
_HOST_BYTES: Final = b"abcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+;=:[]"
_TCHAR: Final = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BYTES: Final = bytes(
    (_IN_NAME if c in _TCHAR else 0)
    | (_IN_VALUE if c == 9 or 32 <= c <= 126 or c >= 128 else 0)
    | (_IN_TARGET if 33 <= c <= 126 else 0)
    | (_IN_STATUS if c == 9 or 33 <= c <= 126 or c >= 128 else 0)
    | (_IN_HOST if c in _HOST_BYTES else 0)
    for c in range(256)
)
_TOKEN: Final = b"[!#$%&'*+\\-.^_`|~0-9A-Za-z]+"
# the same grammar as _BYTES, for the interpreted reader
_REQUEST_HEAD: Final = re.compile(
    _TOKEN + b" [!-~]+ HTTP/1\\.[01](?:\r\n" + _TOKEN + b":[\t -~\x80-\xff]*)*"
)
_RESPONSE_HEAD: Final = re.compile(
    b"HTTP/1\\.[01] [!-~\x80-\xff]*(?: [\t -~\x80-\xff]*)?(?:\r\n"
    + _TOKEN
    + b":[\t -~\x80-\xff]*)*"
)
FIELD_LINE: Final = re.compile(_TOKEN + b":[\t -~\x80-\xff]*")


_KINDS: Final = {
    b"content-length": _LENGTH,
    b"transfer-encoding": _CODING,
    b"connection": _CONNECTION,
    b"upgrade": _UPGRADE,
    b"host": _HOST,
    b"x-forwarded-for": _FORWARDED,
    b"keep-alive": _HOP,
    b"proxy-connection": _HOP,
    b"te": _HOP,
    b"trailer": _HOP,
}
# in a lower-cased head: each field of _KINDS, or a folded line
_FIELDS: Final = re.compile(
    rb"\r\n(?:(" + b"|".join(_KINDS) + rb")([ \t]*):[ \t]*([^\r\n]*)|[ \t])"
)


def _scan_interpreted(data: bytes, request: bool, whole: bool) -> Head | None:
    """``_scan``'s reading, by bytes methods and one regular expression instead of a byte
    loop: interpreted, each byte of a loop costs what a C call over the whole head does.
    Both are tested against the same cases and the same reference parser."""
    if whole:
        raw = data
        size = len(data)
    else:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            if has_bare_lf(data):
                raise BadMessage("bare CR or LF in the head")
            return None
        raw = data[:end]
        size = end + 4
    lines = raw.count(b"\r\n")
    if raw.count(b"\n") != lines or raw.count(b"\r") != lines:
        raise BadMessage("bare CR or LF in the head")
    if (_REQUEST_HEAD if request else _RESPONSE_HEAD).fullmatch(raw) is None:
        raise BadMessage("a line of the head breaks HTTP/1.1's grammar")
    eol = raw.find(b"\r\n")
    first = (raw if eol < 0 else raw[:eol]).split(b" ", 2)
    if len(first) == 2 and not request:
        first.append(b"")
    if len(first) != 3:
        raise BadMessage("bad start line")
    head = _first_line(first, request)
    low = raw.lower()
    common = False
    for name, space, text in _FIELDS.findall(low):
        if not name:
            raise BadMessage("folded header line")
        if space:
            raise BadMessage("space before a colon")
        end = len(text)
        common |= _apply(head, text, _KINDS[name], 0, len(text.rstrip(b" \t")), end, request)
    if common and head.hop == 1:
        head.conn_at = low.find(b"\r\nconnection:")
        head.conn_end = low.find(b"\r\n", head.conn_at + 2)
        if head.conn_end < 0:
            head.conn_end = len(raw)
    return _finish(head, raw, len(raw), size, request)


def _start_line(data: bytes, end: i64, sp1: i64, sp2: i64, request: bool) -> Head:
    if sp1 < 0:
        raise BadMessage("bad start line")
    if sp2 >= 0:
        first = [data[:sp1], data[sp1 + 1 : sp2], data[sp2 + 1 : end]]
    elif request:
        raise BadMessage("bad start line")
    else:
        first = [data[:sp1], data[sp1 + 1 : end], b""]
    return _first_line(first, request)


def _first_line(first: list[bytes], request: bool) -> Head:
    version = first[2] if request else first[0]
    if version != b"HTTP/1.1" and version != b"HTTP/1.0":
        raise BadMessage("unsupported HTTP version")
    if request and (not first[1] or not first[0] or not _only(first[0], _IN_NAME)):
        raise BadMessage("bad request line")
    head = Head(first, version)
    if not request:
        code = first[1]
        if len(code) == 3:
            a, b, c = code[0] - 48, code[1] - 48, code[2] - 48
            if 0 <= a <= 9 and 0 <= b <= 9 and 0 <= c <= 9:
                head.status = a * 100 + b * 10 + c
    return head


def _field(head: Head, data: bytes, start: i64, colon: i64, end: i64, request: bool) -> None:
    """One header line, ``data[start:end]``, whose first colon is at ``colon``."""
    if colon < 0:
        raise BadMessage("a header line without a colon")
    kind = _kind(data, start, colon - start)
    if not kind:
        return
    value: i64 = colon + 1
    while value < end and data[value] in (_SP, _HT):
        value += 1
    tail: i64 = end
    while tail > value and data[tail - 1] in (_SP, _HT):
        tail -= 1
    if _apply(head, data, kind, value, tail, end, request):
        head.conn_at = start - 2
        head.conn_end = end


def _apply(
    head: Head, data: bytes, kind: int, value: i64, tail: i64, end: i64, request: bool
) -> bool:
    """A field read: its value is ``data[value:tail]``, ``data[value:end]`` with the trailing
    whitespace. True for a Connection line that names only keep-alive or close, which a
    proxy may cut out as a whole."""
    if kind == _LENGTH:
        length = _digits(data, value, tail)
        if head.body == "length":  # even the same value twice: some parsers refuse it
            raise BadMessage("more than one Content-Length")
        head.body = "length"
        head.length = length
    elif kind == _HOST:
        if head.host is not None and request:
            raise BadMessage("more than one Host")
        head.host = data[value:tail].lower()
    elif kind == _CONNECTION:
        head.hop += 1
        size = tail - value
        tokens: frozenset[bytes] | None = None
        if size == 10 or size == 5:
            tokens = _COMMON_TOKENS.get(data[value:tail].lower())
        common = tokens is not None
        if tokens is None:
            listed = data[value:tail].lower().split(b",")
            tokens = frozenset(t.strip() for t in listed if t.strip())
        head.tokens = head.tokens | tokens if head.tokens else tokens
        return common
    elif kind == _CODING:
        _codings(head, data[value:end].lower(), request)
    elif kind == _UPGRADE:
        head.upgrade = data[value:tail].lower()
        head.hop += 1
    elif kind == _FORWARDED:
        head.forwarded = True
        head.hop += 1
    else:
        head.hop += 1
    return False


def _kind(data: bytes, at: i64, size: i64) -> int:
    """Which field a name of ``size`` bytes at ``at`` is, by its length, then its letters."""
    if size == 4:
        return _HOST if _same(data, at, b"host") else 0
    if size == 14:
        return _LENGTH if _same(data, at, b"content-length") else 0
    if size == 10:
        if _same(data, at, b"connection"):
            return _CONNECTION
        return _HOP if _same(data, at, b"keep-alive") else 0
    if size == 17:
        return _CODING if _same(data, at, b"transfer-encoding") else 0
    if size == 7:
        if _same(data, at, b"upgrade"):
            return _UPGRADE
        return _HOP if _same(data, at, b"trailer") else 0
    if size == 15:
        return _FORWARDED if _same(data, at, b"x-forwarded-for") else 0
    if size == 16:
        return _HOP if _same(data, at, b"proxy-connection") else 0
    if size == 2:
        return _HOP if _same(data, at, b"te") else 0
    return 0


def _same(data: bytes, at: i64, name: bytes) -> bool:
    """ASCII case-insensitive: ``| 32`` folds only letters (and CR, never in a line) onto
    the letters and hyphens of a field name."""
    n: i64 = len(name)
    k: i64 = 0
    while k < n:
        if data[at + k] | 32 != name[k]:
            return False
        k += 1
    return True


def _digits(data: bytes, start: i64, end: i64) -> i64:
    """A Content-Length value, or -1 when it is not a plain decimal number."""
    if start == end:
        return -1
    length: i64 = 0
    k: i64 = start
    while k < end:
        digit: i64 = data[k] - 48
        if digit < 0 or digit > 9 or length > _MAX_LENGTH // 10:
            return -1
        length = length * 10 + digit
        k += 1
    return length


def _codings(head: Head, value: bytes, request: bool) -> None:
    codings = [c.strip() for c in value.split(b",")]
    if value != value.rstrip() or b"" in codings:
        if request:  # some servers read neither "chunked\t" nor "chunked," as chunked
            raise BadMessage("Transfer-Encoding with an empty or padded element")
        codings = [c for c in codings if c]
    if head.codings is None:
        head.codings = codings
    else:
        head.codings.extend(codings)


def _finish(head: Head, data: bytes, end: i64, size: i64, request: bool) -> Head:
    """The head ends at ``end``, its blank line at ``size``: decide how its body ends."""
    head.raw = data if end == len(data) else data[:end]
    head.size = size
    tokens = head.tokens
    if (
        tokens
        and tokens is not _KEEP_ALIVE
        and tokens is not _CLOSE
        and (not tokens.isdisjoint(_FRAMING))
    ):
        # dropping such a field as hop-by-hop would leave its body to be read as a message
        raise BadMessage("Connection names a field that frames or routes the message")
    if request:
        _target(head)
    if head.version == b"HTTP/1.1":
        head.close = b"close" in head.tokens
    else:
        head.close = b"keep-alive" not in head.tokens
    codings = head.codings
    has_length = head.body == "length"
    if codings is not None:
        if has_length:
            if request:
                raise BadMessage("both Content-Length and Transfer-Encoding")
            # in a response Transfer-Encoding wins, and Content-Length is not passed on
            head.raw = _CONTENT_LENGTH.sub(b"", head.raw)
            head.conn_at = -1
            head.length = 0
        if not codings or codings.count(b"chunked") > 1:
            raise BadMessage("bad Transfer-Encoding")
        if codings[-1] == b"chunked":
            if request and len(codings) > 1:  # a coding few servers could decode
                raise BadMessage("Transfer-Encoding other than chunked in a request")
            head.body = "chunked"
        elif request:
            raise BadMessage("Transfer-Encoding without a final chunked")
        else:
            head.body = "eof"
    elif has_length:
        if head.length < 0:
            raise BadMessage("bad Content-Length")
        if not head.length:
            head.body = "none"
    elif not request:
        head.body = "eof"
    return head


def _target(head: Head) -> None:
    """Check the request target's form against the method, and find the path that routes
    it: origin-form, absolute-form (whose authority is the Host), authority-form for
    CONNECT, asterisk-form for OPTIONS. An HTTP/1.1 request must name its Host."""
    method, target = head.first[0], head.first[1]
    # not ``b"#" in target``: bytes' ``in`` tries the operand as an int first, and raises and
    # clears a TypeError on every request
    if target.find(b"#") >= 0:
        raise BadMessage("a fragment in the request target")
    if method == b"CONNECT":
        if _AUTHORITY.fullmatch(target) is None:
            raise BadMessage("CONNECT needs a host:port target")
        if head.body != "none" or head.codings is not None:
            raise BadMessage("CONNECT with a body")
        head.path = b""
    elif target[0] == 47:  # "/"
        head.path = target
    elif target == b"*":
        if method != b"OPTIONS":
            raise BadMessage("asterisk-form target outside OPTIONS")
        head.path = target
    else:
        match = _ABSOLUTE.fullmatch(target)
        if match is None:
            raise BadMessage("bad request target")
        authority = match[1].lower()
        if head.host is not None and head.host != authority:
            raise BadMessage("Host differs from the target's authority")
        head.authority = authority
        path = match[2] or b"/"
        head.path = path if path[0] == 47 else b"/" + path
        return
    if head.host is None:
        if head.version == b"HTTP/1.1":
            raise BadMessage("HTTP/1.1 request without Host")
    elif not _only(head.host, _IN_HOST):
        raise BadMessage("bad Host")


_KEEP_ALIVE: Final = _COMMON_TOKENS[b"keep-alive"]
_CLOSE: Final = _COMMON_TOKENS[b"close"]
_FRAMING: Final = frozenset((b"content-length", b"transfer-encoding", b"host"))


def _only(data: bytes, allowed: i64) -> bool:
    """Whether every byte of ``data`` is of the kinds ``allowed`` names (bits of _BYTES): a
    loop, compiled cheaper than a regular expression's call."""
    k: i64 = 0
    n: i64 = len(data)
    while k < n:
        if not _BYTES[data[k]] & allowed:
            return False
        k += 1
    return True


_HOST_PART: Final = b"(?:\\[[0-9a-f:.]+\\]|[a-z0-9\\-._~%!$&'()*+;=]*)(?::[0-9]*)?"
_AUTHORITY: Final = re.compile(b"(?:\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9\\-._~%!$&'()*+;=]+):[0-9]+")
_ABSOLUTE: Final = re.compile(b"(?i:https?)://(" + _HOST_PART + b")([/?][!-~]*)?", re.IGNORECASE)


def has_bare_lf(data: bytes) -> bool:
    """Whether a head still arriving already holds a CR or LF outside a CRLF (a CR last may
    yet be followed by its LF)."""
    pairs = data.count(b"\r\n")
    crs = data.count(b"\r") - (data[-1:] == b"\r")
    return data.count(b"\n") != pairs or crs != pairs


# compiled, the byte loop; interpreted, the C calls (a module global, so tests can pick one)
_read = _scan if not __file__.endswith(".py") else _scan_interpreted


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
            if not line.endswith(b"\r") or line.find(b"\r", 0, -1) >= 0 or len(line) > _MAX_LINE:
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
                if FIELD_LINE.fullmatch(line) is None:
                    raise BadMessage("bad trailer line")
                name = line[: line.find(b":")].lower()
                if name in _NOT_TRAILERS:
                    raise BadMessage("a trailer that frames or routes the message")
        return pos


_SIZE: Final = 0
_DATA: Final = 1
_DATA_END: Final = 2
_TRAILER: Final = 3
_MAX_LINE: Final = 4096
# a size, then chunk extensions: ;name[=token or quoted-string]. Whitespace around them
# (RFC 9112's BWS) is refused: llhttp refuses it, so a server behind may read the body apart
_CHUNK_SIZE: Final = re.compile(
    b"([0-9a-fA-F]{1,15})(?:;"
    + _TOKEN
    + b"(?:=(?:"
    + _TOKEN
    + b'|"(?:[\\t !#-\\[\\]-~\\x80-\\xff]|\\\\[\\t -~\\x80-\\xff])*"))?)*'
)
# fields that frame or route a message: a server that merges trailers into the head
# would read them there (llhttp refuses a Content-Length trailer outright)
_NOT_TRAILERS: Final = frozenset((b"content-length", b"transfer-encoding", b"host", b"connection"))
