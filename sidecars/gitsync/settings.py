"""Every ``GITSYNC_*`` variable."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, Self

from sidecars import URL, Duration, Problem, Secret, Settings, setting

from . import names

_HASH = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SCP_LIKE = re.compile(r"[\w.-]+@[\w.-]+:.+")
_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_FILTER = re.compile(
    r"blob:none|blob:limit=\d+[kmg]?|tree:\d+|object:type=(?:blob|tree|commit|tag)"
    r"|sparse:oid=\S+|combine:\S+\+\S+",
    re.IGNORECASE,
)
"""git's filter-spec forms (``git rev-list --help``), checked before git sees one."""


@dataclass(frozen=True, slots=True)
class HookCommand:
    """A hook program: a JSON array is an argv run as is, anything else a ``sh -c`` string."""

    argv: tuple[str, ...]

    expected: ClassVar[str] = 'a shell command, or a JSON array of strings such as ["make", "x"]'
    type_name: ClassVar[str] = "command"

    @classmethod
    def parse(cls, text: str) -> HookCommand:
        text = text.strip()
        if text.startswith("["):
            try:
                argv = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError from None
            if not argv or not all(isinstance(arg, str) for arg in argv):
                raise ValueError
            return cls(tuple(argv))
        return cls(("/bin/sh", "-c", text))

    def __str__(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True, slots=True)
class GitConfig:
    """git-sync's ``--git-config``: ``key:value`` items split on ',', either part may be
    double-quoted (a URL key holds ':'), backslash escaping inside quotes."""

    pairs: tuple[tuple[str, str], ...]

    expected: ClassVar[str] = "'key:value' items split on ',', either part may be \"quoted\""
    type_name: ClassVar[str] = "key:value list"

    @classmethod
    def parse(cls, text: str) -> GitConfig:
        pairs = []
        at = 0
        while at < len(text):
            key, at = _token(text, at, ":,")
            if at >= len(text) or text[at] != ":" or not key:
                raise ValueError
            value, at = _token(text, at + 1, ",")
            if at < len(text) and text[at] != ",":
                raise ValueError
            pairs.append((key, value))
            at += 1
        return cls(tuple(pairs))

    def __str__(self) -> str:
        return ",".join(f"{json.dumps(key)}:{json.dumps(value)}" for key, value in self.pairs)


def _token(text: str, at: int, stops: str) -> tuple[str, int]:
    """One key or value from ``at``: quoted, or up to the next character in ``stops``."""
    while at < len(text) and text[at] == " ":
        at += 1
    if at < len(text) and text[at] == '"':
        out = []
        at += 1
        while at < len(text) and text[at] != '"':
            if text[at] == "\\" and at + 1 < len(text):
                at += 1
            out.append(text[at])
            at += 1
        if at >= len(text):
            raise ValueError
        at += 1
        while at < len(text) and text[at] == " ":
            at += 1
        return "".join(out), at
    end = at
    while end < len(text) and text[end] not in stops:
        end += 1
    return text[at:end].strip(), end


@dataclass(frozen=True, slots=True)
class Credential:
    """One entry of git-sync's ``--credential``: credentials for the URLs under ``url``."""

    url: str
    username: str
    password: str = ""
    password_file: str = ""


@dataclass(frozen=True, slots=True)
class Credentials:
    """git-sync's ``--credential``: a JSON object, or a JSON list of them, each with
    ``url``, ``username`` and ``password`` or ``password-file``."""

    items: tuple[Credential, ...]

    expected: ClassVar[str] = (
        'a JSON object or list of objects with "url", "username" and "password" or "password-file"'
    )
    type_name: ClassVar[str] = "JSON"

    @classmethod
    def parse(cls, text: str) -> Credentials:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError from None
        entries = value if isinstance(value, list) else [value]
        items = []
        for entry in entries:
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise ValueError
            if set(entry) - {"url", "username", "password", "password-file"}:
                raise ValueError
            if not entry.get("url") or not entry.get("username"):
                raise ValueError
            if ("password" in entry) == ("password-file" in entry):
                raise ValueError
            items.append(
                Credential(
                    entry["url"],
                    entry["username"],
                    entry.get("password", ""),
                    entry.get("password-file", ""),
                )
            )
        return cls(tuple(items))

    def __str__(self) -> str:
        return f"<{len(self.items)} credentials>"


def signal_number(text: str) -> int | None:
    """``SIGHUP``, ``HUP`` or ``1`` as a signal number; ``None`` for anything else."""
    name = text.strip().upper()
    if name.isdigit():
        number = int(name)
        return number if number in {int(s) for s in signal.Signals} else None
    name = name if name.startswith("SIG") else f"SIG{name}"
    return int(signal.Signals[name]) if name in signal.Signals.__members__ else None


