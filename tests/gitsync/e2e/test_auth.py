"""Credentials as git-sync takes them: a password, one in the URL, an askpass URL that is
sometimes wrong, ssh with a scp-like URL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from sidecars.testing import HelperProcess

from ..servers import PASSWORD, USER, Sshd
from ..support import Upstream, base_env, published, until
from .common import matches, run_once


async def test_password_in_a_variable_wrong_then_right(
    tmp_path: Path, upstream: Upstream, http_url: str
) -> None:
    url = f"{http_url}/{upstream.bare.name}"
    env = base_env(tmp_path / "root", url, username=USER, password="wrong", init_timeout="1s")
    done = await run_once(env)
    assert done.returncode == 1
    assert "wrong" not in done.stderr
    env["GITSYNC_PASSWORD"] = PASSWORD
    done = await run_once(env)
    assert done.returncode == 0, done.stderr
    assert matches(tmp_path / "root", upstream.head())


async def test_password_in_the_url(tmp_path: Path, upstream: Upstream, http_url: str) -> None:
    """The password is used but never written to disk or the log."""
    url = http_url.replace("http://", f"http://{USER}:{PASSWORD}@") + f"/{upstream.bare.name}"
    root = tmp_path / "root"
    done = await run_once(base_env(root, url))
    assert done.returncode == 0, done.stderr
    assert matches(root, upstream.head())
    assert PASSWORD not in done.stderr
    config = (root / ".gitsync" / "repo.git" / "config").read_text()
    assert PASSWORD not in config


@pytest.fixture
async def flaky_askpass() -> AsyncIterator[tuple[str, list[str]]]:
    """An askpass endpoint answering from a list: wrong, an error, right."""
    answers: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        text = answers.pop(0) if len(answers) > 1 else answers[0]
        if text == "error":
            return web.Response(status=503)
        return web.Response(text=f"username={USER}\npassword={text}\n")

    app = web.Application()
    app.router.add_get("/creds", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/creds", answers
    await runner.cleanup()


async def test_askpass_url_wrong_then_failing_then_right(
    tmp_path: Path,
    upstream: Upstream,
    http_url: str,
    flaky_askpass: tuple[str, list[str]],
) -> None:
    askpass, answers = flaky_askpass
    answers += ["wrong", "error", "wrong", PASSWORD]
    root = tmp_path / "root"
    url = f"{http_url}/{upstream.bare.name}"
    env = base_env(root, url, askpass_url=askpass, max_backoff="200ms")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert await proc.sample("gitsync_syncs_total", outcome="error") == 3
        head = upstream.commit({"README": "v2\n"})
        upstream.push()
        await until(lambda: published(root) == head, what="a commit with askpass credentials")
        assert PASSWORD not in proc.stderr()


async def test_ssh_with_a_scp_like_url(tmp_path: Path, upstream: Upstream, sshd: Sshd) -> None:
    """``user@host:path``, ssh's own form, has no port: a wrapper named ssh on PATH
    adds the test server's."""
    wrapper = tmp_path / "bin" / "ssh"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -p {sshd.port} "$@"\n')
    wrapper.chmod(0o755)
    env = base_env(
        tmp_path / "root",
        f"root@127.0.0.1:{upstream.bare}",
        ssh_key_file=str(sshd.key),
        ssh_known_hosts_file=str(sshd.known_hosts),
    )
    env["PATH"] = f"{wrapper.parent}:{os.environ['PATH']}"
    done = await run_once(env)
    assert done.returncode == 0, done.stderr
    assert matches(tmp_path / "root", upstream.head())
