"""Policy on whole Pods: skip rules, strict mode, Jobs, volumes, ordering, overrides, ports.

Each test changes a realistic fixture in one way and checks the decision, then applies
the patch and validates the result against the Kubernetes schema.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sidecars.injector.decide import Decider, Decision, Policy, owner
from sidecars.injector.templates import parse_templates

from .kube import apply, names, pod, validate
from .test_templates import shipped_templates

TEMPLATES = parse_templates(shipped_templates(), "configmap")


def decide(obj: dict[str, Any], namespace: str = "shop", **policy: Any) -> Decision:
    before = copy.deepcopy(obj)
    decision = Decider(TEMPLATES, Policy(**policy)).decide(obj, namespace)
    assert obj == before, "deciding must not touch the Pod"
    return decision


def patched(obj: dict[str, Any], decision: Decision) -> dict[str, Any]:
    result = apply(obj, decision.ops) if decision.ops else obj
    validate(result)
    return result


def web(**annotations: str) -> dict[str, Any]:
    obj = pod("deployment")
    obj["metadata"]["annotations"].update(annotations)
    return obj


def job(helpers: str = "gitsync", **annotations: str) -> dict[str, Any]:
    obj = pod("pod-init")
    obj["metadata"]["annotations"] = {
        "sidecars.io/helpers": helpers,
        "sidecars.io/gitsync.GITSYNC_REPO": "https://git.example/repo.git",
        "sidecars.io/mounts": "job=gitsync:/src",
        **annotations,
    }
    return obj


def test_the_fixture_is_injected_without_a_warning() -> None:
    decision = decide(web())
    assert decision.outcome == "injected"
    assert decision.warnings == []
    assert decision.injected == ["waitfor", "gitsync", "nginxlog"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"hostNetwork": True}, "hostNetwork Pod"),
        ({"os": {"name": "windows"}}, "Windows Pod"),
        ({"nodeSelector": {"kubernetes.io/os": "windows"}}, "Windows Pod"),
    ],
)
def test_pods_the_helpers_would_harm_are_skipped_with_the_reason(
    change: dict[str, Any], reason: str
) -> None:
    obj = web()
    obj["spec"].update(change)
    decision = decide(obj)
    assert decision.outcome == "skipped"
    assert decision.ops == []
    assert reason in (decision.reason or "")
    assert decision.warnings == [f"not injected: {decision.reason}"], "the Pod asked: say so"
    assert decide(obj, strict=True).outcome == "denied"


def test_excluded_namespaces_by_default_and_by_setting() -> None:
    for namespace in ("kube-system", "kube-public", "kube-node-lease"):
        assert "is excluded" in (decide(web(), namespace).reason or "")
    assert decide(web(), "kube-system", exclude_namespaces=()).outcome == "injected"
    assert decide(web(), "kube-system", strict=True).outcome == "skipped", "never denied"
    assert decide(web(), "shop", exclude_namespaces=("shop",)).outcome == "skipped"


def test_opt_in_and_opt_out() -> None:
    unlabelled = web()
    del unlabelled["metadata"]["labels"]["sidecars.io/inject"]
    decision = decide(unlabelled)
    assert (decision.outcome, decision.warnings) == ("skipped", [])
    assert "not opted in" in (decision.reason or "")
    assert decide(unlabelled, default="opt-out").outcome == "injected"
    opted_out = web()
    opted_out["metadata"]["labels"]["sidecars.io/inject"] = "false"
    assert decide(opted_out, default="opt-out").reason == "opted out (sidecars.io/inject=false)"
    plain = pod("deployment")
    plain["metadata"]["labels"] = {"app": "web"}
    del plain["metadata"]["annotations"]["sidecars.io/helpers"]
    assert decide(plain, default="opt-out").outcome == "skipped"
    by_annotation = copy.deepcopy(unlabelled)
    by_annotation["metadata"]["annotations"]["sidecars.io/inject"] = "true"
    assert decide(by_annotation).outcome == "injected"


def test_strict_mode_denies_naming_every_mistake_and_a_pod_can_choose() -> None:
    obj = web(**{"sidecars.io/helpers": "waitfor,gitsinc", "sidecars.io/gitsync.GITSYNC_REF": ""})
    lenient = decide(obj)
    assert lenient.outcome == "injected"
    strict = decide(obj, strict=True)
    assert strict.outcome == "denied"
    assert strict.ops == []
    assert strict.denial.startswith("sidecar injector (strict mode): ")
    assert "unknown helper 'gitsinc'; did you mean gitsync?" in strict.denial
    assert "gitsync.GITSYNC_REF ignored: gitsync is not in" in strict.denial
    relaxed = copy.deepcopy(obj)
    relaxed["metadata"]["annotations"]["sidecars.io/strict"] = "false"
    assert decide(relaxed, strict=True).outcome == "injected"
    obj["metadata"]["annotations"]["sidecars.io/strict"] = "true"
    assert decide(obj).outcome == "denied"
    assert decide(web(**{"sidecars.io/strict": "true"})).outcome == "injected"


def test_settings_are_checked_by_the_helpers_own_settings_class() -> None:
    decision = decide(
        web(
            **{
                "sidecars.io/gitsync.GITSYNC_REPOO": "https://git.example/x.git",
                "sidecars.io/gitsync.GITSYNC_PERIOD": "often",
                "sidecars.io/waitfor.WAITFOR_TIMEOUT": "5m",
            }
        )
    )
    assert decision.outcome == "injected", "a warning, not a denial"
    assert decision.warnings == [
        "gitsync: GITSYNC_REPOO is not a setting of this helper and is ignored; "
        "did you mean GITSYNC_REPO?",
        "gitsync: GITSYNC_PERIOD='often': expected a duration such as 500ms, 10s, 2m, 1h or 1m30s",
    ]


def test_a_missing_required_setting_is_named() -> None:
    obj = web()
    del obj["metadata"]["annotations"]["sidecars.io/gitsync.GITSYNC_REPO"]
    warnings = decide(obj).warnings
    assert len(warnings) == 1
    assert warnings[0].startswith("gitsync: GITSYNC_REPO is not set: required")


def test_a_job_gets_no_helper_that_would_keep_it_running() -> None:
    decision = decide(job())
    assert decision.outcome == "unchanged"
    assert "gitsync not injected: it runs until stopped" in decision.warnings[0]
    assert decide(job(), strict=True).outcome == "denied"


@pytest.mark.parametrize("how", ["setting", "annotation"])
def test_a_job_gets_long_running_helpers_as_native_sidecars(how: str) -> None:
    obj = job(**({"sidecars.io/native": "true"} if how == "annotation" else {}))
    decision = decide(obj, native=how == "setting")
    assert decision.warnings == []
    result = patched(obj, decision)
    init = result["spec"]["initContainers"]
    assert names(init) == ["gitsync", "schema"]
    assert init[0]["restartPolicy"] == "Always"
    assert names(result["spec"]["containers"]) == ["job"]


def test_a_skipped_helper_adds_nothing_to_app_containers() -> None:
    obj = web()
    obj["spec"]["containers"][0]["ports"].append({"containerPort": 9400})
    decision = decide(obj)
    assert decision.injected == ["waitfor", "nginxlog"]
    result = patched(obj, decision)
    assert (
        result["spec"]["containers"][0]["volumeMounts"]
        == obj["spec"]["containers"][0]["volumeMounts"]
    )
    assert "sidecars-shared-gitsync" not in {v["name"] for v in result["spec"]["volumes"]}


def test_one_volume_per_helper_and_several_mounts_per_container() -> None:
    obj = web(
        **{
            "sidecars.io/mounts": "web=gitsync:/usr/share/nginx/html,web=nginxlog:/var/log/nginx",
            "sidecars.io/nginxlog.volume": "logs",
            "sidecars.io/nginxlog.volume-size": "256Mi",
        }
    )
    result = patched(obj, decide(obj))
    mounts = result["spec"]["containers"][0]["volumeMounts"]
    assert mounts[1:] == [
        {"name": "sidecars-shared-gitsync", "mountPath": "/usr/share/nginx/html"},
        {"name": "logs", "mountPath": "/var/log/nginx"},
    ]
    volumes = {v["name"]: v for v in result["spec"]["volumes"]}
    assert volumes["logs"] == {"name": "logs", "emptyDir": {"sizeLimit": "256Mi"}}
    assert volumes["sidecars-shared-gitsync"] == {"name": "sidecars-shared-gitsync", "emptyDir": {}}
    containers = {c["name"]: c for c in result["spec"]["containers"]}
    assert containers["nginxlog"]["volumeMounts"] == [
        {"name": "logs", "mountPath": "/var/log/nginx"}
    ]


def test_an_unnamed_mount_with_two_helper_volumes_is_a_warning() -> None:
    decision = decide(web(**{"sidecars.io/mounts": "web=/usr/share/nginx/html"}))
    assert "must name the helper whose volume it mounts" in decision.warnings[0]


@pytest.mark.parametrize(
    ("volume", "warning"),
    [
        ({"configMap": {"name": "site"}}, "is read-only (configMap)"),
        ({"persistentVolumeClaim": {"claimName": "c", "readOnly": True}}, "is read-only"),
        ({"persistentVolumeClaim": {"claimName": "c"}}, "is a persistentVolumeClaim, not an"),
    ],
)
def test_a_pod_volume_with_the_chosen_name_is_used_with_a_warning(
    volume: dict[str, Any], warning: str
) -> None:
    obj = web()
    obj["spec"]["volumes"].append({"name": "sidecars-shared-gitsync", **volume})
    decision = decide(obj)
    assert len(decision.warnings) == 1
    assert decision.warnings[0].startswith("gitsync: the Pod's volume sidecars-shared-gitsync ")
    assert warning in decision.warnings[0]
    patched(obj, decision)


def mesh(**annotations: str) -> dict[str, Any]:
    """A Pod after a mesh injected its iptables init container and native proxy."""
    obj = pod("pod-native")
    obj["spec"]["initContainers"].insert(0, {"name": "mesh-init", "image": "mesh/init:1"})
    obj["spec"]["initContainers"].append({"name": "app-init", "image": "example/init:1"})
    obj["metadata"]["annotations"] = {
        "sidecars.io/helpers": "waitfor,gitsync",
        "sidecars.io/waitfor.WAITFOR_TARGETS": "tcp://db:5432",
        "sidecars.io/gitsync.GITSYNC_REPO": "https://git.example/x.git",
        "sidecars.io/native": "true",
        **annotations,
    }
    return obj


def test_injected_init_containers_go_after_the_pods_native_sidecars() -> None:
    obj = mesh()
    result = patched(obj, decide(obj))
    assert names(result["spec"]["initContainers"]) == [
        "mesh-init",
        "log-shipper",
        "waitfor",
        "gitsync",
        "app-init",
    ]


def test_an_annotation_puts_them_first() -> None:
    obj = mesh(**{"sidecars.io/order": "first"})
    result = patched(obj, decide(obj))
    assert names(result["spec"]["initContainers"])[:3] == ["waitfor", "gitsync", "mesh-init"]


def test_per_pod_image_pull_policy_and_resources() -> None:
    obj = web(
        **{
            "sidecars.io/gitsync.image": "registry.example/gitsync:0.1.0-fips",
            "sidecars.io/gitsync.imagePullPolicy": "Always",
            "sidecars.io/gitsync.cpu-request": "200m",
            "sidecars.io/gitsync.cpu-limit": "1",
            "sidecars.io/gitsync.memory-limit": "512Mi",
        }
    )
    decision = decide(obj)
    assert decision.warnings == []
    gitsync = patched(obj, decision)["spec"]["containers"][1]
    assert gitsync["image"] == "registry.example/gitsync:0.1.0-fips"
    assert gitsync["imagePullPolicy"] == "Always"
    assert gitsync["resources"] == {
        "requests": {"cpu": "200m", "memory": "64Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }
    assert TEMPLATES["gitsync"].container["resources"]["limits"] == {"memory": "256Mi"}


def test_an_override_that_would_make_the_pod_invalid_is_refused() -> None:
    obj = web(
        **{
            "sidecars.io/gitsync.memory-request": "1Gi",
            "sidecars.io/gitsync.imagePullPolicy": "Sometimes",
            "sidecars.io/gitsync.cpu-limit": "lots",
        }
    )
    decision = decide(obj)
    assert len(decision.warnings) == 3
    assert "memory request 1Gi not applied: the memory request (1Gi) would exceed" in str(
        decision.warnings
    )
    gitsync = patched(obj, decision)["spec"]["containers"][1]
    assert gitsync["resources"] == TEMPLATES["gitsync"].container["resources"]


def test_hold_makes_a_native_sidecar_with_a_startup_probe() -> None:
    obj = web(**{"sidecars.io/gitsync.hold": "true"})
    result = patched(obj, decide(obj))
    init = {c["name"]: c for c in result["spec"]["initContainers"]}
    assert names(result["spec"]["initContainers"]) == ["waitfor", "gitsync"]
    assert init["gitsync"]["restartPolicy"] == "Always"
    assert init["gitsync"]["startupProbe"]["httpGet"] == {"path": "/readyz", "port": 9400}
    assert names(result["spec"]["containers"]) == ["web", "nginxlog"]


def test_ports_clash_per_protocol_and_not_with_finished_init_containers() -> None:
    obj = web()
    obj["spec"]["containers"][0]["ports"].append({"containerPort": 9400, "protocol": "UDP"})
    obj["spec"]["initContainers"] = [
        {"name": "warm", "image": "x/warm:1", "ports": [{"containerPort": 4040}]}
    ]
    decision = decide(obj)
    assert decision.injected == ["waitfor", "gitsync", "nginxlog"]
    patched(obj, decision)
    obj["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    assert decide(obj).warnings == ["nginxlog not injected: port 4040/TCP is taken by warm"]


def test_a_second_admission_adds_nothing() -> None:
    obj = web()
    once = patched(obj, decide(obj))
    again = decide(once)
    assert (again.outcome, again.ops) == ("already_injected", [])


def test_the_owner_is_the_controller() -> None:
    metadata = {
        "ownerReferences": [
            {"kind": "Other", "name": "x"},
            {"kind": "ReplicaSet", "name": "web-7d4b9c", "controller": True},
        ]
    }
    assert owner(metadata) == "ReplicaSet/web-7d4b9c"
    assert owner({}) is None
