"""The smallest working configuration of each built-in helper, with local peers only.

Shared by the start-up import test and ``benchmarks/footprint/run.py``: both start a helper
the way a Pod would, with just what its configuration needs.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPERS = ("ambassador", "gitsync", "injector", "nginxlog", "waitfor")
ONE_SHOT = frozenset({"waitfor"})
_CERT_ARGS = ("--service", "injector", "--namespace", "default", "--out")


@contextlib.contextmanager
def listening() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections (the kernel's backlog answers them)."""
    with socket.create_server(("127.0.0.1", 0), backlog=128) as server:
        yield int(server.getsockname()[1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _git(*args: str, cwd: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(cwd),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)


def minimal_env(helper: str, workdir: Path, target_port: int) -> dict[str, str]:
    """Variables for ``helper`` beyond the admin address; files are made under ``workdir``."""
    if helper == "waitfor":
        return {"WAITFOR_TARGETS": f"tcp://127.0.0.1:{target_port}"}
    if helper == "ambassador":
        return {
            "AMBASSADOR_LISTEN": f"127.0.0.1:{free_port()}",
            "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{target_port}",
        }
    if helper == "nginxlog":
        log = workdir / "access.log"
        log.touch()
        return {"NGINXLOG_FILES": str(log), "NGINXLOG_FORMAT": "combined"}
    if helper == "gitsync":
        repo = workdir / "repo"
        repo.mkdir()
        _git("init", "-q", "-b", "main", cwd=repo)
        (repo / "README").write_text("footprint\n")
        _git("add", "README", cwd=repo)
        _git("commit", "-q", "-m", "one", cwd=repo)
        return {
            "GITSYNC_REPO": repo.as_uri(),
            "GITSYNC_REF": "main",
            "GITSYNC_ROOT": str(workdir / "root"),
        }
    if helper == "injector":
        certs = workdir / "tls"
        subprocess.run(
            [sys.executable, "-m", "sidecars", "injector", "certs", *_CERT_ARGS, str(certs)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return {
            "INJECTOR_TLS_CERT": str(certs / "tls.crt"),
            "INJECTOR_TLS_KEY": str(certs / "tls.key"),
            "INJECTOR_TEMPLATES": str(ROOT / "tests/injector/fixtures/templates-small.yaml"),
            "INJECTOR_LISTEN_ADDR": f"127.0.0.1:{free_port()}",
        }
    raise LookupError(helper)


def prefix(helper: str) -> str:
    return f"{helper.upper()}_"


def base_env(helper: str, admin_port: int) -> dict[str, str]:
    """What every run shares: a clean environment, the admin server on ``admin_port``."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/root"),
        f"{prefix(helper)}ADMIN_ADDR": f"127.0.0.1:{admin_port}",
        f"{prefix(helper)}LOG_LEVEL": "warning",
    }
