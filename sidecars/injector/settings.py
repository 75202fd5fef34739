"""Every ``INJECTOR_*`` variable."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from sidecars import ByteSize, HostPort, Problem, Settings, setting

from .templates import DNS_LABEL

_PREFIX_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789.-")


class InjectorSettings(Settings, prefix="INJECTOR_", admin_port=9402, drain_delay="2s"):
    listen_addr: HostPort = setting(
        default=":8443", help="Address of the HTTPS webhook server the API server calls"
    )
    tls_cert: Path = setting(help="PEM serving certificate (chain) file; reloaded when it changes")
    tls_key: Path = setting(help="PEM private key file of the serving certificate")
    templates: Path = setting(
        help="YAML or JSON file of helper templates (a mounted ConfigMap); reloaded on change"
    )
    annotation_prefix: str = setting(
        default="sidecars.io",
        help="Domain of the opt-in label and of the annotations that parameterize injection",
    )
    native_sidecars: bool = setting(
        default=False,
        help="Inject long-running helpers as initContainers with restartPolicy Always "
        "(Kubernetes >= 1.29); a Pod's <prefix>/native annotation overrides it",
    )
    shared_volume: str = setting(
        default="sidecars-shared",
        help="Base name of the emptyDir volumes shared by the helpers and the app; "
        "each helper gets <name>-<helper>",
    )
    strict: bool = setting(
        default=False,
        help="Deny a Pod on any mistake, naming it, instead of leaving the part out with "
        "a warning; a Pod's <prefix>/strict annotation overrides it",
    )
    default: Literal["opt-in", "opt-out"] = setting(
        default="opt-in",
        help="opt-in: only Pods labelled <prefix>/inject=true; opt-out: every Pod that "
        "names helpers, unless labelled <prefix>/inject=false",
    )
    exclude_namespaces: list[str] = setting(
        default="kube-system,kube-public,kube-node-lease",
        help="Namespaces whose Pods are never injected, whatever they ask",
    )
    max_body: ByteSize = setting(
        default="3MiB", help="Largest AdmissionReview body accepted (413 above it)"
    )

    def validate(self) -> list[Problem]:
        problems = []
        prefix = self.annotation_prefix
        if not prefix or not set(prefix) <= _PREFIX_CHARS or len(prefix) > 200:
            problems.append(
                Problem(
                    "INJECTOR_ANNOTATION_PREFIX",
                    prefix,
                    "expected a lower-case DNS domain such as sidecars.io",
                )
            )
        if not DNS_LABEL.fullmatch(self.shared_volume):
            problems.append(
                Problem(
                    "INJECTOR_SHARED_VOLUME",
                    self.shared_volume,
                    "expected a volume name: lower-case letters, digits and '-', at most 63",
                )
            )
        return problems
