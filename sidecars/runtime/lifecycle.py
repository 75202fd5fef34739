"""Start, serve and stop one helper: settings, logging, event loop, signals, exit codes."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .admin import AdminServer
from .errors import ConfigError, HelperError
from .helper import Helper, HelperContext
from .logging import configure_logging
from .settings import Settings

__all__ = ["run_helper"]

log = logging.getLogger("sidecars.runtime")


def _loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if kind != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a Linux dependency
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run_helper(helper_cls: type[Helper[Any]], environ: Mapping[str, str] | None = None) -> int:
    """Run ``helper_cls`` to the end and return the process exit code (0, 1 or 2)."""
    environ = os.environ if environ is None else environ
    try:
        settings = helper_cls.settings_class.from_env(environ)
    except ConfigError as exc:
        print(f"sidecars {helper_cls.name}: {exc.render()}", file=sys.stderr)
        return ConfigError.exit_code
    configure_logging(helper_cls.name, settings.log_level, settings.log_format)
    for warning in helper_cls.settings_class.unknown_variables(environ):
        log.warning(warning)
    for warning in helper_cls.settings_class.deprecated_variables(environ):
        log.warning(warning)
    with asyncio.Runner(loop_factory=_loop_factory(helper_cls.event_loop)) as runner:
        return runner.run(_serve(helper_cls, settings))


async def _serve(helper_cls: type[Helper[Any]], settings: Settings) -> int:
    loop = asyncio.get_running_loop()
    ctx: HelperContext[Any] = HelperContext(helper_cls.name, settings)
    admin = AdminServer(ctx)
    if settings.admin_addr is not None:
        try:
            ctx.admin_url = await admin.start(settings.admin_addr)
        except OSError as exc:
            log.error("cannot start the admin server on %s: %s", settings.admin_addr, exc)
            return ConfigError.exit_code
        log.info("admin server listening", extra={"url": ctx.admin_url})

    task = asyncio.create_task(helper_cls().run(ctx), name=f"{helper_cls.name}.run")
    signalled: list[str] = []

    def on_stop_signal(name: str) -> None:
        if signalled:
            log.warning("second stop request, cancelling now", extra={"reason": name})
            task.cancel()
            return
        signalled.append(name)
        delay = float(settings.drain_delay)
        ctx.draining = True
        if delay > 0:
            log.info(
                "stopping: readiness 503, serving on for the drain delay",
                extra={"reason": name, "seconds": delay},
            )
            loop.call_later(delay, _stop_now, ctx)
        else:
            log.info("stopping, draining", extra={"reason": name})
            ctx.stopping.set()
        loop.call_later(float(settings.drain_timeout), _drain_expired, task, ctx)

    ctx._stop = on_stop_signal
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_stop_signal, sig.name)
    reloads: set[asyncio.Task[None]] = set()

    def on_reload_signal() -> None:
        reload = loop.create_task(_reload(ctx))
        reloads.add(reload)
        reload.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, on_reload_signal)
    try:
        return await _supervise(ctx, task, signalled)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        await admin.stop()


async def _supervise(
    ctx: HelperContext[Any], task: asyncio.Task[None], signalled: list[str]
) -> int:
    """Wait for ``run()``, or for a spawned task to fail first; then end the spawned tasks."""
    failed = asyncio.ensure_future(ctx.failed.wait())
    try:
        await asyncio.wait({task, failed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        failed.cancel()
    if not task.done():
        task.cancel()
        await asyncio.wait({task})
    await ctx.cancel_tasks()
    if ctx.failure is not None:
        name, exc = ctx.failure
        log.error("stopped because task %s failed", name, extra={"task": name})
        return ConfigError.exit_code if isinstance(exc, ConfigError) else HelperError.exit_code
    return _outcome(task, signalled)


def _outcome(task: asyncio.Task[None], signalled: list[str]) -> int:
    if task.cancelled():
        if not signalled:
            raise asyncio.CancelledError
        log.info("stopped")
        return 0
    exc = task.exception()
    if isinstance(exc, ConfigError):
        log.error(exc.render())
        return ConfigError.exit_code
    if isinstance(exc, HelperError):
        log.error(str(exc))
        return HelperError.exit_code
    if exc is not None:
        log.error("helper crashed", exc_info=exc)
        return HelperError.exit_code
    log.info("stopped" if signalled else "done")
    return 0


def _stop_now(ctx: HelperContext[Any]) -> None:
    if not ctx.stopping.is_set():
        log.info("drain delay over, stopping")
        ctx.stopping.set()


def _drain_expired(task: asyncio.Task[None], ctx: HelperContext[Any]) -> None:
    if not task.done():
        log.warning("drain timeout reached, cancelling")
        task.cancel()
        for spawned in ctx.tasks:
            spawned.cancel()


async def _reload(ctx: HelperContext[Any]) -> None:
    log.info("reload signal received")
    for handler in ctx.reload_handlers:
        try:
            result = handler()
            if result is not None:
                await result
        except Exception:
            log.exception("reload failed")
