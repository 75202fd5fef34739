"""HelperContext pieces used inside run(): the wake-or-stop sleep."""

from __future__ import annotations

import asyncio

from prometheus_client import ProcessCollector

from sidecars import HelperContext, Settings
from sidecars.runtime.exposition import text as exposition
from sidecars.runtime.metrics import new_registry


class Plain(Settings, prefix="PLAIN_"):
    pass


def _ctx() -> HelperContext[Plain]:
    return HelperContext("plain", Plain.from_env({}), new_registry())


async def test_sleep_ends_on_the_wake_event_and_leaves_it_set() -> None:
    ctx, wake = _ctx(), asyncio.Event()
    sleeping = asyncio.create_task(ctx.sleep(3600, wake=wake))
    await asyncio.sleep(0)
    assert not sleeping.done()
    wake.set()
    assert await asyncio.wait_for(sleeping, 10) is False
    assert wake.is_set()
    assert await asyncio.wait_for(ctx.sleep(3600, wake=wake), 10) is False  # still set: at once


async def test_sleep_ends_on_stopping_and_says_so() -> None:
    ctx, wake = _ctx(), asyncio.Event()
    sleeping = asyncio.create_task(ctx.sleep(3600, wake=wake))
    await asyncio.sleep(0)
    ctx.stopping.set()
    assert await asyncio.wait_for(sleeping, 10) is True
    assert await ctx.sleep(3600) is True


async def test_sleep_times_out_without_stopping() -> None:
    ctx, wake = _ctx(), asyncio.Event()
    assert await ctx.sleep(0.01, wake=wake) is False
    assert await ctx.sleep(0) is False
    assert not wake.is_set()


async def test_sleep_leaves_no_waiters_behind() -> None:
    ctx, wake = _ctx(), asyncio.Event()
    before = len(asyncio.all_tasks())
    for _ in range(5):
        await ctx.sleep(0, wake=wake)
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == before


async def test_collectors_added_early_are_built_with_the_registry() -> None:
    ctx: HelperContext[Plain] = HelperContext("plain", Plain.from_env({}))
    built: list[str] = []

    def factory() -> ProcessCollector:
        built.append("early")
        return ProcessCollector(registry=None, namespace="early")

    ctx.add_collector(factory)
    assert built == []
    scraped = exposition(ctx.registry.collect()).decode()
    assert built == ["early"]
    assert "early_process_resident_memory_bytes" in scraped
    assert "sidecars_ready" in scraped
    ctx.add_collector(lambda: ProcessCollector(registry=None, namespace="late"))
    assert "late_process_resident_memory_bytes" in exposition(ctx.registry.collect()).decode()
