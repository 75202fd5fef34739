"""Real git servers on 127.0.0.1 besides git daemon: sshd with keys, and git's smart HTTP
(``git http-backend`` run as CGI behind a small aiohttp server with basic auth)."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from .support import Upstream, free_port, wait_port

SSHD_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {dir}/host_key
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
"""

USER, PASSWORD = "reader", "pa55word"


@dataclass
class Sshd:
    port: int
    key: Path
    known_hosts: Path
    wrong_known_hosts: Path
    other_key: Path

    def url(self, upstream: Upstream) -> str:
        return f"ssh://root@127.0.0.1:{self.port}{upstream.bare}"


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30
    )
    return path.with_suffix(".pub").read_text().strip()


@contextmanager
def running_sshd(directory: Path) -> Iterator[Sshd]:
    """sshd accepting ``client_key`` (not ``other_key``) for root; its host key is in
    ``known_hosts``, another key under the same name in ``wrong_known_hosts``."""
    host = _keygen(directory / "host_key")
    client = _keygen(directory / "client_key")
    other = _keygen(directory / "other_key")
    (directory / "authorized_keys").write_text(client + "\n")
    port = free_port()
    known = directory / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host}\n")
    wrong = directory / "wrong_known_hosts"
    wrong.write_text(f"[127.0.0.1]:{port} {other}\n")
    config = directory / "sshd_config"
    config.write_text(SSHD_CONFIG.format(port=port, dir=directory))
    os.makedirs("/run/sshd", exist_ok=True)
    process = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield Sshd(port, directory / "client_key", known, wrong, directory / "other_key")
    finally:
        process.terminate()
        process.wait(10)


async def _http_backend(
    base: Path, request: web.Request, passwords: set[str]
) -> web.StreamResponse:
    """git http-backend as CGI: the smart HTTP protocol, behind basic auth (none when
    ``passwords`` is empty)."""
    accepted = {
        "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()
        for password in passwords
    }
    if accepted and request.headers.get("Authorization") not in accepted:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="git"'})
    body = await request.read()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(base),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query_string,
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
        "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
        "REMOTE_USER": USER,
        "REMOTE_ADDR": "127.0.0.1",
    }
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate(body)
    head, _, payload = out.partition(b"\r\n\r\n")
    status, headers = 200, {}
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    return web.Response(status=status, headers=headers, body=payload)


async def start_http(base: Path, passwords: set[str]) -> tuple[str, Callable[[], Awaitable[None]]]:
    """Serve the repositories under ``base``; the URL and the coroutine function stopping it."""
    app = web.Application(client_max_size=64 * 1024 * 1024)

    async def handle(request: web.Request) -> web.StreamResponse:
        return await _http_backend(base, request, passwords)

    app.router.add_route("*", "/{path:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}", runner.cleanup
