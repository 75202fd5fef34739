"""gitsync beside the real git-sync v4 on the same repositories, in one run.

    .venv/bin/python benchmarks/gitsync/run.py --git-sync PATH [--quick]

Serves a small repository (20 files) and a 5,000-file / 50 MB one from `git daemon` on
127.0.0.1. Both programs run at once, each with its own root; the timed rounds alternate
between them, so load from elsewhere on the machine falls on both alike. Measured, each
as gitsync / git-sync: first sync of the big repository (time, peak RSS of the process
tree), push -> visible with an explicit trigger (gitsync: POST /sync; git-sync: SIGHUP
with --sync-on-signal) on both repositories and with a 1 s period on the small one, the
CPU of a one-file update of the big repository, git processes and CPU per no-change
poll, idle RSS, and disk used in the volume. Without --git-sync, gitsync runs alone.
Absolute times depend on the machine and its load; compare the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sidecars.testing import HelperProcess

ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}
SECRET = "bench"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
COUNTING_GIT = '#!/bin/sh\necho "$1" >> {log}\nexec {git} "$@"\n'


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


class Upstream:
    def __init__(self, base: Path, name: str) -> None:
        self.bare, self.work = base / f"{name}.git", base / f"{name}-work"
        git("init", "-q", "--bare", str(self.bare))
        git("clone", "-q", str(self.bare), str(self.work))
        self.number = 0

    def change(self) -> str:
        self.number += 1
        (self.work / "changing.txt").write_text(f"change {self.number}\n")
        git("commit", "-q", "-a", "-m", f"change {self.number}", cwd=self.work)
        git("push", "-q", "origin", "main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def populate(self, files: int, size: int) -> None:
        for i in range(files):
            path = self.work / f"d{i % 50:02}" / f"f{i:05}.bin"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(os.urandom(size))
        (self.work / "changing.txt").write_text("start\n")
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", "populate", cwd=self.work)
        git("push", "-q", "origin", "main", cwd=self.work)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def published(root: Path) -> str:
    try:
        return Path(os.readlink(root / "current")).name
    except OSError:
        return ""


async def visible(root: Path, commit: str, timeout: float = 60.0) -> None:
    """Until the link shows ``commit`` (polled every millisecond)."""
    deadline = time.perf_counter() + timeout
    while published(root) != commit:
        if time.perf_counter() > deadline:
            raise TimeoutError(commit)
        await asyncio.sleep(0.001)


def tree_pids(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE
    except OSError:
        return 0


def cpu_seconds(pid: int) -> float:
    """User + system time of the process and of its reaped children (the git processes)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


