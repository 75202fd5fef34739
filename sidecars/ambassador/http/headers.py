"""http mode's header rules: the heads sent on, and the answers the ambassador gives itself."""

from __future__ import annotations

from typing import Final

from ..settings import AmbassadorSettings
from .framing import HOP_BY_HOP, Head, line_pattern

__all__ = ["HeaderRules", "error_response", "request_head", "response_head"]

_TRANSFER_ENCODING: Final = line_pattern([b"transfer-encoding"])
_REASONS: Final = {
    400: "Bad Request",
    404: "Not Found",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}


class HeaderRules:
    """One upstream group's header settings, compiled once: the lines dropped (hop-by-hop
    and removed fields) and the ones added, each way."""

    __slots__ = (
        "default_host",
        "request_add",
        "request_removes",
        "request_strip",
        "response_add",
        "response_removes",
        "response_strip",
        "x_forwarded_for",
    )

    def __init__(self, settings: AmbassadorSettings) -> None:
        forwarded = {b"x-forwarded-for"} if settings.x_forwarded_for else set()
        self.request_strip = line_pattern(
            HOP_BY_HOP | _names(settings.request_headers_remove) | forwarded
        )
        self.request_add = _lines(settings.request_headers_add)
        self.response_strip = line_pattern(HOP_BY_HOP | _names(settings.response_headers_remove))
        self.response_add = _lines(settings.response_headers_add)
        self.request_removes = bool(settings.request_headers_remove)
        self.response_removes = bool(settings.response_headers_remove)
        self.x_forwarded_for = settings.x_forwarded_for
        self.default_host = (settings.tls_server_name or "localhost").encode()


def _names(names: list[str]) -> frozenset[bytes]:
    return frozenset(name.strip().lower().encode() for name in names)


def _lines(items: list[str]) -> bytes:
    """Header lines to append to a head, each led by its CRLF."""
    return b"".join(b"\r\n" + item.strip().encode() for item in items)


def request_head(head: Head, rules: HeaderRules, peer_ip: bytes, upgrade: bytes) -> bytes:
    """The request head for the upstream: hop-by-hop and removed fields dropped, added ones,
    Host when missing, X-Forwarded-For, and the Upgrade asked for; always HTTP/1.1."""
    extra = rules.request_add
    if head.host is None:
        # only an HTTP/1.0 request, or one whose absolute-form target names the authority
        if head.authority:
            host = head.authority
        elif head.first[0] == b"CONNECT":
            host = head.first[1]
        else:
            host = rules.default_host
        extra += b"\r\nHost: " + host
    if rules.x_forwarded_for:
        # every line of it: a front proxy appends its own line after the client's
        forwarded = head.get_all(b"x-forwarded-for") if head.forwarded else None
        chain = peer_ip if forwarded is None else forwarded + b", " + peer_ip
        extra += b"\r\nX-Forwarded-For: " + chain
    if upgrade:
        extra += b"\r\nConnection: Upgrade\r\nUpgrade: " + upgrade
    removes = rules.request_removes
    raw = head.without(rules.request_strip, not removes) if head.hop or removes else head.raw
    if head.version != b"HTTP/1.1":
        end = raw.find(b"\r\n")
        raw = b"%s %s HTTP/1.1%s" % (head.first[0], head.first[1], raw[end:] if end > 0 else b"")
    return raw + extra + b"\r\n\r\n"


def response_head(
    head: Head,
    rules: HeaderRules,
    status: int,
    keep_alive: bool,
    dechunk: bool = False,
    legacy: bool = False,
) -> bytes:
    """The response head for the client, by the same rules; a 101 keeps its Upgrade.
    ``dechunk``: the body goes out decoded, so Transfer-Encoding goes too. ``legacy``: the
    client spoke HTTP/1.0, which closes unless told to keep the connection."""
    removes = rules.response_removes
    raw = head.without(rules.response_strip, not removes) if head.hop or removes else head.raw
    if dechunk:
        raw = _TRANSFER_ENCODING.sub(b"", raw)
    if head.version != b"HTTP/1.1":
        end = raw.find(b"\r\n")
        first = b"HTTP/1.1 " + head.first[1] + b" " + head.first[2]
        raw = first + (raw[end:] if end > 0 else b"")
    extra = rules.response_add
    if status == 101:
        extra += b"\r\nConnection: Upgrade\r\nUpgrade: " + (head.get(b"upgrade") or b"")
    elif not keep_alive:
        extra += b"\r\nConnection: close"
    elif legacy:
        extra += b"\r\nConnection: keep-alive"
    return raw + extra + b"\r\n\r\n"


def error_response(status: int, close: bool = True, legacy: bool = False) -> bytes:
    """A short plain-text answer; it closes the connection unless the client's framing is
    intact (``close`` False), as after an upstream that failed."""
    reason = _REASONS[status]
    body = f"{status} {reason}\n".encode()
    connection = b"close" if close else b"keep-alive" if legacy else b""
    return b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s" % (
        status,
        reason.encode(),
        len(body),
        b"Connection: " + connection + b"\r\n" if connection else b"",
        body,
    )
