"""What ends up in a tree: submodules and sparse checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecars.testing import HelperProcess

from .support import GitDaemon, base_env, git, make_upstream, published, until


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
        assert sorted(p.name for p in tree.iterdir()) == ["docs"]
        head = upstream.commit({"docs/c.md": "c\n", "src/y.py": "y\n", "docs/a.md": None})
        upstream.push()
        await until(lambda: published(root) == head, what="the next commit")
        assert sorted(p.name for p in (root / "current").iterdir()) == ["docs"]
        assert sorted(p.name for p in (root / "current" / "docs").iterdir()) == ["b.md", "c.md"]
