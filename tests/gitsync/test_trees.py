"""Atomic publish, retention of replaced trees, and recovery after kill -9."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from sidecars.testing import HelperProcess

from .support import (
    GitDaemon,
    Upstream,
    base_env,
    git,
    logged,
    make_upstream,
    published,
    publishes,
    until,
)

FILES = 20


def _version(number: int) -> dict[str, str | None]:
    return {f"f{i:02}.txt": f"version {number}\n" for i in range(FILES)}


class Reader(threading.Thread):
    """Reads every file of the published tree through one directory handle, over and over,
    and records any mix of versions or incomplete tree it sees."""

    def __init__(self, link: Path) -> None:
        super().__init__(daemon=True)
        self.link = link
        self.stop = threading.Event()
        self.problems: list[str] = []
        self.versions: set[str] = set()
        self.reads = 0

    def run(self) -> None:
        while not self.stop.is_set() and self.reads < 1_000_000:
            try:
                fd = os.open(self.link, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                self.problems.append("the link was missing")
                continue
            try:
                names = sorted(n for n in os.listdir(fd) if n.endswith(".txt"))
                seen = set()
                for name in names:
                    with open(os.open(name, os.O_RDONLY, dir_fd=fd)) as handle:
                        seen.add(handle.read())
            finally:
                os.close(fd)
            self.reads += 1
            if len(names) != FILES or len(seen) != 1:
                self.problems.append(f"{len(names)} files, versions {sorted(seen)}")
            else:
                self.versions.update(seen)


def _differs(path: Path, text: str) -> Callable[[], bool]:
    """A check for ``until``, bound to this ``path`` rather than a loop's latest."""
    return lambda: path.read_text() != text


async def test_readers_never_see_a_mix_of_two_commits(
    tmp_path: Path, daemon: GitDaemon, served: Path
) -> None:
    upstream = make_upstream(served, "atomic", _version(0))
    root = tmp_path / "root"
    env = base_env(root, daemon.url(upstream), period="50ms")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        reader = Reader(root / "current")
        reader.start()
        try:
            for number in range(1, 16):
                head = upstream.commit(_version(number))
                upstream.push()
                if number % 3 == 0:
                    await until(publishes(root, head), what=f"version {number}")
            await until(lambda: published(root) == head, what="the last version")
            await until(lambda: len(reader.versions) > 3 and reader.reads > 50, what="reads")
        finally:
            reader.stop.set()
            reader.join(10)
        assert reader.problems == []
        assert (root / "current" / "f00.txt").read_text() == "version 15\n"


async def test_replaced_trees_are_kept_for_the_grace_period_and_capped(
    tmp_path: Path, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    trees = root / ".gitsync" / "trees"
    env = base_env(root, upstream.url(), grace_period="1h", max_old_trees="1")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        first = upstream.head()
        second = upstream.commit({"README": "v2\n"})
        upstream.push()
        await until(lambda: published(root) == second, what="second")
        assert (trees / first / "README").read_text() == "v1\n"
        third = upstream.commit({"README": "v3\n"})
        upstream.push()
        await until(lambda: published(root) == third, what="third")
        await until(lambda: not (trees / first).exists(), what="cap of one old tree")
        assert (trees / second / "README").read_text() == "v2\n"
        assert sorted(p.name for p in trees.iterdir()) == sorted([second, third])

    env = base_env(root, upstream.url(), grace_period="300ms", max_old_trees="5")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        await until(lambda: not (trees / second).exists(), what="grace period over")
        assert [p.name for p in trees.iterdir()] == [third]
        assert not (root / ".gitsync" / "index" / second).exists()


def _plant_crash_leftovers(root: Path) -> list[Path]:
    """What a kill -9 can leave at each step: mid-fetch locks, a half-made tree and
    index, a half-made spare, a new link made but not yet renamed."""
    state = root / ".gitsync"
    fake = "0" * 40
    (state / "trees" / fake / "half").mkdir(parents=True)
    (state / "index" / f"{fake}.tmp").write_text("partial")
    (state / "index" / f"{fake}.tmp.lock").write_text("partial")
    (state / "spare" / f".tmp-{fake}").mkdir(parents=True, exist_ok=True)
    (state / "repo.git" / "shallow.lock").write_text("")
    (state / "repo.git" / "refs" / "sidecars" / "fetched.lock").write_text("")
    (state / "repo.git" / "objects" / "pack" / "tmp_pack_XYZ").write_text("")
    os.symlink(".gitsync/trees/" + fake, root / ".current.tmp")
    return [
        state / "trees" / fake,
        state / "index" / f"{fake}.tmp",
        state / "index" / f"{fake}.tmp.lock",
        state / "spare" / f".tmp-{fake}",
        state / "repo.git" / "shallow.lock",
        state / "repo.git" / "refs" / "sidecars" / "fetched.lock",
        state / "repo.git" / "objects" / "pack" / "tmp_pack_XYZ",
        root / ".current.tmp",
    ]


def _still_there(paths: list[Path]) -> list[str]:
    return [str(p) for p in paths if os.path.lexists(p)]


async def test_restart_cleans_what_a_crash_left_behind(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "root"
    env = base_env(root, upstream.url())
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        proc.send(signal.SIGKILL)
        await proc.wait()
    leftovers = _plant_crash_leftovers(root)
    newer = upstream.commit({"README": "v2\n"})
    upstream.push()
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        await until(lambda: published(root) == newer, what="publish after the crash")
        assert _still_there(leftovers) == []
        assert (root / "current" / "README").read_text() == "v2\n"


async def test_kill_9_at_every_step_then_restart(tmp_path: Path, upstream: Upstream) -> None:
    files: dict[str, str | None] = {f"dir{i % 10}/file{i}.txt": f"{i}\n" * 50 for i in range(300)}
    upstream.commit(files)
    upstream.push()
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), period="20ms")
    steps = ["fetching", "building tree", "published", "fetching", "building tree"]
    for number, step in enumerate(steps):
        async with HelperProcess("gitsync", env) as proc:
            head = upstream.commit({"dir0/file0.txt": f"round {number}\n", f"new{number}": "x\n"})
            upstream.push()
            await proc.wait_log(logged(step), timeout=20)
            proc.send(signal.SIGKILL)
            await proc.wait()
    final = upstream.commit({"dir0/file0.txt": "final\n"})
    upstream.push()
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        await until(lambda: published(root) == final, what="publish after the crashes")
        listing = git("ls-tree", "-r", "--name-only", final, cwd=upstream.work).splitlines()
        on_disk = sorted(
            str(p.relative_to(root / "current"))
            for p in (root / "current").rglob("*")
            if p.is_file() and p.name != ".git"  # the readers' pointer to git
        )
        assert on_disk == sorted(listing)
        assert (root / "current" / "dir0" / "file0.txt").read_text() == "final\n"
        assert head != final


