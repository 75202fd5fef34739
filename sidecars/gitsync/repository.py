"""The one bare repository under the root: git processes, run off the loop.

Every call here blocks; the helper runs them with ``asyncio.to_thread``. Each git process is
counted by command so that ``/metrics`` shows what a poll really costs. Git is started with
``subprocess`` alone: GitPython, used here before, only wrapped ``Popen`` for these calls and
cost 3.5 MB of resident memory for its import.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import leftovers
from .metrics import GitSyncStats
from .refs import pick

__all__ = ["FETCHED_REF", "GitFailed", "MissingRef", "Repository"]

_DEPTH_FILE = "sidecars-depth"
"""The depth of the last fetch, in the git directory."""

FETCHED_REF = "refs/sidecars/fetched"
"""Points at the last fetched commit: the 'have' of the next shallow fetch, and a gc root."""


class GitFailed(Exception):
    """A git process failed; the message is git's own last words."""


class MissingRef(GitFailed):
    """The remote answered and has no such ref: a one-time run gives up at once."""


class Repository:
    def __init__(
        self,
        git_dir: Path,
        url: str,
        env: Mapping[str, str],
        depth: int,
        stats: GitSyncStats,
        filter_spec: str = "",
    ) -> None:
        self.git_dir = git_dir
        self.url = url
        self.env = dict(env)
        self.depth = depth
        self.filter_spec = filter_spec
        self.stats = stats
        self.running: set[subprocess.Popen[bytes]] = set()
        self._depth_known = False
        self._guard = threading.Lock()
        """Held while a git process starts or leftovers are swept, so neither overlaps."""

    def run(
        self,
        args: Sequence[str],
        *,
        deadline: float,
        work_tree: Path | None = None,
        index: Path | None = None,
        cwd: Path | None = None,
    ) -> str:
        """Run ``git <args>`` on this repository; its stdout, or ``GitFailed``."""
        status, out, err = self._execute(args, deadline, work_tree, index, cwd)
        if status != 0:
            raise GitFailed(_reason(args[0], err, status))
        return out

    def _execute(
        self,
        args: Sequence[str],
        deadline: float,
        work_tree: Path | None,
        index: Path | None,
        cwd: Path | None,
    ) -> tuple[int, str, str]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GitFailed(f"git {args[0]}: sync timeout reached")
        env = {**os.environ, "LANGUAGE": "C", "LC_ALL": "C", **self.env}
        env["GIT_DIR"] = str(self.git_dir)
        if work_tree is not None:
            env["GIT_WORK_TREE"] = str(work_tree)
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        self.stats.git_commands[args[0]] += 1
        with self._guard:
            try:
                process = subprocess.Popen(
                    ["git", *args],
                    env=env,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
            except OSError as exc:
                raise GitFailed(f"cannot run git: {exc}") from None
            self.running.add(process)
        try:
            out, err = process.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill(process)
            process.communicate()
            raise GitFailed(f"git {args[0]}: sync timeout reached") from None
        finally:
            self.running.discard(process)
        text = out.decode(errors="replace").rstrip("\n")
        return process.returncode, text, err.decode(errors="replace")

    def sweep(self, flat: Sequence[Path]) -> list[str]:
        """Remove what killed git processes left (locks, temporary objects) in the git
        directory and in ``flat`` (index directories); nothing while one of ours runs."""
        with self._guard:
            if self.running:
                return []
            return leftovers.sweep(self.git_dir, flat)

    def kill(self) -> None:
        """Stop every running git process (and its ssh or helper children) at once."""
        for process in list(self.running):
            _kill(process)

    def ensure(self, deadline: float) -> None:
        """Create the bare repository unless a usable one is there."""
        if not (self.git_dir / "HEAD").is_file() or not (self.git_dir / "objects").is_dir():
            if self.git_dir.exists():
                shutil.rmtree(self.git_dir)
            self.git_dir.parent.mkdir(parents=True, exist_ok=True)
            self.run(["init", "--bare", "--quiet", str(self.git_dir)], deadline=deadline)
        self.remember_url(deadline)

    def remember_url(self, deadline: float) -> None:
        """Record the URL as ``origin``: git resolves a relative submodule URL (``../sub``)
        against the default remote's URL, and without one against the local directory.
        It goes in the repository's config file, not the environment, which submodule
        clones inherit and would then fetch from the superproject's URL."""
        url = _without_password(self.url)
        try:
            known = self.run(["config", "--get", "remote.origin.url"], deadline=deadline)
        except GitFailed:
            known = ""
        if known != url:
            self.run(["config", "remote.origin.url", url], deadline=deadline)

    def reset(self, deadline: float) -> None:
        """Throw the repository away and start again: the cure for local corruption."""
        shutil.rmtree(self.git_dir, ignore_errors=True)
        self._depth_known = False
        self.ensure(deadline)

    def remote_ref(self, ref: str, deadline: float) -> tuple[str, str]:
        """The full name and commit of ``ref`` on the remote: one ``git ls-remote``, no fetch."""
        out = self.run(["ls-remote", "--", self.url, ref or "HEAD"], deadline=deadline)
        found = pick(out, ref)
        if found is None:
            raise MissingRef(f"the remote has no ref {ref or 'HEAD'!r}")
        return found

    def fetch(self, source: str, deadline: float) -> str:
        """Fetch ``source`` (a ref on the remote, or a commit hash); the commit fetched."""
        args = ["fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--no-write-fetch-head"]
        if self.depth:
            args.append(f"--depth={self.depth}")
        elif (self.git_dir / "shallow").exists():
            args.append("--unshallow")
        if self.filter_spec:
            # git records the URL as a promisor remote: checkouts fetch missing objects
            args.append(f"--filter={self.filter_spec}")
        self.run([*args, "--", self.url, f"+{source}:{FETCHED_REF}"], deadline=deadline)
        self._remember_depth()
        loose = self.git_dir / FETCHED_REF
        if not source.startswith("refs/tags/"):
            try:
                text = loose.read_text().strip()
            except OSError:
                text = ""
            if _is_hash(text):
                return text
        return self.run(["rev-parse", "--verify", f"{FETCHED_REF}^{{commit}}"], deadline=deadline)

    def depth_changed(self) -> bool:
        """The history was last fetched with another ``GITSYNC_DEPTH`` (a restart with a new
        value): the published commit is fetched again, as git-sync does, so that readers'
        ``git log`` shows the history asked for."""
        if self._depth_known:
            return False
        try:
            return (self.git_dir / _DEPTH_FILE).read_text().strip() != str(self.depth)
        except OSError:
            return True

    def _remember_depth(self) -> None:
        if not self._depth_known:
            tmp = self.git_dir / f"{_DEPTH_FILE}.tmp"
            tmp.write_text(f"{self.depth}\n")
            os.replace(tmp, self.git_dir / _DEPTH_FILE)
            self._depth_known = True

    def gc(self, deadline: float, mode: str = "auto") -> None:
        """``git gc``: ``--auto`` (git decides), ``always`` or ``aggressive``."""
        flags = {"auto": ["--auto"], "always": [], "aggressive": ["--aggressive"]}[mode]
        self.run(["gc", *flags, "--quiet"], deadline=deadline)

    def write_sparse_patterns(self, patterns: Sequence[str]) -> None:
        info = self.git_dir / "info"
        info.mkdir(exist_ok=True)
        path = info / "sparse-checkout"
        text = "".join(f"{pattern}\n" for pattern in patterns)
        if not path.exists() or path.read_text() != text:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text)
            os.replace(tmp, path)


def _without_password(url: str) -> str:
    """The URL as written to disk, where readers of the volume can see it: a password in it
    is left out (the credential helper or GITSYNC_PASSWORD supplies one)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def _is_hash(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


_BOILERPLATE = ("Please make sure you have", "and the repository exists")
_LINE_LIMIT = 300
_TAIL = 3


def _reason(command: str, stderr: str, status: int) -> str:
    """Git's first ``fatal:``/``error:`` line (the cause, e.g. which lock exists) and its
    last lines (often advice such as "remove the file manually"), each line bounded."""
    lines = [
        _shorten(line.strip())
        for line in stderr.splitlines()
        if line.strip() and not line.strip().startswith(_BOILERPLATE)
    ]
    kept = lines[-_TAIL:]
    cause = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
    if cause is not None and cause not in kept:
        kept = [cause, "...", *kept]
    text = "; ".join(kept) if kept else f"exit status {status}"
    return f"git {command} failed: {text}"


def _shorten(line: str) -> str:
    if len(line) <= _LINE_LIMIT:
        return line
    half = _LINE_LIMIT // 2
    return f"{line[:half]}...{line[-half:]}"


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
