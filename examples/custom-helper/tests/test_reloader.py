"""The example helper, run the way a user's CI would run theirs: as a real process."""

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from sidecars_reloader import Reloader

from sidecars.runtime import discovery
from sidecars.testing import HelperProcess


@pytest.fixture
async def app() -> AsyncIterator[tuple[str, list[str]]]:
    """A stand-in application with a reload endpoint that records each call."""
    calls: list[str] = []

    async def reload(request: web.Request) -> web.Response:
        calls.append(request.method)
        return web.Response(text="reloaded\n")

    application = web.Application()
    application.router.add_post("/-/reload", reload)
    runner = web.AppRunner(application)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/-/reload", calls
    await runner.cleanup()


def test_the_entry_point_makes_it_a_sidecars_helper() -> None:
    assert "reloader" in discovery.available()
    assert discovery.load("reloader") is Reloader


@pytest.fixture
async def reloader(app: tuple[str, list[str]], tmp_path: Path) -> AsyncIterator[HelperProcess]:
    env = {
        "RELOADER_WATCH_DIR": str(tmp_path),
        "RELOADER_RELOAD_URL": app[0],
        "RELOADER_POLL_PERIOD": "100ms",
    }
    async with HelperProcess("reloader", env) as proc:
        await proc.wait_ready()
        yield proc


async def test_a_config_change_posts_to_the_app_and_counts(
    app: tuple[str, list[str]], reloader: HelperProcess, tmp_path: Path
) -> None:
    proc, calls = reloader, app[1]
    (tmp_path / "app.conf").write_text("level = debug\n")
    await proc.wait_log(lambda e: e["msg"] == "reloaded")
    assert calls == ["POST"]
    assert await proc.sample("reloader_reloads_total", outcome="success") == 1
    assert await proc.stop() == 0


async def test_a_configmap_update_by_symlink_swap_posts_once(
    app: tuple[str, list[str]], tmp_path: Path
) -> None:
    """The kubelet's way: files point through ``..data`` to a timestamped directory, and an
    update writes a new directory and renames a new ``..data`` link over the old one."""
    volume, calls = tmp_path / "volume", app[1]
    volume.mkdir()
    (volume / "..v1").mkdir()
    (volume / "..v1" / "app.conf").write_text("level = info\n")
    (volume / "..data").symlink_to("..v1")
    (volume / "app.conf").symlink_to("..data/app.conf")
    env = {
        "RELOADER_WATCH_DIR": str(volume),
        "RELOADER_RELOAD_URL": app[0],
        "RELOADER_POLL_PERIOD": "100ms",
    }
    async with HelperProcess("reloader", env) as proc:
        await proc.wait_ready()
        (volume / "..v2").mkdir()
        (volume / "..v2" / "app.conf").write_text("level = debug\n")
        (volume / "..data_tmp").symlink_to("..v2")
        os.rename(volume / "..data_tmp", volume / "..data")
        await proc.wait_log(lambda e: e["msg"] == "reloaded")
        assert calls == ["POST"]
        assert await proc.stop() == 0
    assert calls == ["POST"], "one swap, one reload"


async def test_post_reload_on_the_admin_server_reloads_at_once(
    app: tuple[str, list[str]], reloader: HelperProcess
) -> None:
    proc, calls = reloader, app[1]
    assert proc.admin_url is not None
    async with ClientSession() as session:
        async with session.post(proc.admin_url + "/reload") as response:
            assert (response.status, await response.json()) == (200, {"reloaded": True})
        async with session.get(proc.admin_url + "/reload") as response:
            assert response.status == 405
    assert calls == ["POST"]
    assert await proc.sample("reloader_reloads_total", outcome="success") == 1
    assert await proc.stop() == 0


async def test_a_failing_app_is_retried_then_counted_as_a_failure(tmp_path: Path) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    env = {
        "RELOADER_WATCH_DIR": str(tmp_path),
        "RELOADER_RELOAD_URL": f"http://127.0.0.1:{port}/-/reload",
        "RELOADER_RETRIES": "2",
    }
    try:
        async with HelperProcess("reloader", env) as proc:
            await proc.wait_ready()
            (tmp_path / "app.conf").write_text("x\n")
            await proc.wait_log(lambda e: e["msg"] == "reload failed" and e["attempt"] == 2)
            for _ in range(100):
                if await proc.sample("reloader_reloads_total", outcome="failure") == 1:
                    break
                await asyncio.sleep(0.05)
            assert await proc.sample("reloader_reloads_total", outcome="failure") == 1
            assert await proc.sample("reloader_reloads_total", outcome="success") == 0
    finally:
        server.close()


def test_missing_settings_are_a_configuration_error() -> None:
    from sidecars import ConfigError

    with pytest.raises(ConfigError) as caught:
        Reloader.settings_class.from_env({})
    assert [p.variable for p in caught.value.problems] == [
        "RELOADER_WATCH_DIR",
        "RELOADER_RELOAD_URL",
    ]


async def test_with_an_admin_token_post_reload_needs_it(
    app: tuple[str, list[str]], tmp_path: Path
) -> None:
    env = {
        "RELOADER_WATCH_DIR": str(tmp_path),
        "RELOADER_RELOAD_URL": app[0],
        "RELOADER_ADMIN_TOKEN": "t0ken",
    }
    async with HelperProcess("reloader", env) as proc:
        await proc.wait_ready()
        assert (await proc.request("POST", "/reload"))[0] == 401
        assert app[1] == []
        bearer = {"Authorization": "Bearer t0ken"}
        assert (await proc.request("POST", "/reload", headers=bearer))[0] == 200
        assert app[1] == ["POST"]
        assert (await proc.get("/metrics"))[0] == 200
