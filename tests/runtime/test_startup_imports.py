"""A helper's start-up imports only what its configuration uses.

Every module costs every Pod memory and start-up time: aiohttp about 10 MB, cryptography's
x509 about 8 MB. Each helper runs here as a real process with its smallest configuration
(``tests/footprint.py``); the modules it loaded by the time it exits are compared with
those that configuration has no use for. (``ssl`` is not among them: ``import asyncio``
loads it.)
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.footprint import HELPERS, ONE_SHOT, base_env, free_port, listening, minimal_env

AMBASSADOR_TCP = tuple(
    f"sidecars.ambassador.{name}"
    for name in (
        "http.client",
        "http.framing",
        "http.headers",
        "http.pool",
        "tls",
        "tcp.tlsstream",
        "tcp.proxyproto",
        "upstream.dns",
        "upstream.health",
        "metrics",
    )
)
"""What a tcp listener to an address, without TLS, PROXY protocol or active checks, has
no use for: the http exchange, TLS, the PROXY header, the DNS client, health checks, and
the collector that loads with the first scrape."""

_NONE_NEEDS = (
    "aiohttp",
    "cryptography",
    "watchfiles",
    "git",
    "prometheus_client",
    "encodings.idna",
)
UNUSED = {
    "ambassador": (*_NONE_NEEDS, "yaml", *AMBASSADOR_TCP),
    "gitsync": (*_NONE_NEEDS, "yaml"),
    "injector": _NONE_NEEDS,
    "nginxlog": (*_NONE_NEEDS, "yaml"),
    "waitfor": (*_NONE_NEEDS, "yaml"),
}
"""Packages (and ambassador modules) the smallest configuration of each helper does not
use (the runtime writes ``/metrics`` itself, so none needs prometheus_client; every address
is literal, so none needs the idna codec that name lookups load)."""

SCRAPE_UNUSED = ("prometheus_client", "http.server", "urllib.request", "email", "wsgiref")
"""What serving ``/metrics`` has no use for: prometheus_client's package loads its HTTP
servers and push client, 4.8 MiB with these standard modules."""

NOT_YET: dict[tuple[str, str], str] = {}
"""Cases a helper cannot meet yet; each will pass (and may then be removed) once it can."""

DRIVER = """
import atexit, json, sys
out, helper = sys.argv[1], sys.argv[2]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
from sidecars.cli import main
main([helper])
"""


def _params() -> list[object]:
    cases: list[object] = []
    for helper in HELPERS:
        for module in UNUSED[helper]:
            reason = NOT_YET.get((helper, module))
            xfail = pytest.mark.xfail(reason=f"{module}: {reason}", strict=False)
            marks = [xfail] if reason else []
            cases.append(pytest.param(helper, module, marks=marks, id=f"{helper}-{module}"))
    return cases


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def loaded_modules(helper: str, workdir: Path, scrape: bool = False) -> set[str]:
    """Run ``helper`` with its smallest configuration until ready (or done), scraping its
    ``/metrics`` once if asked; what it imported."""
    out = workdir / "modules.json"
    with listening() as target:
        admin = free_port()
        env = {**base_env(helper, admin), **minimal_env(helper, workdir, target)}
        process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(out), helper],
            env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            if helper not in ONE_SHOT:
                deadline = time.monotonic() + 30
                while not _ready(f"http://127.0.0.1:{admin}/readyz"):
                    assert process.poll() is None, process.communicate()[1].decode()
                    assert time.monotonic() < deadline, f"{helper} not ready in 30s"
                    time.sleep(0.05)
                if scrape:
                    with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics") as reply:
                        assert b"process_resident_memory_bytes" in reply.read()
                process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, stderr.decode()
    return set(json.loads(out.read_text()))


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    return {}


@pytest.mark.parametrize(("helper", "module"), _params())
def test_start_up_leaves_unused_modules_alone(
    helper: str, module: str, modules: dict[str, set[str]], tmp_path: Path
) -> None:
    if helper not in modules:
        modules[helper] = loaded_modules(helper, tmp_path)
    loaded = sorted(m for m in modules[helper] if m == module or m.startswith(f"{module}."))
    assert loaded == [], f"{helper} imported {module} at start-up: {loaded[:5]}"


@pytest.mark.parametrize("helper", [h for h in HELPERS if h not in ONE_SHOT])
def test_a_scrape_leaves_the_http_servers_alone(helper: str, tmp_path: Path) -> None:
    loaded = loaded_modules(helper, tmp_path, scrape=True)
    assert "sidecars.runtime.exposition" in loaded, "the scrape did not happen"
    found = sorted(m for m in loaded for u in SCRAPE_UNUSED if m == u or m.startswith(f"{u}."))
    assert found == [], f"{helper} imported {found[:5]} to serve /metrics"


def test_the_check_sees_an_import() -> None:
    """The driver reports what the process imported, not what the test process did."""
    out = subprocess.run(
        [sys.executable, "-c", DRIVER, "/dev/stdout", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    names = set(json.loads(out.splitlines()[-1]))
    assert "sidecars.cli" in names
    assert "aiohttp" not in names
