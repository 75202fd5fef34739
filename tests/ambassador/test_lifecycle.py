"""Readiness, the SIGTERM drain, /quitquitquit and configuration errors (exit 2)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sidecars.testing import HelperProcess, free_port

from .conftest import RedisFactory, echo, redis_call, start_ambassador, wait_for


async def test_sigterm_keeps_serving_for_the_delay_then_drains_open_connections() -> None:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    upstream = server.sockets[0].getsockname()[1]
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{upstream}",
        "AMBASSADOR_DRAIN_DELAY": "1s",
        "AMBASSADOR_CONNECTION_DRAIN": "20s",
    }
    async with server:
        amb = await start_ambassador(env)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"before")
        assert await reader.readexactly(6) == b"before"
        amb.send(signal.SIGTERM)

        async def unready() -> bool:
            status, _ = await amb.get("/readyz")
            return status == 503

        await wait_for(unready, what="readiness to turn 503")
        late_reader, late_writer = await asyncio.open_connection("127.0.0.1", port)
        late_writer.write(b"late")
        assert await late_reader.readexactly(4) == b"late"  # accepted during the delay
        late_writer.close()
        await amb.wait_log(lambda e: e.get("msg") == "stopped accepting, waiting for connections")

        async def refused() -> bool:
            try:
                _, probe = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return True
            probe.close()
            return False

        await wait_for(refused, what="the listener to close")
        writer.write(b"in flight")
        assert await reader.readexactly(9) == b"in flight"
        assert amb.process is not None
        assert amb.process.returncode is None
        writer.close()
        assert await amb.wait(timeout=15) == 0


async def test_quitquitquit_stops_the_ambassador(redis_factory: RedisFactory) -> None:
    redis = redis_factory()
    port = free_port()
    env = {"AMBASSADOR_LISTEN": f"127.0.0.1:{port}", "AMBASSADOR_UPSTREAMS": redis.address}
    amb = await start_ambassador(env)
    assert await redis_call(port, "PING") == b"+PONG\r\n"
    status, _ = await amb.request("POST", "/quitquitquit")
    assert status == 200
    assert await amb.wait(timeout=15) == 0


async def test_ready_only_once_every_listener_is_bound(
    redis_factory: RedisFactory, tmp_path: Path
) -> None:
    redis = redis_factory()
    taken = free_port()
    blocker = await asyncio.start_server(echo, "127.0.0.1", taken)
    config = tmp_path / "two.json"
    listeners = [
        {"listen": f"127.0.0.1:{taken}", "upstreams": [redis.address]},
        {"listen": f"127.0.0.1:{free_port()}", "upstreams": [redis.address]},
    ]
    config.write_text(json.dumps({"listeners": listeners}))
    async with blocker:
        proc = await start_ambassador_unready({"AMBASSADOR_CONFIG_FILE": str(config)})
        assert await proc.wait(timeout=15) == 2
        assert f"cannot bind 127.0.0.1:{taken}" in proc.stderr()
        assert not any(entry.get("msg") == "ready" for entry in proc.logs)


async def start_ambassador_unready(env: dict[str, str]) -> HelperProcess:
    return await HelperProcess("ambassador", env).start()


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("AMBASSADOR_")}
    full.update({"AMBASSADOR_ADMIN_ADDR": "", **env})
    return subprocess.run(
        [sys.executable, "-m", "sidecars", "ambassador"],
        env=full, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"AMBASSADOR_UPSTREAMS": "127.0.0.1:6379", "AMBASSADOR_LB": "fastest"},
         ["AMBASSADOR_LB='fastest'", "round_robin, least_conn, p2c, ketama"]),
        ({"AMBASSADOR_UPSTREAMS": "redis:port"},
         ["AMBASSADOR_UPSTREAMS='redis:port'", "expected host:port"]),
        ({"AMBASSADOR_UPSTREAMS": "127.0.0.1:6379", "AMBASSADOR_LISTEN": "nowhere"},
         ["AMBASSADOR_LISTEN='nowhere'", "host:port"]),
        ({"AMBASSADOR_UPSTREAMS": "127.0.0.1:6379", "AMBASSADOR_TLS": "true",
          "AMBASSADOR_TLS_CA_FILE": "/nonexistent/ca.pem"},
         ["AMBASSADOR_TLS_CA_FILE='/nonexistent/ca.pem'", "no such file"]),
        ({}, ["AMBASSADOR_UPSTREAMS is not set"]),
        ({"AMBASSADOR_UPSTREAMS": "127.0.0.1:80", "AMBASSADOR_MODE": "http",
          "AMBASSADOR_PROXY_PROTOCOL": "v2"},
         ["AMBASSADOR_PROXY_PROTOCOL='v2'", "applies to tcp mode only"]),
    ],
)  # fmt: skip
def test_bad_configuration_exits_2_with_a_clear_message(
    env: dict[str, str], words: list[str]
) -> None:
    result = _run(env)
    assert result.returncode == 2, result.stderr
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_file_entry_names_the_listener_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    listeners = [
        {"listen": "127.0.0.1:1", "upstreams": ["127.0.0.1:2"]},
        {"listen": "127.0.0.1:3", "upstreams": ["127.0.0.1:4"], "lb": "nope", "colour": "red"},
    ]
    config.write_text(json.dumps({"listeners": listeners}))
    result = _run({"AMBASSADOR_CONFIG_FILE": str(config)})
    assert result.returncode == 2
    assert f"{config}: listeners[1].lb='nope'" in result.stderr
    assert f"{config}: listeners[1].colour" in result.stderr
    config.write_text("{not json")
    result = _run({"AMBASSADOR_CONFIG_FILE": str(config)})
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
