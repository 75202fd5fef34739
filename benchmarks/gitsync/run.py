"""gitsync against plain git on the same repositories, in one run.

    .venv/bin/python benchmarks/gitsync/run.py [--quick]

Serves a small repository and a 5,000-file / 50 MB one from `git daemon` on 127.0.0.1 and
reports, next to `git clone --depth 1` and `git fetch` of the same repositories:
push-to-visible latency with `POST /sync` and with a 1 s period, a one-file change in the
big repository, the cost of a no-change poll, idle CPU at a 1 s period, idle and peak RSS.
Absolute times depend on the machine and its load; compare the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
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


def timed(*args: str, cwd: Path | None = None) -> float:
    started = time.perf_counter()
    git(*args, cwd=cwd)
    return time.perf_counter() - started


class Upstream:
    def __init__(self, base: Path, name: str) -> None:
        self.bare, self.work = base / f"{name}.git", base / f"{name}-work"
        git("init", "-q", "--bare", str(self.bare))
        git("clone", "-q", str(self.bare), str(self.work))
        self.number = 0

    def change(self, name: str = "changing.txt") -> str:
        self.number += 1
        (self.work / name).write_text(f"change {self.number}\n")
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


async def visible(root: Path, commit: str, timeout: float = 30.0) -> float:
    """Seconds until the link shows ``commit`` (polled every millisecond)."""
    started = time.perf_counter()
    while published(root) != commit:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(commit)
        await asyncio.sleep(0.001)
    return time.perf_counter() - started


def stats(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):.3f} s, p90 {p90:.3f} s (n={len(ordered)})"


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


def anon_rss(pid: int) -> int:
    """Resident memory that is not file-backed (mapped files count in RSS but are page cache)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system time of the process and of its reaped children (the git processes)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


class PeakSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.peak_anon = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            pids = tree_pids(self.pid)
            self.peak = max(self.peak, sum(rss(p) for p in pids))
            self.peak_anon = max(self.peak_anon, sum(anon_rss(p) for p in pids))
            time.sleep(0.005)


def helper_env(root: Path, url: str, **extra: str) -> dict[str, str]:
    env = {
        "GITSYNC_REPO": url,
        "GITSYNC_ROOT": str(root),
        "GITSYNC_LOG_LEVEL": "info",
        "GITSYNC_TRIGGER_SECRET": SECRET,
        "GITSYNC_GRACE_PERIOD": "5s",
    }
    env.update({f"GITSYNC_{k.upper()}": v for k, v in extra.items()})
    return env


async def trigger(proc: HelperProcess) -> None:
    status, _ = await proc.request("POST", "/sync", headers={"Authorization": f"Bearer {SECRET}"})
    assert status == 202


