"""The admin HTTP server: ``/healthz``, ``/readyz``, ``/metrics`` and the helper's own routes."""

from __future__ import annotations

from typing import Any

from .access import AdminGuard
from .helper import HelperContext
from .httpserver import HttpServer
from .types import HostPort
from .web import Request, Response

__all__ = ["AdminServer"]


class AdminServer:
    """Serves one helper's admin endpoints; the runtime starts and stops it."""

    def __init__(self, ctx: HelperContext[Any]) -> None:
        self.ctx = ctx
        self.server = HttpServer(self.respond)
        self.builtin = {"/healthz": self.healthz, "/readyz": self.readyz, "/metrics": self.metrics}
        settings = ctx.settings
        self.guard = AdminGuard(str(settings.admin_token), f"{settings.prefix}ADMIN_TOKEN")

    async def start(self, addr: HostPort) -> str:
        """Bind and serve; returns the base URL actually bound (port 0 picks a free one)."""
        host, port = await self.server.start(addr.host or None, addr.port)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    async def stop(self) -> None:
        await self.server.stop()

    async def respond(self, request: Request) -> Response:
        """Routes a helper added with ``ctx.add_route`` are looked up per request, so that
        ``run()`` may add them after the server started."""
        builtin = self.builtin.get(request.path)
        if builtin is not None:
            if request.method not in ("GET", "HEAD"):
                return Response("method not allowed\n", 405, headers={"Allow": "GET, HEAD"})
            return builtin(request)
        methods = self.ctx.routes.get(request.path)
        if methods is None:
            return Response("not found\n", 404)
        route = methods.get(request.method)
        if route is None:
            allowed = ", ".join(methods)
            return Response("method not allowed\n", 405, headers={"Allow": allowed})
        if route.guarded:
            refusal = self.guard.refusal(request)
            if refusal is not None:
                self.ctx.log.warning(
                    "admin request refused",
                    extra={"method": request.method, "path": request.path, "peer": request.remote},
                )
                return refusal
        return await route.handler(request)

    def healthz(self, request: Request) -> Response:
        reasons = [reason for check in self.ctx.health_checks if (reason := check())]
        if reasons:
            return Response("unhealthy: " + "; ".join(reasons) + "\n", 503)
        return Response("ok\n")

    def readyz(self, request: Request) -> Response:
        if self.ctx.draining:
            return Response("not ready: draining\n", 503)
        if not self.ctx.is_ready:
            return Response(f"not ready: {self.ctx.not_ready_reason}\n", 503)
        return Response("ready\n")

    def metrics(self, request: Request) -> Response:
        from .exposition import CONTENT_TYPE, text

        return Response(text(self.ctx.registry.collect()), content_type=CONTENT_TYPE)
