"""Run a helper as a real subprocess in tests, the way a container runs it.

Helper authors use this in their own test suites: start the helper with environment
variables, wait for ``/readyz``, read ``/metrics``, send SIGTERM and check the exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from .runtime import discovery

__all__ = ["HelperProcess", "eventually", "free_port", "wait_port"]


class HelperProcess:
    """``sidecars <helper>`` in a child process, admin server on a free 127.0.0.1 port.

    Use as ``async with HelperProcess("waitfor", {"WAITFOR_TARGETS": ...}) as proc:``;
    leaving the block stops the process (SIGTERM, then SIGKILL) if it still runs.
    """

    def __init__(
        self,
        helper: str,
        env: Mapping[str, str],
        *,
        args: Sequence[str] = (),
        admin: bool = True,
        inherit_env: bool = True,
        cwd: str | None = None,
    ) -> None:
        prefix = discovery.load(helper).settings_class.prefix
        self.helper = helper
        self.env = dict(os.environ) if inherit_env else {"PATH": os.environ.get("PATH", "")}
        self.env.update({f"{prefix}LOG_FORMAT": "json", f"{prefix}LOG_LEVEL": "debug"})
        self.env[f"{prefix}ADMIN_ADDR"] = "127.0.0.1:0" if admin else ""
        self.env.update(env)
        self.args = list(args)
        self.cwd = cwd
        self.admin = admin
        self.logs: list[dict[str, Any]] = []
        self.stderr_text: list[str] = []
        self.admin_url: str | None = None
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.returncode is None:
            await self.stop()

    async def start(self, timeout: float = 15.0) -> Self:
        """Spawn the helper; with an admin server, return once it listens."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sidecars",
            self.helper,
            *self.args,
            env=self.env,
            cwd=self.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        if self.admin:
            line = await self.wait_log(lambda e: e.get("msg") == "admin server listening", timeout)
            self.admin_url = str(line["url"])
        return self

    async def _read(self) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            text = raw.decode(errors="replace").rstrip("\n")
            self.stderr_text.append(text)
            with contextlib.suppress(ValueError):
                entry = json.loads(text)
                if isinstance(entry, dict):
                    self.logs.append(entry)
            self._changed.set()
        self._changed.set()

    async def wait_log(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 15.0
    ) -> dict[str, Any]:
        """The first log entry for which ``match`` is true, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for entry in self.logs[seen:]:
                if match(entry):
                    return entry
            seen = len(self.logs)
            if self._reader is not None and self._reader.done():
                raise AssertionError(f"{self.helper} exited first; stderr:\n{self.stderr()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no such log line from {self.helper}; stderr:\n{self.stderr()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    def stderr(self) -> str:
        return "\n".join(self.stderr_text)

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str]:
        return await self.request("GET", path, **kwargs)

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
        """One request to the admin server: (status, body text)."""
        assert self.admin_url is not None, "the helper runs without an admin server"
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.admin_url + path, **kwargs) as response,
        ):
            return response.status, await response.text()

    async def wait_ready(self, timeout: float = 15.0) -> None:
        """Poll ``/readyz`` until it answers 200."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(f"{self.helper} exited first; stderr:\n{self.stderr()}")
            with contextlib.suppress(aiohttp.ClientError):
                status, _ = await self.get("/readyz")
                if status == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.helper} not ready in {timeout}s:\n{self.stderr()}")
            await asyncio.sleep(0.05)

    async def metrics(self) -> dict[str, list[Sample]]:
        """``/metrics`` parsed back: samples by family name."""
        status, text = await self.get("/metrics")
        assert status == 200, text
        return {f.name: list(f.samples) for f in text_string_to_metric_families(text)}

    async def sample(self, name: str, **labels: str) -> float | None:
        """The value of one sample (full name, e.g. ``x_total``), or ``None`` if absent."""
        for samples in (await self.metrics()).values():
            for sample in samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return None

    def send(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    async def wait(self, timeout: float = 15.0) -> int:
        """Wait for the process to exit by itself; its exit code."""
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            await self._reader
        return code

    async def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then the exit code; SIGKILL if it has not exited within ``timeout``."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await self.wait(timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, for a peer the test starts."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Block until something accepts connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), 0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port}") from None
            time.sleep(0.02)


async def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``check`` (plain or async) until it returns something truthy; tests poll, not sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)
