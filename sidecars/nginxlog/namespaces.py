"""The namespaces to run: one from the ``NGINXLOG_*`` variables (and the TOML file), or
those of a prometheus-nginxlog-exporter file, each with its own format, inputs and labels.

Each namespace gets its own parser, store and metric names; this module decides what
they are and turns every mistake into one message naming the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Config, InputSpec, is_exporter_file, load_config
from .logformat import LogFormat
from .store import LABEL_FIELDS
from .variables import FIELD_SOURCES, is_known

if TYPE_CHECKING:
    from .exporter import ExporterConfig, NamespaceSpec, RelabelSpec
    from .relabel import Relabel
    from .settings import NginxLogSettings

__all__ = ["Namespace", "Plan", "label_names_for", "plan", "same_shape", "wanted_for"]

_VARIABLE = re.compile(r"\$\{?(\w+)")


@dataclass(slots=True)
class Namespace:
    """Everything one namespace's parser, store and collector are built from."""

    name: str
    prefix: str
    log_format: LogFormat
    inputs: list[InputSpec]
    buckets: tuple[float, ...]
    where: str = ""
    static: dict[str, str] = field(default_factory=dict)
    const: dict[str, str] = field(default_factory=dict)
    relabels: list[Relabel] = field(default_factory=list)
    print_log: bool = False


@dataclass(slots=True)
class Plan:
    namespaces: list[Namespace]
    routes: list[tuple[str, str]] = field(default_factory=list)
    exporter: ExporterConfig | None = None
    warnings: list[str] = field(default_factory=list)


def plan(settings: NginxLogSettings) -> Plan:
    """Read the settings and the config file; ``ValueError`` says what is wrong and where."""
    path = settings.config
    if path is not None and is_exporter_file(path):
        from .exporter import load_exporter  # only exporter files pay for it

        return _exporter_plan(settings, path, load_exporter(path))
    config = load_config(path) if path is not None else Config()
    inputs = [InputSpec(files=tuple(settings.files))] if settings.files else []
    inputs += [InputSpec(syslog=address) for address in settings.syslog] + config.inputs
    namespace = Namespace(
        name=settings.namespace,
        prefix=settings.namespace,
        log_format=settings.parsed_format(),
        inputs=inputs,
        buckets=tuple(settings.buckets),
    )
    return Plan([namespace], routes=config.routes)


def _exporter_plan(settings: NginxLogSettings, path: Path, config: ExporterConfig) -> Plan:
    if settings.files or settings.syslog:
        raise ValueError(
            f"{path} lists the inputs of each namespace: NGINXLOG_FILES and NGINXLOG_SYSLOG "
            "cannot be used with it"
        )
    if "route" in settings.labels:
        raise ValueError(
            f"NGINXLOG_LABELS=route needs [[route]] rules in a TOML file; in {path} "
            "use relabel_configs instead"
        )
    warnings = list(config.warnings)
    namespaces = []
    for spec in config.namespaces:
        extra = frozenset(settings.extra_variables)
        unknown = sorted({n for n in _VARIABLE.findall(spec.format) if not is_known(n, extra)})
        if unknown and spec.format != "json":
            shown = ", ".join(f"${name}" for name in unknown)
            warnings.append(
                f"{path}: {spec.where}.format: not NGINX's own variables (made with map or "
                f"set?), read as text: {shown}"
            )
        try:
            log_format = LogFormat.parse(spec.format, extra | frozenset(unknown), literal_ok=True)
            log_format = log_format.as_exporter()
        except ValueError as exc:
            raise ValueError(f"{path}: {spec.where}.format: {exc}") from None
        relabels = [_relabel(r, log_format, path, warnings) for r in spec.relabels]
        const = {spec.namespace_label: spec.name} if spec.namespace_label else {}
        namespaces.append(
            Namespace(
                name=spec.name,
                prefix=spec.prefix,
                log_format=log_format,
                inputs=spec.inputs,
                buckets=spec.buckets or tuple(settings.buckets),
                where=spec.where,
                static={**spec.labels, **const},
                const=const,
                relabels=relabels,
                print_log=spec.print_log,
            )
        )
    _check_collisions(path, config.namespaces)
    return Plan(namespaces, exporter=config, warnings=warnings)


