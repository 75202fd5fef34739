"""The differential harness: a recording backend, HAProxy as the reference proxy, a raw client,
and the parsers (h11, llhttp, a small strict response framer) that read what each side saw."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h11
import llhttp

from sidecars.testing import free_port, wait_port

__all__ = [
    "Backend",
    "Exchange",
    "HAProxy",
    "Parsed",
    "Request",
    "Response",
    "exchange",
    "frame_responses",
    "parse_h11",
    "parse_llhttp",
]

# the backend's fixed answer; Content-Length 0 so that it frames the same after HEAD
BACKEND_MARK = b"x-conformance"
_ANSWER = b"HTTP/1.1 %d %s\r\nX-Conformance: %s\r\nX-Seq: %d\r\nContent-Length: 0%s\r\n\r\n"
_CLOSE = b"\r\nConnection: close"
SETTLE = 0.12  # how long the client keeps reading once it has the answers it expected
EXCHANGE_LIMIT = 2.0  # bound of one exchange; a proxy silent this long has "no response"


# parsing what reaches the backend


@dataclass(frozen=True)
class Request:
    """One request as a parser saw it: names lower-cased, values without surrounding OWS."""

    method: bytes
    target: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    trailers: tuple[tuple[bytes, bytes], ...] = ()

    def get_all(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key == name]


@dataclass
class Parsed:
    requests: list[Request] = field(default_factory=list)
    error: str | None = None
    pending: bool = False  # bytes of a message the stream ended inside


def _norm(pairs: Sequence[tuple[bytes, bytes]]) -> tuple[tuple[bytes, bytes], ...]:
    # h11 lower-cases the values of the fields it interprets; compare those without case
    named = [(name.lower(), value.strip(b" \t")) for name, value in pairs]
    return tuple((n, v.lower() if n in _CASELESS else v) for n, v in named)


_CASELESS = {b"transfer-encoding", b"connection", b"expect", b"upgrade"}


class _Ll(llhttp.Request):  # type: ignore[misc]
    """An llhttp request parser collecting complete messages."""

    def __init__(self) -> None:
        self.done: list[Request] = []
        self.url = b""
        self.fields: list[tuple[bytes, bytes]] = []
        self.trailers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.in_trailers = False
        self.started = False
        self.field = b""
        self.value: bytes | None = None

    def on_message_begin(self) -> None:
        self.started = True
        self.url, self.fields, self.trailers, self.body = b"", [], [], b""
        self.in_trailers = False
        self.field, self.value = b"", None

    def on_url(self, data: bytes) -> None:
        self.url += bytes(data)

    def _push(self) -> None:
        if self.value is not None:
            (self.trailers if self.in_trailers else self.fields).append((self.field, self.value))
        self.field, self.value = b"", None

    def on_header_field(self, data: bytes) -> None:
        if self.value is not None:
            self._push()
        self.field += bytes(data)

    def on_header_value(self, data: bytes) -> None:
        self.value = (self.value or b"") + bytes(data)

    def on_header_value_complete(self) -> None:
        if self.value is None:
            self.value = b""
        self._push()

    def on_headers_complete(self) -> None:
        self._push()
        self.in_trailers = True

    def on_body(self, data: bytes) -> None:
        self.body += bytes(data)

    def on_message_complete(self) -> None:
        self._push()
        method = str(self.method).encode()
        self.done.append(
            Request(method, self.url, _norm(self.fields), self.body, _norm(self.trailers))
        )
        self.started = False


def parse_llhttp(data: bytes) -> Parsed:
    """Every request llhttp (strict) finds in one connection's bytes."""
    out = Parsed()
    while data:
        parser = _Ll()
        try:
            used = parser.execute(data)
        except llhttp.Error as exc:
            out.requests += parser.done
            out.error = f"llhttp: {exc}"
            return out
        out.requests += parser.done
        if parser.is_upgrading and isinstance(used, int) and 0 < used < len(data):
            data = data[used:]  # CONNECT or Upgrade: the backend said no, carry on in HTTP
            continue
        out.pending = parser.started
        return out
    return out


_MIGHT_SWITCH = getattr(h11, "MIGHT_SWITCH_PROTOCOL")  # noqa: B009 (not in h11's __all__)


