"""Authenticated remotes: ssh with a key and strict host checking, smart HTTP with a password."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from aiohttp import web

from sidecars.testing import HelperProcess

from .servers import PASSWORD, USER, Sshd
from .support import GitDaemon, Upstream, base_env, make_upstream, one_shot, published, until


async def test_ssh_with_key_and_known_hosts(tmp_path: Path, sshd: Sshd, upstream: Upstream) -> None:
    root = tmp_path / "root"
    env = base_env(
        root,
        sshd.url(upstream),
        ssh_key_file=str(sshd.key),
        ssh_known_hosts_file=str(sshd.known_hosts),
    )
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert published(root) == upstream.head()
        head = upstream.commit({"README": "v2\n"})
        upstream.push()
        await until(lambda: published(root) == head, what="a commit over ssh")


@pytest.mark.parametrize("separator", [",", ":"])
def test_several_ssh_keys_are_offered_in_turn(
    tmp_path: Path, sshd: Sshd, upstream: Upstream, separator: str
) -> None:
    """GITSYNC_SSH_KEY_FILE lists keys (git-sync splits on ':', like PATH; we also take
    ','): the first one is not authorized, the second is."""
    env = base_env(
        tmp_path / "root",
        sshd.url(upstream),
        ssh_key_file=f"{sshd.other_key}{separator}{sshd.key}",
        ssh_known_hosts_file=str(sshd.known_hosts),
        one_time="true",
        init_timeout="5s",
        admin_addr="",
    )
    done = subprocess.run(
        [sys.executable, "-m", "sidecars", "gitsync"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert published(tmp_path / "root") == upstream.head()


def test_ssh_refuses_an_unknown_host_key_unless_told_not_to_check(
    tmp_path: Path, sshd: Sshd, upstream: Upstream
) -> None:
    env = base_env(
        tmp_path / "root",
        sshd.url(upstream),
        ssh_key_file=str(sshd.key),
        ssh_known_hosts_file=str(sshd.wrong_known_hosts),
        one_time="true",
        init_timeout="1s",
        admin_addr="",
    )
    done = subprocess.run(
        [sys.executable, "-m", "sidecars", "gitsync"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Host key verification failed" in done.stderr

    env["GITSYNC_SSH_KNOWN_HOSTS"] = "false"  # git-sync's name and meaning
    done = subprocess.run(
        [sys.executable, "-m", "sidecars", "gitsync"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert published(tmp_path / "root") == upstream.head()


async def test_http_basic_auth_with_a_password_file(
    tmp_path: Path, upstream: Upstream, http_url: str
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    root = tmp_path / "root"
    url = f"{http_url}/{upstream.bare.name}"
    env = base_env(root, url, username=USER, password_file=str(password_file))
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert published(root) == upstream.head()
        head = upstream.commit({"README": "v2\n"})
        upstream.push()
        await until(lambda: published(root) == head, what="a commit over http")
        assert PASSWORD not in proc.stderr()

    env = base_env(tmp_path / "denied", url, username=USER, password="wrong", init_timeout="0")
    async with HelperProcess("gitsync", env) as proc:
        failed = await proc.wait_log(lambda e: e.get("msg") == "sync failed")
        assert "Authentication failed" in failed["error"] or "401" in failed["error"]
        assert "wrong" not in proc.stderr()


async def test_a_rotated_password_file_is_read_again(
    tmp_path: Path, upstream: Upstream, http_url: str, passwords: set[str]
) -> None:
    """As git-sync: GITSYNC_PASSWORD_FILE is read again for each sync (rotated tokens)."""
    password_file = tmp_path / "password"
    password_file.write_text("token-1\n")
    passwords.clear()
    passwords.add("token-1")
    root = tmp_path / "root"
    url = f"{http_url}/{upstream.bare.name}"
    env = base_env(root, url, username=USER, password_file=str(password_file))
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        passwords.clear()
        passwords.add("token-2")  # the old token stops working...
        tmp = tmp_path / "password.new"
        tmp.write_text("token-2\n")
        os.replace(tmp, password_file)  # ...and the mounted Secret changes
        head = upstream.commit({"README": "v2\n"})
        upstream.push()
        await until(lambda: published(root) == head, what="a commit with the new token")
        assert "token-2" not in proc.stderr()


async def test_per_url_credentials_as_in_git_sync(
    tmp_path: Path, upstream: Upstream, http_url: str
) -> None:
    """GITSYNC_CREDENTIAL: a JSON object or list of them, each for the URLs it names."""
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    url = f"{http_url}/{upstream.bare.name}"
    for credential in (
        {"url": http_url, "username": USER, "password": PASSWORD},
        [
            {"url": "http://other.invalid", "username": "x", "password": "y"},
            {"url": url, "username": USER, "password-file": str(password_file)},
        ],
    ):
        root = tmp_path / f"root{len(str(credential))}"
        env = base_env(root, url, credential=json.dumps(credential), init_timeout="5s")
        done = await asyncio.to_thread(one_shot, env)
        assert done.returncode == 0, done.stderr
        assert published(root) == upstream.head()
        assert PASSWORD not in done.stderr


async def test_askpass_url_gives_the_credentials(
    tmp_path: Path, upstream: Upstream, http_url: str
) -> None:
    """GITSYNC_ASKPASS_URL: asked before each sync, answers key=value lines."""
    asked: list[int] = []

    async def answer(request: web.Request) -> web.Response:
        asked.append(1)
        return web.Response(text=f"username={USER}\npassword={PASSWORD}\n")

    app = web.Application()
    app.router.add_get("/creds", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    askpass = f"http://127.0.0.1:{runner.addresses[0][1]}/creds"
    root = tmp_path / "root"
    url = f"{http_url}/{upstream.bare.name}"
    try:
        env = base_env(root, url, askpass_url=askpass, one_time="true", admin_addr="")
        env["GITSYNC_INIT_TIMEOUT"] = "5s"
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "sidecars", "gitsync"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert published(root) == upstream.head()
        assert asked
    finally:
        await runner.cleanup()


def test_any_uid_without_a_passwd_entry_or_writable_home(
    daemon: GitDaemon, upstream: Upstream, sshd: Sshd
) -> None:
    """The OpenShift case: a random UID without a passwd entry, HOME unusable.
    CAP_DAC_READ_SEARCH only lets that UID start the interpreter kept under /root; it
    grants no write access anywhere, and access(2) ignores it."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to switch to an unknown UID")
    public = Path(tempfile.mkdtemp(prefix="gitsync-uid-"))
    try:
        public.chmod(0o755)
        root = public / "root"
        root.mkdir()
        os.chown(root, 54321, 54321)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": "/nonexistent",
            **base_env(root, daemon.url(upstream), one_time="true", init_timeout="5s"),
            "GITSYNC_ADMIN_ADDR": "",
        }
        caps = "+dac_read_search"
        argv = ["setpriv", "--reuid=54321", "--regid=54321", "--clear-groups"]
        argv += [f"--inh-caps={caps}", f"--ambient-caps={caps}"]

        def as_that_uid(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
            command = [*argv, sys.executable, "-m", "sidecars", "gitsync"]
            return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

        done = as_that_uid(env)
        assert done.returncode == 0, done.stderr
        assert published(root) == upstream.head()
        assert (root / "current" / "README").stat().st_uid == 54321

        # a file:// remote owned by another UID: git's ownership check must not refuse it
        theirs = make_upstream(public, "theirs")
        env["GITSYNC_REPO"] = theirs.url()
        env["GITSYNC_LINK"] = "theirs"
        done = as_that_uid(env)
        assert done.returncode == 0, done.stderr
        assert published(root, "theirs") == theirs.head()

        # ssh refuses a UID with no passwd entry unless nss_wrapper lends it one
        key = public / "key"
        shutil.copy(sshd.key, key)
        os.chown(key, 54321, 54321)
        key.chmod(0o600)
        env["GITSYNC_REPO"] = sshd.url(upstream)
        env["GITSYNC_LINK"] = "over-ssh"
        env["GITSYNC_SSH_KEY_FILE"] = str(key)
        env["GITSYNC_SSH_KNOWN_HOSTS_FILE"] = str(sshd.known_hosts)
        done = as_that_uid(env)
        assert done.returncode == 0, done.stderr
        assert published(root, "over-ssh") == upstream.head()
    finally:
        shutil.rmtree(public, ignore_errors=True)
