"""TLS run through memory BIOs on a plain TCP transport, so that each direction ends alone.

asyncio's TLS transports cannot half-close: ``can_write_eof()`` is False and a peer's
close_notify ends the whole connection. A proxy must pass a client's "I am done sending"
on and still relay the answer, so both TLS legs (origination and termination) run here:
``write_eof`` sends close_notify and reading goes on; a received close_notify becomes the
app's ``eof_received`` and writing goes on (TLS 1.3 allows both; OpenSSL does too for 1.2).

``TlsStream`` is the raw transport's protocol and, once the handshake is done, the app
protocol's transport.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["TlsStream", "open_tls"]

P = TypeVar("P")
HANDSHAKE_TIMEOUT = 30.0
_READ = 1 << 16


class TlsStream(asyncio.Transport, asyncio.Protocol):
    """One TLS connection: ciphertext below (``raw``), plaintext above (``app``)."""

    def __init__(
        self,
        context: ssl.SSLContext,
        server_side: bool,
        server_hostname: str | None = None,
        app_factory: Callable[[], object] | None = None,
    ) -> None:
        super().__init__()
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(self._incoming, self._outgoing, server_side, server_hostname)
        self._app_factory = app_factory
        self._app: asyncio.Protocol | None = None
        self._raw: asyncio.Transport | None = None
        self.handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._paused = False
        self._secure = False  # the handshake succeeded
        self._eof_sent = False
        self._eof_received = False

    # below: the plain TCP transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._raw = cast(asyncio.Transport, transport)
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(HANDSHAKE_TIMEOUT, self._handshake_timed_out)
        self._shake()

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        if not self.handshake.done():
            self._shake()
        elif self._app is not None and not self._paused:
            self._read()

    def eof_received(self) -> bool:
        """A TCP FIN without close_notify: passed on as an EOF all the same."""
        if self._app is None:
            return False
        self._incoming.write_eof()
        return self._peer_done()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not self.handshake.done():
            self.handshake.set_exception(exc or ConnectionResetError("closed during handshake"))
            self.handshake.exception()  # retrieved: nobody may wait on a server-side stream
        if self._app is not None:
            self._app.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._app is not None:
            self._app.pause_writing()

    def resume_writing(self) -> None:
        if self._app is not None:
            self._app.resume_writing()

    def _shake(self) -> None:
        try:
            self._ssl.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except (ssl.SSLError, OSError) as exc:
            self._flush()
            assert self._raw is not None
            self._raw.close()
            if not self.handshake.done():
                self.handshake.set_exception(exc)
                self.handshake.exception()
            return
        self._flush()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._secure = True
        if not self.handshake.done():
            self.handshake.set_result(None)
        if self._app_factory is not None:
            self.start(cast(asyncio.Protocol, self._app_factory()))

    def _handshake_timed_out(self) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(TimeoutError("TLS handshake timed out"))
            self.handshake.exception()
        if self._raw is not None:
            self._raw.abort()

    def start(self, app: asyncio.Protocol) -> None:
        """Hand the connection to ``app`` and deliver what arrived with the handshake."""
        self._app = app
        app.connection_made(self)
        if not self._paused:
            self._read()

    def _read(self) -> None:
        app = self._app
        assert app is not None
        while not self._paused:
            try:
                data = self._ssl.read(_READ)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                data = b""
            except ssl.SSLError:
                self.abort()
                return
            if not data:
                if not self._eof_received and not self._peer_done():
                    return
                break
            app.data_received(data)
        self._flush()

    def _peer_done(self) -> bool:
        """The peer ended its direction; False when the connection is closed for it."""
        if self._eof_received:
            return True
        self._eof_received = True
        assert self._app is not None
        keep_open = self._app.eof_received()
        if self._eof_sent or not keep_open:
            self.close()
            return False
        return True

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data and self._raw is not None and not self._raw.is_closing():
            self._raw.write(data)

    # above: the app's transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._eof_sent or not data:
            return
        try:
            self._ssl.write(data)
        except ssl.SSLError:
            self.abort()
            return
        self._flush()

    def write_eof(self) -> None:
        """close_notify, then reading goes on until the peer ends its side too."""
        if self._eof_sent:
            return
        self._eof_sent = True
        try:
            self._ssl.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass  # the usual case: the peer has not sent its close_notify yet
        except ssl.SSLError:
            pass  # nothing more to say on a broken session; close() follows
        self._flush()
        if self._eof_received:
            self.close()

    def can_write_eof(self) -> bool:
        return True

    def pause_reading(self) -> None:
        self._paused = True
        if self._raw is not None:
            self._raw.pause_reading()

    def resume_reading(self) -> None:
        if not self._paused:
            return
        self._paused = False
        if self._raw is not None:
            self._raw.resume_reading()
        if self._app is not None:
            self._read()

    def is_reading(self) -> bool:
        return not self._paused

    def close(self) -> None:
        if self._secure and not self._eof_sent:
            self.write_eof()
        if self._raw is not None:
            self._raw.close()

    def abort(self) -> None:
        if self._raw is not None:
            self._raw.abort()

    def is_closing(self) -> bool:
        return self._raw is None or self._raw.is_closing()

    def get_write_buffer_size(self) -> int:
        return self._raw.get_write_buffer_size() if self._raw is not None else 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if self._raw is not None:
            self._raw.set_write_buffer_limits(high, low)

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self._app is not None
        return self._app

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._app = cast(asyncio.Protocol, protocol)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "ssl_object":
            return self._ssl
        if self._raw is None:
            return default
        return self._raw.get_extra_info(name, default)


async def open_tls(
    factory: Callable[[], P],
    host: str,
    port: int,
    context: ssl.SSLContext,
    server_hostname: str | None,
) -> tuple[TlsStream, P]:
    """Connect and shake hands; raises ``OSError`` or ``ssl.SSLError`` as asyncio would."""
    loop = asyncio.get_running_loop()
    raw, stream = await loop.create_connection(
        lambda: TlsStream(context, False, server_hostname), host, port
    )
    try:
        await stream.handshake
    except BaseException:
        raw.abort()
        raise
    protocol = factory()
    stream.start(cast(asyncio.Protocol, protocol))
    return stream, protocol
