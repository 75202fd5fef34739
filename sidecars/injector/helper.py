"""The sidecar injector: a mutating admission webhook that adds this project's helpers."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from sidecars import ConfigError, Helper, HelperContext, Problem

from .decide import Decider, Policy
from .metrics import InjectorCollector, InjectorStats
from .review import Admission
from .server import WebhookServer
from .settings import InjectorSettings
from .templates import load_templates, parse_templates
from .tls import ServingCertificate

_STAT_INTERVAL = 1.0
_POLL_INTERVAL = 60.0
_EXPIRY_WARNING = 7 * 86400.0
_EXPIRY_REPEAT = 3600.0


def _certs(argv: Sequence[str]) -> int:
    from .certs import certs_command  # cryptography: 8 MB, for this command only

    return certs_command(argv)


def _render(argv: Sequence[str]) -> int:
    from .render import render_command

    return render_command(argv)


class Injector(Helper[InjectorSettings]):
    """Mutating admission webhook that injects sidecars helpers into opted-in Pods."""

    name = "injector"
    event_loop = "asyncio"  # admissions come a few a second: uvloop's 2.4 MB buy nothing here
    settings_class = InjectorSettings
    commands = {"certs": _certs, "render": _render}

    async def run(self, ctx: HelperContext[InjectorSettings]) -> None:
        settings = ctx.settings
        stats = InjectorStats()
        ctx.registry.register(InjectorCollector(stats))
        certificate = ServingCertificate(settings.tls_cert, settings.tls_key)
        certificate.load()
        stats.cert_expiry = certificate.expires_at
        templates_text, templates = load_templates(settings.templates)
        decider = Decider(templates, policy(settings))
        admission = Admission(decider, stats, ctx.log)
        reloader = Reloader(ctx, certificate, decider, stats, templates_text)
        ctx.on_reload(reloader.reload)
        server = WebhookServer(admission, stats, settings.max_body)
        try:
            url = await server.start_tls(settings.listen_addr, certificate.context)
        except OSError as exc:
            await server.stop()
            raise ConfigError(
                [Problem("INJECTOR_LISTEN_ADDR", str(settings.listen_addr), str(exc))]
            ) from None
        ctx.log.info(
            "webhook listening",
            extra={"url": url, "helpers": sorted(decider.templates)},
        )
        ctx.spawn(reloader.watch(), name="injector.watch")
        ctx.spawn(reloader.poll(), name="injector.poll")
        ctx.ready()
        try:
            await ctx.stopping.wait()
        finally:
            await server.stop()


def policy(settings: InjectorSettings) -> Policy:
    return Policy(
        prefix=settings.annotation_prefix,
        native=settings.native_sidecars,
        strict=settings.strict,
        default=settings.default,
        exclude_namespaces=tuple(settings.exclude_namespaces),
        volume=settings.shared_volume,
    )


class Reloader:
    """Rereads the certificate and the templates when they change (a mounted Secret or
    ConfigMap is swapped through a symlink, so the path resolves to a new file) or on
    SIGHUP. A bad new file is logged and counted; the old one stays."""

    def __init__(
        self,
        ctx: HelperContext[InjectorSettings],
        certificate: ServingCertificate,
        decider: Decider,
        stats: InjectorStats,
        templates_text: str,
    ) -> None:
        self.ctx = ctx
        self.certificate = certificate
        self.decider = decider
        self.stats = stats
        self.templates_text = templates_text
        self.refused_text: str | None = None
        self.expiry_warned_at = 0.0

    async def watch(self) -> None:
        """Three stat calls a second: cheaper than a file-watching library's memory, and
        the kubelet takes up to a minute to refresh a mounted file anyway."""
        settings = self.ctx.settings
        paths = (settings.tls_cert, settings.tls_key, settings.templates)
        seen = _identities(paths)
        while not await self.ctx.sleep(_STAT_INTERVAL):
            now = _identities(paths)
            if now != seen:
                seen = now
                self.reload()

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
        self.decider.templates = templates
        self.stats.reloaded("templates", True)
        self.ctx.log.info("templates reloaded", extra={"helpers": sorted(templates)})


def _identities(paths: Sequence[os.PathLike[str]]) -> list[tuple[str, int, int, int] | None]:
    found: list[tuple[str, int, int, int] | None] = []
    for path in paths:
        try:
            real = os.path.realpath(path)
            info = os.stat(real)
        except OSError:
            found.append(None)
            continue
        found.append((real, info.st_ino, info.st_mtime_ns, info.st_size))
    return found
