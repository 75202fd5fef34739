"""The HTTPS server the API server calls: ``POST /mutate`` with an AdmissionReview."""

from __future__ import annotations

import ssl
import time

from aiohttp import web

from sidecars import HostPort

from .metrics import InjectorStats
from .review import Admission

__all__ = ["WebhookServer"]


class WebhookServer:
    def __init__(self, admission: Admission, stats: InjectorStats, max_body: int) -> None:
        self.admission = admission
        self.stats = stats
        self.max_body = max_body
        self.runner: web.AppRunner | None = None

    async def start(self, addr: HostPort, context: ssl.SSLContext) -> str:
        """Bind and serve; returns the base URL actually bound (port 0 picks a free one)."""
        app = web.Application(client_max_size=self.max_body)
        app.router.add_post("/mutate", self.mutate)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self.runner.setup()
        site = web.TCPSite(
            self.runner, addr.host or None, addr.port, ssl_context=context, reuse_address=True
        )
        await site.start()
        host, port = self.runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        return f"https://{shown}:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def mutate(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        if request.content_length is not None and request.content_length > self.max_body:
            return self._too_large(started)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large(started)
        answer = self.admission.answer(body)
        self.stats.requests[answer.outcome] += 1
        self.stats.observe(time.perf_counter() - started)
        return web.Response(
            status=answer.status, body=answer.body, content_type=answer.content_type
        )

    def _too_large(self, started: float) -> web.Response:
        self.stats.requests["rejected"] += 1
        self.stats.observe(time.perf_counter() - started)
        return web.Response(
            status=413,
            text=f"the AdmissionReview is larger than INJECTOR_MAX_BODY ({self.max_body} bytes)\n",
        )