def _relabel(spec: RelabelSpec, log_format: LogFormat, path: Path, warnings: list[str]) -> Relabel:
    """The field a relabel reads: a field the metrics use when it holds the same
    variable, the request's method or path for ``from = request`` with split 1 or 2,
    else the variable captured on its own."""
    var, split = spec.source, spec.split
    where = f"{path}: {spec.where}.from"
    json_lines = log_format.is_json_lines
    if not json_lines and var not in log_format.variables():
        warnings.append(f"{where}: ${var} is not in the format; the label will be empty")
    if var == "request":
        if spec.separator != " " or split not in (1, 2):
            raise ValueError(
                f"{where}: from request, only split 1 (the method) or 2 (the path) with "
                "separator ' ' is supported"
            )
        source, split = ("method", 0) if split == 1 else ("path", 0)
        chosen = log_format.sources({"path"}).get("path")
        if source == "path" and chosen not in (None, "request"):
            warnings.append(f"{where}: the path is read from ${chosen}, which the format has")
    elif var in ("body_bytes_sent", "bytes_sent", "request_length"):
        raise ValueError(f"{where}: ${var} is summed into a metric and cannot be a label")
    else:
        known = [name for name, sources in FIELD_SOURCES.items() if var in sources]
        if json_lines:
            if not known:
                raise ValueError(
                    f"{where}: with parser json, ${var} cannot be a label; use request, "
                    "status, host, upstream_addr or the time variables"
                )
            source = known[0]
        else:
            chosen_by = log_format.sources(set(known))
            source = next((name for name in known if chosen_by.get(name) == var), f"${var}")
    from .relabel import Relabel, go_replacement

    matches = tuple(
        (re.compile(regex or r"\A(?s:.*)"), go_replacement(text)) for regex, text in spec.matches
    )
    return Relabel(
        target=spec.target,
        source=source,
        split=split,
        separator=spec.separator,
        whitelist=frozenset(spec.whitelist) if spec.whitelist is not None else None,
        matches=matches,
        only_counter=spec.only_counter,
        json_escaped=log_format.escape == "json",
    )


def _check_collisions(path: Path, specs: list[NamespaceSpec]) -> None:
    """Namespaces that share metric names must differ in a constant label, or their
    series would be the same series twice."""
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
    for spec in specs:
        const = dict(spec.labels)
        if spec.namespace_label:
            const[spec.namespace_label] = spec.name
        key = (spec.prefix, tuple(sorted(const.items())))
        if key in seen:
            raise ValueError(
                f"{path}: {spec.where}: its metrics would have the same names and labels as "
                f"those of namespace {seen[key]!r}; set namespace_label"
            )
        seen[key] = spec.name


def wanted_for(namespace: Namespace, base: set[str]) -> set[str]:
    """The fields to capture: what the metrics need and what the relabels read."""
    return base | {relabel.source for relabel in namespace.relabels}


def label_names_for(namespace: Namespace, base: tuple[str, ...]) -> tuple[str, ...]:
    """The store's label names: the chosen ones, relabel targets, then static labels."""
    chosen = [name for name in base if name in LABEL_FIELDS]
    static = [name for name in base if name not in LABEL_FIELDS]
    targets = [r.target for r in namespace.relabels if r.target not in chosen]
    static += [name for name in sorted(namespace.static) if name not in static]
    return tuple(chosen + targets + [name for name in static if name not in targets])


def same_shape(old: Plan, new: Plan) -> bool:
    """Whether ``new`` differs from ``old`` in relabel rules alone, which a reload can apply."""
    if len(old.namespaces) != len(new.namespaces):
        return False
    for mine, theirs in zip(old.namespaces, new.namespaces, strict=True):
        fixed = ("name", "prefix", "inputs", "buckets", "static", "const", "print_log")
        if any(getattr(mine, key) != getattr(theirs, key) for key in fixed):
            return False
        if mine.log_format.text != theirs.log_format.text:
            return False
        if len(mine.relabels) != len(theirs.relabels) or not all(
            a.same_shape(b) for a, b in zip(mine.relabels, theirs.relabels, strict=True)
        ):
            return False
    return True
