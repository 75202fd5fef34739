"""The runtime around a real helper process: drain, exit codes, signals, logs."""

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sidecars.testing import HelperProcess

ROOT = str(Path(__file__).resolve().parents[2])
SAMPLE = "tests.runtime.sample:Sample"


def sample(admin: bool = True, **env: str) -> HelperProcess:
    return HelperProcess(SAMPLE, {"PYTHONPATH": ROOT, **env}, admin=admin)


async def test_sigterm_drains_with_readiness_503_then_exits_0() -> None:
    async with sample(SAMPLE_HOLD="60s", SAMPLE_DRAIN_TIMEOUT="30s") as proc:
        await proc.wait_ready()
        proc.send(signal.SIGTERM)
        await proc.wait_log(lambda e: e["msg"] == "holding")
        status, body = await proc.get("/readyz")
        assert (status, body) == (503, "not ready: draining\n")
        proc.send(signal.SIGTERM)  # a second signal cuts the hold short
        assert await proc.wait() == 0


async def test_a_helper_that_returns_on_stopping_exits_0() -> None:
    async with sample() as proc:
        await proc.wait_ready()
        assert await proc.stop() == 0
        assert proc.logs[-1]["msg"] == "stopped"


async def test_a_helper_that_ignores_stopping_is_cancelled_after_the_drain_timeout() -> None:
    async with sample(SAMPLE_IGNORE_STOP="true", SAMPLE_DRAIN_TIMEOUT="300ms") as proc:
        await proc.wait_ready()
        assert await proc.stop() == 0
        assert any(e["msg"] == "drain timeout reached, cancelling" for e in proc.logs)


async def test_shutdown_from_an_admin_route_drains_like_sigterm() -> None:
    async with sample() as proc:
        await proc.wait_ready()
        assert await proc.request("POST", "/quit") == (200, "bye\n")
        assert await proc.wait() == 0


async def test_sighup_runs_the_reload_handlers() -> None:
    async with sample() as proc:
        await proc.wait_ready()
        proc.send(signal.SIGHUP)
        entry = await proc.wait_log(lambda e: e["msg"] == "reloaded")
        assert entry["reloads"] == 1
        assert await proc.stop() == 0


@pytest.mark.parametrize(
    ("outcome", "code", "message"),
    [
        ("return", 0, "done"),
        ("helper-error", 1, "the sample failed on purpose"),
        ("config-error", 2, "configuration error: SAMPLE_OUTCOME cannot be used here"),
    ],
)
async def test_exit_codes_follow_the_outcome(outcome: str, code: int, message: str) -> None:
    async with sample(SAMPLE_OUTCOME=outcome) as proc:
        assert await proc.wait() == code
        assert proc.logs[-1]["msg"] == message
        assert "Traceback" not in proc.stderr()


async def test_a_crash_exits_1_with_the_traceback_in_the_log() -> None:
    async with sample(SAMPLE_OUTCOME="crash") as proc:
        assert await proc.wait() == 1
        entry = proc.logs[-1]
        assert entry["msg"] == "helper crashed"
        assert "RuntimeError: unexpected" in entry["exc"]


async def test_bad_settings_exit_2_with_one_message_and_no_traceback() -> None:
    proc = sample(admin=False, SAMPLE_OUTCOME="explode", SAMPLE_HOLD="forever", SAMPLE_TOKEN="x")
    async with proc:
        assert await proc.wait() == 2
    text = proc.stderr()
    assert "configuration error: 2 problems" in text
    assert "SAMPLE_OUTCOME='explode'" in text
    assert "SAMPLE_HOLD='forever'" in text
    assert "Traceback" not in text


async def test_a_busy_admin_port_is_a_configuration_error() -> None:
    async with sample() as first:
        assert first.admin_url is not None
        port = first.admin_url.rsplit(":", 1)[1]
        second = sample(admin=False, SAMPLE_ADMIN_ADDR=f"127.0.0.1:{port}")
        async with second:
            assert await second.wait() == 2
        assert "cannot start the admin server on 127.0.0.1:" in second.stderr()


async def test_json_log_lines_carry_ts_level_helper_msg() -> None:
    async with sample(SAMPLE_TYPO="1") as proc:
        await proc.wait_ready()
        await proc.stop()
    lines = [json.loads(line) for line in proc.stderr_text]
    assert all({"ts", "level", "helper", "msg"} <= line.keys() for line in lines)
    assert lines[0]["level"] == "warning"
    assert "SAMPLE_TYPO" in lines[0]["msg"]


async def test_text_logs_are_for_people() -> None:
    async with sample(admin=False, SAMPLE_LOG_FORMAT="text", SAMPLE_OUTCOME="return") as proc:
        assert await proc.wait() == 0
    assert proc.logs == []
    assert "INFO    sample: done" in proc.stderr()


