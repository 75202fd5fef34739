"""The ambassador helper: bind every listener, serve, and drain in the order SIGTERM needs."""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sidecars import ConfigError, Helper, HelperContext, Request, Response

from .build import data_path, interpreted_modules, poller_kind
from .config import load_listeners
from .listener import Listener
from .settings import AmbassadorSettings
from .tcp.client import TcpClient

if TYPE_CHECKING:
    from ..runtime.families import Collector

__all__ = ["Ambassador"]


class Ambassador(Helper[AmbassadorSettings]):
    """Forward TCP or HTTP/1.1 from localhost to upstreams: balancing, health, TLS, DNS."""

    name = "ambassador"
    settings_class = AmbassadorSettings

    async def run(self, ctx: HelperContext[AmbassadorSettings]) -> None:
        settings = ctx.settings
        _raise_file_limit(ctx)
        _log_data_path(ctx)
        listeners = [Listener(config, ctx.log) for config in load_listeners(settings)]
        ctx.add_collector(lambda: _collector(listeners))

        async def quit_handler(request: Request) -> Response:
            ctx.shutdown("quitquitquit")
            return Response("stopping\n")

        ctx.add_route("POST", "/quitquitquit", quit_handler)
        try:
            for listener in listeners:
                await listener.start(_factory(listener))
                ctx.log.info(
                    "listening",
                    extra={
                        "listener": listener.name,
                        "address": listener.address,
                        "mode": listener.settings.mode,
                        "upstreams": [str(t) for t in listener.config.targets],
                    },
                )
        except OSError as exc:
            failed = listener.settings.listen
            for started in listeners:
                await started.drain(0)
            raise ConfigError(f"cannot bind {failed}: {exc.strerror}") from None
        ctx.ready()
        await ctx.stopping.wait()  # set once the runtime's AMBASSADOR_DRAIN_DELAY is over
        for listener in listeners:
            await listener.stop_accepting()
        open_now = sum(len(listener.connections) for listener in listeners)
        ctx.log.info("stopped accepting, waiting for connections", extra={"open": open_now})
        limit = float(settings.connection_drain)
        await asyncio.gather(*(listener.drain(limit) for listener in listeners))


def _log_data_path(ctx: HelperContext[AmbassadorSettings]) -> None:
    path = data_path()
    extra = {"data_path": path, "poller": poller_kind()}
    if path == "partial":
        ctx.log.warning(
            "some data path modules are not compiled",
            extra={**extra, "interpreted": interpreted_modules()},
        )
    else:
        ctx.log.info("data path", extra=extra)


def _collector(listeners: Sequence[Listener]) -> Collector:
    """Made at the first scrape: an ambassador nobody scrapes does not import its metrics."""
    from .metrics import AmbassadorCollector

    return AmbassadorCollector(listeners)


def _factory(listener: Listener) -> Callable[[], object]:
    if listener.settings.mode == "http":
        from .http.client import HttpClient  # the HTTP exchange loads for http listeners only

        return lambda: HttpClient(listener)
    return lambda: TcpClient(listener)


def _raise_file_limit(ctx: HelperContext[AmbassadorSettings]) -> None:
    """Two descriptors per proxied connection: a soft limit of 1024 would cap us near 500
    connections, so take the hard limit as HAProxy does."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (OSError, ValueError):
            ctx.log.warning("cannot raise the open file limit", extra={"limit": soft})
