import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterable

import aiohttp
import pytest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from sidecars import HelperContext, HostPort, Request, Response, Settings
from sidecars.runtime.admin import AdminServer
from sidecars.runtime.httpserver import MAX_BODY
from sidecars.runtime.metrics import RuntimeCollector, new_registry
from tests.promtool import needs_promtool, promtool_check


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


async def test_metrics_answer_the_text_format_even_to_openmetrics(served: Served) -> None:
    """What client_golang's handler does by default; Prometheus asks for OpenMetrics first
    and accepts the text format."""
    _, url, session = served
    headers = {"Accept": "application/openmetrics-text; version=1.0.0,text/plain;q=0.5"}
    async with session.get(url + "/metrics", headers=headers) as response:
        assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = await response.text()
    assert "# EOF" not in text
    assert {f.name for f in text_string_to_metric_families(text)} >= {"sidecars_ready"}


async def test_routes_added_after_start_are_served(served: Served) -> None:
    ctx, url, session = served
    seen: list[Request] = []

    async def trigger(request: Request) -> Response:
        seen.append(request)
        return Response.json({"got": request.json()}, status=202)

    ctx.add_route("POST", "/sync", trigger)
    async with session.post(url + "/sync?now=1", json={"a": 1}, headers={"X-Tag": "t"}) as reply:
        assert (reply.status, await reply.json()) == (202, {"got": {"a": 1}})
    (request,) = seen
    assert (request.method, request.path, request.query) == ("POST", "/sync", "now=1")
    assert request.headers["x-TAG"] == "t"
    assert request.remote == "127.0.0.1"
    async with session.get(url + "/sync") as reply:
        assert reply.status == 405
        assert reply.headers["Allow"] == "POST"
    assert (await _get(session, url + "/nothing"))[0] == 404


async def test_a_failing_route_answers_500_and_the_server_goes_on(served: Served) -> None:
    ctx, url, session = served

    async def broken(request: Request) -> Response:
        raise RuntimeError("bug in a handler")

    ctx.add_route("GET", "/broken", broken)
    assert await _get(session, url + "/broken") == (500, "internal error\n")
    assert await _get(session, url + "/healthz") == (200, "ok\n")


def _curl(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "20", *args],
        capture_output=True,
        text=True,
        timeout=30,
        input=input,
    )


async def test_curl_keeps_one_connection_and_waits_for_100_continue(served: Served) -> None:
    ctx, url, _ = served
    sizes: list[int] = []

    async def upload(request: Request) -> Response:
        sizes.append(len(request.body))
        return Response(f"{len(request.body)}\n")

    ctx.add_route("PUT", "/upload", upload)
    body = "x" * 100_000
    upload_url, head_url = url + "/upload", url + "/healthz"
    done = await asyncio.to_thread(
        lambda: _curl(
            "-v",
            "-T",
            "-",
            "-H",
            "Expect: 100-continue",
            upload_url,
            "--next",
            "-I",
            head_url,
            input=body,
        )
    )
    assert done.stdout.startswith("100000\n"), done.stderr
    assert "HTTP/1.1 100 Continue" in done.stderr
    assert "Re-using existing connection" in done.stderr or "Reusing" in done.stderr
    assert sizes == [100_000]
    assert "content-length: 3" in done.stdout.lower()


async def test_bodies_over_the_cap_are_refused_with_413(served: Served) -> None:
    ctx, url, session = served

    async def take(request: Request) -> Response:
        return Response("taken\n")

    ctx.add_route("POST", "/take", take)
    async with session.post(url + "/take", data=b"x" * (MAX_BODY + 1)) as reply:
        assert reply.status == 413


async def test_garbage_gets_400_and_a_trickling_client_is_cut_off() -> None:
    ctx: HelperContext[Plain] = HelperContext("plain", Plain.from_env({}), new_registry())
    admin = AdminServer(ctx)
    admin.server.request_timeout = 0.5
    url = await admin.start(HostPort("127.0.0.1", 0))
    port = int(url.rsplit(":", 1)[1])
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        assert (await asyncio.wait_for(reader.read(), 10)).startswith(b"HTTP/1.1 400 ")
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
    finally:
        await admin.stop()


