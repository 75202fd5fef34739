"""Real git servers on 127.0.0.1 for the gitsync tests: git daemon, sshd, git http-backend."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from .servers import PASSWORD, Sshd, running_sshd, start_http
from .support import GitDaemon, Upstream, free_port, make_upstream, wait_port


@pytest.fixture
def upstream(served: Path) -> Upstream:
    return make_upstream(served, "repo")


@pytest.fixture(scope="session")
def served_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("served")


@pytest.fixture
def served(served_base: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A directory under the git daemon's base path, private to one test."""
    path = served_base / request.node.name.replace("[", "_").replace("]", "_")
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def daemon(served_base: Path) -> Iterator[GitDaemon]:
    port = free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--informative-errors",
            f"--base-path={served_base}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(served_base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield GitDaemon(served_base, port)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if os.geteuid() != 0 or not Path("/usr/sbin/sshd").exists():
        pytest.skip("sshd for the ssh tests runs as root")
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def passwords() -> set[str]:
    """The passwords the HTTP server accepts now: a test may rotate them."""
    return {PASSWORD}


@pytest.fixture
async def http_url(served: Path, passwords: set[str]) -> AsyncIterator[str]:
    """git http-backend serving ``served`` over HTTP with basic auth."""
    url, stop = await start_http(served, passwords)
    yield url
    await stop()
