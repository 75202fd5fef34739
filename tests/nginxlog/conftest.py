"""Real NGINX on 127.0.0.1 for the nginxlog tests, and small polling helpers."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from sidecars.testing import HelperProcess, free_port

DETAILED = (
    '$host $upstream_addr [$time_local] "$request" $status $request_length $bytes_sent '
    "$request_time $upstream_connect_time"
)
JSON_LOG = (
    'log_format jsonlog escape=json \'{"time":"$time_iso8601","request":"$request",\''
    ' \'"status":$status,"rt":$request_time,"ua":"$http_user_agent"}\';'
)
REFERENCE = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $upstream_response_time'
)


class Nginx:
    """``nginx -p DIR -c nginx.conf -g 'daemon off;'`` serving a few fixed locations, with a
    proxied location so ``$upstream_response_time`` has values."""

    def __init__(self, root: Path, access_log: str) -> None:
        self.root = root
        self.port = free_port()
        self.upstream_port = free_port()
        self.log = root / "access.log"
        user = "user root;" if os.geteuid() == 0 else ""
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (root / name).mkdir(exist_ok=True)
        target = access_log.replace("{log}", str(self.log))
        (root / "nginx.conf").write_text(
            f"""
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
    log_format reference '{REFERENCE}';
    log_format detailed '{DETAILED}';
    {JSON_LOG}
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        access_log {target};
        location / {{ return 200 "ok\\n"; }}
        location /missing {{ return 404; }}
        location /broken {{ return 500; }}
        location /users/ {{ return 200 "user\\n"; }}
        location /up/ {{ proxy_pass http://127.0.0.1:{self.upstream_port}/; }}
    }}
    server {{
        listen 127.0.0.1:{self.upstream_port};
        access_log off;
        location / {{ return 200 "upstream\\n"; }}
    }}
}}
""",
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen(
            [
                binary,
                "-p",
                str(self.root),
                "-c",
                str(self.root / "nginx.conf"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                raise AssertionError(
                    self.process.stderr.read().decode() if self.process.stderr else ""
                )
            time.sleep(0.02)
        raise TimeoutError("nginx did not start")

    def signal(self, name: str) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        subprocess.run(
            [binary, "-p", str(self.root), "-c", str(self.root / "nginx.conf"), "-s", name],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def get(
        self, paths: list[str], method: str = "GET", headers: dict[str, str] | None = None
    ) -> None:
        """One request per path; the answers do not matter, nginx logs each."""
        base = f"http://127.0.0.1:{self.port}"
        async with aiohttp.ClientSession() as session:
            for path in paths:
                async with session.request(method, base + path, headers=headers) as response:
                    await response.read()


@pytest.fixture
def nginx_factory(tmp_path: Path) -> Iterator[Callable[[str], Nginx]]:
    started: list[Nginx] = []

    def make(access_log: str = "{log} reference") -> Nginx:
        root = tmp_path / f"nginx{len(started)}"
        root.mkdir()
        server = Nginx(root, access_log)
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.stop()


async def eventually(
    probe: Callable[[], Awaitable[object]], expected: object, timeout: float = 15.0
) -> None:
    """Poll ``probe`` until it returns ``expected``; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    value: object = None
    while time.monotonic() < deadline:
        value = await probe()
        if value == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {expected!r}, last saw {value!r}")


async def total(helper: HelperProcess, name: str, **labels: str) -> float:
    """The sum of every sample called ``name`` whose labels include ``labels``."""
    result = 0.0
    for samples in (await helper.metrics()).values():
        for sample in samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                result += float(sample.value)
    return result