async def test_large_metrics_are_gzipped_when_the_scraper_asks(served: Served) -> None:
    _, url, _ = served
    done = await asyncio.to_thread(
        _curl, "-D", "-", "-o", "/dev/null", "-H", "Accept-Encoding: gzip", url + "/metrics"
    )
    assert "content-encoding: gzip" in done.stdout.lower()
    plain = await asyncio.to_thread(_curl, "--compressed", url + "/metrics")
    assert "process_resident_memory_bytes" in plain.stdout


async def test_stop_answers_a_request_in_progress_and_closes_idle_connections() -> None:
    ctx: HelperContext[Plain] = HelperContext("plain", Plain.from_env({}), new_registry())
    admin = AdminServer(ctx)
    url = await admin.start(HostPort("127.0.0.1", 0))
    port = int(url.rsplit(":", 1)[1])
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(request: Request) -> Response:
        started.set()
        await release.wait()
        return Response("done\n")

    ctx.add_route("GET", "/slow", slow)
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
    idle_writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200 OK" in await asyncio.wait_for(idle_reader.readuntil(b"ok\n"), 10)
    busy_reader, busy_writer = await asyncio.open_connection("127.0.0.1", port)
    busy_writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    await asyncio.wait_for(started.wait(), 10)
    stopping = asyncio.create_task(admin.stop())
    assert await asyncio.wait_for(idle_reader.read(), 10) == b""
    release.set()
    answer = await asyncio.wait_for(busy_reader.read(), 10)
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert b"connection: close" in answer.lower()
    assert answer.endswith(b"done\n")
    await asyncio.wait_for(stopping, 10)
    idle_writer.close()
    busy_writer.close()


class _Broken(Collector):
    def __init__(self) -> None:
        self.calls = 0

    def collect(self) -> Iterable[Metric]:
        self.calls += 1
        yield GaugeMetricFamily("broken_partial", "Yielded before the failure.", value=1)
        raise RuntimeError("the source went away")

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily("broken_partial", "Yielded before the failure.")]


@needs_promtool
async def test_a_raising_collector_is_left_out_and_the_rest_served(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    ctx, url, session = served
    broken = _Broken()
    ctx.registry.register(broken)
    for _ in range(2):
        status, text = await _get(session, url + "/metrics")
        assert status == 200
    assert broken.calls == 2
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert "broken_partial" not in families
    assert "process_resident_memory_bytes" in families
    assert "sidecars_build_info" in families
    success = {
        s.labels["collector"]: s.value
        for s in families["sidecars_scrape_collector_success"].samples
    }
    assert success == {"process": 1, "runtime": 1, "_broken": 0}
    durations = families["sidecars_scrape_collector_duration_seconds"].samples
    assert {s.labels["collector"] for s in durations} == set(success)
    assert all(s.value >= 0 for s in durations)
    failures = [r for r in caplog.records if r.getMessage().startswith("collector failed")]
    assert [getattr(r, "collector", None) for r in failures] == ["_broken", "_broken"]
    assert failures[0].exc_info is not None
    assert failures[1].exc_info is None
    checked = await asyncio.to_thread(promtool_check, text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ctx.registry.unregister(broken)
    families = {
        f.name: f
        for f in text_string_to_metric_families((await _get(session, url + "/metrics"))[1])
    }
    assert {
        s.labels["collector"] for s in families["sidecars_scrape_collector_success"].samples
    } == {
        "process",
        "runtime",
    }


@needs_promtool
async def test_promtool_accepts_the_whole_exposition(served: Served) -> None:
    _, url, session = served
    checked = await asyncio.to_thread(promtool_check, (await _get(session, url + "/metrics"))[1])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "", checked.stdout


async def test_sidecars_ready_is_0_while_draining(served: Served) -> None:
    ctx, url, session = served

    async def ready_value() -> float:
        text = (await _get(session, url + "/metrics"))[1]
        families = {f.name: f for f in text_string_to_metric_families(text)}
        return float(families["sidecars_ready"].samples[0].value)

    assert await ready_value() == 0
    ctx.ready()
    assert await ready_value() == 1
    ctx.draining = True
    assert (await _get(session, url + "/readyz"))[0] == 503
    assert await ready_value() == 0
