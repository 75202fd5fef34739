"""Submodules through a repository's life: added, moved on, nested, removed; their depth;
their own credentials."""

from __future__ import annotations

import json
from pathlib import Path

from sidecars.testing import HelperProcess

from ..servers import PASSWORD, USER, start_http
from ..support import GitDaemon, base_env, git, make_upstream, published, until
from .common import depth, run_once


def _files(tree: Path) -> set[str]:
    return {
        str(path.relative_to(tree))
        for path in tree.rglob("*")
        if path.is_file() and path.name != ".git" and ".git" not in path.parts
    }


async def test_a_submodule_added_moved_on_nested_and_removed(
    tmp_path: Path, daemon: GitDaemon, served: Path
) -> None:
    top = make_upstream(served, "top", {"file": "top\n"})
    sub = make_upstream(served, "sub", {"sub.txt": "sub 1\n"})
    nested = make_upstream(served, "nested", {"nested.txt": "nested\n"})
    root = tmp_path / "root"
    tree = root / "current"

    async def publish(what: str) -> None:
        top.push()
        head = top.head()
        await until(lambda: published(root) == head, what=what)

    async with HelperProcess("gitsync", base_env(root, daemon.url(top))) as proc:
        await proc.wait_ready()
        git("submodule", "add", "-q", daemon.url(sub), "sub", cwd=top.work)
        top.commit({}, "add sub")
        await publish("the added submodule")
        assert _files(tree) == {"file", ".gitmodules", "sub/sub.txt"}

        sub.commit({"sub.txt": "sub 2\n"})
        sub.push()
        git("submodule", "update", "-q", "--remote", "sub", cwd=top.work)
        top.commit({}, "move sub on")
        await publish("the submodule moved on")
        assert (tree / "sub" / "sub.txt").read_text() == "sub 2\n"

        git("submodule", "add", "-q", daemon.url(nested), "nested", cwd=sub.work)
        sub.commit({}, "add nested")
        sub.push()
        git("submodule", "update", "-q", "--remote", "sub", cwd=top.work)
        top.commit({}, "nested")
        await publish("the nested submodule")
        assert _files(tree) == {
            "file",
            ".gitmodules",
            "sub/sub.txt",
            "sub/.gitmodules",
            "sub/nested/nested.txt",
        }

        git("rm", "-q", "nested", cwd=sub.work)
        sub.commit({}, "remove nested")
        sub.push()
        git("submodule", "update", "-q", "--remote", "sub", cwd=top.work)
        top.commit({}, "without nested")
        await publish("the nested submodule removed")
        assert _files(tree) == {"file", ".gitmodules", "sub/sub.txt", "sub/.gitmodules"}
        assert not (tree / "sub" / "nested").exists()

        git("rm", "-q", "sub", cwd=top.work)
        top.commit({}, "remove sub")
        await publish("the submodule removed")
        assert _files(tree) - {".gitmodules"} == {"file"}
        assert not (tree / "sub").exists()


async def test_submodules_fetched_with_the_same_depth(
    tmp_path: Path, daemon: GitDaemon, served: Path
) -> None:
    sub = make_upstream(served, "sub", {"sub.txt": "1\n"})
    for number in range(3):
        sub.commit({"sub.txt": f"{number}\n"})
    sub.push()
    top = make_upstream(served, "top", {"file": "1\n"})
    git("submodule", "add", "-q", daemon.url(sub), "sub", cwd=top.work)
    for number in range(3):
        top.commit({"file": f"{number}\n"})
    top.push()
    root = tmp_path / "root"
    for setting, expected in (("1", 1), ("2", 2)):
        done = await run_once(base_env(root / setting, daemon.url(top), depth=setting))
        assert done.returncode == 0, done.stderr
        assert depth(root / setting) == expected
        assert len(git("rev-list", "HEAD", cwd=root / setting / "current" / "sub").split()) == (
            expected
        )


async def test_a_submodule_on_another_server_with_its_own_password(
    tmp_path: Path, served: Path
) -> None:
    """GITSYNC_CREDENTIAL gives each URL its credentials: the repository and its
    submodule sit behind two HTTP servers with different passwords."""
    top = make_upstream(served, "top", {"file": "top\n"})
    sub = make_upstream(served, "sub", {"sub.txt": "sub\n"})
    top_url, stop_top = await start_http(served, {PASSWORD})
    sub_url, stop_sub = await start_http(served, {"other-password"})
    try:
        git("submodule", "add", "-q", sub.url(), "sub", cwd=top.work)
        git("config", "-f", ".gitmodules", "submodule.sub.url", f"{sub_url}/sub.git", cwd=top.work)
        top.commit({}, "add sub")
        top.push()
        credentials = [
            {"url": top_url, "username": USER, "password": PASSWORD},
            {"url": sub_url, "username": USER, "password": "other-password"},
        ]
        root = tmp_path / "root"
        env = base_env(root, f"{top_url}/top.git", credential=json.dumps(credentials))
        done = await run_once(env)
        assert done.returncode == 0, done.stderr
        assert (root / "current" / "sub" / "sub.txt").read_text() == "sub\n"
        assert "other-password" not in done.stderr
    finally:
        await stop_top()
        await stop_sub()
