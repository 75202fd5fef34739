"""``sidecars injector render -f FILE``: manifests in, the same manifests injected out.

Like ``istioctl kube-inject`` and ``linkerd inject``, for a cluster without the webhook or
to see what it would do: Pods and the Pod templates of Deployments, StatefulSets,
DaemonSets, ReplicaSets, Jobs and CronJobs go through the webhook's own ``Decider``; other
objects pass through unchanged. Warnings go to stderr, the manifests to stdout; if strict
mode denies any Pod, nothing is printed and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sidecars import ConfigError

from .decide import EXCLUDED, Decider, NotUnderstood, Policy
from .patch import Patch
from .templates import load_templates

__all__ = ["pod_template", "render_command", "render_documents"]

_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")


def render_command(argv: Sequence[str]) -> int:
    defaults = Policy()
    parser = argparse.ArgumentParser(
        prog="sidecars injector render",
        description="Print Kubernetes manifests with the helpers their Pods ask for injected, "
        "as the webhook would; warnings on stderr.",
    )
    parser.add_argument("-f", "--filename", required=True, help="YAML or JSON file; - for stdin")
    parser.add_argument(
        "--templates", required=True, type=Path, help="Helper templates (INJECTOR_TEMPLATES)"
    )
    parser.add_argument("--namespace", default="default", help="For objects that name none")
    parser.add_argument("--prefix", default=defaults.prefix, help="INJECTOR_ANNOTATION_PREFIX")
    parser.add_argument("--native", action="store_true", help="INJECTOR_NATIVE_SIDECARS=true")
    parser.add_argument("--strict", action="store_true", help="INJECTOR_STRICT=true")
    parser.add_argument(
        "--default",
        choices=("opt-in", "opt-out"),
        default=defaults.default,
        help="INJECTOR_DEFAULT",
    )
    parser.add_argument(
        "--exclude-namespaces",
        default=",".join(EXCLUDED),
        help="INJECTOR_EXCLUDE_NAMESPACES",
    )
    parser.add_argument("--shared-volume", default=defaults.volume, help="INJECTOR_SHARED_VOLUME")
    parser.add_argument("-o", "--output", choices=("yaml", "json"), help="default: as the input")
    args = parser.parse_args(argv)
    try:
        _, templates = load_templates(args.templates)
    except ConfigError as exc:
        print(f"sidecars injector render: {exc.render()}", file=sys.stderr)
        return 2
    policy = Policy(
        prefix=args.prefix,
        native=args.native,
        strict=args.strict,
        default=args.default,
        exclude_namespaces=tuple(n.strip() for n in args.exclude_namespaces.split(",") if n),
        volume=args.shared_volume,
    )
    try:
        text = sys.stdin.read() if args.filename == "-" else Path(args.filename).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"sidecars injector render: cannot read {args.filename}: {exc}", file=sys.stderr)
        return 2
    as_json = text.lstrip().startswith(("{", "["))
    try:
        documents = _parse(text, as_json)
    except ValueError as exc:
        print(f"sidecars injector render: {args.filename}: {exc}", file=sys.stderr)
        return 2
    problems, denied = render_documents(documents, Decider(templates, policy), args.namespace)
    for line in problems:
        print(line, file=sys.stderr)
    if denied:
        print("sidecars injector render: denied in strict mode; nothing printed", file=sys.stderr)
        return 1
    output = args.output or ("json" if as_json else "yaml")
    sys.stdout.write(_dump(documents, output, as_json))
    return 0


def render_documents(
    documents: list[Any], decider: Decider, namespace: str
) -> tuple[list[str], bool]:
    """Inject in place; the stderr lines and whether strict mode denied any Pod."""
    lines: list[str] = []
    denied = False
    for document in documents:
        if not isinstance(document, dict):
            continue
        if document.get("kind") == "List" and isinstance(document.get("items"), list):
            more, deny = render_documents(document["items"], decider, namespace)
            lines += more
            denied = denied or deny
            continue
        template = pod_template(document)
        if template is None:
            continue
        metadata: dict[str, Any] = document.get("metadata") or {}
        if not isinstance(metadata, dict):
            metadata = {}
        where = f"{document.get('kind')}/{metadata.get('name') or metadata.get('generateName')}"
        space = metadata.get("namespace") or namespace
        pod = {"apiVersion": "v1", "kind": "Pod", **template}
        try:
            decision = decider.decide(pod, space)
        except NotUnderstood as exc:
            lines.append(f"{where}: Pod template not understood ({exc}); left unchanged")
            continue
        if decision.outcome == "denied":
            denied = True
            lines.append(f"{where}: {decision.denial}")
            continue
        lines += [f"{where}: warning: {w}" for w in decision.warnings]
        if decision.ops:
            apply_adds(template, json.loads(json.dumps(decision.ops)))
            lines.append(f"{where}: injected {', '.join(decision.injected)}")
        elif decision.reason:
            lines.append(f"{where}: not injected: {decision.reason}")
    return lines, denied


def pod_template(document: dict[str, Any]) -> dict[str, Any] | None:
    """The part of ``document`` shaped like a Pod (metadata and spec), or ``None``."""
    kind = document.get("kind")
    if kind == "Pod":
        return document
    spec = document.get("spec")
    if not isinstance(spec, dict):
        return None
    if kind == "CronJob":
        job = spec.get("jobTemplate")
        spec = job.get("spec") if isinstance(job, dict) else None
        if not isinstance(spec, dict):
            return None
    elif kind not in _TEMPLATE_KINDS:
        return None
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def apply_adds(document: dict[str, Any], ops: Patch) -> None:
    """Apply the ``add`` operations the injector makes (RFC 6902, 4.1)."""
    for op in ops:
        if op["op"] != "add":
            raise ValueError(f"only add operations are expected, not {op['op']!r}")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        target: Any = document
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = parts[-1]
        if isinstance(target, list):
            if last == "-":
                target.append(op["value"])
            else:
                target.insert(int(last), op["value"])
        else:
            target[last] = op["value"]


def _parse(text: str, as_json: bool) -> list[Any]:
    if as_json:
        try:
            return [json.loads(text)]
        except ValueError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    import yaml

    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ValueError(f"{where}not valid YAML: {getattr(exc, 'problem', None) or exc}") from None


def _dump(documents: list[Any], output: str, as_json: bool) -> str:
    if output == "json":
        if len(documents) == 1:
            return json.dumps(documents[0], indent=2) + "\n"
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}, indent=2) + "\n"
    import yaml

    return str(yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False))
