"""The /metrics contract: every family the ambassador exports, by name and type."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from sidecars.testing import free_port

from .conftest import ambassador, curl

EXPECTED = {
    "ambassador_listener_connections": "counter",
    "ambassador_listener_connections_refused": "counter",
    "ambassador_build_info": "gauge",
    "ambassador_listener_connections_active": "gauge",
    "ambassador_listener_received_bytes": "counter",
    "ambassador_listener_sent_bytes": "counter",
    "ambassador_listener_upstream_failures": "counter",
    "ambassador_listener_timeouts": "counter",
    "ambassador_http_requests": "counter",
    "ambassador_http_request_duration_seconds": "histogram",
    "ambassador_upstream_connections": "counter",
    "ambassador_upstream_connections_active": "gauge",
    "ambassador_upstream_sent_bytes": "counter",
    "ambassador_upstream_received_bytes": "counter",
    "ambassador_upstream_endpoint_healthy": "gauge",
    "ambassador_upstream_connect_errors": "counter",
    "ambassador_upstream_connect_timeouts": "counter",
    "ambassador_upstream_ejections": "counter",
    "ambassador_upstream_retries": "counter",
}


async def test_metric_families_and_types(nginx_factory: Any) -> None:
    nginx = nginx_factory("a")
    port = free_port()
    env = {
        "AMBASSADOR_MODE": "http",
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": nginx.address,
    }
    async with ambassador(env) as amb:
        await asyncio.to_thread(curl, f"http://127.0.0.1:{port}/hello.txt")
        status, text = await amb.get("/metrics")
    assert status == 200
    families = {
        family.name: family.type
        for family in text_string_to_metric_families(text)
        if family.name.startswith("ambassador_")
    }
    assert families == EXPECTED


async def test_build_info_and_the_start_up_line_name_the_data_path_that_runs() -> None:
    """scripts/test-compiled.sh runs this on the compiled build, the plain suite on source."""
    compiled = os.environ.get("SIDECARS_COMPILED") == "1"
    expected = {"data_path": "compiled" if compiled else "interpreted"}
    expected["poller"] = "c" if compiled else "python"
    port = free_port()
    env = {"AMBASSADOR_LISTEN": f"127.0.0.1:{port}", "AMBASSADOR_UPSTREAMS": "127.0.0.1:1"}
    async with ambassador(env) as amb:
        assert await amb.sample("ambassador_build_info", **expected) == 1.0
        line = next(log for log in amb.logs if log["msg"] == "data path")
    assert {key: line[key] for key in expected} == expected
