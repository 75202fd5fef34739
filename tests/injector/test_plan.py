"""Annotations read into a plan; each user mistake becomes a warning, never a failure."""

from __future__ import annotations

from typing import Any

from sidecars.injector.plan import Plan, read_plan
from sidecars.injector.templates import load_templates

from .kube import FIXTURES

_, TEMPLATES = load_templates(FIXTURES / "templates-small.yaml")


def plan(annotations: dict[str, Any], *, native: bool = False) -> Plan:
    return read_plan(annotations, "sidecars.io", TEMPLATES, native=native, volume="shared")


def test_helpers_in_the_order_listed_with_their_env_and_mounts() -> None:
    result = plan(
        {
            "sidecars.io/helpers": " gitsync , waitfor",
            "sidecars.io/gitsync.GITSYNC_REPO": "https://example/repo.git",
            "sidecars.io/gitsync.mount": "/content",
            "sidecars.io/waitfor.WAITFOR_TARGETS": "tcp://db:5432",
            "sidecars.io/volume": "content",
            "sidecars.io/mounts": "web=/usr/share/nginx/html, worker=gitsync:/data, web=/www",
            "sidecars.io/native": "true",
            "other.io/ignored": "x",
        }
    )
    assert [h.template.name for h in result.helpers] == ["gitsync", "waitfor"]
    assert result.helpers[0].env == {"GITSYNC_REPO": "https://example/repo.git"}
    assert result.helpers[0].mount_path == "/content"
    assert result.helpers[1].env == {"WAITFOR_TARGETS": "tcp://db:5432"}
    assert result.helpers[1].mount_path is None
    assert [h.volume for h in result.helpers] == ["content", "content"]
    assert result.helpers[0].app_mounts == [
        ("web", "/usr/share/nginx/html"),
        ("worker", "/data"),
        ("web", "/www"),
    ]
    assert result.native is True
    assert result.warnings == []


def test_the_template_mount_path_is_the_default() -> None:
    result = plan({"sidecars.io/helpers": "gitsync"})
    assert result.helpers[0].mount_path == "/git"
    assert result.helpers[0].volume == "shared-gitsync"


def test_user_mistakes_are_warnings() -> None:
    result = plan(
        {
            "sidecars.io/helpers": "gitsync,gitsync,gitsink",
            "sidecars.io/gitsync.REPO": "x",
            "sidecars.io/gitsync.gitsync_repo": "x",
            "sidecars.io/waitfor.WAITFOR_TARGETS": "tcp://db:1",
            "sidecars.io/gitsync.mount": "relative",
            "sidecars.io/helper": "waitfor",
            "sidecars.io/native": "maybe",
            "sidecars.io/volume": "Not_A_Label",
            "sidecars.io/mounts": "web:/x",
        }
    )
    assert [h.template.name for h in result.helpers] == ["gitsync"]
    assert result.helpers[0].env == {}
    assert result.native is False
    assert result.helpers[0].volume == "shared-gitsync"
    text = "\n".join(result.warnings)
    for expected in (
        "gitsync listed twice",
        "unknown helper 'gitsink'; did you mean gitsync? (known: gitsync, waitfor)",
        "gitsync settings start with GITSYNC_",
        "'gitsync_repo' is not a variable name",
        "waitfor is not in sidecars.io/helpers",
        "must be an absolute path",
        "unknown annotation sidecars.io/helper; did you mean sidecars.io/helpers?",
        "native must be true or false",
        "volume must be a DNS label",
        "expected container=/path or container=helper:/path",
    ):
        assert expected in text
    assert len(result.warnings) == 10


def test_an_opt_in_without_helpers_says_so() -> None:
    result = plan({})
    assert result.helpers == []
    assert result.warnings == [
        "Pod opted in but sidecars.io/helpers names no helper; nothing injected"
    ]


def test_non_string_values_are_ignored_with_a_warning() -> None:
    result = plan({"sidecars.io/helpers": ["waitfor"]})
    assert result.helpers == []
    assert "is not a string" in result.warnings[0]


def test_the_native_setting_is_the_default() -> None:
    assert plan({"sidecars.io/helpers": "gitsync"}, native=True).native is True
    assert (
        plan({"sidecars.io/helpers": "gitsync", "sidecars.io/native": "false"}, native=True).native
        is False
    )