@pytest.mark.skipif(os.geteuid() != 0, reason="a PID namespace needs root")
async def test_sigterm_is_honoured_as_pid_1() -> None:
    """PID 1 ignores signals it has no handler for; the runtime must install one."""
    env = {**os.environ, "PYTHONPATH": ROOT, "SAMPLE_ADMIN_ADDR": "", "SAMPLE_LOG_FORMAT": "json"}
    unshare = await asyncio.create_subprocess_exec(
        "unshare", "--pid", "--fork", "--kill-child", sys.executable, "-m", "sidecars", SAMPLE,
        env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert unshare.stderr is not None
    first = json.loads(await asyncio.wait_for(unshare.stderr.readline(), 15))
    assert first["msg"] == "ready"
    children = Path(f"/proc/{unshare.pid}/task/{unshare.pid}/children").read_text().split()
    (child,) = children
    status = Path(f"/proc/{child}/status").read_text().splitlines()
    nspid = next(line for line in status if line.startswith("NSpid:"))
    assert nspid.split()[-1] == "1"
    os.kill(int(child), signal.SIGTERM)
    assert await asyncio.wait_for(unshare.wait(), 15) == 0


@pytest.mark.parametrize(
    ("task", "message", "traceback"),
    [
        ("crash", "task sample.crash crashed", True),
        ("helper-error", "task sample.helper-error failed: the upstream is gone", False),
    ],
)
async def test_a_failing_spawned_task_ends_the_helper_with_exit_1(
    task: str, message: str, traceback: bool
) -> None:
    async with sample(SAMPLE_TASK=task) as proc:
        assert await proc.wait() == 1
        failed = next(e for e in proc.logs if e["msg"] == message)
        assert failed["task"] == f"sample.{task}"
        assert ("exc" in failed) is traceback
        assert proc.logs[-1]["msg"] == f"stopped because task sample.{task} failed"


async def test_spawned_tasks_still_running_are_cancelled_and_awaited_on_drain() -> None:
    async with sample(SAMPLE_TASK="stubborn") as proc:
        await proc.wait_ready()
        assert await proc.stop() == 0
        messages = [e["msg"] for e in proc.logs]
        assert messages.index("spawned task ends") < messages.index("stopped")


async def test_the_drain_delay_keeps_serving_with_readiness_503_before_stopping() -> None:
    async with sample(SAMPLE_DRAIN_DELAY="60s", SAMPLE_DRAIN_TIMEOUT="90s") as proc:
        await proc.wait_ready()
        assert await proc.get("/stopping") == (200, "False\n")
        proc.send(signal.SIGTERM)
        entry = await proc.wait_log(lambda e: e["msg"].startswith("stopping: readiness 503"))
        assert entry["seconds"] == 60
        assert await proc.get("/readyz") == (503, "not ready: draining\n")
        assert await proc.sample("sidecars_ready", helper="sample") == 0
        assert await proc.get("/stopping") == (200, "False\n")  # run() not told yet
        proc.send(signal.SIGTERM)  # a second signal cuts the delay short
        assert await proc.wait() == 0


async def test_a_short_drain_delay_ends_in_stopping() -> None:
    async with sample(SAMPLE_DRAIN_DELAY="50ms") as proc:
        await proc.wait_ready()
        proc.send(signal.SIGTERM)
        assert await proc.wait() == 0
        messages = [e["msg"] for e in proc.logs]
        assert messages.index("drain delay over, stopping") < messages.index("holding")


async def test_the_former_shutdown_delay_name_still_works_with_a_warning() -> None:
    async with sample(SAMPLE_SHUTDOWN_DELAY="60s", SAMPLE_DRAIN_TIMEOUT="90s") as proc:
        warning = await proc.wait_log(lambda e: "deprecated" in e["msg"])
        assert warning["msg"] == "SAMPLE_SHUTDOWN_DELAY is deprecated; use SAMPLE_DRAIN_DELAY"
        assert warning["level"] == "warning"
        await proc.wait_ready()
        proc.send(signal.SIGTERM)
        entry = await proc.wait_log(lambda e: e["msg"].startswith("stopping: readiness 503"))
        assert entry["seconds"] == 60
        proc.send(signal.SIGTERM)
        assert await proc.wait() == 0


async def test_an_idle_keep_alive_admin_connection_ends_quietly_on_drain() -> None:
    """Prometheus keeps its scrape connection open between scrapes; closing it at the
    drain is normal, not an error with a traceback."""
    async with sample() as proc:
        await proc.wait_ready()
        assert proc.admin_url is not None
        host, port = proc.admin_url.removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        proc.send(signal.SIGTERM)
        assert await proc.wait() == 0
        writer.close()
    assert [e for e in proc.logs if e["level"] in ("error", "critical")] == []
