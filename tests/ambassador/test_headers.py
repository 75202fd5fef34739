"""http mode's header rules, on heads as clients and servers send them."""

from __future__ import annotations

from sidecars.ambassador.http.framing import parse_head
from sidecars.ambassador.http.headers import HeaderRules, request_head, response_head
from sidecars.ambassador.settings import AmbassadorSettings


def _cluster(**env: str) -> HeaderRules:
    environ = {"AMBASSADOR_UPSTREAMS": "127.0.0.1:1"}
    environ.update({f"AMBASSADOR_{key.upper()}": value for key, value in env.items()})
    return HeaderRules(AmbassadorSettings.from_env(environ))


async def test_plain_request_goes_on_unchanged_with_forwarded_for() -> None:
    raw = b"GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: curl\r\nAccept: */*"
    head = parse_head(raw, request=True)
    assert not head.hop
    out = request_head(head, _cluster(), b"10.0.0.9", b"")
    assert out == raw + b"\r\nX-Forwarded-For: 10.0.0.9\r\n\r\n"


async def test_hop_by_hop_lines_and_the_ones_connection_names_are_dropped() -> None:
    raw = (
        b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Private\r\n"
        b"Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: close\r\n"
        b"X-Private: 1\r\nX-Forwarded-For: 10.1.1.1\r\nX-Kept: yes"
    )
    head = parse_head(raw, request=True)
    assert head.hop
    out = request_head(head, _cluster(), b"10.0.0.9", b"")
    assert out == (
        b"GET /a HTTP/1.1\r\nHost: h\r\nX-Kept: yes\r\nX-Forwarded-For: 10.1.1.1, 10.0.0.9\r\n\r\n"
    )


async def test_configured_removal_applies_without_any_hop_by_hop_line() -> None:
    raw = b"GET / HTTP/1.1\r\nHost: h\r\nX-Drop: secret\r\nX-Kept: yes"
    cluster = _cluster(request_headers_remove="X-Drop", x_forwarded_for="false")
    out = request_head(parse_head(raw, request=True), cluster, b"10.0.0.9", b"")
    assert out == b"GET / HTTP/1.1\r\nHost: h\r\nX-Kept: yes\r\n\r\n"


async def test_missing_host_is_added() -> None:
    cluster = _cluster(x_forwarded_for="false")
    out = request_head(parse_head(b"GET / HTTP/1.0", request=True), cluster, b"", b"")
    assert out == b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


async def test_response_loses_its_connection_header_and_gets_close_when_asked() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nETag: x"
    head = parse_head(raw, request=False)
    cluster = _cluster()
    kept = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nETag: x"
    assert response_head(head, cluster, 200, True) == kept + b"\r\n\r\n"
    assert response_head(head, cluster, 200, False) == kept + b"\r\nConnection: close\r\n\r\n"