class GitSyncSettings(Settings, prefix="GITSYNC_", admin_port=9400):
    repo: str = setting(
        help="Repository URL: https://, http://, ssh://, user@host:path, git:// or file://"
    )
    ref: str = setting(
        default="",
        help="Branch, tag, full ref or full commit hash to publish; empty or HEAD: the remote HEAD",
    )
    depth: int = setting(default=1, help="Commits of history to fetch; 0 fetches all of it")
    filter: str = setting(
        default="",
        help="Partial clone, as git-sync's --filter: fetch with this filter (blob:none, "
        "tree:0, blob:limit=1m); a checkout fetches the objects it needs. The remote must "
        "allow filters",
    )
    period: Duration = setting(default="10s", help="Time between two polls of the remote")
    sync_timeout: Duration = setting(default="2m", help="Limit of one sync (poll, fetch, checkout)")
    root: Path = setting(
        default="/git",
        help="Directory (the volume) holding the link and, in .gitsync/, the repository and trees",
    )
    link: Path = setting(
        default="current",
        help="Path of the symlink to the published tree: absolute, or relative to the root",
    )
    one_time: bool = setting(default=False, help="Sync once and exit: the init-container pattern")
    init_timeout: Duration = setting(
        default="1m",
        help="Give up (exit 1) when the first sync has not succeeded within this time; 0 never",
    )
    max_failures: int = setting(
        default=-1,
        help="Exit 1 once this many syncs failed in a row, as git-sync (0: at the first "
        "failure); negative: never",
    )
    max_backoff: Duration = setting(
        default="1m", help="Longest wait between retries of a failing sync (exponential, jitter)"
    )
    grace_period: Duration = setting(
        default="30s", help="How long a replaced tree stays on disk for readers still inside it"
    )
    max_old_trees: int = setting(
        default=2, help="Replaced trees kept at most, even within the grace period"
    )
    spare_tree: bool = setting(
        default=True,
        help="Keep a private checkout of the published commit so the next one only writes changes",
    )
    verify_period: Duration = setting(
        default="10m",
        help="Besides at the next poll after a write in it (inotify), compare the published "
        "tree with its commit this often; a damaged tree is built again; 0: only after writes",
    )
    not_ready_after: Duration = setting(
        default="5m",
        help="/readyz answers 503 once syncs have failed for this long without a success (a "
        "wedge); 200 again after the next success; 0 never",
    )
    staleness: Duration = setting(
        default="0",
        help="/healthz fails when no sync succeeded for this long; 0 turns the check off",
    )
    submodules: Literal["off", "shallow", "recursive"] = setting(
        default="recursive", help="Check out submodules: not at all, one level, or all levels"
    )
    sparse_checkout: list[str] = setting(
        default="", help="Sparse-checkout patterns (gitignore style); empty checks out everything"
    )
    sparse_checkout_file: Path | None = setting(
        default="",
        help="File of sparse-checkout patterns, one a line, as git-sync's; read at start, "
        "added to GITSYNC_SPARSE_CHECKOUT",
    )
    trigger_secret: Secret | None = setting(
        default="",
        help="Secret that POST /sync requires (bearer token, GitHub X-Hub-Signature-256 HMAC "
        "or X-Gitlab-Token); empty turns the endpoint off",
    )
    ssh_key_file: list[Path] = setting(
        default="",
        help="Private keys for ssh:// repositories, offered in turn: a list split on ',' or "
        "':' (git-sync's PATH-like form)",
    )
    ssh_known_hosts: bool = setting(
        default=True,
        help="Check ssh host keys against the known_hosts file; false accepts any host",
    )
    ssh_known_hosts_file: Path | None = setting(
        default="", help="known_hosts file for ssh:// repositories"
    )
    username: str = setting(default="", help="User name for http(s) repositories")
    password: Secret | None = setting(default="", help="Password or token for http(s) repositories")
    password_file: Path | None = setting(
        default="",
        help="File holding the password or token, read again by each git process (rotation)",
    )
    credential: Credentials | None = setting(
        default="",
        secret=True,
        help="Credentials per URL, as git-sync's: JSON object or list, each with url, "
        "username and password or password-file",
    )
    cookie_file: bool = setting(
        default=False,
        help="Use the git cookie file /etc/git-secret/cookie_file for http(s), as git-sync's",
    )
    askpass_url: URL | None = setting(
        default="",
        help="URL asked before each sync for username=/password= lines, as git-sync's",
    )
    exec_hook: HookCommand | None = setting(
        default="",
        help="Program run after each publish (cwd: the new tree; env: GITSYNC_HASH, "
        "GITSYNC_TREE, GITSYNC_LINK)",
    )
    exec_hook_timeout: Duration = setting(default="1m", help="Limit of one exec hook run")
    webhook_url: URL | None = setting(default="", help="URL called after each publish")
    webhook_method: str = setting(default="POST", help="HTTP method of the webhook")
    webhook_headers: list[str] = setting(
        default="", help="Extra webhook headers, each 'Name: value'"
    )
    webhook_body: str = setting(
        default="", help="Webhook body; {hash} is replaced by the published commit"
    )
    webhook_timeout: Duration = setting(default="10s", help="Limit of one webhook call")
    webhook_success_status: int | None = setting(
        default="",
        help="HTTP status that means the webhook succeeded, as git-sync's; 0 or -1: any "
        "answer (fire and forget); empty: any 2xx",
    )
    exec_hook_backoff: Duration = setting(
        default="3s",
        help="Wait before the first retry of a failed exec hook; doubles up to GITSYNC_MAX_BACKOFF",
    )
    webhook_backoff: Duration = setting(
        default="3s",
        help="Wait before the first retry of a failed webhook; doubles up to GITSYNC_MAX_BACKOFF",
    )
    hook_retries: int = setting(
        default=-1,
        help="Retries of a failed hook before giving up on that commit; negative: until it "
        "succeeds or a newer commit is published (one-time mode: no retry)",
    )
    git_config: GitConfig | None = setting(
        default="", help="Extra git configuration for every git process, as git-sync's"
    )
    git_gc: Literal["auto", "always", "aggressive", "off"] = setting(
        default="auto",
        help="git gc after a publish: --auto (at most once a minute), a full gc, an "
        "aggressive one, or none",
    )
    group_write: bool = setting(
        default=False,
        help="Make everything written (repository, trees, link) group-writable: umask 002",
    )
    sync_on_signal: str = setting(
        default="", help="Signal (name or number, e.g. SIGHUP) that starts a sync at once"
    )
    touch_file: Path | None = setting(
        default="",
        help="File touched after each publish: absolute, or relative to the root",
    )
    error_file: Path | None = setting(
        default="",
        help="File holding the last sync's error, removed by a successful sync: absolute, or "
        "relative to the root",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """As every helper's, after copying git-sync's other names to ours (``names.py``)."""
        translated, _ = names.translate(os.environ if environ is None else environ)
        return super().from_env(translated)

    @classmethod
    def unknown_variables(cls, environ: Mapping[str, str] | None = None) -> list[str]:
        """The deprecation warnings of git-sync's old names, then the unknown variables.
        The runtime logs these once logging is set up, so they come out as log lines."""
        environ = os.environ if environ is None else environ
        translated, warnings = names.translate(environ)
        known = names.aliases(environ)
        unknown = super().unknown_variables({k: v for k, v in translated.items() if k not in known})
        return warnings + unknown

    @property
    def ssh_keys(self) -> list[Path]:
        """Every key of GITSYNC_SSH_KEY_FILE, whether split on ',' or ':'."""
        return [Path(part) for item in self.ssh_key_file for part in str(item).split(":") if part]

    @property
    def fixed_hash(self) -> str | None:
        """The commit when ``ref`` names one: no remote lookup is needed then."""
        return self.ref.lower() if _HASH.fullmatch(self.ref.lower()) else None

    def validate(self) -> list[Problem]:
        problems = []
        if not (self.repo.startswith(_SCHEMES) or _SCP_LIKE.fullmatch(self.repo)):
            problems.append(
                Problem(
                    "GITSYNC_REPO",
                    self.repo,
                    "expected a git URL (https, http, ssh, git or file) or user@host:path",
                )
            )
        if self.depth < 0:
            problems.append(Problem("GITSYNC_DEPTH", str(self.depth), "expected 0 or more"))
        if self.filter and not _FILTER.fullmatch(self.filter):
            problems.append(
                Problem(
                    "GITSYNC_FILTER",
                    self.filter,
                    "expected a git filter: blob:none, blob:limit=<size>, tree:<depth>, "
                    "object:type=<type>, sparse:oid=<blob> or combine:<filter>+<filter>",
                )
            )
        if self.max_old_trees < 0:
            problems.append(
                Problem("GITSYNC_MAX_OLD_TREES", str(self.max_old_trees), "expected 0 or more")
            )
        root = Path(os.path.normpath(self.root.absolute()))
        link = Path(os.path.normpath(root / self.link))
        if link == root or link.is_relative_to(root / ".gitsync") or root.is_relative_to(link):
            problems.append(
                Problem(
                    "GITSYNC_LINK",
                    str(self.link),
                    "expected a path that is neither the root, above it, nor in its .gitsync",
                )
            )
        if float(self.period) <= 0 and not self.one_time:
            problems.append(Problem("GITSYNC_PERIOD", str(self.period), "expected more than 0"))
        for header in self.webhook_headers:
            name, sep, _ = header.partition(":")
            if not sep or not name.strip():
                problems.append(
                    Problem("GITSYNC_WEBHOOK_HEADERS", header, "expected 'Name: value' items")
                )
        if self.sync_on_signal and signal_number(self.sync_on_signal) in (
            None,
            signal.SIGTERM,
            signal.SIGINT,
            signal.SIGKILL,
            signal.SIGSTOP,
        ):
            problems.append(
                Problem(
                    "GITSYNC_SYNC_ON_SIGNAL",
                    self.sync_on_signal,
                    "expected a signal name or number other than TERM, INT, KILL, STOP",
                )
            )
        status = self.webhook_success_status
        if status is not None and not (status in (0, -1) or 100 <= status <= 599):
            problems.append(
                Problem(
                    "GITSYNC_WEBHOOK_SUCCESS_STATUS",
                    str(status),
                    "expected an HTTP status (100-599), 0 or -1",
                )
            )
        if self.ref.startswith("-") or any(c in self.ref for c in " ~^:?*[\\"):
            problems.append(Problem("GITSYNC_REF", self.ref, "expected a branch, tag or hash"))
        return problems
