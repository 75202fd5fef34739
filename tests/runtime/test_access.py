"""Mutating admin routes against real peers: loopback, a peer in another network namespace
(created here, joined to ours by a veth pair), with and without an admin token."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sidecars import HelperContext, HostPort, Request, Response, Settings
from sidecars.runtime.access import is_loopback
from sidecars.runtime.admin import AdminServer
from sidecars.runtime.metrics import new_registry
from sidecars.testing import HelperProcess

ROOT = str(Path(__file__).resolve().parents[2])


@pytest.mark.parametrize(
    ("remote", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.2", False),
        ("::ffff:10.0.0.2", False),
        ("fe80::1%eth0", False),
        ("", False),
        (None, False),
        ("not-an-address", False),
    ],
)
def test_loopback_peers_are_told_apart(remote: str | None, loopback: bool) -> None:
    assert is_loopback(remote) is loopback


@dataclass(frozen=True)
class Netns:
    """A network namespace whose only peer address is ``peer``; ours is ``local`` on its link."""

    name: str
    local: str
    peer: str

    def curl(self, *args: str) -> tuple[int, str]:
        """``curl`` run inside the namespace: (HTTP status, body)."""
        return _curl("ip", "netns", "exec", self.name, "curl", *args)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def netns() -> Iterator[Netns]:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("curl") is None:
        pytest.skip("needs root, iproute2 and curl to create a network namespace with a peer")
    tag = secrets.token_hex(3)
    name, outside, inside = f"sc-admin-{tag}", f"sca{tag}o", f"sca{tag}i"
    third = 1 + int(tag[:2], 16) % 250
    local, peer = f"10.231.{third}.1", f"10.231.{third}.2"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot create a network namespace here: {exc.stderr.decode().strip()}")
    try:
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", name)
        _ip("addr", "add", f"{local}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("-n", name, "addr", "add", f"{peer}/30", "dev", inside)
        _ip("-n", name, "link", "set", inside, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        yield Netns(name, local, peer)
    finally:
        subprocess.run(["ip", "link", "del", outside], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


class Plain(Settings, prefix="PLAIN_"):
    pass


async def _serve(token: str = "") -> AsyncIterator[tuple[AdminServer, int, list[str]]]:
    env = {"PLAIN_ADMIN_TOKEN": token} if token else {}
    ctx: HelperContext[Plain] = HelperContext("plain", Plain.from_env(env), new_registry())
    calls: list[str] = []

    def record(name: str) -> Response:
        calls.append(name)
        return Response(f"{name}\n")

    async def change(request: Request) -> Response:
        return record("change")

    async def count(request: Request) -> Response:
        return record("count")

    async def hook(request: Request) -> Response:
        if request.headers.get("X-Secret") != "webhook":
            return Response("bad secret\n", 403)
        return record("hook")

    async def look(request: Request) -> Response:
        return record("look")

    ctx.add_route("POST", "/change", change)
    ctx.add_route("POST", "/count", count, mutates=False)
    ctx.add_route("POST", "/hook", hook, own_secret=True)
    ctx.add_route("GET", "/look", look)
    ctx.add_route("GET", "/flip", change, mutates=True)
    admin = AdminServer(ctx)
    url = await admin.start(HostPort("0.0.0.0", 0))
    try:
        yield admin, int(url.rsplit(":", 1)[1]), calls
    finally:
        await admin.stop()


@pytest.fixture
async def open_admin() -> AsyncIterator[tuple[AdminServer, int, list[str]]]:
    async for served in _serve():
        yield served


@pytest.fixture
async def token_admin() -> AsyncIterator[tuple[AdminServer, int, list[str]]]:
    async for served in _serve("s3cret-token"):
        yield served


def _curl(*command: str) -> tuple[int, str]:
    done = subprocess.run(
        [*command, "-sS", "--max-time", "10", "-w", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    body, _, status = done.stdout.rpartition("\n")
    assert status.isdigit(), done.stderr
    assert status != "000", done.stderr
    return int(status), body


def _loopback_curl(*args: str) -> tuple[int, str]:
    return _curl("curl", *args)


async def test_without_a_token_only_loopback_peers_reach_mutating_routes(
    netns: Netns, open_admin: tuple[AdminServer, int, list[str]]
) -> None:
    _, port, calls = open_admin
    remote = f"http://{netns.local}:{port}"
    status, body = await asyncio.to_thread(netns.curl, "-X", "POST", remote + "/change")
    assert status == 403
    assert "PLAIN_ADMIN_TOKEN" in body
    assert (await asyncio.to_thread(netns.curl, remote + "/flip"))[0] == 403
    assert calls == []
    for path in ("/healthz", "/metrics", "/look"):
        assert (await asyncio.to_thread(netns.curl, remote + path))[0] in (200, 503), path
    assert (await asyncio.to_thread(netns.curl, "-X", "POST", remote + "/count"))[0] == 200
    assert calls == ["look", "count"]
    local = f"http://127.0.0.1:{port}"
    assert await asyncio.to_thread(_loopback_curl, "-X", "POST", local + "/change") == (
        200,
        "change\n",
    )


async def test_a_route_with_its_own_secret_is_left_to_that_secret(
    netns: Netns, open_admin: tuple[AdminServer, int, list[str]]
) -> None:
    _, port, calls = open_admin
    remote = f"http://{netns.local}:{port}/hook"
    assert (await asyncio.to_thread(netns.curl, "-X", "POST", remote))[0] == 403
    good = ("-X", "POST", "-H", "X-Secret: webhook", remote)
    assert await asyncio.to_thread(netns.curl, *good) == (200, "hook\n")
    assert calls == ["hook"]


async def test_with_a_token_every_peer_needs_the_bearer_token(
    netns: Netns, token_admin: tuple[AdminServer, int, list[str]]
) -> None:
    _, port, calls = token_admin
    remote = f"http://{netns.local}:{port}/change"
    local = f"http://127.0.0.1:{port}/change"
    wrong = ("-H", "Authorization: Bearer wrong")
    unmarked = ("-H", "Authorization: s3cret-token")
    for headers in ((), wrong, unmarked):
        status, body = await asyncio.to_thread(netns.curl, "-X", "POST", *headers, remote)
        assert status == 401, headers
        assert await asyncio.to_thread(_loopback_curl, "-X", "POST", *headers, local) == (
            401,
            body,
        )
    assert calls == []
    bearer = ("-X", "POST", "-H", "Authorization: Bearer s3cret-token")
    assert await asyncio.to_thread(netns.curl, *bearer, remote) == (200, "change\n")
    assert await asyncio.to_thread(_loopback_curl, *bearer, local) == (200, "change\n")
    assert (await asyncio.to_thread(netns.curl, f"http://{netns.local}:{port}/metrics"))[0] == 200


async def test_a_helper_process_refuses_a_remote_quit_and_obeys_a_local_one(netns: Netns) -> None:
    env = {"PYTHONPATH": ROOT, "SAMPLE_ADMIN_ADDR": "0.0.0.0:0"}
    async with HelperProcess("tests.runtime.sample:Sample", env) as proc:
        await proc.wait_ready()
        assert proc.admin_url is not None
        port = proc.admin_url.rsplit(":", 1)[1]
        remote = f"http://{netns.local}:{port}"
        assert (await asyncio.to_thread(netns.curl, "-X", "POST", remote + "/quit"))[0] == 403
        assert (await asyncio.to_thread(netns.curl, remote + "/readyz"))[0] == 200
        refused = await proc.wait_log(lambda e: e["msg"] == "admin request refused")
        assert refused["peer"] == netns.peer
        local = f"http://127.0.0.1:{port}/quit"
        assert await asyncio.to_thread(_loopback_curl, "-X", "POST", local) == (200, "bye\n")
        assert await proc.wait() == 0
