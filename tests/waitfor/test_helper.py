"""waitfor as a real process against real listeners on 127.0.0.1."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from sidecars.testing import HelperProcess, free_port

FAST = {"WAITFOR_INTERVAL": "50ms", "WAITFOR_MAX_INTERVAL": "200ms"}


@pytest.fixture
async def tcp_listener() -> AsyncIterator[int]:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def start_http(port: int, status: int) -> web.AppRunner:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status)

    app = web.Application()
    app.router.add_get("/ready", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def waitfor(targets: str, **env: str) -> HelperProcess:
    return HelperProcess("waitfor", {"WAITFOR_TARGETS": targets, **FAST, **env})


async def test_exits_0_when_every_target_answers(tcp_listener: int, tmp_path: Path) -> None:
    http_port = free_port()
    runner = await start_http(http_port, 204)
    try:
        ready_file = tmp_path / "ready"
        ready_file.touch()
        targets = (
            f"tcp://127.0.0.1:{tcp_listener},http://127.0.0.1:{http_port}/ready,"
            f"file://{ready_file},dns://localhost"
        )
        async with waitfor(targets) as proc:
            assert await proc.wait() == 0
        answered = {e["target"] for e in proc.logs if e["msg"] == "target answered"}
        assert len(answered) == 4
    finally:
        await runner.cleanup()


async def test_waits_for_a_listener_that_starts_late() -> None:
    port = free_port()
    async with waitfor(f"tcp://127.0.0.1:{port}") as proc:
        await proc.wait_log(lambda e: e["msg"] == "waiting for target")
        status, _ = await proc.get("/readyz")
        assert status == 503
        metrics = await proc.metrics()
        assert metrics["waitfor_target_up"][0].value == 0
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
        try:
            assert await proc.wait() == 0
        finally:
            server.close()
    entry = next(e for e in proc.logs if e["msg"] == "target answered")
    assert entry["attempts"] >= 2


async def test_waits_for_a_file_that_appears_late(tmp_path: Path) -> None:
    marker = tmp_path / "done"
    async with waitfor(f"file://{marker}") as proc:
        await proc.wait_log(lambda e: e["msg"] == "waiting for target")
        marker.write_text("ok")
        assert await proc.wait() == 0


async def test_times_out_with_exit_1_naming_the_missing_target(tcp_listener: int) -> None:
    missing = free_port()
    targets = f"tcp://127.0.0.1:{tcp_listener},tcp://127.0.0.1:{missing}"
    async with waitfor(targets, WAITFOR_TIMEOUT="1s") as proc:
        assert await proc.wait() == 1
    last = proc.logs[-1]
    assert last["level"] == "error"
    assert last["msg"].startswith("gave up after 1s waiting for: ")
    assert f"tcp://127.0.0.1:{missing} (Connection refused)" in last["msg"]
    assert f"tcp://127.0.0.1:{tcp_listener}" not in last["msg"]


async def test_an_unexpected_http_status_keeps_it_waiting() -> None:
    port = free_port()
    runner = await start_http(port, 503)
    try:
        async with waitfor(f"http://127.0.0.1:{port}/ready", WAITFOR_TIMEOUT="1s") as proc:
            assert await proc.wait() == 1
        assert "(HTTP 503)" in proc.logs[-1]["msg"]
    finally:
        await runner.cleanup()


async def test_the_fragment_chooses_the_accepted_statuses() -> None:
    port = free_port()
    runner = await start_http(port, 503)
    try:
        async with waitfor(f"http://127.0.0.1:{port}/ready#status=503") as proc:
            assert await proc.wait() == 0
    finally:
        await runner.cleanup()


async def test_an_attempt_that_hangs_is_cut_by_the_attempt_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        env = {"WAITFOR_TIMEOUT": "1500ms", "WAITFOR_ATTEMPT_TIMEOUT": "200ms"}
        async with waitfor(f"http://127.0.0.1:{port}/", **env) as proc:
            assert await proc.wait() == 1
        assert "(no answer within 0.2s)" in proc.logs[-1]["msg"]
    finally:
        server.close()


async def test_bad_targets_exit_2_naming_the_variable() -> None:
    proc = HelperProcess("waitfor", {"WAITFOR_TARGETS": "tcp://ok:1,gopher://x"}, admin=False)
    async with proc:
        assert await proc.wait() == 2
    assert "WAITFOR_TARGETS='tcp://ok:1,gopher://x': 'gopher://x' is not valid" in proc.stderr()
