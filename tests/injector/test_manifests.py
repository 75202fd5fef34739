"""The example manifests: valid for Kubernetes (strict schema), and consistent with the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from sidecars.injector import InjectorSettings
from sidecars.injector.patch import build_patch
from sidecars.injector.plan import read_plan
from sidecars.injector.templates import parse_templates

from .kube import EXAMPLES, KUBERNETES, apply, validate
from .test_templates import shipped_templates


def documents() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return found


def test_every_manifest_passes_kubernetes_validate_strict() -> None:
    files = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))
    assert len(files) >= 5
    tool = Path(sys.executable).with_name("kubernetes-validate")
    done = subprocess.run(
        [str(tool), "--strict", "-k", KUBERNETES, *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(" passed ") == len(documents()), done.stdout


def test_the_webhook_configuration_is_safe() -> None:
    docs = documents()
    hook = docs["MutatingWebhookConfiguration/sidecars-injector"]["webhooks"][0]
    assert hook["sideEffects"] == "None"
    assert hook["failurePolicy"] in ("Fail", "Ignore")
    assert 1 <= hook["timeoutSeconds"] <= 10
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["rules"][0]["operations"] == ["CREATE"]
    assert hook["rules"][0]["resources"] == ["pods"]
    excluded = hook["namespaceSelector"]["matchExpressions"][0]
    assert excluded["operator"] == "NotIn"
    assert set(excluded["values"]) == {"sidecars-injector", "kube-system"}
    prefix = InjectorSettings.from_env(
        {"INJECTOR_TLS_CERT": "c", "INJECTOR_TLS_KEY": "k", "INJECTOR_TEMPLATES": "t"}
    ).annotation_prefix
    assert hook["objectSelector"]["matchLabels"] == {f"{prefix}/inject": "true"}
    service = docs["Service/sidecars-injector"]
    assert hook["clientConfig"]["service"]["name"] == service["metadata"]["name"]
    assert hook["clientConfig"]["service"]["path"] == "/mutate"


def test_the_deployment_uses_real_settings_and_mounts() -> None:
    docs = documents()
    spec = docs["Deployment/sidecars-injector"]["spec"]["template"]["spec"]
    container = spec["containers"][0]
    known = {name for name, _, _ in InjectorSettings.variables()}
    env = {item["name"]: item["value"] for item in container["env"]}
    assert set(env) <= known
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    for variable in ("INJECTOR_TLS_CERT", "INJECTOR_TLS_KEY", "INJECTOR_TEMPLATES"):
        assert str(Path(env[variable]).parent) in mounts
    ports = {p["containerPort"] for p in container["ports"]}
    assert ports == {8443, 9402}
    configmap = docs["ConfigMap/sidecars-injector-templates"]
    assert Path(env["INJECTOR_TEMPLATES"]).name in configmap["data"]


def test_the_example_app_gets_what_its_comment_promises() -> None:
    deployment = documents()["Deployment/web"]
    template = deployment["spec"]["template"]
    obj = {"apiVersion": "v1", "kind": "Pod", **template}
    annotations = template["metadata"]["annotations"]
    templates = parse_templates(shipped_templates(), "configmap")
    plan = read_plan(annotations, "sidecars.io", templates, native=False, volume="sidecars-shared")
    ops, injected = build_patch(obj, plan, "sidecars.io/status")
    assert plan.warnings == []
    assert injected == ["waitfor", "gitsync"]
    patched = apply(obj, ops)
    validate(patched)
    web = patched["spec"]["containers"][0]
    assert web["volumeMounts"] == [
        {"name": "sidecars-shared-gitsync", "mountPath": "/usr/share/nginx/html"}
    ]
