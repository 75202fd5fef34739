"""Type-checked by mypy in CI, never run: pins the public API that custom helpers use."""

import asyncio
from typing import assert_type

from sidecars import (
    ConfigError,
    Duration,
    Helper,
    HelperContext,
    Histogram,
    HostPort,
    LabelledHistograms,
    Problem,
    Request,
    Response,
    Secret,
    Settings,
    setting,
)


class Example(Settings, prefix="EX_", admin_port=9999):
    wait: Duration = setting(default="1s", help="a duration")
    names: list[str] = setting(default="", help="a list")
    token: Secret = setting(default="", help="a secret")
    limit: int | None = setting(default=None, help="optional")


settings = Example.from_env({})
assert_type(settings, Example)
assert_type(settings.wait, Duration)
assert_type(settings.names, list[str])
assert_type(settings.token, Secret)
assert_type(settings.limit, int | None)
assert_type(settings.admin_addr, HostPort | None)
Example(wait=Duration(2.0), names=["a"])  # keyword-only, every field has a default


class ExampleHelper(Helper[Example]):
    name = "example"
    settings_class = Example

    async def run(self, ctx: HelperContext[Example]) -> None:
        assert_type(ctx.settings.wait, Duration)

        async def handler(request: Request) -> Response:
            return Response()

        ctx.add_route("POST", "/x", handler)
        ctx.add_route("POST", "/hook", handler, own_secret=True)
        ctx.add_route("POST", "/count", handler, mutates=False)
        wake = asyncio.Event()
        task = ctx.spawn(self.tick(ctx, wake), name="example.tick")
        assert_type(task, asyncio.Task[None])
        ctx.ready()
        while not await ctx.sleep(ctx.settings.wait, wake=wake):
            wake.clear()

    async def tick(self, ctx: HelperContext[Example], wake: asyncio.Event) -> None:
        latency = Histogram((0.1, 1.0))
        latency.observe(0.2)
        by_route = LabelledHistograms(["route"])
        by_route.labels("/x").observe(0.3)
        ctx.log.info("tick", extra={"count": latency.count, "sum": latency.sum})
        wake.set()


assert_type(ExampleHelper.settings_class, type[Example])
assert_type(ConfigError("x").problems, list[Problem])
