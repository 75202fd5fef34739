"""One sync: ask the remote, fetch if it moved, build the new tree, publish it.

All disk and git work happens in threads; one lock keeps syncs, spare installs and
deletions of old trees from overlapping.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from sidecars import ConfigError

from .auth import git_environment, prepare_home
from .hooks import mark_pending
from .metrics import GitSyncStats
from .repository import GitFailed, MissingRef, Repository
from .settings import GitSyncSettings
from .trees import Trees
from .watch import TreeWatch

__all__ = ["Outcome", "Sync"]

_RACY_WINDOW = 1.05
"""Git trusts a file's stat data only when the index is written in a later second."""


_MEASURE_DELAY = 2.0
_GC_EVERY = 60.0
"""``git gc --auto`` after a publish at most this often (seconds): bursts spawn no extra git."""


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str
    commit: str | None = None
    method: str = ""
    error: str = ""
    missing_ref: bool = False
    """The remote has no such ref (an error no retry of a one-time run can cure)."""
    repaired: bool = False
    """The published commit was built again (its tree deleted or damaged): no new commit,
    so its hooks, which ran already, do not run again."""


async def _after_racy_window(written: float) -> None:
    wait = written + _RACY_WINDOW - time.time()
    if wait > 0:
        await asyncio.sleep(wait)


