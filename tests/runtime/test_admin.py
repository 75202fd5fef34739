from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from sidecars import HelperContext, HostPort, Settings
from sidecars.runtime.admin import AdminServer
from sidecars.runtime.metrics import RuntimeCollector, new_registry


class Plain(Settings, prefix="PLAIN_"):
    pass


Served = tuple[HelperContext[Plain], str, aiohttp.ClientSession]


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    ctx: HelperContext[Plain] = HelperContext("plain", Plain.from_env({}), new_registry())
    ctx.registry.register(RuntimeCollector(ctx))
    admin = AdminServer(ctx)
    url = await admin.start(HostPort("127.0.0.1", 0))
    async with aiohttp.ClientSession() as session:
        yield ctx, url, session
    await admin.stop()


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


async def test_readiness_is_503_until_ready_and_again_while_draining(served: Served) -> None:
    ctx, url, session = served
    assert await _get(session, url + "/readyz") == (503, "not ready: starting\n")
    ctx.ready()
    assert await _get(session, url + "/readyz") == (200, "ready\n")
    ctx.not_ready("upstream gone")
    assert await _get(session, url + "/readyz") == (503, "not ready: upstream gone\n")
    ctx.ready()
    ctx.draining = True
    assert await _get(session, url + "/readyz") == (503, "not ready: draining\n")


async def test_liveness_fails_with_the_reason_of_a_failing_check(served: Served) -> None:
    ctx, url, session = served
    assert await _get(session, url + "/healthz") == (200, "ok\n")
    reasons = ["no sync for 5m"]
    ctx.add_health_check(lambda: reasons[0] if reasons else None)
    assert await _get(session, url + "/healthz") == (503, "unhealthy: no sync for 5m\n")
    reasons.clear()
    assert (await _get(session, url + "/healthz"))[0] == 200


async def test_metrics_parse_back_with_runtime_and_process_families(served: Served) -> None:
    ctx, url, session = served
    ctx.ready()
    status, text = await _get(session, url + "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["sidecars_ready"].samples[0].value == 1
    assert families["sidecars_ready"].samples[0].labels == {"helper": "plain"}
    (info,) = families["sidecars_build_info"].samples
    assert info.labels["helper"] == "plain"
    assert "process_resident_memory_bytes" in families


async def test_metrics_speak_openmetrics_when_asked(served: Served) -> None:
    _, url, session = served
    headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
    async with session.get(url + "/metrics", headers=headers) as response:
        assert response.content_type == "application/openmetrics-text"
        assert (await response.text()).endswith("# EOF\n")


async def test_routes_added_after_start_are_served(served: Served) -> None:
    ctx, url, session = served

    async def trigger(request: web.Request) -> web.Response:
        return web.Response(status=202, text="queued\n")

    ctx.add_route("POST", "/sync", trigger)
    async with session.post(url + "/sync") as response:
        assert (response.status, await response.text()) == (202, "queued\n")
    async with session.get(url + "/sync") as response:
        assert response.status == 405
    assert (await _get(session, url + "/nothing"))[0] == 404
