"""The environment of every git process: a private HOME, ssh options and http credentials.

Git and ssh read nothing from the user's home: HOME and TMPDIR sit in the root, so the
helper works under any UID, with no ``/etc/passwd`` entry for git itself and a read-only
root filesystem. Configuration travels in ``GIT_CONFIG_*`` variables, never in argv, so
credentials do not show in ``ps``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
from functools import cache
from pathlib import Path

from .settings import GitSyncSettings


def _credential_helper(prefix: str) -> str:
    """Answers git's ``get`` from ``<prefix>USERNAME``, ``<prefix>PASSWORD`` and
    ``<prefix>PASSWORD_FILE`` in the environment; the password file is read on every call,
    so a rotated token (a Secret updated in place) is used from the next git process on."""
    return (
        f'!f() {{ test "$1" = get || exit 0; p=${prefix}PASSWORD; '
        f'test -z "${prefix}PASSWORD_FILE" || p=$(cat "${prefix}PASSWORD_FILE") || exit 1; '
        "printf 'username=%s\\npassword=%s\\n' "
        f'"${prefix}USERNAME" "$p"; }}; f'
    )


CONFIG = {
    "safe.directory": "*",
    "maintenance.auto": "false",
    "gc.autoDetach": "false",
    "core.checkStat": "minimal",
    "core.trustctime": "false",
    "fetch.showForcedUpdates": "false",
    "advice.detachedHead": "false",
    "init.defaultBranch": "main",
    # git maps a whole pack (windows of 1 GiB by default) and keeps it mapped: a checkout
    # of a 50 MB repository held 54 MB resident; with these 22 MB, and no slower
    "core.packedGitWindowSize": "4m",
    "core.packedGitLimit": "16m",
}


COOKIE_FILE = "/etc/git-secret/cookie_file"
"""Where git-sync's ``--cookie-file`` looks: the path is fixed there too."""

_HOME_CONFIG = "[safe]\n\tdirectory = *\n"


def prepare_home(home: Path) -> None:
    """Git clears ``GIT_CONFIG_*`` for the ``upload-pack`` of a file:// remote, so the one
    setting it needs there (trusting a repository another UID owns) goes in HOME's config."""
    _write(home / ".gitconfig", _HOME_CONFIG)
    if identity_environment(home):
        uid, gid = os.getuid(), os.getgid()
        _write(home / "passwd", f"gitsync:x:{uid}:{gid}:gitsync:{home}:/bin/sh\n")
        _write(home / "group", f"gitsync:x:{gid}:\n")


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)


@cache
def _nss_wrapper() -> str | None:
    found = glob.glob("/usr/lib/*/libnss_wrapper.so") + glob.glob("/usr/lib*/libnss_wrapper.so")
    return found[0] if found else None


def identity_environment(home: Path) -> dict[str, str]:
    """ssh exits with "No user exists for uid" when the UID has no passwd entry (a random
    UID given by the platform); nss_wrapper, where installed, lends it one from our files."""
    try:
        pwd.getpwuid(os.getuid())
    except KeyError:
        library = _nss_wrapper()
        if library is not None:
            return {
                "LD_PRELOAD": library,
                "NSS_WRAPPER_PASSWD": str(home / "passwd"),
                "NSS_WRAPPER_GROUP": str(home / "group"),
            }
    return {}


def ssh_command(settings: GitSyncSettings) -> str:
    """The ``GIT_SSH_COMMAND``: batch mode, our own known_hosts, strict unless disabled."""
    argv = ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes"]
    for key in settings.ssh_keys:
        argv += ["-i", str(key)]
    if settings.ssh_keys:
        argv += ["-o", "IdentitiesOnly=yes"]
    if settings.ssh_known_hosts:
        argv += ["-o", "StrictHostKeyChecking=yes"]
        if settings.ssh_known_hosts_file is not None:
            argv += ["-o", f"UserKnownHostsFile={settings.ssh_known_hosts_file}"]
    else:
        argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    return shlex.join(argv)


def git_environment(settings: GitSyncSettings, state: Path) -> dict[str, str]:
    """Variables added to the environment of each git process."""
    home, tmp = state / "home", state / "tmp"
    config = dict(CONFIG)
    env: dict[str, str] = {
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_SSH_COMMAND": ssh_command(settings),
        "GIT_OPTIONAL_LOCKS": "0",
        **identity_environment(home),
    }
    # git asks the helpers in order: the per-URL ones come before the general one
    for number, credential in enumerate(settings.credential.items if settings.credential else ()):
        prefix = f"SIDECARS_GIT_CREDENTIAL_{number}_"
        config[f"credential.{credential.url}.helper"] = _credential_helper(prefix)
        env[f"{prefix}USERNAME"] = credential.username
        env[f"{prefix}PASSWORD"] = credential.password
        env[f"{prefix}PASSWORD_FILE"] = credential.password_file
    if (
        settings.username
        or settings.password
        or settings.password_file
        or settings.askpass_url is not None
    ):
        config["credential.helper"] = _credential_helper("SIDECARS_GIT_")
        env["SIDECARS_GIT_USERNAME"] = settings.username
        env["SIDECARS_GIT_PASSWORD"] = str(settings.password or "")
        env["SIDECARS_GIT_PASSWORD_FILE"] = str(settings.password_file or "")
    if settings.repo.startswith("git://") and not settings.filter:
        # git daemon's replies to a v2 request wait ~40 ms each for the client's delayed
        # ACK (a fetch makes two); v0's first reply, sent at once, names every ref. A
        # partial clone needs v2: v0 refuses the checkout's requests for single objects
        config["protocol.version"] = "0"
    if settings.sparse_checkout or settings.sparse_checkout_file is not None:
        config["core.sparseCheckout"] = "true"
    if settings.cookie_file:
        config["http.cookieFile"] = COOKIE_FILE
    if settings.group_write:
        config["core.sharedRepository"] = "group"
    if settings.git_config is not None:
        config.update(settings.git_config.pairs)
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for number, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{number}"] = key
        env[f"GIT_CONFIG_VALUE_{number}"] = value
    return env
