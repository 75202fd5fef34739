"""INJECTOR_* variables: every mistake named at once, exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sidecars import ConfigError
from sidecars.injector import InjectorSettings

REQUIRED = {"INJECTOR_TLS_CERT": "/c", "INJECTOR_TLS_KEY": "/k", "INJECTOR_TEMPLATES": "/t"}


def test_defaults() -> None:
    settings = InjectorSettings.from_env(REQUIRED)
    assert str(settings.listen_addr) == ":8443"
    assert str(settings.admin_addr) == ":9402"
    assert settings.annotation_prefix == "sidecars.io"
    assert settings.max_body == 3 * 1024 * 1024
    assert settings.native_sidecars is False


def test_cross_checks_name_each_variable() -> None:
    env = {
        **REQUIRED,
        "INJECTOR_ANNOTATION_PREFIX": "Sidecars/IO",
        "INJECTOR_SHARED_VOLUME": "Shared_Volume",
        "INJECTOR_DRAIN_DELAY": "30s",
    }
    with pytest.raises(ConfigError) as caught:
        InjectorSettings.from_env(env)
    assert sorted(p.variable for p in caught.value.problems) == [
        "INJECTOR_ANNOTATION_PREFIX",
        "INJECTOR_DRAIN_DELAY",
        "INJECTOR_SHARED_VOLUME",
    ]


def test_missing_variables_exit_2_without_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sidecars", "injector"],
        env={"INJECTOR_MAX_BODY": "lots", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    for variable in (
        "INJECTOR_TLS_CERT",
        "INJECTOR_TLS_KEY",
        "INJECTOR_TEMPLATES",
        "INJECTOR_MAX_BODY",
    ):
        assert variable in done.stderr
    assert "Traceback" not in done.stderr
