"""The exposition: promtool accepts it and a real Prometheus scrapes and queries it."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from sidecars.testing import HelperProcess, free_port

from ..promtool import promtool_check
from .conftest import REFERENCE, Nginx, eventually, total

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="needs prometheus")


@pytest.mark.parametrize("exporter_names", ["true", "false"])
async def test_promtool_accepts_the_exposition(
    nginx_factory: Callable[..., Nginx], exporter_names: str
) -> None:
    nginx = nginx_factory()
    settings = {
        "NGINXLOG_FORMAT": REFERENCE,
        "NGINXLOG_FILES": str(nginx.log),
        "NGINXLOG_LABELS": "status_class,route",
        "NGINXLOG_STATIC_LABELS": "cluster=test",
        "NGINXLOG_EXPORTER_NAMES": exporter_names,
        "NGINXLOG_SUMMARIES": exporter_names,
    }
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_ready()
        await helper.wait_log(lambda e: e.get("msg") == "following file")
        await nginx.get(["/", "/missing", "/up/x"])

        async def count() -> float:
            return await total(helper, "nginx_http_response_count_total", cluster="test")

        await eventually(count, 3.0)
        status, text = await helper.get("/metrics")
        assert status == 200
        done = promtool_check(text)
        assert (done.returncode, done.stdout + done.stderr) == (0, "")
        size = "nginx_http_response_size_bytes"
        name = size if exporter_names == "true" else f"{size}_total"
        assert f"\n{name}{{" in text
        assert await total(helper, "nginx_http_response_count_total", status_class="4xx") == 1
        summary = 'nginx_http_response_time_seconds{cluster="test",method="GET"'
        assert (summary in text) == (exporter_names == "true")


async def test_prometheus_scrapes_and_counts(
    nginx_factory: Callable[..., Nginx], tmp_path: Path
) -> None:
    nginx = nginx_factory()
    settings = {"NGINXLOG_FORMAT": REFERENCE, "NGINXLOG_FILES": str(nginx.log)}
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_ready()
        await helper.wait_log(lambda e: e.get("msg") == "following file")
        await nginx.get(["/"] * 11 + ["/missing"] * 4)
        assert helper.admin_url is not None
        target = helper.admin_url.removeprefix("http://").rstrip("/")
        port = free_port()
        (tmp_path / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n"
            f"scrape_configs:\n  - job_name: nginxlog\n    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        server = await asyncio.create_subprocess_exec(
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            query = "sum(nginx_http_response_count_total)"
            assert await _query_until(port, query, "15") == "15"
            assert await _query_until(
                port, 'sum(nginx_http_response_count_total{status="404"})', "4"
            )
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), 20)


async def _query_until(port: int, query: str, expected: str, timeout: float = 40.0) -> str:
    """Ask Prometheus until the instant query returns ``expected`` (bounded in time)."""
    url = f"http://127.0.0.1:{port}/api/v1/query"
    deadline = time.monotonic() + timeout
    seen = "nothing"
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url, params={"query": query}) as response:
                    body = json.loads(await response.text())
                result = body.get("data", {}).get("result", [])
                if result:
                    seen = str(result[0]["value"][1])
                    if seen == expected:
                        return seen
            except (aiohttp.ClientError, ValueError):
                pass
            await asyncio.sleep(0.5)
    raise AssertionError(f"{query} never returned {expected}, last {seen}")
