"""Certificate rotation: new handshakes get the new certificate, no request fails meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
from cryptography import x509

from .harness import client_context, injector, new_pair, publish
from .kube import patch_of, pod, review

_MAX_REQUESTS = 5000
_DEADLINE = 30.0


def der(pem: bytes) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


async def test_rotation_while_a_client_keeps_sending(tmp_path: Path) -> None:
    first = new_pair()
    second = new_pair()
    async with injector(tmp_path, pair=first) as hook:
        hook.ssl = client_context(first[0], second[0])  # trusts both CAs, as during a rollover
        assert await hook.served_certificate() == der(first[1])
        body = review(pod("deployment"))
        results: list[int] = []
        failures: list[str] = []
        stop = asyncio.Event()

        async def keep_sending() -> None:
            # a new connection per request, so every request is a new handshake
            connector = aiohttp.TCPConnector(force_close=True)
            async with aiohttp.ClientSession(connector=connector) as session:
                started = time.monotonic()
                while not stop.is_set() and len(results) < _MAX_REQUESTS:
                    if time.monotonic() - started > _DEADLINE:
                        break
                    try:
                        status, answer = await hook.post(body, session)
                        results.append(status)
                        if status != 200 or not patch_of(answer):
                            failures.append(f"{status}: {answer}")
                    except (aiohttp.ClientError, OSError) as exc:
                        failures.append(repr(exc))

        sender = asyncio.create_task(keep_sending())
        await _until(lambda: len(results) >= 20)
        publish(tmp_path / "tls", {"tls.crt": second[1], "tls.key": second[2]})
        await hook.proc.wait_log(lambda e: e.get("msg") == "serving certificate reloaded")
        assert await hook.served_certificate() == der(second[1])
        sent_at_rotation = len(results)
        await _until(lambda: len(results) >= sent_at_rotation + 20)
        stop.set()
        await sender
        assert failures == []
        assert all(status == 200 for status in results)
        assert await hook.proc.sample("injector_reloads_total", file="tls", result="success") == 1
        expiry = await hook.proc.sample("injector_tls_certificate_expiry_timestamp_seconds")
        expected = x509.load_pem_x509_certificate(second[1]).not_valid_after_utc.timestamp()
        assert expiry == int(expected) or expiry == expected


async def test_a_mismatched_pair_is_refused_and_the_old_one_kept(tmp_path: Path) -> None:
    first = new_pair()
    second = new_pair()
    async with injector(tmp_path, pair=first) as hook:
        publish(tmp_path / "tls", {"tls.crt": second[1], "tls.key": first[2]})
        line = await hook.proc.wait_log(lambda e: "certificate not reloaded" in e.get("msg", ""))
        assert "INJECTOR_TLS_KEY" in line["msg"]
        assert await hook.served_certificate() == der(first[1])
        status, answer = await hook.post(review(pod("deployment")))
        assert status == 200
        assert patch_of(answer)
        assert await hook.proc.sample("injector_reloads_total", file="tls", result="failure") == 1

        publish(tmp_path / "tls", {"tls.crt": second[1], "tls.key": second[2]})
        await hook.proc.wait_log(lambda e: e.get("msg") == "serving certificate reloaded")
        hook.ssl = client_context(second[0])
        assert await hook.served_certificate() == der(second[1])


async def _until(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_certificate_close_to_expiry_is_reported(tmp_path: Path) -> None:
    async with injector(tmp_path, pair=new_pair(days=3)) as hook:
        line = await hook.proc.wait_log(lambda e: "expires soon" in e.get("msg", ""))
        assert line["level"] == "warning"
        assert 47 < line["hours_left"] <= 72
