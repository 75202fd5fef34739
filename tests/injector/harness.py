"""A running injector for the tests: certificates in a kubelet-style Secret directory,
templates in a ConfigMap-style one, HTTPS requests with a client that checks the chain."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from sidecars.injector.certs import issue
from sidecars.testing import HelperProcess

from .kube import FIXTURES

LOCAL = ["localhost"]
LOCAL_IP = [ipaddress.ip_address("127.0.0.1")]


def new_pair(days: int = 30) -> tuple[bytes, bytes, bytes]:
    """(ca.crt, tls.crt, tls.key) for a server on 127.0.0.1."""
    return issue(LOCAL, LOCAL_IP, days=days)


def publish(directory: Path, files: dict[str, bytes]) -> None:
    """Write files the way the kubelet updates a mounted Secret or ConfigMap: a new
    timestamped directory, then one rename of the ``..data`` symlink."""
    directory.mkdir(parents=True, exist_ok=True)
    version = directory / f"..{time.monotonic_ns()}"
    version.mkdir()
    for name, data in files.items():
        (version / name).write_bytes(data)
    staged = directory / "..data_tmp"
    staged.symlink_to(version.name)
    os.replace(staged, directory / "..data")
    for name in files:
        link = directory / name
        if not link.is_symlink():
            link.symlink_to(f"..data/{name}")


def client_context(*cas: bytes) -> ssl.SSLContext:
    return ssl.create_default_context(cadata="".join(ca.decode() for ca in cas))


class Webhook:
    def __init__(self, proc: HelperProcess, url: str, ssl_context: ssl.SSLContext) -> None:
        self.proc = proc
        self.url = url
        self.ssl = ssl_context
        self.port = int(url.rsplit(":", 1)[1])

    async def post(
        self, body: Any, session: aiohttp.ClientSession | None = None, **kw: Any
    ) -> tuple[int, Any]:
        """POST /mutate with a dict (sent as JSON), bytes or an async iterable (chunked);
        (status, parsed JSON), or (status, text) for errors."""
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        own = session is None
        session = session or aiohttp.ClientSession()
        try:
            async with session.post(
                self.url + "/mutate",
                data=data,
                ssl=self.ssl,
                headers={"Content-Type": "application/json"},
                **kw,
            ) as response:
                text = await response.text()
                if response.content_type == "application/json":
                    return response.status, json.loads(text)
                return response.status, text
        finally:
            if own:
                await session.close()

    async def served_certificate(self) -> bytes:
        """The DER certificate a new TLS handshake presents."""
        _, writer = await asyncio.open_connection(
            "127.0.0.1", self.port, ssl=self.ssl, server_hostname="localhost"
        )
        ssl_object = writer.get_extra_info("ssl_object")
        der: bytes = ssl_object.getpeercert(binary_form=True)
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()
        return der


@asynccontextmanager
async def injector(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    templates: bytes | None = None,
    pair: tuple[bytes, bytes, bytes] | None = None,
) -> AsyncIterator[Webhook]:
    ca, cert, key = pair or new_pair()
    publish(tmp_path / "tls", {"tls.crt": cert, "tls.key": key})
    if templates is None:
        from .test_templates import shipped_templates

        templates = shipped_templates().encode()
    publish(tmp_path / "templates", {"templates.yaml": templates})
    settings = {
        "INJECTOR_TLS_CERT": str(tmp_path / "tls" / "tls.crt"),
        "INJECTOR_TLS_KEY": str(tmp_path / "tls" / "tls.key"),
        "INJECTOR_TEMPLATES": str(tmp_path / "templates" / "templates.yaml"),
        "INJECTOR_LISTEN_ADDR": "127.0.0.1:0",
        "INJECTOR_DRAIN_DELAY": "0s",
        **(env or {}),
    }
    async with HelperProcess("injector", settings) as proc:
        line = await proc.wait_log(lambda e: e.get("msg") == "webhook listening")
        await proc.wait_ready()
        yield Webhook(proc, str(line["url"]), client_context(ca))


def small_templates() -> bytes:
    return (FIXTURES / "templates-small.yaml").read_bytes()
