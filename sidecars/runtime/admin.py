"""The admin HTTP server: ``/healthz``, ``/readyz``, ``/metrics`` and the helper's own routes."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from .helper import HelperContext
from .types import HostPort

__all__ = ["AdminServer"]


class AdminServer:
    """Serves one helper's admin endpoints; the runtime starts and stops it."""

    def __init__(self, ctx: HelperContext[Any]) -> None:
        self.ctx = ctx
        self.runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_route("*", "/{path:.*}", self.extra)
        return app

    async def start(self, addr: HostPort) -> str:
        """Bind and serve; returns the base URL actually bound (port 0 picks a free one)."""
        self.runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=2.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, addr.host or None, addr.port, reuse_address=True)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        reasons = [reason for check in self.ctx.health_checks if (reason := check())]
        if reasons:
            return web.Response(status=503, text="unhealthy: " + "; ".join(reasons) + "\n")
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        if self.ctx.draining:
            return web.Response(status=503, text="not ready: draining\n")
        if not self.ctx.is_ready:
            return web.Response(status=503, text=f"not ready: {self.ctx.not_ready_reason}\n")
        return web.Response(text="ready\n")

    async def metrics(self, request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = encoder(self.ctx.registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def extra(self, request: web.Request) -> web.StreamResponse:
        """Routes a helper added with ``ctx.add_route``, looked up per request so that
        ``run()`` may add them after the server started."""
        methods = self.ctx.routes.get(request.path)
        if methods is None:
            raise web.HTTPNotFound()
        handler = methods.get(request.method)
        if handler is None:
            raise web.HTTPMethodNotAllowed(request.method, list(methods))
        return await handler(request)
