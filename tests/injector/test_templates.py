"""The templates file: the shipped ConfigMap parses, mistakes name the field (or line)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sidecars import ConfigError
from sidecars.injector.templates import load_templates, parse_templates

from .kube import EXAMPLES, FIXTURES


def shipped_templates() -> str:
    configmap = yaml.safe_load((EXAMPLES / "configmap.yaml").read_text())
    text: str = configmap["data"]["templates.yaml"]
    return text


def test_the_shipped_configmap_defines_every_helper_with_its_admin_port() -> None:
    templates = parse_templates(shipped_templates(), "configmap")
    assert set(templates) == {"waitfor", "gitsync", "gitsync-init", "nginxlog", "ambassador"}
    assert templates["waitfor"].role == "init"
    assert templates["gitsync-init"].role == "init"
    ports = {"gitsync": 9400, "nginxlog": 4040, "ambassador": 9401}
    for name, port in ports.items():
        container = templates[name].container
        assert container["image"] == f"sidecars/{name}:0.1.0"
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
        assert container["securityContext"]["runAsUser"] == 65532


def test_json_is_accepted_too() -> None:
    text = '{"helpers": {"waitfor": {"role": "init", "container": {"image": "w:1"}}}}'
    assert parse_templates(text, "t.json")["waitfor"].container == {"image": "w:1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("helpers:\n  waitfor: [\n", "line 3"),
        ("- a list\n", "'helpers' mapping"),
        ("helpers: {}\n", "no helper templates"),
        ("helpers:\n  Bad_Name:\n    container: {image: x}\n", "helpers.Bad_Name: the name"),
        ("helpers:\n  w:\n    role: daemon\n    container: {image: x}\n", "helpers.w.role"),
        ("helpers:\n  w:\n    container: {name: w}\n", "helpers.w.container.image"),
        ("helpers:\n  w:\n    containr: {image: x}\n", "unknown keys ['containr']"),
        (
            "helpers:\n  w:\n    role: init\n    container: {image: x, readinessProbe: {}}\n",
            "helpers.w.container.readinessProbe: init containers cannot have it",
        ),
        ("helpers:\n  w:\n    mountPath: git\n    container: {image: x}\n", "helpers.w.mountPath"),
        ("helpers:\n  w:\n    container: {image: x, env: {A: b}}\n", "helpers.w.container.env"),
        (
            "helpers:\n  w:\n    container: {image: x, volumeMounts: [{name: t, mountPath: /t}]}\n",
            "helpers.w.container.volumeMounts: leave it out",
        ),
    ],
)
def test_mistakes_are_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_templates(text, "/etc/templates.yaml")
    rendered = caught.value.render()
    assert "INJECTOR_TEMPLATES='/etc/templates.yaml'" in rendered
    assert message in rendered


def test_every_mistake_is_reported_at_once() -> None:
    text = "helpers:\n  a:\n    role: x\n    container: {image: x}\n  b:\n    container: 3\n"
    with pytest.raises(ConfigError) as caught:
        parse_templates(text, "t")
    assert len(caught.value.problems) == 2


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_templates(tmp_path / "missing.yaml")
    text, templates = load_templates(FIXTURES / "templates-small.yaml")
    assert "waitfor" in text
    assert set(templates) == {"waitfor", "gitsync"}
