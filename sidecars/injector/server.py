"""The HTTPS server the API server calls: ``POST /mutate`` with an AdmissionReview.

It is the runtime's small h11 server with TLS on its listener: a web framework here
cost the injector 10 MB of memory for one route.
"""

from __future__ import annotations

import asyncio
import ssl
import time

from sidecars import HostPort, Request, Response
from sidecars.runtime import httpserver

from .metrics import InjectorStats
from .review import Admission

__all__ = ["WebhookServer"]


class WebhookServer(httpserver.HttpServer):
    def __init__(self, admission: Admission, stats: InjectorStats, max_body: int) -> None:
        super().__init__(self.respond)
        self.admission = admission
        self.stats = stats
        self.max_body = max_body
        # the runtime server's body cap is one module constant: raise it to ours (the
        # admin server sharing it only ever gets small bodies)
        httpserver.MAX_BODY = max(httpserver.MAX_BODY, max_body)

    async def start_tls(self, addr: HostPort, context: ssl.SSLContext) -> str:
        """Bind and serve; returns the base URL actually bound (port 0 picks a free one)."""
        self.server = await asyncio.start_server(
            self._connection, addr.host or None, addr.port, ssl=context, reuse_address=True
        )
        host, port = self.server.sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"https://{shown}:{port}"

    async def respond(self, request: Request) -> Response:
        if request.path != "/mutate":
            return Response("not found: the webhook path is /mutate\n", 404)
        if request.method != "POST":
            return Response("method not allowed: POST an AdmissionReview\n", 405)
        started = time.perf_counter()
        if len(request.body) > self.max_body:
            self.stats.requests["rejected"] += 1
            self.stats.observe(time.perf_counter() - started)
            return Response(
                f"the AdmissionReview is larger than INJECTOR_MAX_BODY ({self.max_body} bytes)\n",
                413,
            )
        answer = self.admission.answer(request.body)
        self.stats.requests[answer.outcome] += 1
        self.stats.observe(time.perf_counter() - started)
        return Response(answer.body, answer.status, answer.content_type)
