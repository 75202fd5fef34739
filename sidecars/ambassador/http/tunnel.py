"""http mode after a 101 Switching Protocols or an accepted CONNECT: the connection pair
relays bytes both ways.

Flow control stays as for any exchange (a full side pauses reading on the other); each
EOF is passed on as a half-close, and both connections close once both directions ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..tcp.client import upstream_ended
from .state import TUNNEL

if TYPE_CHECKING:
    from .client import HttpClient
    from .pool import HttpUpstream

__all__ = ["client_eof", "start", "upstream_eof"]


def start(client: HttpClient, upstream: HttpUpstream, rest: bytes) -> None:
    """The upstream switched protocols or opened a tunnel: from now on bytes pass as
    they are."""
    client.state = TUNNEL
    client.flush()
    if rest:
        client.send(rest)
    if client.buf:
        data, client.buf = client.buf, b""
        upstream.transport.write(data)
    client.transport.resume_reading()


def client_eof(client: HttpClient) -> bool:
    """Outside a tunnel the client's EOF ends the connection (False closes it)."""
    upstream = client.upstream
    if client.state != TUNNEL or upstream is None:
        return False
    client.eof_in = True
    if client.eof_out:
        client.close()
        upstream.transport.close()
        return False
    if upstream.transport.can_write_eof():
        upstream.transport.write_eof()
    return True


def upstream_eof(client: HttpClient) -> bool:
    """The upstream half-closed a tunnel; True keeps its connection open for writing."""
    return upstream_ended(client)
