"""git-sync's other names for our variables: its deprecated ``GIT_SYNC_*`` ones and v3's.

A manifest copied from git-sync works unchanged: before the settings are read, each old
name is copied to its ``GITSYNC_*`` name, and the start-up log says which to use instead,
as git-sync v4 does. When both names are set, the new one wins (git-sync lets the old one
win, with a warning; a variable someone wrote on purpose under the new name should not be
overridden by one left over). A few v3 names changed unit or shape and are converted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["translate"]

_OLD_PREFIX = "GIT_SYNC_"
_NEW_PREFIX = "GITSYNC_"


def _seconds(text: str) -> str:
    """v3's ``GIT_SYNC_WAIT`` and ``GIT_SYNC_TIMEOUT`` are numbers of seconds."""
    return f"{text.strip()}s" if text.strip() else text


def _same(text: str) -> str:
    return text


_ALIASES: dict[str, tuple[str, Callable[[str], str]]] = {
    # git-sync v4's own names where ours differ (not deprecated: no warning)
    "GITSYNC_EXECHOOK_COMMAND": ("GITSYNC_EXEC_HOOK", _same),
    "GITSYNC_EXECHOOK_TIMEOUT": ("GITSYNC_EXEC_HOOK_TIMEOUT", _same),
    "GITSYNC_EXECHOOK_BACKOFF": ("GITSYNC_EXEC_HOOK_BACKOFF", _same),
}
_LEGACY: dict[str, tuple[str, Callable[[str], str]]] = {
    # our own earlier name of git-sync's GITSYNC_SSH_KNOWN_HOSTS
    "GITSYNC_SSH_STRICT_HOST_CHECKING": ("GITSYNC_SSH_KNOWN_HOSTS", _same),
    # v4 accepts these older names with a deprecation warning
    "GIT_SSH_KEY_FILE": ("GITSYNC_SSH_KEY_FILE", _same),
    "GIT_SYNC_KNOWN_HOSTS": ("GITSYNC_SSH_KNOWN_HOSTS", _same),
    "GIT_KNOWN_HOSTS": ("GITSYNC_SSH_KNOWN_HOSTS", _same),
    "GIT_SSH_KNOWN_HOSTS_FILE": ("GITSYNC_SSH_KNOWN_HOSTS_FILE", _same),
    "GIT_ASKPASS_URL": ("GITSYNC_ASKPASS_URL", _same),
    "GIT_SYNC_EXECHOOK_COMMAND": ("GITSYNC_EXEC_HOOK", _same),
    "GIT_SYNC_EXECHOOK_TIMEOUT": ("GITSYNC_EXEC_HOOK_TIMEOUT", _same),
    # v3 names whose flags v4 still maps
    "GIT_SYNC_DEST": ("GITSYNC_LINK", _same),
    "GIT_SYNC_WAIT": ("GITSYNC_PERIOD", _seconds),
    "GIT_SYNC_TIMEOUT": ("GITSYNC_SYNC_TIMEOUT", _seconds),
    "GIT_SYNC_MAX_SYNC_FAILURES": ("GITSYNC_MAX_FAILURES", _same),
    "GIT_SYNC_REV": ("GITSYNC_REF", _same),
    "GIT_SYNC_BRANCH": ("GITSYNC_REF", _same),
}


def _target(name: str) -> tuple[str, Callable[[str], str]] | None:
    if name in _LEGACY:
        return _LEGACY[name]
    if name.startswith(_OLD_PREFIX):
        new = _NEW_PREFIX + name.removeprefix(_OLD_PREFIX)
        return _ALIASES.get(new, (new, _same))
    return None


def translate(environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """``environ`` with every other name copied to ours, and a warning per old name."""
    result = dict(environ)
    warnings: list[str] = []
    for name, (new, convert) in _ALIASES.items():
        if name in environ and new not in environ:
            result[new] = convert(environ[name])
    # v3's GIT_SYNC_REV (a commit or tag) goes before GIT_SYNC_BRANCH, as in git-sync v4
    for name in sorted(environ, key=lambda n: n != "GIT_SYNC_REV"):
        found = _target(name)
        if found is None:
            continue
        new, convert = found
        if new in environ:
            warnings.append(f"{name} is deprecated and ignored: {new} is set")
            continue
        warnings.append(f"{name} is deprecated, use {new} instead")
        if name == "GIT_SYNC_REV" and environ[name].strip() in ("", "HEAD"):
            continue  # the branch's tip: GIT_SYNC_BRANCH (or the remote HEAD) decides
        result.setdefault(new, convert(environ[name]))
    return result, warnings


def aliases(environ: Mapping[str, str]) -> set[str]:
    """Names in ``environ`` that we know under another ``GITSYNC_*`` name."""
    return {name for name in environ if name in _ALIASES or name in _LEGACY}
