"""Helpers of the gitsync tests: upstream repositories, ports, polling."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidecars.testing import HelperProcess, eventually
from sidecars.testing import free_port as free_port
from sidecars.testing import wait_port as wait_port

until = eventually

IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, **IDENTITY}
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


@dataclass
class Upstream:
    """A bare repository that the helper syncs from, and a clone to make commits in."""

    bare: Path
    work: Path

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.work)
        return self.head()

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work)

    def push(self, *refs: str, force: bool = False) -> None:
        flags = ["--force"] if force else []
        git("push", "-q", *flags, "origin", *(refs or ("main",)), cwd=self.work)

    def url(self) -> str:
        return f"file://{self.bare}"


@dataclass
class GitDaemon:
    base: Path
    port: int

    def url(self, upstream: Upstream) -> str:
        return f"git://127.0.0.1:{self.port}/{upstream.bare.relative_to(self.base)}"


def make_upstream(base: Path, name: str, files: dict[str, str | None] | None = None) -> Upstream:
    bare, work = base / f"{name}.git", base / f"{name}-work"
    git("init", "-q", "--bare", str(bare))
    git("clone", "-q", str(bare), str(work))
    upstream = Upstream(bare, work)
    upstream.commit(files or {"README": "v1\n"}, "first")
    upstream.push()
    return upstream


def publishes(root: Path, head: str) -> Callable[[], bool]:
    """A check for ``until``, bound to this ``head`` rather than a loop's latest."""
    return lambda: published(root) == head


def logged(msg: str) -> Callable[[dict[str, Any]], bool]:
    """A match for ``wait_log``, bound to this ``msg`` rather than a loop's latest."""
    return lambda entry: entry.get("msg") == msg


def published(root: Path, link: str = "current") -> str | None:
    """The commit the link points at, or None."""
    try:
        return Path(os.readlink(root / link)).name
    except OSError:
        return None


def base_env(root: Path, url: str, **extra: str) -> dict[str, str]:
    env = {"GITSYNC_REPO": url, "GITSYNC_ROOT": str(root), "GITSYNC_PERIOD": "100ms"}
    env.update({f"GITSYNC_{key.upper()}": value for key, value in extra.items()})
    return env


async def metric(proc: HelperProcess, name: str, **labels: str) -> float:
    """One sample's value, 0 when absent."""
    return await proc.sample(name, **labels) or 0.0


def one_shot(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``sidecars gitsync`` with ``GITSYNC_ONE_TIME=true``, no admin server, to its exit."""
    full = {**os.environ, "GITSYNC_ONE_TIME": "true", "GITSYNC_ADMIN_ADDR": "", **env}
    return subprocess.run(
        [sys.executable, "-m", "sidecars", "gitsync"],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )
