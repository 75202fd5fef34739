"""Admission latency of the sidecar injector under concurrent requests.

Starts ``sidecars injector`` as a real process with the shipped templates, and beside it
a bare aiohttp HTTPS server (uvloop too) that answers every POST with a canned
AdmissionReview: the "direct path", i.e. TLS, HTTP and JSON parsing without injection.
The same client sends the same AdmissionReview (a Deployment's Pod opting into three
helpers) to both, at 1, 4 and 16 requests in flight over keep-alive connections, then at
the highest level with a new TLS handshake per request. Prints p50/p99/max per path and
the ratio injector / direct, then the injector's own histogram (time inside the server).
Both servers write their logs to a file, as in a container; the client parses none.

Run: .venv/bin/python benchmarks/injector/run.py [--requests 4000] [--concurrency 1,4,16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import socket
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp
import uvloop
import yaml
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from injector.kube import pod, review  # noqa: E402

from sidecars.injector.certs import issue  # noqa: E402


def serve_direct(port: int, cert: str, key: str) -> None:
    """The direct path, in its own process like the injector."""
    canned = json.dumps(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": "x", "allowed": True},
        }
    ).encode()

    async def mutate(request: web.Request) -> web.Response:
        json.loads(await request.read())
        return web.Response(body=canned, content_type="application/json")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    app = web.Application(client_max_size=3 * 1024 * 1024)
    app.router.add_post("/mutate", mutate)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, ssl_context=context, access_log=None, print=None)


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


@contextlib.asynccontextmanager
async def server(
    argv: Sequence[str], port: int, log: Path, env: dict[str, str]
) -> AsyncIterator[None]:
    """A server process, logs to a file; returns once ``port`` accepts connections."""
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *argv, env={**os.environ, **env}, stdout=sink, stderr=sink
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{argv} did not start:\n{_text(log)}") from None
                await asyncio.sleep(0.05)
        yield
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 20)


async def measure(
    url: str, client_ssl: ssl.SSLContext, body: bytes, requests: int, concurrency: int, fresh: bool
) -> list[float]:
    latencies: list[float] = []
    remaining = requests
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=fresh)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with session.post(url, data=body, ssl=client_ssl, headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status

        for _ in range(min(200, requests)):  # warm up: connections, caches
            await one()

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                await one()
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50": pick(0.50),
        "p99": pick(0.99),
        "max": ordered[-1] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
    }


async def server_histogram(admin_url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(admin_url + "/metrics") as resp:
        text = await resp.text()
    for family in text_string_to_metric_families(text):
        if family.name != "injector_admission_duration_seconds":
            continue
        values = {s.name: s.value for s in family.samples}
        count = values["injector_admission_duration_seconds_count"]
        mean = values["injector_admission_duration_seconds_sum"] / count
        bound = next(
            s.labels["le"]
            for s in family.samples
            if s.name.endswith("_bucket") and s.value >= 0.99 * count
        )
        return (
            f"inside the injector ({int(count)} admissions): mean {mean * 1000:.3f} ms, "
            f"p99 at or below {float(bound) * 1000:g} ms"
        )
    return "no histogram"


async def main(requests: int, concurrency: list[int]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        ca, cert, key = issue(["localhost"], [ipaddress.ip_address("127.0.0.1")])
        (tmp / "tls.crt").write_bytes(cert)
        (tmp / "tls.key").write_bytes(key)
        configmap = yaml.safe_load(
            (ROOT / "examples/kubernetes/injector/configmap.yaml").read_text()
        )
        (tmp / "templates.yaml").write_text(configmap["data"]["templates.yaml"])
        client_ssl = ssl.create_default_context(cadata=ca.decode())
        body = json.dumps(review(pod("deployment"))).encode()
        hook_port, admin_port, direct_port = free_port(), free_port(), free_port()
        env = {
            "INJECTOR_TLS_CERT": str(tmp / "tls.crt"),
            "INJECTOR_TLS_KEY": str(tmp / "tls.key"),
            "INJECTOR_TEMPLATES": str(tmp / "templates.yaml"),
            "INJECTOR_LISTEN_ADDR": f"127.0.0.1:{hook_port}",
            "INJECTOR_ADMIN_ADDR": f"127.0.0.1:{admin_port}",
            "INJECTOR_SHUTDOWN_DELAY": "0s",
        }
        injector_argv = [sys.executable, "-m", "sidecars", "injector"]
        direct_argv = [sys.executable, __file__, "--serve-direct", str(direct_port)]
        direct_argv += [str(tmp / "tls.crt"), str(tmp / "tls.key")]
        async with (
            server(injector_argv, hook_port, tmp / "injector.log", env),
            server(direct_argv, direct_port, tmp / "direct.log", {}),
        ):
            urls = {
                "direct": f"https://127.0.0.1:{direct_port}/mutate",
                "injector": f"https://127.0.0.1:{hook_port}/mutate",
            }
            print(f"AdmissionReview of {len(body)} bytes; {requests} per keep-alive row\n")
            print(f"{'path':<44}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'req/s':>8}")
            runs = [(level, False) for level in concurrency] + [(concurrency[-1], True)]
            for level, fresh in runs:
                mode = f"{level} in flight" + (", new TLS handshake each" if fresh else "")
                count = requests // 4 if fresh else requests
                rows = {}
                for name, url in urls.items():
                    started = time.perf_counter()
                    latencies = await measure(url, client_ssl, body, count, level, fresh)
                    elapsed = time.perf_counter() - started
                    rows[name] = stats = summary(latencies)
                    print(
                        f"{name + ', ' + mode:<44}{stats['p50']:8.2f}{stats['p99']:8.2f}"
                        f"{stats['max']:8.2f}{count / elapsed:8.0f}"
                    )
                p50 = rows["injector"]["p50"] / rows["direct"]["p50"]
                p99 = rows["injector"]["p99"] / rows["direct"]["p99"]
                print(f"{'  ratio injector / direct':<44}{p50:7.2f}x{p99:7.2f}x\n")
            print(await server_histogram(f"http://127.0.0.1:{admin_port}"))
            print(f"load average now: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-direct":
        serve_direct(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument(
        "--concurrency", type=lambda t: [int(x) for x in t.split(",")], default=[1, 4, 16]
    )
    args = parser.parse_args()
    uvloop.install()
    asyncio.run(main(args.requests, args.concurrency))
