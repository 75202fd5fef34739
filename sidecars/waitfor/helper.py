"""Block until every dependency answers: the init-container pattern."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import TYPE_CHECKING

from sidecars import Backoff, Helper, HelperContext, HelperError

from .settings import WaitForSettings
from .stats import TargetStats
from .targets import Target

if TYPE_CHECKING:
    import aiohttp

    from .metrics import WaitForCollector

_PROGRESS_EVERY = 10.0


class WaitFor(Helper[WaitForSettings]):
    """Wait until TCP, HTTP, file and DNS dependencies answer, then exit 0."""

    name = "waitfor"
    settings_class = WaitForSettings
    event_loop = "asyncio"  # a few connection attempts: uvloop's 2.4 MB buy nothing here

    async def run(self, ctx: HelperContext[WaitForSettings]) -> None:
        settings = ctx.settings
        stats = {str(target): TargetStats() for target in settings.targets}
        ctx.add_collector(lambda: _collector(stats))
        errors: dict[str, str] = {}
        async with contextlib.AsyncExitStack() as stack:
            session = None
            if any(target.is_http for target in settings.targets):
                session = await stack.enter_async_context(_http_session(settings.http_insecure))
            waits = [
                _wait(ctx, session, target, stats[str(target)], errors)
                for target in settings.targets
            ]
            try:
                async with asyncio.timeout(settings.timeout or None):
                    await asyncio.gather(*waits)
            except TimeoutError:
                pending = [
                    f"{name} ({errors.get(name, 'no answer')})"
                    for name, target_stats in stats.items()
                    if not target_stats.up
                ]
                raise HelperError(
                    f"gave up after {settings.timeout} waiting for: {', '.join(pending)}"
                ) from None
        if not ctx.stopping.is_set():
            ctx.ready()
            ctx.log.info("all targets answered", extra={"targets": list(stats)})


async def _wait(
    ctx: HelperContext[WaitForSettings],
    session: aiohttp.ClientSession | None,
    target: Target,
    stats: TargetStats,
    errors: dict[str, str],
) -> None:
    settings = ctx.settings
    name = str(target)
    started = time.monotonic()
    last_report = 0.0
    delays = Backoff(settings.interval, settings.max_interval).delays()
    while not ctx.stopping.is_set():
        stats.attempts += 1
        try:
            await target.check(session, settings.attempt_timeout)
        except (OSError, TimeoutError) as exc:
            stats.failures += 1
            reason = _reason(exc, settings.attempt_timeout)
            errors[name] = reason
            now = time.monotonic()
            stats.wait_seconds = now - started
            if now - last_report >= _PROGRESS_EVERY or stats.failures == 1:
                ctx.log.info(
                    "waiting for target",
                    extra={"target": name, "error": reason, "attempts": stats.attempts},
                )
                last_report = now
            await ctx.sleep(next(delays))
            continue
        stats.up = True
        stats.wait_seconds = time.monotonic() - started
        ctx.log.info(
            "target answered",
            extra={
                "target": name,
                "attempts": stats.attempts,
                "waited": round(stats.wait_seconds, 3),
            },
        )
        return


def _collector(stats: dict[str, TargetStats]) -> WaitForCollector:
    from .metrics import WaitForCollector  # loads at the first scrape

    return WaitForCollector(stats)


def _http_session(insecure: bool) -> aiohttp.ClientSession:
    """aiohttp loads only when a target is HTTP: 10 MB and a tenth of a CPU-second otherwise
    spent by every tcp-only init container."""
    import aiohttp

    connector = aiohttp.TCPConnector(ssl=not insecure, force_close=True)
    return aiohttp.ClientSession(connector=connector)


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g}s"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)  # the same words on either event loop
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