async def test_a_corrupt_repository_is_replaced(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), max_backoff="200ms")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
    repo = root / ".gitsync" / "repo.git"
    (repo / "shallow").write_text("garbage\n")
    (repo / "refs" / "sidecars" / "fetched").write_text("garbage\n")
    newer = upstream.commit({"README": "v2\n"})
    upstream.push()
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        await until(lambda: published(root) == newer, what="publish from a new repository")
        assert (root / "current" / "README").read_text() == "v2\n"
        assert any(e.get("msg", "").startswith("fetch keeps failing") for e in proc.logs)


async def test_the_link_may_be_a_path_relative_to_the_root_or_absolute(
    tmp_path: Path, upstream: Upstream
) -> None:
    """As git-sync's --link: a path, relative to the root or absolute; the symlink's
    target stays relative, so the volume may be mounted anywhere."""
    root = tmp_path / "root"
    outside = tmp_path / "www" / "site"
    for link, shown in (("sub/dir/html", root / "sub" / "dir" / "html"), (str(outside), outside)):
        env = base_env(root, upstream.url(), link=link)
        async with HelperProcess("gitsync", env) as proc:
            await proc.wait_ready()
            assert (shown / "README").read_text() == "v1\n"
            assert not os.readlink(shown).startswith("/")
            head = upstream.commit({"README": f"for {link}\n"})
            upstream.push()
            await until(_differs(shown / "README", "v1\n"), what="a new tree")
            assert published(shown.parent, shown.name) == head
        async with HelperProcess("gitsync", env) as proc:  # a restart adopts that link
            await proc.wait_ready()
            assert any(e.get("msg") == "found a published tree" for e in proc.logs)
        upstream.commit({"README": "v1\n"})
        upstream.push()


async def test_readers_can_ask_git_about_the_published_tree(
    tmp_path: Path, upstream: Upstream
) -> None:
    """As in git-sync's worktrees: ``git rev-parse HEAD``, ``git log`` and a clean
    ``git status`` inside the published tree, through a ``.git`` file with relative paths."""
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, upstream.url())) as proc:
        await proc.wait_ready()
        current = root / "current"
        assert git("rev-parse", "HEAD", cwd=current) == upstream.head()
        assert git("log", "-1", "--format=%s", cwd=current) == "first"
        assert git("status", "--porcelain", cwd=current) == ""
        head = upstream.commit({"README": "v2\n"}, "second")
        upstream.push()
        await until(lambda: published(root) == head, what="the second commit")
        assert git("rev-parse", "HEAD", cwd=current) == head
        assert git("log", "-1", "--format=%s", cwd=current) == "second"
        assert (current / ".git").read_text().startswith("gitdir: ../../worktrees/")
    moved = tmp_path / "elsewhere"  # relative paths: the volume mounted somewhere else
    root.rename(moved)
    assert git("rev-parse", "HEAD", cwd=moved / "current") == head
