"""DNS re-resolution against a small DNS server the test controls (A and SRV records)."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from pathlib import Path
from typing import cast

from sidecars.testing import free_port

from .conftest import RedisFactory, ambassador, redis_call, wait_for


def _encode(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"


class TinyDNS(asyncio.DatagramProtocol):
    """Answers A and SRV questions from ``records``; TTL 1 second; NXDOMAIN otherwise."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, int], list[bytes]] = {}
        self.transport: asyncio.DatagramTransport | None = None
        self.questions = 0

    def set_a(self, name: str, *addresses: str) -> None:
        self.records[(name, 1)] = [socket.inet_aton(a) for a in addresses]

    def set_srv(self, name: str, port: int, target: str) -> None:
        self.records[(name, 33)] = [struct.pack("!HHH", 0, 0, port) + _encode(target)]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.questions += 1
        ident = data[:2]
        pos, labels = 12, []
        while data[pos]:
            labels.append(data[pos + 1 : pos + 1 + data[pos]].decode())
            pos += 1 + data[pos]
        qtype = struct.unpack("!H", data[pos + 1 : pos + 3])[0]
        question = data[12 : pos + 5]
        answers = self.records.get((".".join(labels), qtype))
        known = any(key[0] == ".".join(labels) for key in self.records)
        flags = 0x8180 if known else 0x8183
        body = b""
        for rdata in answers or []:
            body += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 1, len(rdata)) + rdata
        count = len(answers or [])
        header = ident + struct.pack("!HHHHH", flags, 1, count, 0, 0)
        assert self.transport is not None
        self.transport.sendto(header + question + body, addr)


async def test_names_are_re_resolved_and_srv_records_followed(
    redis_factory: RedisFactory, tmp_path: Path
) -> None:
    port = free_port("127.0.0.2")
    first, second = redis_factory("127.0.0.2", port), redis_factory("127.0.0.3", port)
    first.command("SET", "where", "first")
    second.command("SET", "where", "second")
    loop = asyncio.get_running_loop()
    transport, dns = await loop.create_datagram_endpoint(TinyDNS, local_addr=("127.0.0.1", 0))
    dns.set_a("cache.test", "127.0.0.2")
    dns.set_srv("_redis._tcp.cache.test", port, "cache.test")
    by_name, by_srv = free_port(), free_port()
    srv = "srv:_redis._tcp.cache.test"
    listeners = [
        {"name": "byname", "listen": f"127.0.0.1:{by_name}", "upstreams": [f"cache.test:{port}"]},
        {"name": "bysrv", "listen": f"127.0.0.1:{by_srv}", "upstreams": [srv]},
    ]
    config = tmp_path / "dns.json"
    config.write_text(json.dumps({"listeners": listeners}))
    env = {
        "AMBASSADOR_CONFIG_FILE": str(config),
        "AMBASSADOR_DNS_SERVER": f"127.0.0.1:{transport.get_extra_info('sockname')[1]}",
        "AMBASSADOR_DNS_MIN_TTL": "100ms",
    }
    try:
        async with ambassador(env) as amb:
            assert await redis_call(by_name, "GET", "where") == b"$5\r\nfirst\r\n"
            assert await redis_call(by_srv, "GET", "where") == b"$5\r\nfirst\r\n"
            dns.set_a("cache.test", "127.0.0.3")

            async def moved() -> bool:
                name = await redis_call(by_name, "GET", "where")
                srv = await redis_call(by_srv, "GET", "where")
                return name == srv == b"$6\r\nsecond\r\n"

            await wait_for(moved, limit=15, what="both listeners to follow the new record")
            gone = await amb.sample("ambassador_upstream_connections_total", endpoint=first.address)
            assert gone is None, "the endpoint that left DNS is no longer listed"
            await amb.wait_log(lambda e: e.get("msg") == "upstream endpoints changed")
    finally:
        transport.close()


async def test_unresolvable_name_is_retried_until_it_appears(redis_factory: RedisFactory) -> None:
    redis = redis_factory("127.0.0.4")
    loop = asyncio.get_running_loop()
    transport, dns = await loop.create_datagram_endpoint(TinyDNS, local_addr=("127.0.0.1", 0))
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"late.test:{redis.port}",
        "AMBASSADOR_DNS_SERVER": f"127.0.0.1:{transport.get_extra_info('sockname')[1]}",
        "AMBASSADOR_DNS_MIN_TTL": "100ms",
    }
    try:
        async with ambassador(env) as amb:
            await amb.wait_log(lambda e: e.get("msg") == "cannot resolve upstream")
            dns.set_a("late.test", "127.0.0.4")

            async def answered() -> bool:
                try:
                    return await redis_call(port, "PING") == b"+PONG\r\n"
                except ConnectionError:  # no endpoint yet: the ambassador closes the client
                    return False

            await wait_for(answered, limit=15, what="the name to resolve")
    finally:
        transport.close()