def disk_bytes(root: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


class PeakSampler(threading.Thread):
    """Peak RSS of a process and its children, sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, sum(rss(p) for p in tree_pids(self.pid)))
            time.sleep(0.005)


class Contender:
    """One program under test: started on a root, triggered, stopped."""

    name = ""

    def __init__(self, root: Path, url: str, period: str) -> None:
        self.root, self.url, self.period = root, url, period

    @property
    def pid(self) -> int:
        raise NotImplementedError

    async def start(self, path_prefix: str = "") -> None:
        raise NotImplementedError

    async def trigger(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError


class GitSyncV4(Contender):
    name = "git-sync"

    def __init__(self, binary: Path, root: Path, url: str, period: str) -> None:
        super().__init__(root, url, period)
        self.binary = binary
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, path_prefix: str = "") -> None:
        argv = [
            str(self.binary),
            f"--repo={self.url}",
            f"--root={self.root}",
            "--link=current",
            f"--period={self.period}",
            "--depth=1",
            "--sync-on-signal=SIGHUP",
        ]
        if path_prefix:
            argv.append(f"--git={path_prefix}/git")
        self.process = await asyncio.create_subprocess_exec(
            *argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    async def trigger(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


class GitSyncPy(Contender):
    name = "gitsync"

    def __init__(self, root: Path, url: str, period: str) -> None:
        super().__init__(root, url, period)
        self.helper: HelperProcess | None = None

    @property
    def pid(self) -> int:
        assert self.helper is not None
        assert self.helper.process is not None
        return self.helper.process.pid

    async def start(self, path_prefix: str = "") -> None:
        env = {
            "GITSYNC_REPO": self.url,
            "GITSYNC_ROOT": str(self.root),
            "GITSYNC_PERIOD": self.period,
            "GITSYNC_TRIGGER_SECRET": SECRET,
            "GITSYNC_LOG_LEVEL": "info",
        }
        if path_prefix:
            env["PATH"] = f"{path_prefix}:{os.environ['PATH']}"
        self.helper = HelperProcess("gitsync", env)
        await self.helper.start()

    async def trigger(self) -> None:
        assert self.helper is not None
        auth = {"Authorization": f"Bearer {SECRET}"}
        status, _ = await self.helper.request("POST", "/sync", headers=auth)
        assert status == 202, status

    async def stop(self) -> None:
        process = self.helper.process if self.helper is not None else None
        if self.helper is not None and process is not None and process.returncode is None:
            await self.helper.stop()


@dataclass
class Figures:
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, what: str, value: float) -> None:
        self.values.setdefault(what, []).append(value)

    def median(self, what: str) -> float:
        return statistics.median(self.values[what])


async def spare_ready(root: Path, timeout: float = 30.0) -> None:
    """gitsync's steady state between commits: its spare checkout of the published commit
    is in place (made in the background after each publish)."""
    deadline = time.monotonic() + timeout
    while True:
        commit = published(root)
        if (root / ".gitsync" / "spare" / f"{commit}.index").exists():
            return
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.01)


async def first_sync(contender: Contender, commit: str, figures: Figures) -> None:
    started = time.perf_counter()
    await contender.start()
    sampler = PeakSampler(contender.pid)
    sampler.start()
    try:
        await visible(contender.root, commit, timeout=300)
    except TimeoutError:
        if isinstance(contender, GitSyncPy) and contender.helper is not None:
            print(contender.helper.stderr()[-3000:])
        raise
    figures.add(f"{contender.name} first sync s", time.perf_counter() - started)
    sampler.done.set()
    sampler.join()
    figures.add(f"{contender.name} first sync peak RSS MiB", sampler.peak / 2**20)


async def triggered_update(
    contender: Contender, upstream: Upstream, figures: Figures, label: str
) -> None:
    if isinstance(contender, GitSyncPy):
        await spare_ready(contender.root)
    await asyncio.sleep(1.2)  # past git's racy second, for both alike
    commit = upstream.change()
    cpu = cpu_seconds(contender.pid)
    started = time.perf_counter()
    await contender.trigger()
    await visible(contender.root, commit)
    figures.add(f"{contender.name} {label} s", time.perf_counter() - started)
    # the work that follows a publish counts too: gitsync's spare for the next commit
    if isinstance(contender, GitSyncPy):
        await spare_ready(contender.root)
    await asyncio.sleep(0.3)
    figures.add(f"{contender.name} {label} CPU s", cpu_seconds(contender.pid) - cpu)


async def alternate(
    contenders: list[Contender], rounds: int, step: Callable[[Contender], Awaitable[None]]
) -> None:
    for number in range(rounds):
        order = contenders if number % 2 == 0 else contenders[::-1]
        for contender in order:
            await step(contender)


async def run_all(work: Path, port: int, binary: Path | None, quick: bool) -> None:
    served = work / "served"
    rounds = 6 if quick else 15
    small = Upstream(served, "small")
    small.populate(20, 1000)
    big = Upstream(served, "big")
    print("creating the 5,000-file / 50 MB repository ...", flush=True)
    big.populate(5000, 10_000)
    urls = {name: f"git://127.0.0.1:{port}/{name}.git" for name in ("small", "big")}
    figures = Figures()

    def contenders(kind: str, period: str) -> list[Contender]:
        found: list[Contender] = [GitSyncPy(work / f"py-{kind}-{period}", urls[kind], period)]
        if binary is not None:
            found.append(GitSyncV4(binary, work / f"go-{kind}-{period}", urls[kind], period))
        return found

    print("first syncs of the big repository ...")
    head = git("rev-parse", "HEAD", cwd=big.work)
    for number in range(3 if quick else 5):
        order = contenders("big", "1h")
        for contender in order if number % 2 == 0 else order[::-1]:
            # one at a time, each alone on the machine, on a fresh root, the disk flushed
            # first (the repository was just written; whoever ran first paid for that)
            contender.root = work / f"first-{contender.name}-{number}"
            os.sync()
            try:
                await first_sync(contender, head, figures)
            finally:
                await contender.stop()
            shutil.rmtree(contender.root)
    print("one-file updates of the big repository on a trigger ...")
    big_ones = contenders("big", "1h")
    try:
        for contender in big_ones:
            await contender.start()
            await visible(contender.root, head, timeout=300)
        await alternate(big_ones, rounds, lambda c: triggered_update(c, big, figures, "big update"))
        for contender in big_ones:
            figures.add(f"{contender.name} disk MiB", disk_bytes(contender.root) / 2**20)
    finally:
        for contender in big_ones:
            await contender.stop()

    print("small repository: push -> visible on a trigger ...")
    small_ones = contenders("small", "1h")
    try:
        for contender in small_ones:
            await contender.start()
            await visible(contender.root, git("rev-parse", "HEAD", cwd=small.work))
        await asyncio.sleep(3)
        for contender in small_ones:
            figures.add(f"{contender.name} idle RSS MiB", rss(contender.pid) / 2**20)
        await alternate(
            small_ones, rounds, lambda c: triggered_update(c, small, figures, "small trigger")
        )
    finally:
        for contender in small_ones:
            await contender.stop()

    print("small repository: 1 s period, push -> visible; then no-change polls ...")
    polled = contenders("small", "1s")
    offsets = random.Random(7)
    try:
        for contender in polled:
            await contender.start()
        for contender in polled:
            await visible(contender.root, git("rev-parse", "HEAD", cwd=small.work))
        for _ in range(rounds):
            await asyncio.sleep(offsets.uniform(1.0, 2.0))
            commit = small.change()
            started = time.perf_counter()

            async def seen(
                contender: Contender, commit: str = commit, t0: float = started
            ) -> float:
                await visible(contender.root, commit)
                return time.perf_counter() - t0

            times = await asyncio.gather(*(seen(c) for c in polled))
            for contender, seconds in zip(polled, times, strict=True):
                figures.add(f"{contender.name} 1s period s", seconds)
        await asyncio.sleep(2)
        idle = 10.0 if quick else 30.0
        before = {c.name: cpu_seconds(c.pid) for c in polled}
        await asyncio.sleep(idle)
        for contender in polled:
            used = cpu_seconds(contender.pid) - before[contender.name]
            figures.add(f"{contender.name} CPU ms per no-change poll", used / idle * 1000)
            figures.add(f"{contender.name} idle RSS after polls MiB", rss(contender.pid) / 2**20)
    finally:
        for contender in polled:
            await contender.stop()

    print("git processes per no-change poll (git behind a counting wrapper) ...")
    for contender in contenders("small", "1s"):
        wrapper = work / f"count-{contender.name}"
        wrapper.mkdir()
        log = wrapper / "log"
        (wrapper / "git").write_text(COUNTING_GIT.format(log=log, git=shutil.which("git")))
        (wrapper / "git").chmod(0o755)
        contender.root = work / f"count-root-{contender.name}"
        await contender.start(str(wrapper))
        try:
            await visible(contender.root, git("rev-parse", "HEAD", cwd=small.work))
            await asyncio.sleep(3)
            log.write_text("")
            await asyncio.sleep(10)
            lines = log.read_text().split()
        finally:
            await contender.stop()
        figures.add(f"{contender.name} git processes per no-change poll", len(lines) / 10)
        print(f"  {contender.name}: {sorted(set(lines))}")

    report(figures, binary is not None)


ROWS = [
    ("first sync of the big repository", "first sync s", "s"),
    ("  its peak RSS (process tree)", "first sync peak RSS MiB", "MiB"),
    ("one-file update, big repository, trigger -> visible", "big update s", "s"),
    ("  CPU of that update, background work included", "big update CPU s", "s"),
    ("push -> visible, small repository, trigger", "small trigger s", "s"),
    ("  CPU of that update, background work included", "small trigger CPU s", "s"),
    ("push -> visible, small repository, 1 s period", "1s period s", "s"),
    ("git processes per no-change poll", "git processes per no-change poll", ""),
    ("CPU per no-change poll (1 s period)", "CPU ms per no-change poll", "ms"),
    ("idle RSS after start", "idle RSS MiB", "MiB"),
    ("idle RSS after polling", "idle RSS after polls MiB", "MiB"),
    ("disk used in the volume after the updates", "disk MiB", "MiB"),
]


def report(figures: Figures, compared: bool) -> None:
    print("\nMedians; run on a shared machine (2 cores, other jobs running): compare ratios.\n")
    print("| measure | gitsync | git-sync v4 | ratio |")
    print("| --- | --- | --- | --- |")
    for label, key, unit in ROWS:
        ours = figures.median(f"gitsync {key}")
        if compared:
            theirs = figures.median(f"git-sync {key}")
            ratio = f"{ours / theirs:.2f}x" if theirs else "-"
            print(f"| {label} | {ours:.3f} {unit} | {theirs:.3f} {unit} | {ratio} |")
        else:
            print(f"| {label} | {ours:.3f} {unit} | - | - |")


async def main(binary: Path | None, quick: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="gitsync-bench-"))
    served = work / "served"
    served.mkdir()
    port = free_port()
    daemon = await asyncio.create_subprocess_exec(
        "git",
        "daemon",
        "--reuseaddr",
        "--export-all",
        f"--base-path={served}",
        "--listen=127.0.0.1",
        f"--port={port}",
        str(served),
        stderr=subprocess.DEVNULL,
    )
    try:
        await asyncio.sleep(0.5)
        await run_all(work, port, binary, quick)
    finally:
        daemon.terminate()
        await daemon.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--git-sync", type=Path, help="a git-sync v4 binary to compare with")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter idle")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.git_sync, arguments.quick))
    sys.exit(0)
