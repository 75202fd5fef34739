"""The JSON Patch, applied with a JSON Patch library to realistic Pods, then validated
strictly against the Kubernetes schema."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecars.injector.patch import build_patch, pointer
from sidecars.injector.plan import HelperPlan, read_plan
from sidecars.injector.templates import load_templates, parse_templates

from .kube import FIXTURES, apply, names, pod, validate
from .test_templates import shipped_templates

TEMPLATES = parse_templates(shipped_templates(), "configmap")
STATUS = "sidecars.io/status"


def inject(
    obj: dict[str, Any], *, native: bool = False
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Patch a copy of ``obj``; the patched Pod, injected helpers and warnings."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    plan = read_plan(annotations, "sidecars.io", TEMPLATES, native=native, volume="sidecars-shared")
    before = copy.deepcopy(obj)
    ops, injected = build_patch(obj, plan, STATUS)
    assert obj == before, "building the patch must not touch the Pod"
    json.dumps(ops)  # plain JSON
    patched = apply(obj, ops) if ops else obj
    validate(patched)
    return patched, injected, plan.warnings


def test_pointer_escapes_tilde_and_slash() -> None:
    assert pointer("metadata", "annotations", "sidecars.io/status") == (
        "/metadata/annotations/sidecars.io~1status"
    )
    assert pointer("a~b", "c/d~1", 0, "-") == "/a~0b/c~1d~01/0/-"


def test_a_deployment_template_gets_its_helpers() -> None:
    original = pod("deployment")
    patched, injected, warnings = inject(original)
    assert warnings == []
    assert injected == ["waitfor", "gitsync", "nginxlog"]
    spec = patched["spec"]
    assert names(spec["initContainers"]) == ["waitfor"]
    assert names(spec["containers"]) == ["web", "gitsync", "nginxlog"]
    waitfor = spec["initContainers"][0]
    assert {
        "name": "WAITFOR_TARGETS",
        "value": "tcp://db.shop.svc:5432,http://auth.shop.svc/healthz",
    } in waitfor["env"]
    assert {"name": "WAITFOR_TIMEOUT", "value": "5m"} in waitfor["env"]
    gitsync = spec["containers"][1]
    assert gitsync["image"] == "sidecars/gitsync:0.1.0"
    assert gitsync["env"] == [
        {"name": "GITSYNC_REPO", "value": "https://git.example.internal/site.git"},
        {"name": "GITSYNC_REF", "value": "main"},
    ]
    assert gitsync["volumeMounts"] == [{"name": "sidecars-shared-gitsync", "mountPath": "/git"}]
    assert "restartPolicy" not in gitsync
    assert spec["volumes"] == [
        {"name": "config", "configMap": {"name": "web-nginx"}},
        {"name": "sidecars-shared-gitsync", "emptyDir": {}},
        {"name": "sidecars-shared-nginxlog", "emptyDir": {}},
    ]
    web = spec["containers"][0]
    assert web["volumeMounts"][-1] == {
        "name": "sidecars-shared-gitsync",
        "mountPath": "/usr/share/nginx/html",
    }
    # fields the injector does not know are kept as they were
    assert web["resizePolicy"] == original["spec"]["containers"][0]["resizePolicy"]
    assert spec["tolerations"] == original["spec"]["tolerations"]
    annotations = patched["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert json.loads(annotations[STATUS])["injected"] == ["waitfor", "gitsync", "nginxlog"]


def test_native_sidecars_go_to_init_containers_after_init_helpers_in_order() -> None:
    patched, _, _ = inject(pod("deployment"), native=True)
    spec = patched["spec"]
    assert names(spec["initContainers"]) == ["waitfor", "gitsync", "nginxlog"]
    assert "restartPolicy" not in spec["initContainers"][0]
    assert [c.get("restartPolicy") for c in spec["initContainers"][1:]] == ["Always", "Always"]
    assert names(spec["containers"]) == ["web"]


def test_existing_init_containers_stay_after_the_injected_ones() -> None:
    obj = pod("pod-init")
    obj["metadata"]["annotations"] = {
        "sidecars.io/helpers": "gitsync-init,ambassador",
        "sidecars.io/gitsync-init.GITSYNC_REPO": "file:///repo",
        "sidecars.io/native": "true",
    }
    patched, injected, warnings = inject(obj)
    assert warnings == []
    assert injected == ["gitsync-init", "ambassador"]
    assert names(patched["spec"]["initContainers"]) == ["gitsync-init", "ambassador", "schema"]
    assert patched["spec"]["initContainers"][2] == pod("pod-init")["spec"]["initContainers"][0]
    assert patched["spec"]["volumes"] == [{"name": "sidecars-shared-gitsync", "emptyDir": {}}]


def test_an_opt_in_without_helpers_leaves_the_pod_alone() -> None:
    patched, injected, warnings = inject(pod("pod-init"))
    assert injected == []
    assert patched == pod("pod-init")
    assert "names no helper" in warnings[0]


def test_a_pod_without_annotations_map_gets_one_for_the_status() -> None:
    obj = pod("pod-init")
    assert "annotations" not in obj["metadata"]
    plan = read_plan({}, "sidecars.io", TEMPLATES, native=False, volume="v")
    plan.helpers.append(HelperPlan(TEMPLATES["waitfor"], {"WAITFOR_TARGETS": "tcp://db:1"}))
    ops, injected = build_patch(obj, plan, STATUS)
    assert injected == ["waitfor"]
    assert {
        "op": "add",
        "path": "/metadata/annotations",
        "value": {STATUS: ops[-1]["value"][STATUS]},
    } == ops[-1]
    patched = apply(obj, ops)
    validate(patched)
    assert names(patched["spec"]["initContainers"]) == ["waitfor", "schema"]


def test_a_pod_with_native_sidecars_and_an_existing_shared_volume() -> None:
    obj = pod("pod-native")
    obj["metadata"]["annotations"] = {
        "sidecars.io/helpers": "nginxlog",
        "sidecars.io/volume": "shared",
        "sidecars.io/nginxlog.NGINXLOG_FORMAT": "combined",
    }
    patched, injected, warnings = inject(obj, native=True)
    assert warnings == []
    assert injected == ["nginxlog"]
    spec = patched["spec"]
    assert names(spec["initContainers"]) == ["log-shipper", "nginxlog"]
    assert spec["initContainers"][0] == pod("pod-native")["spec"]["initContainers"][0]
    assert spec["volumes"] == pod("pod-native")["spec"]["volumes"], "the Pod's volume is reused"
    assert spec["initContainers"][1]["volumeMounts"] == [
        {"name": "shared", "mountPath": "/var/log/nginx"}
    ]


def test_a_taken_container_name_is_not_injected_twice() -> None:
    obj = pod("deployment")
    obj["spec"]["containers"].append({"name": "gitsync", "image": "someone/else:1"})
    patched, injected, warnings = inject(obj)
    assert injected == ["waitfor", "nginxlog"]
    assert names(patched["spec"]["containers"]) == ["web", "gitsync", "nginxlog"]
    assert patched["spec"]["containers"][1]["image"] == "someone/else:1"
    assert "gitsync not injected: the Pod already has a container named it" in warnings[0]


def test_annotation_env_overrides_template_env_in_place() -> None:
    obj = pod("pod-init")
    obj["metadata"]["annotations"] = {
        "sidecars.io/helpers": "waitfor",
        "sidecars.io/waitfor.WAITFOR_TIMEOUT": "30s",
        "sidecars.io/waitfor.WAITFOR_TARGETS": "tcp://db:5432",
    }
    patched, _, _ = inject(obj)
    assert patched["spec"]["initContainers"][0]["env"] == [
        {"name": "WAITFOR_TIMEOUT", "value": "30s"},
        {"name": "WAITFOR_TARGETS", "value": "tcp://db:5432"},
    ]
    assert TEMPLATES["waitfor"].container["env"] == [{"name": "WAITFOR_TIMEOUT", "value": "5m"}]


def test_unknown_app_container_in_mounts_is_a_warning() -> None:
    obj = pod("deployment")
    obj["metadata"]["annotations"]["sidecars.io/mounts"] = (
        "webb=gitsync:/x,web=gitsync:/etc/nginx/conf.d"
    )
    patched, _, warnings = inject(obj)
    assert "no container named webb" in warnings[0]
    assert "already mounts something at /etc/nginx/conf.d" in warnings[1]
    assert (
        patched["spec"]["containers"][0]["volumeMounts"]
        == pod("deployment")["spec"]["containers"][0]["volumeMounts"]
    )


@pytest.mark.parametrize("fixture", ["deployment", "pod-init", "pod-native"])
def test_every_fixture_is_a_valid_pod_before_injection(fixture: str) -> None:
    validate(pod(fixture))


def test_small_templates_fixture_parses() -> None:
    _, templates = load_templates(FIXTURES / "templates-small.yaml")
    assert templates["gitsync"].role == "sidecar"


def test_fields_newer_than_the_schema_pass_through() -> None:
    obj = pod("deployment")
    obj["spec"]["someFutureField"] = {"enabled": True}
    obj["spec"]["containers"][0]["futureKnob"] = [1, 2]
    obj["metadata"]["annotations"]["sidecars.io/native"] = "true"
    annotations = obj["metadata"]["annotations"]
    plan = read_plan(annotations, "sidecars.io", TEMPLATES, native=False, volume="v")
    ops, _ = build_patch(obj, plan, STATUS)
    patched = apply(obj, ops)
    assert patched["spec"]["someFutureField"] == {"enabled": True}
    assert patched["spec"]["containers"][0]["futureKnob"] == [1, 2]
    assert all(op["op"] == "add" for op in ops)


@given(st.text(min_size=1, max_size=40))
def test_any_annotation_key_is_addressed_exactly(key: str) -> None:
    obj = {"metadata": {"annotations": {"a": "b"}}}
    ops = [{"op": "add", "path": pointer("metadata", "annotations", key), "value": "v"}]
    patched = apply(obj, ops)
    assert patched["metadata"]["annotations"] == {"a": "b", key: "v"}  # key "a" replaces "b"


def test_a_helper_whose_port_is_taken_is_not_injected() -> None:
    obj = pod("deployment")
    obj["spec"]["containers"][0]["ports"].append({"name": "metrics", "containerPort": 9400})
    patched, injected, warnings = inject(obj)
    assert injected == ["waitfor", "nginxlog"]
    assert warnings == ["gitsync not injected: port 9400/TCP is taken by web"]
    assert names(patched["spec"]["containers"]) == ["web", "nginxlog"]
