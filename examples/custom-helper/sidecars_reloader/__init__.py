"""A custom helper written against the public ``sidecars`` API only.

It watches a mounted config directory (a ConfigMap volume) and tells the application to
reload by POSTing to its reload URL: the configmap-reload sidecar, in ~140 lines. It polls:
the kubelet updates a ConfigMap volume by swapping a symlink, which a comparison of the
directory's listing sees on any filesystem, and a poll every few seconds costs nothing. It
exports its own metrics through the runtime's admin server, no adapter needed, and adds
``POST /reload`` to it for a reload on demand.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

import aiohttp

from sidecars import (
    URL,
    Backoff,
    Collector,
    CounterMetricFamily,
    Duration,
    GaugeMetricFamily,
    Helper,
    HelperContext,
    Metric,
    Request,
    Response,
    Settings,
    setting,
)

__all__ = ["Reloader", "ReloaderSettings"]


class ReloaderSettings(Settings, prefix="RELOADER_", admin_port=9410):
    watch_dir: Path = setting(help="Directory whose changes trigger a reload")
    reload_url: URL = setting(help="Endpoint that receives a POST after each change")
    timeout: Duration = setting(default="5s", help="Limit of one reload request")
    retries: int = setting(default=3, help="Attempts per change before giving up on it")
    poll_period: Duration = setting(default="2s", help="How often the directory is compared")


class ReloaderStats:
    __slots__ = ("failures", "last_success", "reloads")

    def __init__(self) -> None:
        self.reloads = 0
        self.failures = 0
        self.last_success = 0.0


class ReloaderCollector(Collector):
    def __init__(self, stats: ReloaderStats) -> None:
        self.stats = stats

    def collect(self) -> Iterable[Metric]:
        reloads = CounterMetricFamily(
            "reloader_reloads", "Reload requests by outcome.", labels=["outcome"]
        )
        reloads.add_metric(["success"], self.stats.reloads)
        reloads.add_metric(["failure"], self.stats.failures)
        last = GaugeMetricFamily(
            "reloader_last_reload_timestamp_seconds", "When the app last accepted a reload."
        )
        last.add_metric([], self.stats.last_success)
        return [reloads, last]

    def describe(self) -> Iterable[Metric]:
        return self.collect()


class Reloader(Helper[ReloaderSettings]):
    """POST to the app's reload URL whenever its mounted config directory changes."""

    name = "reloader"
    settings_class = ReloaderSettings

    async def run(self, ctx: HelperContext[ReloaderSettings]) -> None:
        settings = ctx.settings
        stats = ReloaderStats()
        ctx.registry.register(ReloaderCollector(stats))
        timeout = aiohttp.ClientTimeout(total=settings.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def reload(reason: str) -> bool:
                ctx.log.info("reloading", extra={"reason": reason})
                ok = await _reload(ctx, session)
                if ok:
                    stats.reloads += 1
                    stats.last_success = time.time()
                else:
                    stats.failures += 1
                return ok

            async def on_demand(request: Request) -> Response:
                ok = await reload(f"POST /reload from {request.remote}")
                return Response.json({"reloaded": ok}, status=200 if ok else 502)

            ctx.add_route("POST", "/reload", on_demand)
            seen = listing(settings.watch_dir)
            ctx.ready()
            while not await ctx.sleep(float(settings.poll_period)):
                now = listing(settings.watch_dir)
                if now != seen:
                    seen = now
                    await reload(f"a change in {settings.watch_dir}")


def listing(root: Path) -> frozenset[tuple[str, int, int]]:
    """Every file under ``root`` (symlinks followed) with its size and change time; a
    directory that cannot be read lists as empty, so that its return counts as a change."""
    found = set()
    for top, _, files in os.walk(root, followlinks=True):
        for name in files:
            path = os.path.join(top, name)
            try:
                info = os.stat(path)
            except OSError:
                continue
            found.add((os.path.relpath(path, root), info.st_size, info.st_mtime_ns))
    return frozenset(found)


async def _reload(ctx: HelperContext[ReloaderSettings], session: aiohttp.ClientSession) -> bool:
    delays = Backoff(initial=0.2, maximum=2.0).delays()
    for attempt in range(1, ctx.settings.retries + 1):
        try:
            async with session.post(ctx.settings.reload_url) as response:
                if response.status < 400:
                    ctx.log.info("reloaded", extra={"status": response.status})
                    return True
                error = f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = str(exc) or type(exc).__name__
        ctx.log.warning("reload failed", extra={"error": error, "attempt": attempt})
        if await ctx.sleep(next(delays)):
            break
    return False
