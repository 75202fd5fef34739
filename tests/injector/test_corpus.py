"""The corpus (``corpus/*.yaml``) through a running injector over HTTPS.

For every Pod and workload: the Pod its controller would create is admitted; the outcome,
the helpers and the warnings are the ones the document's ``corpus.sidecars.io/*``
annotations expect; the patch applies with a JSON Patch library; the result passes strict
schema validation for Kubernetes 1.29 and the newest version kubernetes-validate knows,
plus the API server's rules the schema cannot express (``semantics.py``); a second
admission adds nothing; and ``sidecars injector render`` gives the same Pod.
"""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from kubernetes_validate.utils import latest_version

from sidecars.injector.decide import Decider, Policy
from sidecars.injector.patch import build_patch
from sidecars.injector.plan import read_plan
from sidecars.injector.render import pod_template, render_documents
from sidecars.injector.templates import parse_templates

from . import semantics
from .harness import Webhook, injector
from .kube import apply, patch_of, review
from .test_templates import shipped_templates

CORPUS = Path(__file__).parent / "corpus"
VERSIONS = ("1.29.0", latest_version())
TEMPLATES = parse_templates(shipped_templates(), "configmap")
LONG_RUNNING = {name for name, t in TEMPLATES.items() if t.role == "sidecar"}
OWNERS = {
    "Deployment": "ReplicaSet",
    "ReplicaSet": "ReplicaSet",
    "StatefulSet": "StatefulSet",
    "DaemonSet": "DaemonSet",
    "Job": "Job",
    "CronJob": "Job",
}


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(CORPUS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            found.append((f"{path.name}:{doc['kind']}/{doc['metadata'].get('name')}", doc))
    return found


def pod_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The Pod the document's controller would send for admission."""
    if doc["kind"] == "Pod":
        return copy.deepcopy(doc)
    template = copy.deepcopy(pod_template(doc))
    assert template is not None
    metadata = dict(template.get("metadata") or {})
    name = doc["metadata"]["name"]
    metadata["generateName"] = f"{name}-{uuid.uuid4().hex[:5]}-"
    metadata["namespace"] = doc["metadata"].get("namespace", "default")
    metadata["ownerReferences"] = [
        {
            "apiVersion": "apps/v1" if OWNERS[doc["kind"]] != "Job" else "batch/v1",
            "kind": OWNERS[doc["kind"]],
            "name": name,
            "uid": str(uuid.uuid4()),
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    spec = template["spec"]
    for claim in doc["spec"].get("volumeClaimTemplates", ()):  # a StatefulSet's Pod 0
        claim_name = claim["metadata"]["name"]
        volume = {
            "name": claim_name,
            "persistentVolumeClaim": {"claimName": f"{claim_name}-{name}-0"},
        }
        spec["volumes"] = [*(spec.get("volumes") or ()), volume]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def expectations(pod: dict[str, Any]) -> tuple[str, list[str], list[str]]:
    metadata = pod["metadata"]
    notes = metadata.get("annotations") or {}
    labels = metadata.get("labels") or {}
    expect = notes.get("corpus.sidecars.io/expect") or labels["corpus.sidecars.io/expect"]
    warns = notes.get("corpus.sidecars.io/warns") or labels.get(
        "corpus.sidecars.io/warns", ""
    ).replace("-", " ")
    outcome, _, helpers = expect.partition("=")
    return outcome, [h for h in helpers.split(",") if h], [w for w in warns.split("|") if w]


def validate(pod: dict[str, Any], where: str) -> list[str]:
    stored = semantics.strip_nulls(pod)
    found = []
    for version in VERSIONS:
        try:
            kubernetes_validate.validate(stored, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            found.append(f"{where}: invalid for {version}: {exc.message} at {list(exc.path)}")
    return found


async def admit(hook: Webhook, pod: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The response and the injector's log line for it."""
    request = review(pod)
    request["request"]["namespace"] = pod["metadata"].get("namespace", "default")
    status, answer = await hook.post(request)
    assert status == 200, answer
    uid = request["request"]["uid"]
    line = await hook.proc.wait_log(lambda e: e.get("msg") == "admission" and e.get("uid") == uid)
    return answer["response"], line


def check_warnings(where: str, shown: list[str], expected: list[str]) -> list[str]:
    text = "\n".join(shown)
    if not expected and shown:
        return [f"{where}: unexpected warnings {shown}"]
    return [
        f"{where}: no warning contains {part!r}: {shown}" for part in expected if part not in text
    ]


async def test_the_corpus_through_the_running_webhook(tmp_path: Path) -> None:
    corpus = documents()
    assert len(corpus) >= 60
    kinds = {doc["kind"] for _, doc in corpus}
    assert {"Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"} <= kinds
    failures: list[str] = []
    outcomes: dict[str, int] = {}
    decider = Decider(TEMPLATES, Policy())
    async with injector(tmp_path) as hook:
        for where, doc in corpus:
            pod = pod_of(doc)
            failures += validate(pod, f"{where} (as written)")
            outcome, helpers, warns = expectations(pod)
            response, line = await admit(hook, pod)
            outcomes[line["outcome"]] = outcomes.get(line["outcome"], 0) + 1
            if line["outcome"] != outcome or line["injected"] != helpers:
                failures.append(
                    f"{where}: expected {outcome} {helpers}, got {line['outcome']} "
                    f"{line['injected']} ({line.get('reason')}; {line.get('warnings')})"
                )
                continue
            shown = [w.removeprefix("sidecar injector: ") for w in response.get("warnings", [])]
            failures += check_warnings(where, shown, warns)
            if shown != line.get("warnings", []):
                failures.append(f"{where}: the log line and the response disagree")
            if outcome == "denied":
                message = response["status"]["message"]
                if response["allowed"] or not all(w in message for w in warns):
                    failures.append(f"{where}: denial without the reasons: {response}")
                continue
            ops = patch_of({"response": response})
            patched = apply(copy.deepcopy(pod), ops) if ops else pod
            if outcome != "injected":
                if ops:
                    failures.append(f"{where}: {outcome} but patched")
                continue
            failures += validate(patched, f"{where} (injected)")
            failures += [f"{where}: {p}" for p in semantics.problems(patched, LONG_RUNNING)]
            again, again_line = await admit(hook, patched)
            if "patch" in again or again_line["outcome"] != "already_injected":
                failures.append(f"{where}: a second admission changed it: {again_line}")
            rendered = copy.deepcopy(doc)
            render_documents([rendered], decider, "default")
            template = pod_template(rendered)
            assert template is not None
            claims = {c["metadata"]["name"] for c in doc["spec"].get("volumeClaimTemplates", ())}
            webhook_spec = dict(patched["spec"])
            if claims:
                kept = [v for v in webhook_spec["volumes"] if v["name"] not in claims]
                webhook_spec["volumes"] = kept
            if template["spec"] != webhook_spec or (
                template["metadata"]["annotations"] != patched["metadata"]["annotations"]
            ):
                failures.append(f"{where}: render differs from the webhook")
    assert not failures, "\n".join(failures)
    assert outcomes["injected"] >= 40, outcomes


def test_the_semantic_checks_catch_what_the_skip_rules_prevent() -> None:
    """Forcing helpers into a Windows Pod and a Job (bypassing the policy) breaks the
    rules the checks hold the corpus to, so they are not vacuous."""
    windows = pod_of(next(doc for where, doc in documents() if "iis-site" in where))
    plan = read_plan(
        windows["metadata"]["annotations"], "sidecars.io", TEMPLATES, native=False, volume="v"
    )
    ops, _ = build_patch(windows, plan, "sidecars.io/status")
    assert any(
        "Windows container gitsync sets securityContext" in p
        for p in semantics.problems(apply(windows, ops), LONG_RUNNING)
    )
    job = pod_of(next(doc for where, doc in documents() if "crawl" in where))
    job["spec"]["containers"].append({"name": "gitsync", "image": "sidecars/gitsync:0.1.0"})
    assert "a Pod that must finish runs ['gitsync'] until stopped" in semantics.problems(
        job, LONG_RUNNING
    )
    clash = pod_of(next(doc for where, doc in documents() if "two-clashes" in where))
    clash["spec"]["containers"].append(
        {"name": "x", "image": "x", "ports": [{"containerPort": 9400}]}
    )
    assert any("ports repeat" in p for p in semantics.problems(clash, LONG_RUNNING))
