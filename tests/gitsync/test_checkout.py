"""What ends up in a tree: submodules and sparse checkout."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sidecars.gitsync.metrics import GitSyncStats
from sidecars.gitsync.repository import Repository
from sidecars.testing import HelperProcess

from .support import GitDaemon, Upstream, base_env, git, make_upstream, published, until


@pytest.mark.parametrize("mode", ["recursive", "shallow", "off"])
async def test_submodules(tmp_path: Path, daemon: GitDaemon, served: Path, mode: str) -> None:
    inner = make_upstream(served, "inner", {"inner.txt": "inner\n"})
    middle = make_upstream(served, "middle", {"middle.txt": "middle v1\n"})
    git("submodule", "add", "-q", daemon.url(inner), "deep", cwd=middle.work)
    middle.commit({}, "add inner")
    middle.push()
    top = make_upstream(served, "top", {"top.txt": "top\n"})
    git("submodule", "add", "-q", daemon.url(middle), "sub", cwd=top.work)
    top.commit({}, "add middle")
    top.push()

    root = tmp_path / "root"
    env = base_env(root, daemon.url(top), submodules=mode)
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        tree = root / "current"
        assert (tree / "top.txt").is_file()
        assert (tree / "sub" / "middle.txt").is_file() == (mode != "off")
        assert (tree / "sub" / "deep" / "inner.txt").is_file() == (mode == "recursive")
        if mode == "off":
            return

        middle.commit({"middle.txt": "middle v2\n"})
        middle.push()
        git("submodule", "update", "-q", "--remote", "sub", cwd=top.work)
        head = top.commit({}, "bump sub")
        top.push()
        await until(lambda: published(root) == head, what="the bumped submodule")
        assert (root / "current" / "sub" / "middle.txt").read_text() == "middle v2\n"
        old = root / ".gitsync" / "trees" / top.head()
        assert old.is_dir()


async def test_sparse_checkout(tmp_path: Path, served: Path) -> None:
    upstream = make_upstream(
        served, "sparse", {"docs/a.md": "a\n", "docs/b.md": "b\n", "src/x.py": "x\n", "top": "t\n"}
    )
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), sparse_checkout="/docs/")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        tree = root / "current"
        assert sorted(p.name for p in tree.iterdir()) == [".git", "docs"]
        head = upstream.commit({"docs/c.md": "c\n", "src/y.py": "y\n", "docs/a.md": None})
        upstream.push()
        await until(lambda: published(root) == head, what="the next commit")
        assert sorted(p.name for p in (root / "current").iterdir()) == [".git", "docs"]
        assert sorted(p.name for p in (root / "current" / "docs").iterdir()) == ["b.md", "c.md"]


async def test_relative_submodule_urls(tmp_path: Path, daemon: GitDaemon, served: Path) -> None:
    make_upstream(served, "inner", {"inner.txt": "inner\n"})
    top = make_upstream(served, "top", {"top.txt": "top\n"})
    git("submodule", "add", "-q", "../inner.git", "sub", cwd=top.work)
    top.commit({}, "add inner by a relative URL")
    top.push()
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, daemon.url(top))) as proc:
        await proc.wait_ready()
        assert (root / "current" / "sub" / "inner.txt").read_text() == "inner\n"


async def test_a_removed_submodule_leaves_nothing(
    tmp_path: Path, daemon: GitDaemon, served: Path
) -> None:
    inner = make_upstream(served, "inner", {"inner.txt": "inner\n"})
    top = make_upstream(served, "top", {"top.txt": "top\n"})
    git("submodule", "add", "-q", daemon.url(inner), "sub", cwd=top.work)
    first = top.commit({}, "add inner")
    top.push()
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, daemon.url(top))) as proc:
        await proc.wait_ready()
        assert (root / "current" / "sub" / "inner.txt").is_file()
        await until((root / ".gitsync" / "spare" / f"{first}.index").exists, what="the spare")
        git("rm", "-q", "sub", cwd=top.work)
        head = top.commit({}, "remove inner")
        top.push()
        await until(lambda: published(root) == head, what="the commit without the submodule")
        assert sorted(p.name for p in (root / "current").iterdir()) == [
            ".git",
            ".gitmodules",
            "top.txt",
        ]


async def test_what_readers_write_never_reaches_a_later_tree(
    tmp_path: Path, upstream: Upstream
) -> None:
    (upstream.work / "link").symlink_to("README")
    first = upstream.commit({"app.py": "print(1)\n"})
    upstream.push()
    root = tmp_path / "root"
    spare = root / ".gitsync" / "spare"
    async with HelperProcess("gitsync", base_env(root, upstream.url())) as proc:
        await proc.wait_ready()
        assert published(root) == first
        current = root / "current"
        (current / "README").write_text("edited by a reader\n")
        (current / "__pycache__").mkdir()
        (current / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
        (current / "notes.txt").write_text("mine\n")
        await until((spare / f"{first}.index").exists, what="the spare")
        second = upstream.commit({"app.py": "print(2)\n"})
        upstream.push()
        await until(lambda: published(root) == second, what="the second commit")
        assert sorted(p.name for p in current.iterdir()) == [".git", "README", "app.py", "link"]
        assert (current / "README").read_text() == "v1\n"

        # a tree that does not equal its commit is never published, even from the spare
        await until((spare / f"{second}.index").exists, what="the next spare")
        (spare / second / "README").write_text("damaged\n")
        (spare / second / "stray").write_text("x\n")
        os.chmod(spare / second / "app.py", 0o755)
        (spare / second / "link").unlink()
        (spare / second / "link").symlink_to("app.py")
        third = upstream.commit({"app.py": "print(3)\n"})
        upstream.push()
        await until(lambda: published(root) == third, what="the third commit")
        assert sorted(p.name for p in current.iterdir()) == [".git", "README", "app.py", "link"]
        assert (current / "README").read_text() == "v1\n"
        assert not os.access(current / "app.py", os.X_OK)
        assert os.readlink(current / "link") == "README"
        assert any(e.get("msg") == "the spare tree did not work" for e in proc.logs)


def test_the_origin_url_on_disk_has_no_password(tmp_path: Path) -> None:
    url = "https://robot:t0ken@git.example.invalid/org/repo.git"
    repo = Repository(tmp_path / "repo.git", url, {}, 1, GitSyncStats())
    repo.ensure(time.monotonic() + 30)
    config = (tmp_path / "repo.git" / "config").read_text()
    assert "url = https://robot@git.example.invalid/org/repo.git" in config
    assert "t0ken" not in config
