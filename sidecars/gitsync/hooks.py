"""What runs after each publish: a program and a webhook, retried, never in the sync's way.

Each hook has one task at a time. A newer publish supersedes a hook still retrying for an
older commit: only the tree that readers now see matters.

A marker file (``.gitsync/hooks/<hash>``) is written before a commit is published and
removed once every hook succeeded for it, so a crash or restart between the publish and
the hooks' success runs them at the next start: hooks run at least once per published
commit, sometimes twice, never zero times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from sidecars import Backoff

from .metrics import GitSyncStats
from .settings import GitSyncSettings

__all__ = ["Hooks", "mark_pending"]

_OUTPUT_LIMIT = 2000

Attempt = Callable[[str, Path], Awaitable[None]]


class HookFailed(Exception):
    pass


def mark_pending(markers: Path, commit: str) -> None:
    """Record, before ``commit`` is published, that its hooks still have to succeed."""
    tmp = markers / f".{commit}.tmp"
    tmp.write_text(commit + "\n")
    os.replace(tmp, markers / commit)


def pending(markers: Path) -> set[str]:
    """Commits whose hooks have not all succeeded."""
    return {entry.name for entry in markers.iterdir() if not entry.name.startswith(".")}


class Hooks:
    def __init__(
        self,
        settings: GitSyncSettings,
        stats: GitSyncStats,
        log: logging.Logger,
        link: Path,
        markers: Path,
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.log = log
        self.link = link
        self.markers = markers
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.succeeded: dict[str, str] = {}
        """Hook name to the last commit it succeeded for."""
        self.gave_up: dict[str, str] = {}
        """Hook name to the commit it failed for on every retry (one-shot mode exits 1)."""

    @property
    def names(self) -> list[str]:
        """The configured hooks: a commit's marker goes once each of them succeeded."""
        names = []
        if self.settings.exec_hook is not None:
            names.append("exec")
        if self.settings.webhook_url is not None:
            names.append("webhook")
        return names

    def resume(self, published: str | None, tree: Path | None) -> str | None:
        """At start: run the hooks a crash or restart interrupted for the published commit;
        forget markers of commits no longer published. Returns the commit resumed, if any."""
        for entry in self.markers.glob(".*.tmp"):  # a marker whose write was cut short
            entry.unlink(missing_ok=True)
        waiting = pending(self.markers)
        for commit in waiting - {published}:
            self._unmark(commit)
        if published is None or tree is None or published not in waiting:
            return None
        if not self.names:
            self._unmark(published)
            return None
        self.notify(published, tree)
        return published

    def _unmark(self, commit: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.markers / commit).unlink()

    def notify(self, commit: str, tree: Path) -> None:
        """Start the hooks for ``commit``, superseding any still retrying an older one."""
        for older in pending(self.markers) - {commit}:
            self._unmark(older)
        self.gave_up.clear()
        self.succeeded.clear()
        if self.settings.exec_hook is not None:
            self._start("exec", self._exec, commit, tree)
        if self.settings.webhook_url is not None:
            self._start("webhook", self._webhook, commit, tree)

    async def wait(self) -> None:
        """Until every running hook is done (one-shot mode)."""
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)

    async def close(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        await self.wait()

    def _start(self, name: str, attempt: Attempt, commit: str, tree: Path) -> None:
        old = self.tasks.get(name)
        if old is not None and not old.done():
            old.cancel()
        self.tasks[name] = asyncio.create_task(self._run(name, attempt, commit, tree))

    async def _run(self, name: str, attempt: Attempt, commit: str, tree: Path) -> None:
        settings = self.settings
        first = float(settings.webhook_backoff if name == "webhook" else settings.exec_hook_backoff)
        delays = Backoff(first, max(first, float(settings.max_backoff))).delays()
        number = 0
        while True:
            number += 1
            try:
                await attempt(commit, tree)
            except HookFailed as exc:
                self.stats.hook_runs[(name, "error")] += 1
                if settings.hook_retries < 0:  # git-sync: until it succeeds, once if one-time
                    last = settings.one_time
                else:
                    last = number > settings.hook_retries
                self.log.warning(
                    "hook failed" + ("; giving up on this commit" if last else ", will retry"),
                    extra={"hook": name, "hash": commit, "attempt": number, "error": str(exc)},
                )
                if last:
                    self.gave_up[name] = commit
                    return
                await asyncio.sleep(next(delays))
                continue
            self.stats.hook_runs[(name, "success")] += 1
            self.log.info("hook succeeded", extra={"hook": name, "hash": commit, "attempt": number})
            self.succeeded[name] = commit
            if all(self.succeeded.get(other) == commit for other in self.names):
                self._unmark(commit)
            return

    async def _exec(self, commit: str, tree: Path) -> None:
        command = self.settings.exec_hook
        assert command is not None
        env = dict(os.environ)
        env.update(GITSYNC_HASH=commit, GITSYNC_TREE=str(tree), GITSYNC_LINK=str(self.link))
        try:
            process = await asyncio.create_subprocess_exec(
                *command.argv,
                cwd=tree,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as exc:
            raise HookFailed(f"cannot start {command}: {exc.strerror or exc}") from None
        try:
            async with asyncio.timeout(float(self.settings.exec_hook_timeout)):
                output, _ = await process.communicate()
        except (TimeoutError, asyncio.CancelledError) as exc:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise HookFailed(f"timed out after {self.settings.exec_hook_timeout}") from None
        text = output.decode(errors="replace").strip()[-_OUTPUT_LIMIT:]
        if process.returncode != 0:
            raise HookFailed(f"exit status {process.returncode}: {text}")
        if text:
            self.log.debug("hook output", extra={"hook": "exec", "output": text})

    async def _webhook(self, commit: str, tree: Path) -> None:
        import aiohttp  # only a webhook needs an HTTP client: 15 MB that others do not pay

        settings = self.settings
        assert settings.webhook_url is not None
        headers = {}
        for header in settings.webhook_headers:
            name, _, value = header.partition(":")
            headers[name.strip()] = value.strip()
        body = settings.webhook_body.replace("{hash}", commit).encode() or None
        timeout = aiohttp.ClientTimeout(total=float(settings.webhook_timeout))
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(
                    settings.webhook_method.upper(),
                    settings.webhook_url,
                    headers=headers,
                    data=body,
                ) as response,
            ):
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise HookFailed(str(exc) or type(exc).__name__) from None
        expected = settings.webhook_success_status
        if expected is None:
            if not 200 <= status < 300:
                raise HookFailed(f"HTTP {status}")
        elif expected > 0 and status != expected:  # 0 and -1: any answer will do
            raise HookFailed(f"HTTP {status}, expected {expected}")