async def spare_ready(root: Path, commit: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not (root / ".gitsync" / "spare" / f"{commit}.index").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("spare")
        await asyncio.sleep(0.01)


async def main(quick: bool) -> None:
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
        await run_all(work, served, port, quick)
    finally:
        daemon.terminate()
        await daemon.wait()
        shutil.rmtree(work, ignore_errors=True)


async def run_all(work: Path, served: Path, port: int, quick: bool) -> None:
    rounds = 10 if quick else 30
    small = Upstream(served, "small")
    small.populate(20, 1000)
    big = Upstream(served, "big")
    print("creating the 5,000-file / 50 MB repository ...", flush=True)
    big.populate(5000, 10_000)
    small_url, big_url = f"git://127.0.0.1:{port}/small.git", f"git://127.0.0.1:{port}/big.git"

    print("\n== baselines: plain git on the same repositories ==")
    clone_small = timed("clone", "-q", "--depth", "1", small_url, str(work / "c-small"))
    clone_big = timed("clone", "-q", "--depth", "1", big_url, str(work / "c-big"))
    print(f"git clone --depth 1, small repo: {clone_small:.3f} s")
    print(f"git clone --depth 1, big repo:   {clone_big:.3f} s")
    fetches, checkouts = [], []
    for _ in range(5):
        big.change()
        fetches.append(timed("fetch", "-q", "--depth", "1", "origin", "main", cwd=work / "c-big"))
        checkouts.append(timed("reset", "-q", "--hard", "FETCH_HEAD", cwd=work / "c-big"))
    fetch_big = statistics.median(fetches)
    in_place = statistics.median(f + c for f, c in zip(fetches, checkouts, strict=True))
    print(f"git fetch --depth 1 after a one-file change, big repo: {fetch_big:.3f} s (median)")
    print(f"  + git reset --hard (in place, not atomic):           {in_place:.3f} s (median)")
    noop_fetch = statistics.median(
        timed("fetch", "-q", "--depth", "1", "origin", "main", cwd=work / "c-big") for _ in range(5)
    )
    ls_remote = statistics.median(timed("ls-remote", big_url, "main") for _ in range(10))
    print(f"git fetch with nothing new: {noop_fetch:.3f} s; git ls-remote: {ls_remote:.3f} s")

    print("\n== gitsync, small repo ==")
    root = work / "small-trigger"
    async with HelperProcess("gitsync", helper_env(root, small_url, period="1h")) as proc:
        await proc.wait_ready(60)
        assert proc.process is not None
        idle_rss = rss(proc.process.pid)
        latencies = []
        for _ in range(rounds):
            commit = small.change()
            started = time.perf_counter()
            await trigger(proc)
            await visible(root, commit)
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
    trig = statistics.median(latencies)
    print(f"push-to-visible with POST /sync: {stats(latencies)}")
    print(f"  git-sync v4.7.1 (signal trigger): 0.13-0.14 s median; ratio {trig / 0.135:.2f}")
    print(f"  vs git clone --depth 1 of the same repo: {trig / clone_small:.2f}x its time")

    root = work / "small-period"
    async with HelperProcess("gitsync", helper_env(root, small_url, period="1s")) as proc:
        await proc.wait_ready(60)
        assert proc.process is not None
        latencies = []
        offsets = random.Random(7)
        for _ in range(rounds // 2):
            await asyncio.sleep(offsets.uniform(0.0, 1.0))
            commit = small.change()
            latencies.append(await visible(root, commit))
        print(f"push-to-visible with a 1 s period: {stats(latencies)}")
        print("  git-sync v4.7.1 reference: 0.85-0.95 s median")

        await asyncio.sleep(3)
        pid = proc.process.pid
        before = await proc.metrics()
        cpu_before, wall_before = cpu_seconds(pid), time.perf_counter()
        await asyncio.sleep(10 if quick else 30)
        cpu_after, wall_after = cpu_seconds(pid), time.perf_counter()
        after = await proc.metrics()
        idle_rss_period = rss(pid)

    def total(metrics: dict[str, list[object]], family: str, suffix: str) -> float:
        return sum(s.value for s in metrics[family] if s.name.endswith(suffix))  # type: ignore[attr-defined]

    processes = total(after, "gitsync_git_commands", "_total") - total(
        before, "gitsync_git_commands", "_total"
    )
    polls = total(after, "gitsync_syncs", "_total") - total(before, "gitsync_syncs", "_total")
    poll_time = (
        total(after, "gitsync_sync_duration_seconds", "_sum")
        - total(before, "gitsync_sync_duration_seconds", "_sum")
    ) / max(polls, 1)
    cpu = (cpu_after - cpu_before) / (wall_after - wall_before) * 100
    print(
        f"no-change poll: {processes / max(polls, 1):.2f} git processes, {poll_time:.3f} s each "
        f"({polls:.0f} polls); git-sync v4.7.1: 7 processes, ~0.1 s"
    )
    print(f"idle CPU at a 1 s period (helper + its git children): {cpu:.2f}% of one core")
    print(
        f"idle RSS: {idle_rss / 2**20:.1f} MiB after start, {idle_rss_period / 2**20:.1f} MiB "
        "after polling; git-sync v4.7.1: 12-13 MiB"
    )

    print("\n== gitsync, big repo (5,000 files, 50 MB), one-file change ==")
    for spare in ("true", "false"):
        root = work / f"big-{spare}"
        env = helper_env(root, big_url, period="1h", spare_tree=spare)
        async with HelperProcess("gitsync", env) as proc:
            await proc.wait_ready(300)
            assert proc.process is not None
            sampler = PeakSampler(proc.process.pid)
            sampler.start()
            latencies = []
            for _ in range(5 if quick else 10):
                if spare == "true":
                    await spare_ready(root, published(root))
                else:
                    await asyncio.sleep(1.2)
                commit = big.change()
                started = time.perf_counter()
                await trigger(proc)
                await visible(root, commit)
                latencies.append(time.perf_counter() - started)
            sampler.done.set()
            sampler.join()
            methods = {
                s.labels["method"]: s.value for s in (await proc.metrics())["gitsync_tree_builds"]
            }
        label = "with the spare tree" if spare == "true" else "copy on demand (no spare)"
        median = statistics.median(latencies)
        print(f"{label}: {stats(latencies)}; builds {methods}")
        print(
            f"  vs git fetch + reset --hard in place: {median / in_place:.2f}x; "
            f"vs git clone --depth 1: {median / clone_big:.2f}x; git-sync v4.7.1: 1.4-2.1 s"
        )
        peak, anon = sampler.peak / 2**20, sampler.peak_anon / 2**20
        print(
            f"  peak RSS of the process tree: {peak:.1f} MiB, of which anonymous {anon:.1f} MiB "
            "(git-sync v4.7.1: 70-80 MiB)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter idle")
    asyncio.run(main(parser.parse_args().quick))
    sys.exit(0)
