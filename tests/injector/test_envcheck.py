"""The settings check says what the helper itself says at start-up, word for word.

Each case runs the real helper (``sidecars <helper>``) with the env the Pod would give
it and compares its start-up message with the injector's warning for the same Pod.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sidecars.injector.envcheck import EnvCheck
from sidecars.injector.templates import Template, parse_templates

from .test_templates import shipped_templates

TEMPLATES = parse_templates(shipped_templates(), "configmap")


def startup(helper: str, env: dict[str, str]) -> list[str]:
    """What the helper prints about its settings: the configuration error on stderr, or
    its warning log lines."""
    prefix = TEMPLATES[helper].env_prefix
    result = subprocess.run(
        [sys.executable, "-m", "sidecars", helper],
        env={"PATH": os.environ["PATH"], f"{prefix}ADMIN_ADDR": "", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    said = []
    for line in result.stderr.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry["level"] == "warning":
                said.append(entry["msg"])
        elif "configuration error: " in line:
            said.append(line.split("configuration error: ", 1)[1])
        elif line.startswith("  "):
            said.append(line.strip())
    return said


def template_env(template: Template) -> dict[str, str]:
    return {item["name"]: item["value"] for item in template.container.get("env") or ()}


@pytest.mark.parametrize(
    ("helper", "env"),
    [
        ("waitfor", {"WAITFOR_TARGETS": "file:///etc/hostname", "WAITFOR_TIMOUT": "5s"}),
        ("waitfor", {"WAITFOR_TARGETS": "ftp://db:21"}),
        ("waitfor", {"WAITFOR_TARGETS": "tcp://db:5432", "WAITFOR_TIMEOUT": "soon"}),
        ("gitsync", {"GITSYNC_REPO": "https://git.example/x.git", "GITSYNC_PERIOD": "often"}),
        ("gitsync", {"GITSYNC_REF": "main"}),
        ("ambassador", {"AMBASSADOR_UPSTREAMS": "db:5432", "AMBASSADOR_MODE": "grpc"}),
        ("nginxlog", {"NGINXLOG_FORMAT": "combined"}),
    ],
)
def test_the_same_words_as_the_helper_at_start_up(helper: str, env: dict[str, str]) -> None:
    template = TEMPLATES[helper]
    warnings = EnvCheck().warnings(template, env)
    said = startup(helper, {**template_env(template), **env})
    assert said, "the helper complained"
    assert warnings == [f"{helper}: {text}" for text in said]


def test_values_from_elsewhere_are_neither_read_nor_reported(tmp_path: object) -> None:
    template = Template(
        "gitsync",
        "sidecar",
        {"image": "x", "env": [{"name": "GITSYNC_REPO", "valueFrom": {"secretKeyRef": {}}}]},
        "GITSYNC_",
    )
    assert EnvCheck().warnings(template, {"GITSYNC_PASSWORD_FILE": "/etc/shadow"}) == []


def test_a_template_without_an_installed_helper_is_not_checked() -> None:
    template = Template("vault-agent", "sidecar", {"image": "hashicorp/vault:1.17"}, "VAULT_")
    assert EnvCheck().warnings(template, {"VAULT_ADDR": "x"}) == []


def test_answers_are_remembered_per_template_and_env() -> None:
    check = EnvCheck()
    env = {"GITSYNC_PERIOD": "often", "GITSYNC_REPO": "https://git.example/x.git"}
    first = check.warnings(TEMPLATES["gitsync"], env)
    first.append("changed by the caller")
    assert check.warnings(TEMPLATES["gitsync"], dict(reversed(env.items()))) == first[:1]
    reloaded = parse_templates(shipped_templates(), "configmap")["gitsync"]
    assert check.warnings(reloaded, env) == first[:1]
    assert len(check.answers) == 2
