"""Keep a directory in sync with a git repository: the poll loop, the trigger, health."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

from sidecars import (
    Backoff,
    ConfigError,
    Handler,
    Helper,
    HelperContext,
    HelperError,
    Request,
    Response,
)

from .hooks import Hooks, mark_pending
from .metrics import GitSyncCollector, GitSyncStats
from .repository import GitFailed
from .settings import GitSyncSettings, signal_number
from .status import StatusFiles
from .sync import Outcome, Sync

_STATUS = {"unauthorized": 401, "forbidden": 403}


class GitSync(Helper[GitSyncSettings]):
    """Keep a directory in sync with a git repository, publishing each commit atomically."""

    name = "gitsync"
    event_loop = "asyncio"  # git does the work in child processes: uvloop's 2.4 MB buy nothing here
    settings_class = GitSyncSettings

    async def run(self, ctx: HelperContext[GitSyncSettings]) -> None:
        settings = ctx.settings
        stats = GitSyncStats()
        ctx.registry.register(GitSyncCollector(stats))
        sync = Sync(settings, stats, ctx.log)
        try:
            await sync.start()
        except OSError as exc:
            raise ConfigError(f"GITSYNC_ROOT={settings.root}: cannot use it: {exc}") from None
        except GitFailed as exc:
            raise HelperError(f"cannot create the repository: {exc}") from None
        hooks = Hooks(settings, stats, ctx.log, sync.trees.link, sync.trees.hooks)
        current = sync.trees.current
        tree = sync.trees.tree(current) if current else None
        if hooks.resume(current, tree) is not None:
            ctx.log.info("running the hooks an earlier run did not finish", extra={"hash": current})
        wake = asyncio.Event()
        if settings.trigger_secret:
            ctx.add_route(
                "POST",
                "/sync",
                _trigger(str(settings.trigger_secret), stats, wake, ctx),
                own_secret=True,
            )
        if settings.staleness:
            ctx.add_health_check(lambda: _stale(sync, float(settings.staleness)))
        number = signal_number(settings.sync_on_signal) if settings.sync_on_signal else None
        loop = asyncio.get_running_loop()
        if number == signal.SIGHUP:  # the runtime owns SIGHUP: a reload handler
            ctx.on_reload(wake.set)
        elif number is not None:
            loop.add_signal_handler(number, wake.set)
        try:
            await _loop(ctx, sync, hooks, wake)
        finally:
            if number is not None and number != signal.SIGHUP:
                loop.remove_signal_handler(number)
            await hooks.close()
            await sync.close()


async def _loop(
    ctx: HelperContext[GitSyncSettings], sync: Sync, hooks: Hooks, wake: asyncio.Event
) -> None:
    settings = ctx.settings
    started = time.monotonic()
    delays = Backoff(1.0, float(settings.max_backoff)).delays()
    triggered = False
    synced = False
    """A sync succeeded in this run: readiness from then on follows wedges only."""
    failing_since: float | None = None
    status = StatusFiles(settings.root, settings.touch_file, settings.error_file)
    while not ctx.stopping.is_set():
        wake.clear()
        began = time.monotonic()
        outcome = await sync.once(triggered=triggered)
        try:
            await asyncio.to_thread(_report, status, outcome, first=not synced)
        except OSError as exc:
            ctx.log.warning("cannot write a status file", extra={"error": str(exc)})
        if outcome.kind == "error":
            failures = sync.stats.consecutive_failures
            delay = min(next(delays), float(settings.max_backoff))
            ctx.log.warning(
                "sync failed",
                extra={"error": outcome.error, "failures": failures, "retry_in": round(delay, 2)},
            )
            if settings.one_time and outcome.missing_ref:
                raise HelperError(f"one-time sync failed: {outcome.error}")
            failing_since = failing_since or began
            _wedged(ctx, synced, time.monotonic() - failing_since, outcome.error)
            if not synced:
                waited = time.monotonic() - started
                if settings.init_timeout and waited + delay > settings.init_timeout:
                    raise HelperError(
                        f"the first sync did not succeed within {settings.init_timeout}: "
                        f"{outcome.error}"
                    )
            if 0 <= settings.max_failures <= failures:
                raise HelperError(
                    f"{failures} syncs failed in a row (GITSYNC_MAX_FAILURES="
                    f"{settings.max_failures}); last: {outcome.error}"
                )
        else:
            failing_since = None
            delays = Backoff(1.0, float(settings.max_backoff)).delays()
            delay = max(float(settings.period) - (time.monotonic() - began), 0.0)
            fresh = outcome.kind == "success" and not outcome.repaired
            if outcome.commit and (fresh or (not synced and not hooks.tasks)):
                # as git-sync: the first sync counts as a publish for the hooks, even when
                # the tree was there already (a restart, hooks configured later)
                if outcome.kind != "success" and hooks.names:
                    mark_pending(sync.trees.hooks, outcome.commit)
                hooks.notify(outcome.commit, sync.trees.tree(outcome.commit))
            synced = True
            if not ctx.is_ready and not ctx.stopping.is_set():
                ctx.ready()
            if settings.one_time:
                await hooks.wait()
                if hooks.gave_up:
                    failed = ", ".join(sorted(hooks.gave_up))
                    raise HelperError(f"the {failed} hook failed on every retry")
                return
        await _pause(ctx, sync, wake, delay)
        triggered = wake.is_set()


async def _pause(
    ctx: HelperContext[GitSyncSettings], sync: Sync, wake: asyncio.Event, seconds: float
) -> None:
    """Wait ``seconds``, a trigger or the stop; delete expired trees meanwhile."""
    until = time.monotonic() + seconds
    while not ctx.stopping.is_set() and not wake.is_set():
        await sync.clean()
        left = until - time.monotonic()
        if left <= 0:
            return
        due = sync.next_clean_in()
        step = left if due is None else min(left, max(due, 0.05))
        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(ctx.stopping.wait())]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waiters, timeout=step, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()


def _wedged(ctx: HelperContext[GitSyncSettings], synced: bool, seconds: float, error: str) -> None:
    """Take the helper out of service once syncs have failed for GITSYNC_NOT_READY_AFTER:
    what is published is still served, but the Pod should not count as up to date."""
    limit = float(ctx.settings.not_ready_after)
    if not synced or not ctx.is_ready or limit <= 0 or seconds < limit or ctx.stopping.is_set():
        return
    reason = f"syncs have failed for {seconds:.0f}s (GITSYNC_NOT_READY_AFTER={limit:g}s): {error}"
    ctx.log.warning("not ready: syncs keep failing", extra={"error": error})
    ctx.not_ready(reason)


def _report(status: StatusFiles, outcome: Outcome, *, first: bool) -> None:
    if outcome.kind == "error":
        status.failed(outcome.error)
        return
    status.succeeded()
    if outcome.kind == "success" or first:
        status.published()


def _trigger(
    secret: str, stats: GitSyncStats, wake: asyncio.Event, ctx: HelperContext[GitSyncSettings]
) -> Handler:
    from .trigger import authorize  # hmac: only with a trigger

    async def handle(request: Request) -> Response:
        outcome = authorize(request.headers, request.body, secret)
        stats.triggers[outcome] += 1
        if outcome != "accepted":
            ctx.log.warning(
                "sync trigger refused", extra={"reason": outcome, "peer": request.remote}
            )
            return Response.json({"status": outcome}, status=_STATUS[outcome])
        wake.set()
        return Response.json({"status": "accepted"}, status=202)

    return handle


def _stale(sync: Sync, limit: float) -> str | None:
    age = time.monotonic() - sync.last_success
    if age > limit:
        return f"no successful sync for {age:.0f}s (GITSYNC_STALENESS={limit:g}s)"
    return None
