"""Turn NGINX access logs into Prometheus metrics: the helper that wires inputs to the store."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sidecars import ConfigError, Helper, HelperContext, Request, Response
from sidecars.runtime.exposition import CONTENT_TYPE, text

from .config import Config, InputSpec, load_config
from .feed import Feed
from .files import FileFollower, load_checkpoint, save_checkpoint
from .flags import ExporterCommands
from .metrics import NginxLogCollector, StoreView
from .namespaces import Plan, plan, same_shape
from .pipeline import pipeline
from .routes import RouteRules
from .settings import NginxLogSettings
from .syslog import SyslogListener

if TYPE_CHECKING:
    from .exporter import ExporterConfig

__all__ = ["NginxLog"]

_HOUSEKEEPING = 0.2
_REPORT_EVERY = 10.0


def _check(argv: Sequence[str]) -> int:
    from .check import check_command  # the command alone pays for it

    return check_command(argv)


class NginxLog(Helper[NginxLogSettings]):
    """Turn NGINX access logs (files or syslog) into Prometheus metrics."""

    name = "nginxlog"
    event_loop = "asyncio"  # reading files and parsing: uvloop's 2.4 MB buy nothing here
    settings_class = NginxLogSettings
    commands = ExporterCommands({"check": _check})

    async def run(self, ctx: HelperContext[NginxLogSettings]) -> None:
        settings = ctx.settings
        config_text = _read_text(settings.config) if settings.config else None
        try:
            the_plan = plan(settings)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        for warning in the_plan.warnings:
            ctx.log.warning(warning)
        if the_plan.exporter is not None:
            _listen(ctx, the_plan.exporter)
        elif settings.metrics_path != "/metrics":
            _serve_metrics(ctx, settings.metrics_path)
        escaped = the_plan.namespaces[0].log_format.escape == "json"
        where = str(settings.config)
        rules = [RouteRules.build(the_plan.routes, settings.route_unmatched, where, escaped)]
        inputs: list[InputSpec] = []
        feeds: list[Feed] = []
        views: list[StoreView] = []
        for namespace in the_plan.namespaces:
            namespace_feeds, view = pipeline(ctx, namespace, lambda: rules[0])
            inputs += namespace.inputs
            feeds += namespace_feeds
            views.append(view)

        def fold() -> None:
            for feed in feeds:
                feed.flush()
                feed.tally.fold()

        ctx.registry.register(
            NginxLogCollector(
                views,
                {feed.name: feed.stats for feed in feeds},
                fold,
                exporter_names=settings.exporter_names,
            )
        )

        def reload() -> None:
            if the_plan.exporter is not None:
                _reload_relabels(ctx, the_plan, feeds)
                return
            try:
                fresh = load_config(settings.config) if settings.config else Config()
                rules[0] = RouteRules.build(fresh.routes, settings.route_unmatched, where, escaped)
            except ValueError as exc:
                ctx.log.error("route rules not reloaded, keeping the old ones: %s", exc)
                return
            for feed in feeds:
                feed.tally.reset_routes()
            ctx.log.info("route rules reloaded", extra={"rules": len(rules[0].rules)})

        ctx.on_reload(reload)
        checkpoint = settings.checkpoint
        followers, listeners = await _start_inputs(ctx, inputs, feeds)
        written: dict[str, tuple[int, int, int]] = {}
        for follower in followers:
            follower.open_existing()
        for f in followers:
            ctx.spawn(
                f.follow(ctx.stopping, float(settings.poll_interval)),
                name=f"nginxlog.follow {f.feed.name}",
            )
        if settings.config is not None:
            ctx.spawn(_watch_config(ctx, settings, reload, config_text), name="nginxlog.config")
        unready = _update_readiness(ctx, followers, listeners, "starting")
        last_checkpoint = last_report = last_expiry = time.monotonic()
        try:
            while not await ctx.sleep(_HOUSEKEEPING):
                unready = _update_readiness(ctx, followers, listeners, unready)
                for feed in feeds:
                    feed.flush()
                now = time.monotonic()
                if settings.series_ttl and now - last_expiry >= 1.0:
                    fold()
                    for view in views:
                        view.store.expire(now - float(settings.series_ttl))
                    last_expiry = now
                if now - last_report >= _REPORT_EVERY:
                    fold()
                    for feed in feeds:
                        feed.report_rejected()
                    last_report = now
                if checkpoint and now - last_checkpoint >= float(settings.checkpoint_interval):
                    _save(checkpoint, followers, ctx, written)
                    last_checkpoint = now
        finally:
            await ctx.cancel_tasks()  # followers stop before their files close
            for listener in listeners:
                await listener.stop()
            fold()
            if checkpoint:
                _save(checkpoint, followers, ctx, written)
            for follower in followers:
                follower.close()


def _update_readiness(
    ctx: HelperContext[NginxLogSettings],
    followers: list[FileFollower],
    listeners: list[SyslogListener],
    was: str | None,
) -> str | None:
    """Out of service while no input can be read: no syslog listener, no file open, and
    some file there but unreadable (files not there yet are fine: they will be read from
    their start). Returns the reason now in force, ``None`` when ready."""
    reason = None
    if not listeners and not any(f.open for f in followers):
        unreadable = {p: why for f in followers for p, why in f.unreadable.items()}
        if unreadable:
            shown = "; ".join(f"{path}: {why}" for path, why in sorted(unreadable.items())[:3])
            reason = f"no input can be read ({shown})"
    if reason != was:
        if reason is None:
            ctx.ready()
        else:
            ctx.log.warning("not ready", extra={"reason": reason})
            ctx.not_ready(reason)
    return reason


def _reload_relabels(ctx: HelperContext[NginxLogSettings], old: Plan, feeds: list[Feed]) -> None:
    """An exporter file read again: new relabel rules take effect, counters stay; any
    other change needs a restart, since it changes parsers or label sets."""
    try:
        fresh = plan(ctx.settings)
    except ValueError as exc:
        ctx.log.error("relabel rules not reloaded, keeping the old ones: %s", exc)
        return
    if not same_shape(old, fresh):
        ctx.log.warning(
            "%s changed beyond relabel rules (regexps, replacements, whitelists, split); "
            "restart to apply",
            ctx.settings.config,
        )
        return
    for mine, theirs in zip(old.namespaces, fresh.namespaces, strict=True):
        for relabel, new in zip(mine.relabels, theirs.relabels, strict=True):
            relabel.take_rules(new)
    for feed in feeds:
        feed.tally.reset_routes()
    ctx.log.info("relabel rules reloaded")


def _listen(ctx: HelperContext[NginxLogSettings], config: ExporterConfig) -> None:
    """``listen`` of the exporter's file: the metrics path is served; the address is the
    admin server's, which starts before the file is read, so a different one is a warning."""
    if config.metrics_endpoint != "/metrics":
        _serve_metrics(ctx, config.metrics_endpoint)
    admin = ctx.settings.admin_addr
    if not config.listen:
        return
    wanted_port = config.port if config.port is not None else 4040
    wanted_host = config.address or "0.0.0.0"
    if admin is None or admin.port != wanted_port or (admin.host or "0.0.0.0") != wanted_host:
        shown = f"{admin.host}:{admin.port}" if admin is not None else "off"
        ctx.log.warning(
            f"{ctx.settings.config}: listen {wanted_host}:{wanted_port} is not applied; the "
            f"metrics are served by the admin server, NGINXLOG_ADMIN_ADDR={shown}"
        )


