"""The sidecar injector: a mutating admission webhook that adds this project's helpers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from watchfiles import awatch

from sidecars import ConfigError, Helper, HelperContext, Problem

from .certs import certs_command
from .metrics import InjectorCollector, InjectorStats
from .review import Admission
from .server import WebhookServer
from .settings import InjectorSettings
from .templates import load_templates, parse_templates
from .tls import ServingCertificate

_POLL_INTERVAL = 60.0
_RETRY_WATCH = 5.0
_EXPIRY_WARNING = 7 * 86400.0
_EXPIRY_REPEAT = 3600.0


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
        watchers = [
            asyncio.create_task(reloader.watch(), name="injector.watch"),
            asyncio.create_task(reloader.poll(), name="injector.poll"),
        ]
        ctx.ready()
        try:
            await ctx.stopping.wait()
            await asyncio.sleep(float(settings.shutdown_delay))
        finally:
            for task in watchers:
                task.cancel()
            for task in watchers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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
        self.refused_text: str | None = None
        self.expiry_warned_at = 0.0

    async def watch(self) -> None:
        settings = self.ctx.settings
        paths = {p.parent for p in (settings.tls_cert, settings.tls_key, settings.templates)}
        while not self.ctx.stopping.is_set():
            try:
                changes = awatch(*paths, stop_event=self.ctx.stopping, debounce=400, step=50)
                async for _ in changes:
                    self.reload()
            except Exception as exc:  # a directory replaced or gone: watch again soon
                self.ctx.log.warning("watching for file changes failed, retrying: %s", exc)
                await self.ctx.sleep(_RETRY_WATCH)

    async def poll(self) -> None:
        """Also look now and then: some volume types never deliver change events."""
        self.check_expiry()
        while not await self.ctx.sleep(_POLL_INTERVAL):
            self.reload()
            self.check_expiry()

    def check_expiry(self) -> None:
        """An expiring serving certificate is the classic way webhooks break a cluster:
        say so in the log every hour from a week before (the metric carries the date too)."""
        now = time.time()
        left = self.certificate.expires_at - now
        if left > _EXPIRY_WARNING or now - self.expiry_warned_at < _EXPIRY_REPEAT:
            return
        self.expiry_warned_at = now
        extra = {"expires_at": self.certificate.expires_at, "hours_left": round(left / 3600, 1)}
        if left <= 0:
            self.ctx.log.error("the serving certificate has expired: replace it", extra=extra)
        else:
            self.ctx.log.warning("the serving certificate expires soon", extra=extra)

    def reload(self) -> None:
        self._reload_certificate()
        self._reload_templates()

    def _reload_certificate(self) -> None:
        try:
            changed = self.certificate.load()
        except ConfigError as exc:
            self.stats.reloaded("tls", False)
            self.ctx.log.error("certificate not reloaded, keeping the old one: %s", exc.render())
            return
        if changed:
            self.stats.reloaded("tls", True)
            self.stats.cert_expiry = self.certificate.expires_at
            self.ctx.log.info(
                "serving certificate reloaded", extra={"expires_at": self.certificate.expires_at}
            )

    def _reload_templates(self) -> None:
        path = self.ctx.settings.templates
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            text = f"unreadable: {exc}"
        if text in (self.templates_text, self.refused_text):
            return
        try:
            templates = parse_templates(text, str(path))
        except ConfigError as exc:
            self.refused_text = text
            self.stats.reloaded("templates", False)
            self.ctx.log.error("templates not reloaded, keeping the old ones: %s", exc.render())
            return
        self.templates_text = text
        self.admission.templates = templates
        self.stats.reloaded("templates", True)
        self.ctx.log.info("templates reloaded", extra={"helpers": sorted(templates)})