class Sync:
    def __init__(self, settings: GitSyncSettings, stats: GitSyncStats, log: logging.Logger) -> None:
        self.settings = settings
        self.stats = stats
        self.log = log
        state = settings.root / ".gitsync"
        env = git_environment(settings, state)
        self.repo = Repository(
            state / "repo.git", settings.repo, env, settings.depth, stats, settings.filter
        )
        self.trees = Trees(
            settings.root,
            settings.link,
            self.repo,
            submodules=settings.submodules,
            depth=settings.depth,
            log=log,
            on_build=self._count_build,
        )
        self.lock = asyncio.Lock()
        self.last_success = time.monotonic()
        self.fetch_failures = 0
        self.last_gc = -_GC_EVERY
        self._measuring = False
        self.source: str | None = None
        """The full remote ref name that the configured ref resolved to last."""
        self._background: set[asyncio.Task[None]] = set()
        self.watch = None if settings.one_time else TreeWatch()
        self.checked_at = time.monotonic()
        self.index_seen: tuple[int, int, int] | None = None

    def _count_build(self, method: str) -> None:
        self.stats.tree_builds[method] += 1

    async def start(self) -> None:
        """Recover from whatever a previous run left, then make sure the repository exists."""
        if self.settings.group_write:  # git-sync's --group-write: files readers may change
            os.umask(0o002)
        removed = await asyncio.to_thread(self.trees.recover)
        if removed:
            self.log.info("cleaned up after an earlier run", extra={"removed": removed[:20]})
        await asyncio.to_thread(prepare_home, self.trees.state / "home")
        deadline = time.monotonic() + float(self.settings.sync_timeout)
        await asyncio.to_thread(self.repo.ensure, deadline)
        patterns = list(self.settings.sparse_checkout)
        if self.settings.sparse_checkout_file is not None:
            try:
                text = await asyncio.to_thread(self.settings.sparse_checkout_file.read_text)
            except OSError as exc:
                raise ConfigError(
                    f"GITSYNC_SPARSE_CHECKOUT_FILE={self.settings.sparse_checkout_file}: "
                    f"cannot read it: {exc.strerror}"
                ) from None
            patterns += [line for line in text.splitlines() if line.strip()]
        if patterns:
            await asyncio.to_thread(self.repo.write_sparse_patterns, patterns)
        shown = self.trees.current
        try:
            damage = await asyncio.to_thread(self.trees.check_published, deadline)
        except GitFailed as exc:  # a broken repository: the syncs will replace it
            self.log.warning("cannot check the published tree", extra={"error": str(exc)})
            damage = None
        if damage is not None:
            self.log.warning(
                "the published tree is damaged; building it again",
                extra={"hash": shown, "reason": damage},
            )
        if self.trees.current:
            self.stats.commit = self.trees.current
            self.log.info("found a published tree", extra={"hash": self.trees.current})
            await asyncio.to_thread(self._follow, self.trees.current)

    async def once(self, *, triggered: bool = False) -> Outcome:
        """One sync. A triggered one (a push was announced) fetches without asking first."""
        started = time.monotonic()
        deadline = started + float(self.settings.sync_timeout)
        try:
            if self.settings.askpass_url is not None:
                await self._askpass(deadline)
            async with self.lock:
                outcome = await asyncio.to_thread(self._step, deadline, triggered)
        except (GitFailed, OSError) as exc:
            outcome = Outcome("error", error=str(exc), missing_ref=isinstance(exc, MissingRef))
        seconds = time.monotonic() - started
        self.stats.observe_sync(outcome.kind, seconds)
        if outcome.kind == "error":
            self.stats.consecutive_failures += 1
            return outcome
        self.stats.consecutive_failures = 0
        self.stats.last_success = time.time()
        self.last_success = time.monotonic()
        if outcome.kind == "success":
            assert outcome.commit is not None
            self.stats.commit = outcome.commit
            self.log.info(
                "published",
                extra={
                    "hash": outcome.commit,
                    "method": outcome.method,
                    "seconds": round(seconds, 3),
                },
            )
            self._after_publish(outcome.commit)
        return outcome

    async def _askpass(self, deadline: float) -> None:
        """git-sync's ``--askpass-url``: a GET answering ``username=`` and ``password=``
        lines, asked before each sync; git's credential helper then hands them out."""
        import aiohttp  # only this and the webhook need an HTTP client

        url = self.settings.askpass_url
        assert url is not None
        timeout = aiohttp.ClientTimeout(total=max(deadline - time.monotonic(), 0.1))
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url) as response,
            ):
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise GitFailed(f"askpass URL: {exc or type(exc).__name__}") from None
        if status != 200:
            raise GitFailed(f"askpass URL: HTTP {status}")
        values = dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)
        self.repo.env["SIDECARS_GIT_USERNAME"] = values.get("username", "")
        self.repo.env["SIDECARS_GIT_PASSWORD"] = values.get("password", "")

    def _step(self, deadline: float, triggered: bool) -> Outcome:
        repair = self._lost()
        if self._damaged(deadline):
            self._sweep()
            commit = self.trees.current
            assert commit is not None
            method = self.trees.rebuild(commit, deadline)
            self._follow(commit)
            return Outcome("success", commit, method, repaired=True)
        fixed = self.settings.fixed_hash
        if fixed is not None:
            source, remote = fixed, fixed
        elif triggered and self.source is not None:
            source, remote = self.source, ""
        else:
            source, remote = self.repo.remote_ref(self.settings.ref, deadline)
            self.source = source
        if remote == self.trees.current and not self.repo.depth_changed():
            return Outcome("noop", remote)
        self._sweep()
        if remote and remote == repair and not self.repo.depth_changed():
            return self._build_and_publish(repair, deadline, repaired=True)
        self.log.debug("fetching", extra={"ref": source, "hash": remote})
        try:
            commit = self.repo.fetch(source, deadline)
        except GitFailed:
            self.fetch_failures += 1
            if fixed is None and remote and self.fetch_failures >= 2:
                self.log.warning(
                    "fetch keeps failing with the remote up; starting a new repository"
                )
                self.repo.reset(deadline)
                self.fetch_failures = 0
            raise
        self.fetch_failures = 0
        if commit == self.trees.current:
            return Outcome("noop", commit)
        return self._build_and_publish(commit, deadline, repaired=commit == repair)

    def _build_and_publish(self, commit: str, deadline: float, *, repaired: bool) -> Outcome:
        self.log.debug("building tree", extra={"hash": commit})
        if repaired and not self.trees.tree(commit).exists():
            method = self.trees.rebuild(commit, deadline)  # out of the link's sight
        else:
            method = self.trees.build(commit, deadline)
        hooked = self.settings.exec_hook is not None or self.settings.webhook_url is not None
        if hooked and not repaired:
            mark_pending(self.trees.hooks, commit)
        self.trees.publish(commit)
        self._follow(commit)
        return Outcome("success", commit, method, repaired=repaired)

    def _lost(self) -> str | None:
        """The published commit when its tree or link is gone: the sync builds it again."""
        commit = self.trees.current
        lost = self.trees.lost()
        if lost is None:
            return None
        self.stats.repairs["lost"] += 1
        self.log.warning(lost + "; building it again", extra={"hash": commit})
        return commit

    def _damaged(self, deadline: float) -> bool:
        """Whether the published tree no longer equals its commit; checked when inotify
        saw a write in it, and every GITSYNC_VERIFY_PERIOD."""
        if self.trees.current is None or not self._check_due():
            return False
        self.checked_at = time.monotonic()
        damage = self.trees.damage(deadline)
        if damage is None:
            return False
        self.stats.repairs["damaged"] += 1
        self.log.warning(
            "the published tree was changed; "
            + ("building it again" if damage.rebuild else "its git directory was put back"),
            extra={"hash": self.trees.current, "reason": damage.reason},
        )
        return damage.rebuild

    def _check_due(self) -> bool:
        if self.watch is None:
            return False
        written = self.watch.changed() or self._index_stat() != self.index_seen
        period = float(self.settings.verify_period)
        return written or (period > 0 and time.monotonic() - self.checked_at >= period)

    def _index_stat(self) -> tuple[int, int, int] | None:
        """The published tree's index lives outside it; a reader's git (``git add``,
        ``git rm --cached``) writes it through the git directory's symlink."""
        if self.trees.current is None:
            return None
        try:
            info = os.stat(self.trees.index(self.trees.current))
        except OSError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size

    def _follow(self, commit: str) -> None:
        """Watch the published tree and its git directory for writes."""
        self.index_seen = self._index_stat()
        if self.watch is None:
            return
        told = bool(self.watch.reason)  # say it once, not at every publish
        watching = self.watch.follow(self.trees.tree(commit), self.trees.gitdirs / commit)
        if not watching and not told:
            self.log.warning(
                "cannot watch the published tree; it is checked every "
                f"GITSYNC_VERIFY_PERIOD ({self.settings.verify_period}) only",
                extra={"reason": self.watch.reason},
            )

    def _sweep(self) -> None:
        """Before each attempt: what a killed git left would fail it, and every retry."""
        removed = self.repo.sweep([self.trees.indexes, self.trees.spares])
        if removed:
            self.log.warning(
                "removed what a killed git process left", extra={"removed": removed[:20]}
            )

    def _after_publish(self, commit: str) -> None:
        if any(self.trees.trash.iterdir()):  # a tree found damaged or unusable on the way
            self._in_background(self._empty_trash())
        mode = self.settings.git_gc
        if mode != "off" and (mode != "auto" or time.monotonic() - self.last_gc >= _GC_EVERY):
            self.last_gc = time.monotonic()
            self._in_background(self._gc())
        if not self.settings.one_time:
            self._in_background(self._settle(commit))
        self._measure_soon()

    def _in_background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        """Background work (spare, gc, cleanup) only saves time later: a failure of it, a
        full disk say, is logged and the next sync does without, never a crash."""
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.warning("background work failed", extra={"error": str(task.exception())})

    async def _gc(self) -> None:
        deadline = time.monotonic() + float(self.settings.sync_timeout)
        try:
            await asyncio.to_thread(self.repo.gc, deadline, self.settings.git_gc)
        except GitFailed as exc:
            self.log.warning("git gc failed", extra={"error": str(exc)})

    async def _settle(self, commit: str) -> None:
        """After the racy second: refresh the new tree's index; then check the commit out
        afresh as the spare, and refresh that one's index a racy second later too."""
        await _after_racy_window(self.trees.built_at)
        if commit != self.trees.current:
            return
        deadline = time.monotonic() + float(self.settings.sync_timeout)
        settled = await asyncio.to_thread(self.trees.settle, commit, deadline)
        if commit == self.trees.current:
            self.index_seen = self._index_stat()  # our own write of the index
        if not settled:
            return
        if not self.settings.spare_tree or commit != self.trees.current:
            return
        made = await asyncio.to_thread(self.trees.make_spare, commit, deadline)
        if made is None:
            return
        await _after_racy_window(time.time())
        if not await asyncio.to_thread(self.trees.spare.refresh, made, deadline):
            return
        async with self.lock:
            await asyncio.to_thread(self.trees.spare.keep, commit, made, self.trees.current)

    def _measure_soon(self) -> None:
        """Walk the root for its size once things calm down, not on every publish of a burst."""
        if not self._measuring:
            self._measuring = True
            self._in_background(self._measure())

    async def _measure(self) -> None:
        try:
            await asyncio.sleep(_MEASURE_DELAY)
            self.stats.root_bytes = await asyncio.to_thread(self.trees.disk_bytes)
        finally:
            self._measuring = False

    async def clean(self) -> None:
        """Delete replaced trees whose grace period is over, or that exceed the cap."""
        victims = self.trees.expired(float(self.settings.grace_period), self.settings.max_old_trees)
        if not victims:
            return
        async with self.lock:
            for commit in victims:
                await asyncio.to_thread(self.trees.discard, commit)
        self.log.info("deleted replaced trees", extra={"hashes": victims})
        self._in_background(self._empty_trash())

    async def _empty_trash(self) -> None:
        await asyncio.to_thread(self.trees.empty_trash)
        self._measure_soon()

    def next_clean_in(self) -> float | None:
        """Seconds until the oldest replaced tree is due for deletion."""
        if not self.trees.retired:
            return None
        if len(self.trees.retired) > self.settings.max_old_trees:
            return 0.0
        oldest = min(self.trees.retired.values())
        return max(oldest + float(self.settings.grace_period) - time.monotonic(), 0.0)

    async def close(self) -> None:
        self.repo.kill()
        if self.watch is not None:
            self.watch.close()
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
