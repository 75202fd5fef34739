"""GITSYNC_* parsing: what is accepted, and what an operator reads when it is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecars import ConfigError
from sidecars.gitsync.settings import GitSyncSettings, HookCommand


def test_defaults() -> None:
    settings = GitSyncSettings.from_env({"GITSYNC_REPO": "https://example.invalid/r.git"})
    assert settings.depth == 1
    assert float(settings.period) == 10.0
    assert settings.link == Path("current")
    assert settings.fixed_hash is None
    assert settings.trigger_secret is None


def test_a_full_hash_ref_needs_no_remote_lookup() -> None:
    settings = GitSyncSettings.from_env({"GITSYNC_REPO": "git@host:r.git", "GITSYNC_REF": "A" * 40})
    assert settings.fixed_hash == "a" * 40


def test_hook_commands() -> None:
    assert HookCommand.parse('["make", "reload"]').argv == ("make", "reload")
    assert HookCommand.parse("nginx -s reload").argv == ("/bin/sh", "-c", "nginx -s reload")
    with pytest.raises(ValueError):  # noqa: PT011
        HookCommand.parse("[1, 2]")


def test_every_bad_variable_is_named_once() -> None:
    with pytest.raises(ConfigError) as caught:
        GitSyncSettings.from_env(
            {
                "GITSYNC_REPO": "ftp://x",
                "GITSYNC_LINK": ".gitsync/x",
                "GITSYNC_DEPTH": "-1",
                "GITSYNC_WEBHOOK_HEADERS": "no-colon",
                "GITSYNC_REF": "main~1",
                "GITSYNC_FILTER": "blob:some",
            }
        )
    text = caught.value.render()
    names = ("GITSYNC_REPO", "GITSYNC_LINK", "GITSYNC_DEPTH", "GITSYNC_WEBHOOK_HEADERS")
    for name in (*names, "GITSYNC_FILTER"):
        assert name in text
    assert "GITSYNC_REF" in text


def test_secrets_are_masked() -> None:
    settings = GitSyncSettings.from_env(
        {
            "GITSYNC_REPO": "https://h/r",
            "GITSYNC_PASSWORD": "hunter2",
            "GITSYNC_TRIGGER_SECRET": "s",
        }
    )
    assert "hunter2" not in repr(settings)


def test_git_sync_names_are_accepted_with_a_warning_naming_the_new_one() -> None:
    environ = {
        "GIT_SYNC_REPO": "https://h/r",
        "GIT_SYNC_DEPTH": "3",
        "GIT_SYNC_BRANCH": "dev",
        "GIT_SYNC_REV": "HEAD",
        "GIT_SYNC_PERIOD": "1s",
        "GITSYNC_PERIOD": "7s",
        "GITSYNC_EXECHOOK_COMMAND": "true",
    }
    settings = GitSyncSettings.from_env(environ)
    assert settings.repo == "https://h/r"
    assert settings.depth == 3
    assert settings.ref == "dev"
    assert float(settings.period) == 7.0  # the new name wins
    assert settings.exec_hook is not None
    assert settings.exec_hook.argv == ("/bin/sh", "-c", "true")
    warnings = GitSyncSettings.unknown_variables(environ)
    assert "GIT_SYNC_REPO is deprecated, use GITSYNC_REPO instead" in warnings
    assert "GIT_SYNC_PERIOD is deprecated and ignored: GITSYNC_PERIOD is set" in warnings
    assert not any("GITSYNC_EXECHOOK_COMMAND" in warning for warning in warnings)


def test_v3_rev_goes_before_branch() -> None:
    environ = {"GIT_SYNC_REPO": "https://h/r", "GIT_SYNC_BRANCH": "dev", "GIT_SYNC_REV": "v1.2"}
    settings = GitSyncSettings.from_env({**environ, "GIT_SYNC_WAIT": "2.5"})
    assert settings.ref == "v1.2"
    assert float(settings.period) == 2.5  # v3 counted seconds


def test_ssh_settings_under_git_sync_names() -> None:
    environ = {
        "GITSYNC_REPO": "ssh://h/r",
        "GITSYNC_SSH_KEY_FILE": "/k/a:/k/b,/k/c",
        "GITSYNC_SSH_STRICT_HOST_CHECKING": "false",
    }
    settings = GitSyncSettings.from_env(environ)
    assert settings.ssh_keys == [Path("/k/a"), Path("/k/b"), Path("/k/c")]
    assert settings.ssh_known_hosts is False
    assert GitSyncSettings.unknown_variables(environ) == [
        "GITSYNC_SSH_STRICT_HOST_CHECKING is deprecated, use GITSYNC_SSH_KNOWN_HOSTS instead"
    ]


@pytest.mark.parametrize(
    "spec", ["blob:none", "blob:limit=1m", "tree:0", "object:type=blob", "combine:tree:2+blob:none"]
)
def test_git_filter_forms_are_accepted(spec: str) -> None:
    settings = GitSyncSettings.from_env(
        {"GITSYNC_REPO": "https://example.invalid/r", "GITSYNC_FILTER": spec}
    )
    assert settings.filter == spec
