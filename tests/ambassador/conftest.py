"""Real peers for the ambassador's tests: redis-server, nginx, tinyproxy, small asyncio
servers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import sidecars.ambassador.http.client
from sidecars.ambassador.http import framing
from sidecars.testing import HelperProcess, eventually, free_port, wait_port

# scripts/test-compiled.sh runs these tests on the mypyc-compiled modules; anywhere else a
# compiled module left in the tree would shadow the source being tested
_COMPILED = sidecars.ambassador.http.client.__file__.endswith(".so")
if os.environ.get("SIDECARS_COMPILED") == "1" and not _COMPILED:
    raise pytest.UsageError(
        "SIDECARS_COMPILED=1 but sidecars.ambassador.http.client is not compiled"
    )
if os.environ.get("SIDECARS_COMPILED") != "1" and _COMPILED:
    raise pytest.UsageError(
        f"compiled modules shadow the source ({sidecars.ambassador.http.client.__file__}): "
        "remove sidecars/ambassador/**/*.so or run scripts/test-compiled.sh"
    )


@pytest.fixture(scope="module", params=["byte loop", "bytes methods"])
def head_reader(request: pytest.FixtureRequest) -> Iterator[None]:
    """Heads read by the byte loop the compiled package uses, then by the bytes methods the
    interpreted one uses: both must pass the same cases."""
    chosen = framing._scan if request.param == "byte loop" else framing._scan_interpreted
    saved, framing._read = framing._read, chosen
    yield
    framing._read = saved


class Redis:
    """One redis-server process on 127.0.0.x with a free port."""

    def __init__(self, tmp: Path, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", host, "--save", "",
             "--appendonly", "no", "--dir", str(tmp)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(self.port, host)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self, *args: str) -> str:
        """Run one command with redis-cli directly against this server."""
        out = subprocess.run(
            ["redis-cli", "-h", self.host, "-p", str(self.port), *args],
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        return out.stdout.strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


RedisFactory = Callable[..., Redis]


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[RedisFactory]:
    started: list[Redis] = []

    def make(host: str = "127.0.0.1", port: int | None = None) -> Redis:
        server = Redis(tmp_path, host, port)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def resp(*args: str) -> bytes:
    """A redis command in RESP, for clients written with raw sockets."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


async def redis_call(port: int, *args: str, source: str | None = None) -> bytes:
    """One command over a fresh connection through the ambassador; the raw reply line(s)."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, local_addr=(source, 0) if source else None
    )
    try:
        writer.write(resp(*args))
        async with asyncio.timeout(10):
            first = await reader.readline()
            if first.startswith(b"$") and first != b"$-1\r\n":
                return first + await reader.readline()
            return first
    finally:
        writer.close()


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An upstream that sends back what it reads (over TLS too) until the client is done."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    writer.close()


async def echo_until_eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Reads everything up to the client's EOF, then answers with its size and closes."""
    data = await reader.read()
    writer.write(b"got %d bytes" % len(data))
    await writer.drain()
    writer.close()


async def send_then_half_close(port: int, size: int) -> bytes:
    """Send ``size`` bytes, half-close, and read the answer to EOF (see ``echo_until_eof``)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"x" * size)
    writer.write_eof()
    async with asyncio.timeout(20):
        answer = await reader.read()
    writer.close()
    return answer


async def start_ambassador(env: Mapping[str, str], **kwargs: Any) -> HelperProcess:
    """Start the helper and return once it is ready (every listener bound)."""
    base = {"AMBASSADOR_DRAIN_DELAY": "0", "AMBASSADOR_CONNECTION_DRAIN": "5s"}
    proc = await HelperProcess("ambassador", {**base, **env}, **kwargs).start()
    await proc.wait_ready()
    return proc


@contextlib.asynccontextmanager
async def ambassador(env: Mapping[str, str], **kwargs: Any) -> AsyncIterator[HelperProcess]:
    proc = await start_ambassador(env, **kwargs)
    try:
        yield proc
    finally:
        if proc.process is not None and proc.process.returncode is None:
            await proc.stop()


NGINX_CONF = """
user root root;
worker_processes 1;
error_log {root}/error.log;
pid {root}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  keepalive_timeout {keepalive};
  server {{
    listen 127.0.0.1:{port};
    root {root}/html;
    location /echo {{
      add_header X-Secret hidden;
      return 200
        "name={name} xff=$http_x_forwarded_for test=$http_x_test drop=$http_x_drop\\n";
    }}
    location /flaky {{ return {flaky} "flaky {name}\\n"; }}
    location /gz/ {{ gzip on; gzip_types text/plain; gzip_min_length 1; }}
  }}
}}
"""


GZ_TEXT = "".join(f"line {n}\n" for n in range(5000))  # gzip makes its length unknown: chunked


class Nginx:
    def __init__(self, root: Path, name: str, flaky: int = 200, keepalive: str = "60s") -> None:
        self.root = root / name
        (self.root / "html").mkdir(parents=True)
        os.chmod(root, 0o755)
        os.chmod(self.root, 0o755)
        os.chmod(self.root / "html", 0o755)
        (self.root / "html" / "hello.txt").write_text(f"hello from {name}\n")
        (self.root / "html" / "gz").mkdir()
        (self.root / "html" / "gz" / "lines.txt").write_text(GZ_TEXT)
        self.port = free_port()
        conf = self.root / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(root=self.root, port=self.port, name=name, flaky=flaky,
                              keepalive=keepalive)
        )  # fmt: skip
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(self.root), "-c", str(conf), "-g", "daemon off;"]
        )
        wait_port(self.port)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


NginxFactory = Callable[..., Nginx]


@pytest.fixture
def nginx_factory(tmp_path: Path) -> Iterator[NginxFactory]:
    started: list[Nginx] = []

    def make(name: str, **kwargs: Any) -> Nginx:
        server = Nginx(tmp_path, name, **kwargs)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def tinyproxy(tmp_path: Path) -> Iterator[str]:
    """A forward proxy on 127.0.0.1 that opens CONNECT tunnels to any port; its address."""
    port = free_port()
    conf = tmp_path / "tinyproxy.conf"
    conf.write_text(f"Port {port}\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 30\nLogLevel Error\n")
    proc = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True, timeout=20
    )


async def wait_for(check: Callable[[], Any], limit: float = 10.0, what: str = "condition") -> Any:
    return await eventually(check, limit, what)
