"""The sidecar injector: a mutating admission webhook that adds this project's helpers."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from watchfiles import awatch

from sidecars import ConfigError, Helper, HelperContext, Problem

from .certs import certs_command
from .metrics import InjectorCollector, InjectorStats
from .review import Admission
from .server import WebhookServer
from .settings import InjectorSettings
from .templates import load_templates
from .tls import ServingCertificate


class Injector(Helper[InjectorSettings]):
    """Mutating admission webhook that injects sidecars helpers into opted-in Pods."""

    name = "injector"
    settings_class = InjectorSettings
    commands = {"certs": certs_command}

    async def run(self, ctx: HelperContext[InjectorSettings]) -> None:
        settings = ctx.settings
        logging.getLogger("watchfiles").setLevel(logging.WARNING)  # one line per change
        stats = InjectorStats()
        ctx.registry.register(InjectorCollector(stats))
        certificate = ServingCertificate(settings.tls_cert, settings.tls_key)
        certificate.load()
        stats.cert_expiry = certificate.expires_at
        templates_text, templates = load_templates(settings.templates)
        admission = Admission(
            templates,
            stats,
            ctx.log,
            prefix=settings.annotation_prefix,
            native=settings.native_sidecars,
            volume=settings.shared_volume,
        )
        reloader = Reloader(ctx, certificate, admission, stats, templates_text)
        ctx.on_reload(reloader.reload)
        server = WebhookServer(admission, stats, settings.max_body)
        try:
            url = await server.start(settings.listen_addr, certificate.context)
        except OSError as exc:
            await server.stop()
            raise ConfigError(
                [Problem("INJECTOR_LISTEN_ADDR", str(settings.listen_addr), str(exc))]
            ) from None
        ctx.log.info(
            "webhook listening",
            extra={"url": url, "helpers": sorted(admission.templates)},
        )
        watcher = asyncio.create_task(reloader.watch(), name="injector.watch")
        ctx.ready()
        try:
            await ctx.stopping.wait()
            await asyncio.sleep(float(settings.shutdown_delay))
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await server.stop()


class Reloader:
    """Rereads the certificate and the templates when their directories change (a mounted
    Secret or ConfigMap is swapped through a symlink, so the files' own names never see
    an event) or on SIGHUP. A bad new file is logged and counted; the old one stays."""

    def __init__(
        self,
        ctx: HelperContext[InjectorSettings],
        certificate: ServingCertificate,
        admission: Admission,
        stats: InjectorStats,
        templates_text: str,
    ) -> None:
        self.ctx = ctx
        self.certificate = certificate
        self.admission = admission
        self.stats = stats
        self.templates_text = templates_text

    async def watch(self) -> None:
        settings = self.ctx.settings
        paths = {p.parent for p in (settings.tls_cert, settings.tls_key, settings.templates)}
        changes = awatch(*paths, stop_event=self.ctx.stopping, debounce=400, step=50)
        async for _ in changes:
            self.reload()

    def reload(self) -> None:
        try:
            if self.certificate.load():
                self.stats.reloaded("tls", True)
                self.stats.cert_expiry = self.certificate.expires_at
                self.ctx.log.info("serving certificate reloaded")
        except ConfigError as exc:
            self.stats.reloaded("tls", False)
            self.ctx.log.error("certificate not reloaded, keeping the old one: %s", exc.render())
        try:
            text, templates = load_templates(self.ctx.settings.templates)
        except ConfigError as exc:
            self.stats.reloaded("templates", False)
            self.ctx.log.error("templates not reloaded, keeping the old ones: %s", exc.render())
            return
        if text == self.templates_text:
            return
        self.templates_text = text
        self.admission.templates = templates
        self.stats.reloaded("templates", True)
        self.ctx.log.info("templates reloaded", extra={"helpers": sorted(templates)})
