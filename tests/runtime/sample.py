"""A helper whose behaviour the lifecycle tests choose through its settings."""

from __future__ import annotations

import asyncio
from typing import Literal

from sidecars import (
    ConfigError,
    Duration,
    Helper,
    HelperContext,
    HelperError,
    Request,
    Response,
    Settings,
    setting,
)


class SampleSettings(Settings, prefix="SAMPLE_", admin_port=0):
    outcome: Literal["serve", "return", "helper-error", "crash", "config-error"] = setting(
        default="serve", help="What run() does"
    )
    hold: Duration = setting(default="0s", help="How long run() keeps going after stopping")
    ignore_stop: bool = setting(default=False, help="Never return on stopping")
    token: str = setting(default="", secret=True, help="A secret")
    task: Literal["none", "crash", "helper-error", "stubborn"] = setting(
        default="none", help="What a task spawned once ready does"
    )


class Sample(Helper[SampleSettings]):
    """A helper for tests."""

    name = "sample"
    settings_class = SampleSettings

    async def run(self, ctx: HelperContext[SampleSettings]) -> None:
        settings = ctx.settings
        reloads = 0

        def on_reload() -> None:
            nonlocal reloads
            reloads += 1
            ctx.log.info("reloaded", extra={"reloads": reloads})

        async def quit_handler(request: Request) -> Response:
            ctx.shutdown("quit requested")
            return Response("bye\n")

        async def stopping_handler(request: Request) -> Response:
            return Response(f"{ctx.stopping.is_set()}\n")

        ctx.on_reload(on_reload)
        ctx.add_route("POST", "/quit", quit_handler)
        ctx.add_route("GET", "/stopping", stopping_handler)
        if settings.outcome == "return":
            return
        if settings.outcome == "helper-error":
            raise HelperError("the sample failed on purpose")
        if settings.outcome == "crash":
            raise RuntimeError("unexpected")
        if settings.outcome == "config-error":
            raise ConfigError("SAMPLE_OUTCOME cannot be used here")
        ctx.ready()
        if settings.task != "none":
            ctx.spawn(_spawned(ctx, settings.task), name=f"sample.{settings.task}")
        if settings.ignore_stop:
            await asyncio.Event().wait()
        await ctx.stopping.wait()
        ctx.log.info("holding", extra={"seconds": float(settings.hold)})
        await asyncio.sleep(settings.hold)


async def _spawned(ctx: HelperContext[SampleSettings], behaviour: str) -> None:
    if behaviour == "crash":
        raise RuntimeError("a spawned task broke")
    if behaviour == "helper-error":
        raise HelperError("the upstream is gone")
    try:
        await asyncio.Event().wait()  # "stubborn": never looks at ctx.stopping
    finally:
        ctx.log.info("spawned task ends")