def parse_h11(data: bytes) -> Parsed:
    """Every request h11 finds in one connection's bytes, answering each as the backend does."""
    out = Parsed()
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=1 << 20)
    conn.receive_data(data)
    current: h11.Request | None = None
    body = b""
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            out.error = f"h11: {exc}"
            return out
        if event is h11.NEED_DATA:
            out.pending = current is not None or bool(conn.trailing_data[0])
            return out
        if event is h11.PAUSED:
            if conn.their_state in (h11.DONE, _MIGHT_SWITCH):
                assert current is not None
                status = 405 if current.method == b"CONNECT" else 200
                conn.send(h11.Response(status_code=status, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                current = None
                if h11.MUST_CLOSE in (conn.our_state, conn.their_state):
                    if conn.trailing_data[0]:
                        out.error = "h11: data after a message that closes the connection"
                    return out
                conn.start_next_cycle()
                continue
            out.error = f"h11: paused in {conn.their_state}"
            return out
        if isinstance(event, h11.Request):
            current, body = event, b""
        elif isinstance(event, h11.Data):
            body += bytes(event.data)
        elif isinstance(event, h11.EndOfMessage):
            assert current is not None
            out.requests.append(
                Request(
                    bytes(current.method),
                    bytes(current.target),
                    _norm([(n, v) for n, v in current.headers.raw_items()]),
                    body,
                    _norm([(n, v) for n, v in event.headers.raw_items()]),
                )
            )
            if conn.their_state is h11.MUST_CLOSE and conn.our_state is not h11.SEND_RESPONSE:
                return out
        elif isinstance(event, h11.ConnectionClosed):
            return out


# parsing what reaches the client


@dataclass
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    version: bytes

    def get(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def from_backend(self) -> bytes | None:
        """The backend's tag (``backend``, ``second``) when the backend wrote this answer."""
        return self.get(BACKEND_MARK)

    @property
    def tokens(self) -> set[bytes]:
        return {
            token.strip().lower()
            for key, value in self.headers
            if key == b"connection"
            for token in value.split(b",")
        }


_STATUS = re.compile(rb"HTTP/(1\.[01]) (\d{3})(?: [^\r\n]*)?")


def frame_responses(
    data: bytes, eof: bool, methods: Sequence[bytes] = ()
) -> tuple[list[Response], bytes, str | None]:
    """Split a client's received bytes into responses the strict way a careful client would:
    CRLF only, one Content-Length, chunked only as the last coding. Returns the complete
    responses (1xx included), the bytes left over and an error for bytes no client can frame.
    ``methods`` are the requests' methods in order (a HEAD answer has no body)."""
    out: list[Response] = []
    finals = 0
    while data:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            if b"\n\n" in data or b"\r\r" in data:
                return out, data, "a response head not ended by CRLF CRLF"
            return out, data, None
        head = data[:end]
        lines = head.split(b"\r\n")
        if any(b"\n" in line or b"\r" in line for line in lines):
            return out, data, "a bare CR or LF in a response head"
        match = _STATUS.fullmatch(lines[0])
        if not match:
            return out, data, f"not a status line: {lines[0][:60]!r}"
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip() or line[:1] in b" \t":
                return out, data, f"a malformed response field line: {line[:60]!r}"
            headers.append((name.lower(), value.strip(b" \t")))
        response = Response(int(match[2]), headers, b"", match[1])
        rest = data[end + 4 :]
        method = methods[finals] if finals < len(methods) else b"GET"
        status = response.status
        codings = [
            c.strip().lower()
            for k, v in headers
            if k == b"transfer-encoding"
            for c in v.split(b",")
        ]
        lengths = {v for k, v in headers if k == b"content-length"}
        if method == b"HEAD" or status < 200 or status in (204, 304):
            used = 0
        elif codings:
            if codings[-1] != b"chunked":
                used = len(rest) if eof else -1
                response.body = rest
            else:
                used, response.body, problem = _dechunk(rest)
                if problem:
                    return out, data, problem
        elif lengths:
            if len(lengths) > 1 or not next(iter(lengths)).isdigit():
                return out, data, f"unusable Content-Length {sorted(lengths)}"
            size = int(next(iter(lengths)))
            used = size if len(rest) >= size else -1
            response.body = rest[:size]
        else:
            used = len(rest) if eof else -1
            response.body = rest
        if used < 0:
            return out, data, None
        out.append(response)
        if status >= 200:
            finals += 1
        data = rest[used:]
    return out, b"", None


def _dechunk(data: bytes) -> tuple[int, bytes, str | None]:
    """Bytes used by a chunked body (-1: incomplete), the body, or a problem."""
    pos, body = 0, b""
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            return -1, body, None
        size_text = data[pos:end].split(b";")[0].strip(b" \t")
        if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):
            return 0, body, f"bad chunk size line {data[pos:end][:40]!r}"
        size = int(size_text, 16)
        pos = end + 2
        if size == 0:
            while True:
                end = data.find(b"\r\n", pos)
                if end < 0:
                    return -1, body, None
                if end == pos:
                    return end + 2, body, None
                pos = end + 2
        if len(data) < pos + size + 2:
            return -1, body, None
        body += data[pos : pos + size]
        if data[pos + size : pos + size + 2] != b"\r\n":
            return 0, body, "chunk data longer than its size"
        pos += size + 2


# the backend


@dataclass
class Conn:
    data: bytearray = field(default_factory=bytearray)
    answered: int = 0  # complete requests parsed and answered
    targets: list[bytes] = field(default_factory=list)
    error: str | None = None


class _LiveParser(_Ll):
    def __init__(self, on_done: Callable[[Request, bool], None]) -> None:
        super().__init__()
        self.on_done = on_done

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.on_done(self.done[-1], bool(self.should_keep_alive))


class Backend:
    """A raw asyncio server on 127.0.0.1 that records every byte of every connection and
    answers each request llhttp parses with a fixed empty response, or, for response vectors,
    answers ``/first`` with the vector's raw bytes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.conns: list[Conn] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.response: bytes | None = None
        self.close_after_response = False
        self.server: asyncio.Server | None = None
        self.port = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.reset()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def reset(self) -> list[Conn]:
        """Close every connection; the connections recorded since the last reset."""
        for writer in self.writers:
            writer.transport.abort()
        conns, self.conns, self.writers = self.conns, [], []
        return conns

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn()
        self.conns.append(conn)
        self.writers.append(writer)
        closing = False

        def done(request: Request, keep_alive: bool) -> None:
            nonlocal closing
            conn.answered += 1
            conn.targets.append(request.target)
            if closing:
                return
            if self.response is not None and request.target.endswith(b"/first"):
                writer.write(self.response)
                closing = self.close_after_response
                return
            status, reason, tag = (
                (405, b"Not Allowed", b"backend")
                if request.method == b"CONNECT"
                else (200, b"OK", b"backend")
            )
            if self.response is not None:
                tag = b"second"
            writer.write(
                _ANSWER % (status, reason, tag, conn.answered, b"" if keep_alive else _CLOSE)
            )
            closing = not keep_alive

        parser = _LiveParser(done)
        try:
            while not closing:
                data = await reader.read(65536)
                if not data:
                    break
                conn.data += data
                try:
                    used = parser.execute(data)
                    while parser.is_upgrading and isinstance(used, int) and 0 < used < len(data):
                        data = data[used:]
                        parser = _LiveParser(done)
                        used = parser.execute(data)
                    if parser.is_upgrading:
                        parser = _LiveParser(done)
                except llhttp.Error as exc:
                    conn.error = str(exc)
                    break
                await writer.drain()
            if closing:  # keep reading what follows, to record it, until the proxy closes
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(EXCHANGE_LIMIT):
                        await writer.drain()
                        if writer.can_write_eof():
                            writer.write_eof()
                        while data := await reader.read(65536):
                            conn.data += data
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()


# the reference proxy

HAPROXY_CONF = """
global
    maxconn 512
    tune.bufsize 66560
    tune.maxrewrite 1024
    tune.http.maxhdr 1024
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout http-request 10s
    option http-server-close
    http-reuse never
frontend conformance
    bind 127.0.0.1:{port}
    default_backend recording
backend recording
    server backend {backend}
"""


class HAProxy:
    """Debian's haproxy in the foreground, ``mode http``, heads up to about 64 KiB like the
    ambassador (tune.bufsize 65 KiB less tune.maxrewrite 1 KiB)."""

    def __init__(self, tmp: Path, backend: str) -> None:
        self.port = free_port()
        conf = tmp / "haproxy.cfg"
        conf.write_text(HAPROXY_CONF.format(port=self.port, backend=backend))
        check = subprocess.run(
            ["haproxy", "-c", "-q", "-f", str(conf)], capture_output=True, text=True, timeout=10
        )
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(
            ["haproxy", "-db", "-f", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


# the client


@dataclass
class Exchange:
    """What one client connection saw through one proxy, and what that proxy forwarded."""

    proxy: str
    received: bytes = b""
    eof: bool = False  # the proxy closed (or reset) the connection
    reset: bool = False
    timed_out: bool = False
    responses: list[Response] = field(default_factory=list)
    leftover: bytes = b""
    framing_error: str | None = None
    upstream: list[Conn] = field(default_factory=list)

    @property
    def finals(self) -> list[Response]:
        return [r for r in self.responses if r.status >= 200]

    @property
    def forwarded(self) -> int:
        """Complete requests the backend parsed (and answered)."""
        return sum(conn.answered for conn in self.upstream)

    @property
    def backend_answers(self) -> int:
        return sum(1 for r in self.finals if r.from_backend)

    @property
    def own_errors(self) -> list[int]:
        """Statuses >= 400 the proxy generated itself."""
        return [r.status for r in self.finals if not r.from_backend and r.status >= 400]

    def refused(self, sent: int) -> bool:
        """The proxy refused: a 4xx of its own, or a 5xx of its own or a close before all
        ``sent`` requests were forwarded, provided that nothing it forwarded broke the
        backend's parser (a 502 for garbage passed on is no refusal)."""
        if any(status < 500 for status in self.own_errors):
            return True
        clean = all(conn.error is None for conn in self.upstream)
        return clean and (bool(self.own_errors) or self.eof) and self.forwarded < sent

    def summary(self) -> str:
        statuses = [f"{r.status}{'(backend)' if r.from_backend else ''}" for r in self.finals]
        ending = "reset" if self.reset else "eof" if self.eof else "open/no more bytes"
        if self.timed_out and not self.finals:
            ending = "no response"
        return (
            f"{self.proxy}: answers {statuses}, {ending}, backend parsed {self.forwarded}, "
            f"upstream bytes {[bytes(c.data[:300]) for c in self.upstream]}"
            + (f", client framing error: {self.framing_error}" if self.framing_error else "")
            + (f", leftover {self.leftover[:80]!r}" if self.leftover else "")
        )


async def exchange(
    port: int,
    writes: Sequence[bytes],
    *,
    expect: int = 1,
    half_close: bool = False,
    methods: Sequence[bytes] = (),
    limit: float = EXCHANGE_LIMIT,
    proxy: str = "",
    pause: float = 0.0,
) -> Exchange:
    """Send ``writes`` on a fresh connection and read until the proxy closes, or ``expect``
    final answers came and nothing more arrives for a moment, or ``limit`` seconds passed."""
    out = Exchange(proxy)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    deadline = time.monotonic() + limit
    try:
        for number, data in enumerate(writes):
            if number and pause:
                await asyncio.sleep(pause)  # so that the pieces arrive as separate reads
            writer.write(data)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        if half_close:
            with contextlib.suppress(OSError):
                writer.transport.get_extra_info("socket").shutdown(socket.SHUT_WR)
        await _read_answers(reader, out, expect, methods, deadline)
    finally:
        writer.transport.abort()
    return out


async def _read_answers(
    reader: asyncio.StreamReader,
    out: Exchange,
    expect: int,
    methods: Sequence[bytes],
    deadline: float,
) -> None:
    while True:
        out.responses, out.leftover, out.framing_error = frame_responses(
            out.received, out.eof, methods
        )
        if out.eof:
            return
        enough = len(out.finals) >= expect
        wait = deadline - time.monotonic()
        if enough:
            wait = min(wait, SETTLE)
        if wait <= 0:
            out.timed_out = not enough
            return
        try:
            async with asyncio.timeout(wait):
                data = await reader.read(65536)
        except TimeoutError:
            out.timed_out = not enough
            return
        except ConnectionError:
            data, out.reset = b"", True
        if not data:
            out.eof = True
        out.received += data


async def exchange_steps(
    port: int, steps: Sequence[tuple[bytes, bytes]], proxy: str = ""
) -> Exchange:
    """Requests sent one at a time on one connection, each once the previous one's answer
    came (``steps``: (request bytes, method)); stops early when the proxy closes."""
    out = Exchange(proxy)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    methods = [method for _, method in steps]
    try:
        for count, (data, _) in enumerate(steps, 1):
            if out.eof:
                break
            writer.write(data)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            await _read_answers(reader, out, count, methods, time.monotonic() + EXCHANGE_LIMIT)
            if len(out.finals) < count or out.framing_error:
                break
    finally:
        writer.transport.abort()
    return out


@contextlib.asynccontextmanager
async def recording(backend: Backend, out: list[Exchange]) -> AsyncIterator[None]:
    """Attribute the backend's connections opened during the block to the exchanges made."""
    backend.reset()
    yield
    await asyncio.sleep(0)
    conns = backend.reset()
    for item in out:
        item.upstream = conns
