"""The ``sidecars`` command as a user types it."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecars.testing import free_port
from sidecars.waitfor import WaitForSettings


def sidecars(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecars", *args], capture_output=True, text=True, timeout=30
    )


def test_list_shows_built_in_and_installed_third_party_helpers() -> None:
    out = sidecars("list").stdout
    assert "waitfor" in out
    assert "reloader" in out


def test_helper_help_lists_every_variable() -> None:
    result = sidecars("waitfor", "--help")
    assert result.returncode == 0
    for name, _, _ in WaitForSettings.variables():
        assert name in result.stdout


def test_python_dash_m_runs_a_helper_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sidecars.waitfor", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert "WAITFOR_TARGETS" in result.stdout


def test_an_unknown_helper_exits_2_and_lists_the_installed_ones() -> None:
    result = sidecars("nosuch")
    assert result.returncode == 2
    assert "no helper named 'nosuch'; installed: " in result.stderr
    assert "waitfor" in result.stderr


def test_an_unknown_helper_command_exits_2() -> None:
    result = sidecars("waitfor", "frobnicate")
    assert result.returncode == 2
    assert "no command 'frobnicate'" in result.stderr


def test_a_helper_runs_from_an_import_path_too() -> None:
    result = sidecars("sidecars.waitfor:WaitFor", "--help")
    assert result.returncode == 0
    assert "WAITFOR_TARGETS" in result.stdout


STATUS_SERVER = """
import asyncio, sys
from aiohttp import web

async def status(request):
    return web.Response(status=int(request.match_info["code"]))

async def main():
    app = web.Application()
    app.router.add_get("/{code}", status)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture
def http_server() -> Iterator[str]:
    """A real server in a child process: the probe is synchronous, so it cannot share a loop."""
    server = subprocess.Popen(
        [sys.executable, "-c", STATUS_SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        yield f"http://127.0.0.1:{server.stdout.readline().strip()}"
    finally:
        server.kill()
        server.wait(timeout=10)


def test_probe_exits_0_on_2xx_and_1_otherwise(http_server: str) -> None:
    assert sidecars("probe", f"{http_server}/204").returncode == 0
    failed = sidecars("probe", f"{http_server}/503")
    assert failed.returncode == 1
    assert "HTTP 503" in failed.stderr


def test_probe_of_a_closed_port_exits_1() -> None:
    result = sidecars("probe", f"http://127.0.0.1:{free_port()}/", "--timeout", "2s")
    assert result.returncode == 1
    assert "refused" in result.stderr.lower()


def test_docs_check_reports_a_stale_table(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- BEGIN settings waitfor -->\nold\n<!-- END settings waitfor -->\n")
    assert sidecars("docs", "--check", str(readme)).returncode == 1
    assert sidecars("docs", "--write", str(readme)).returncode == 0
    assert sidecars("docs", "--check", str(readme)).returncode == 0
    assert "WAITFOR_TARGETS" in readme.read_text()


def test_the_built_in_shortcut_matches_the_entry_points() -> None:
    from sidecars.runtime import discovery

    registered = {name: ep.value for name, ep in discovery.available().items()}
    assert {name: registered.get(name) for name in discovery.BUILT_IN} == discovery.BUILT_IN


def test_a_built_in_settings_class_loads_without_its_helper() -> None:
    """What the injector relies on to check a Pod's env without importing every helper."""
    code = """
import sys
from sidecars.runtime import discovery
for name in discovery.BUILT_IN:
    settings = discovery.load_settings(name)
    assert f"sidecars.{name}.helper" not in sys.modules, name
    assert settings is discovery.load(name).settings_class, name
    assert f"sidecars.{name}.helper" in sys.modules, name
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