def _serve_metrics(ctx: HelperContext[NginxLogSettings], path: str) -> None:
    async def metrics(request: Request) -> Response:
        return Response(text(ctx.registry.collect()), content_type=CONTENT_TYPE)

    ctx.add_route("GET", path, metrics)


async def _start_inputs(
    ctx: HelperContext[NginxLogSettings], inputs: list[InputSpec], feeds: list[Feed]
) -> tuple[list[FileFollower], list[SyslogListener]]:
    """Listen on every syslog address (a port in use is a configuration error) and make a
    follower for every set of files, resuming from the checkpoint when there is one."""
    settings = ctx.settings
    saved = load_checkpoint(settings.checkpoint, ctx.log) if settings.checkpoint else {}
    followers: list[FileFollower] = []
    listeners: list[SyslogListener] = []
    for spec, feed in zip(inputs, feeds, strict=True):
        if spec.syslog is None:
            follower = FileFollower(
                spec.files,
                feed,
                start_at_end=settings.start_at == "end",
                max_line=int(settings.max_line),
                log=ctx.log,
                checkpoint=dict(saved),
            )
            followers.append(follower)
            continue
        tags = frozenset(tag.encode() for tag in spec.tags)
        listener = SyslogListener(spec.syslog, feed.line, int(settings.max_line), tags)
        try:
            await listener.start()
        except OSError as exc:
            for started in listeners:
                await started.stop()
            raise ConfigError(f"cannot listen on {spec.syslog}: {exc}") from None
        ctx.log.info("syslog listening", extra={"address": listener.bound})
        listeners.append(listener)
    return followers, listeners


def _save(
    path: Path,
    followers: list[FileFollower],
    ctx: HelperContext[NginxLogSettings],
    last: dict[str, tuple[int, int, int]],
) -> None:
    """Write the offsets when they moved since the ``last`` write (updated in place)."""
    positions: dict[str, tuple[int, int, int]] = {}
    for follower in followers:
        positions.update(follower.positions())
    if positions == last:
        return
    try:
        save_checkpoint(path, positions)
    except OSError as exc:
        ctx.log.warning("cannot write the checkpoint", extra={"error": str(exc)})
        return
    last.clear()
    last.update(positions)


async def _watch_config(
    ctx: HelperContext[NginxLogSettings],
    settings: NginxLogSettings,
    reload: Callable[[], None],
    initial: str | None,
) -> None:
    """Reload when the file's text changes, compared every poll interval: a Kubernetes
    ConfigMap is updated by swapping a symlinked directory, which the text follows."""
    assert settings.config is not None
    path = settings.config
    last = initial
    while not await ctx.sleep(float(settings.poll_interval)):
        text = _read_text(path)
        if text is not None and text != last:
            last = text
            ctx.log.info("config file changed")
            reload()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
