"""Admission latency of the sidecar injector under concurrent requests.

Starts ``sidecars injector`` as a real process with the shipped templates, and beside it
a bare aiohttp HTTPS server that answers every POST with a canned AdmissionReview (the
"direct path": TLS, HTTP and JSON transport, no injection logic). The same client sends
the same AdmissionReview (a Deployment's Pod opting into three helpers) to both, with
1, 4 and 16 requests in flight over keep-alive connections, then at the highest level
with a new TLS handshake per request. Prints p50/p99/max per path and the ratio injector / direct.

Run: .venv/bin/python benchmarks/injector/run.py [--requests 4000] [--concurrency 1,4,16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import uvloop
import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from injector.kube import pod, review  # noqa: E402

from sidecars.injector.certs import issue  # noqa: E402
from sidecars.testing import HelperProcess  # noqa: E402


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
        body = await request.read()
        json.loads(body)
        return web.Response(body=canned, content_type="application/json")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    app = web.Application(client_max_size=3 * 1024 * 1024)
    app.router.add_post("/mutate", mutate)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, ssl_context=context, access_log=None, print=None)


@contextlib.asynccontextmanager
async def direct_server(tmp: Path) -> AsyncIterator[str]:
    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-direct",
        str(port),
        str(tmp / "tls.crt"),
        str(tmp / "tls.key"),
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        yield url
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def measure(
    url: str, client_ssl: ssl.SSLContext, body: bytes, requests: int, concurrency: int, fresh: bool
) -> list[float]:
    latencies: list[float] = []
    remaining = requests
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=fresh)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with session.post(
                url + "/mutate",
                data=body,
                ssl=client_ssl,
                headers={"Content-Type": "application/json"},
            ) as response:
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
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {
        "p50": pick(0.50),
        "p99": pick(0.99),
        "max": ordered[-1] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
    }


async def main(requests: int, concurrency: list[int]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        ca, cert, key = issue(["localhost"], [__import__("ipaddress").ip_address("127.0.0.1")])
        (tmp / "tls.crt").write_bytes(cert)
        (tmp / "tls.key").write_bytes(key)
        configmap = yaml.safe_load(
            (ROOT / "examples/kubernetes/injector/configmap.yaml").read_text()
        )
        (tmp / "templates.yaml").write_text(configmap["data"]["templates.yaml"])
        client_ssl = ssl.create_default_context(cadata=ca.decode())
        body = json.dumps(review(pod("deployment"))).encode()
        env = {
            "INJECTOR_TLS_CERT": str(tmp / "tls.crt"),
            "INJECTOR_TLS_KEY": str(tmp / "tls.key"),
            "INJECTOR_TEMPLATES": str(tmp / "templates.yaml"),
            "INJECTOR_LISTEN_ADDR": "127.0.0.1:0",
            "INJECTOR_SHUTDOWN_DELAY": "0s",
            "INJECTOR_LOG_LEVEL": "info",  # one JSON line per injection, as in production
        }
        async with HelperProcess("injector", env) as proc, direct_server(tmp) as direct_url:
            await proc.wait_ready()
            line = await proc.wait_log(lambda e: e.get("msg") == "webhook listening")
            injector_url = str(line["url"])
            print(f"{requests} AdmissionReviews of {len(body)} bytes per keep-alive row\n")
            print(f"{'path':<44}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'req/s':>8}")
            runs = [(level, False) for level in concurrency] + [(concurrency[-1], True)]
            for level, fresh in runs:
                mode = f"{level} in flight" + (", new TLS handshake each" if fresh else "")
                count = requests // 4 if fresh else requests
                rows = {}
                for name, url in (("direct", direct_url), ("injector", injector_url)):
                    started = time.perf_counter()
                    latencies = await measure(url, client_ssl, body, count, level, fresh)
                    elapsed = time.perf_counter() - started
                    rows[name] = stats = summary(latencies)
                    label = f"{name}, {mode}"
                    print(
                        f"{label:<44}{stats['p50']:8.2f}{stats['p99']:8.2f}"
                        f"{stats['max']:8.2f}{count / elapsed:8.0f}"
                    )
                p50 = rows["injector"]["p50"] / rows["direct"]["p50"]
                p99 = rows["injector"]["p99"] / rows["direct"]["p99"]
                print(f"{'  ratio injector / direct':<44}{p50:7.2f}x{p99:7.2f}x\n")
            samples = await proc.metrics()
            family = samples["injector_admission_duration_seconds"]
            hist = {s.name: s.value for s in family}
            count = hist["injector_admission_duration_seconds_count"]
            bound = next(
                s.labels["le"]
                for s in family
                if s.name.endswith("_bucket") and s.value >= 0.99 * count
            )
            server_mean = (
                hist["injector_admission_duration_seconds_sum"]
                / hist["injector_admission_duration_seconds_count"]
            )
            print(f"server-side time per admission (histogram): mean {server_mean * 1000:.3f} ms, ")
            print(f"p99 at or below {float(bound) * 1000:g} ms ({int(count)} admissions)")


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
