"""``sidecars injector render``: the real CLI on multi-document YAML, JSON and stdin."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sidecars.injector.decide import Decider, Policy
from sidecars.injector.render import pod_template
from sidecars.injector.templates import parse_templates

from .kube import apply, names, pod, validate
from .test_templates import shipped_templates

ANNOTATIONS = {
    "sidecars.io/helpers": "waitfor,gitsync",
    "sidecars.io/waitfor.WAITFOR_TARGETS": "tcp://db:5432",
    "sidecars.io/gitsync.GITSYNC_REPO": "https://git.example/site.git",
    "sidecars.io/mounts": "app=gitsync:/srv",
}


def template(restart: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "example/app:1"}]}
    if restart:
        spec["restartPolicy"] = restart
    return {
        "metadata": {
            "labels": {"app": "x", "sidecars.io/inject": "true"},
            "annotations": dict(ANNOTATIONS),
        },
        "spec": spec,
    }


def workloads() -> list[dict[str, Any]]:
    selector = {"matchLabels": {"app": "x"}}
    pod = template()
    pod["metadata"]["name"] = "p"
    return [
        {"apiVersion": "v1", "kind": "Pod", **pod},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {"selector": selector, "template": template()},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "s"},
            "spec": {"selector": selector, "serviceName": "s", "template": template()},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "ds"},
            "spec": {"selector": selector, "template": template()},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "j"},
            "spec": {"template": template("Never")},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "c"},
            "spec": {
                "schedule": "*/5 * * * *",
                "jobTemplate": {"spec": {"template": template("OnFailure")}},
            },
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {}},
    ]


@pytest.fixture
def templates_file(tmp_path: Path) -> Path:
    path = tmp_path / "templates.yaml"
    path.write_text(shipped_templates())
    return path


def render(
    templates: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sidecars",
            "injector",
            "render",
            "--templates",
            str(templates),
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_every_workload_kind_is_injected_like_the_webhook_would(
    tmp_path: Path, templates_file: Path
) -> None:
    source = tmp_path / "in.yaml"
    source.write_text(yaml.safe_dump_all(workloads()))
    result = render(templates_file, "-f", str(source), "--native")
    assert result.returncode == 0, result.stderr
    out = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in out] == [d["kind"] for d in workloads()]
    decider = Decider(parse_templates(shipped_templates(), "t"), Policy(native=True))
    for before, after in zip(workloads(), out, strict=True):
        if before["kind"] == "Service":
            assert after == before
            continue
        expected_pod = pod_template(copy.deepcopy(before))
        assert expected_pod is not None
        decision = decider.decide({"kind": "Pod", **expected_pod}, "default")
        assert decision.outcome == "injected"
        assert pod_template(after) == apply(expected_pod, decision.ops)
        validate({"apiVersion": "v1", "kind": "Pod", **(pod_template(after) or {})})
    job = pod_template(out[4])
    assert job is not None
    assert names(job["spec"]["initContainers"]) == ["waitfor", "gitsync"]
    for kind in ("Pod/p", "Deployment/d", "StatefulSet/s", "DaemonSet/ds", "Job/j", "CronJob/c"):
        assert f"{kind}: injected waitfor, gitsync" in result.stderr


def test_warnings_go_to_stderr_and_a_job_is_not_blocked(templates_file: Path) -> None:
    result = render(templates_file, "-f", "-", stdin=yaml.safe_dump_all(workloads()[4:5]))
    assert result.returncode == 0
    assert "Job/j: warning: gitsync not injected: it runs until stopped" in result.stderr
    job = pod_template(yaml.safe_load(result.stdout))
    assert job is not None
    assert names(job["spec"]["initContainers"]) == ["waitfor"]
    assert names(job["spec"]["containers"]) == ["app"]
    assert job["spec"]["containers"][0].get("volumeMounts") is None, "gitsync left out: no mount"


def test_json_in_json_out_and_lists(templates_file: Path) -> None:
    listing = {"apiVersion": "v1", "kind": "List", "items": workloads()[:2]}
    result = render(templates_file, "-f", "-", stdin=json.dumps(listing))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["kind"] == "List"
    assert names(out["items"][1]["spec"]["template"]["spec"]["containers"]) == ["app", "gitsync"]


def test_rendering_twice_adds_nothing(templates_file: Path) -> None:
    once = render(templates_file, "-f", "-", stdin=yaml.safe_dump_all(workloads()))
    twice = render(templates_file, "-f", "-", stdin=once.stdout)
    assert twice.returncode == 0
    assert list(yaml.safe_load_all(twice.stdout)) == list(yaml.safe_load_all(once.stdout))
    assert "not injected: sidecars.io/status is set" in twice.stderr


def test_strict_mode_prints_nothing_and_fails(templates_file: Path) -> None:
    result = render(
        templates_file, "-f", "-", "--strict", stdin=yaml.safe_dump_all(workloads()[4:])
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Job/j: sidecar injector (strict mode): gitsync not injected" in result.stderr


def test_a_broken_file_names_the_line(templates_file: Path) -> None:
    result = render(templates_file, "-f", "-", stdin="kind: Pod\nspec: [\n")
    assert result.returncode == 2
    assert "line 3" in result.stderr
    assert "Traceback" not in result.stderr
    missing = render(templates_file, "-f", "/nonexistent.yaml")
    assert missing.returncode == 2
    assert "cannot read /nonexistent.yaml" in missing.stderr


def test_the_example_app_renders_without_a_warning(templates_file: Path) -> None:
    path = Path(__file__).resolve().parents[2] / "examples/kubernetes/injector/example-app.yaml"
    result = render(templates_file, "-f", str(path))
    assert result.returncode == 0
    assert "warning" not in result.stderr
    deployment = next(d for d in yaml.safe_load_all(result.stdout) if d["kind"] == "Deployment")
    assert names(deployment["spec"]["template"]["spec"]["containers"]) == ["web", "gitsync"]
    assert pod("deployment")  # the fixtures stay readable
