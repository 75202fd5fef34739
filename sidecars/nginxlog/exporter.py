"""prometheus-nginxlog-exporter's own configuration file, YAML or HCL, read as it is.

Users of that exporter keep the file they have: ``namespaces`` (each with its format,
files or syslog listener, static labels, relabelling and buckets) and ``listen``. Every
key of its schema is either honoured, or named in a start-up warning (``consul``, a
``listen`` address other than the admin server's) or error; a key outside the schema is
an error too, so that a typo is never a silent no-op. HCL is version 1, the dialect the
exporter reads, parsed by pyhcl, which is imported only when an ``.hcl`` file is given.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import InputSpec, is_exporter_file
from .hclfile import hcl_data
from .syslog import ListenAddress

__all__ = ["ExporterConfig", "NamespaceSpec", "RelabelSpec", "is_exporter_file", "load_exporter"]

_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_PREFIX = re.compile(r"(?:[a-zA-Z_:][a-zA-Z0-9_:]*)?")
_TOP = {"listen", "consul", "namespaces", "enable_experimental", "enableexperimentalfeatures"}
_LISTEN = {"port", "address", "metrics_endpoint"}
_CONSUL = {"enable", "address", "datacenter", "scheme", "token", "service"}
_CONSUL_SERVICE = {"id", "name", "address", "tags"}
_NAMESPACE = {
    "name", "namespace_label", "metrics_override", "source_files", "source", "parser", "format",
    "labels", "relabel_configs", "histogram_buckets", "print_log",
}  # fmt: skip
_RELABEL = {"target_label", "from", "whitelist", "matches", "split", "separator", "only_counter"}
_SYSLOG_FORMATS = {"", "auto", "rfc3164", "rfc5424", "rfc6587"}
DEFAULT_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" "$http_x_forwarded_for"'
)
"""The exporter's format when a namespace sets none."""


@dataclass(frozen=True, slots=True)
class RelabelSpec:
    """One ``relabel`` entry as written; ``where`` names it in messages."""

    target: str
    source: str
    where: str
    split: int = 0
    separator: str = " "
    whitelist: tuple[str, ...] | None = None
    matches: tuple[tuple[str, str], ...] = ()
    only_counter: bool = False


@dataclass(frozen=True, slots=True)
class NamespaceSpec:
    name: str
    prefix: str
    format: str
    where: str
    inputs: list[InputSpec] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    namespace_label: str | None = None
    relabels: list[RelabelSpec] = field(default_factory=list)
    buckets: tuple[float, ...] | None = None
    print_log: bool = False


@dataclass(frozen=True, slots=True)
class ExporterConfig:
    namespaces: list[NamespaceSpec]
    port: int | None = None
    address: str | None = None
    metrics_endpoint: str = "/metrics"
    warnings: list[str] = field(default_factory=list)
    listen: bool = False
    """Whether the file has a ``listen`` block."""


def load_exporter(path: Path) -> ExporterConfig:
    """Read and check the whole file; ``ValueError`` names the file, the key and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    hcl = path.suffix == ".hcl"
    import yaml  # only exporter files pay for it: it adds 1 MB to every helper's RSS

    try:
        data = hcl_data(text) if hcl else yaml.load(text, Loader=_text_loader())
    except (yaml.YAMLError, ValueError) as exc:
        kind = "HCL" if hcl else "YAML"
        raise ValueError(f"{path} is not valid {kind}: {exc}".replace("\n", " ")) from None
    return _Reader(path, hcl).read(data if data is not None else {})


class _Reader:
    def __init__(self, path: Path, hcl: bool) -> None:
        self.path = path
        self.hcl = hcl
        self.warnings: list[str] = []

    def fail(self, where: str, problem: str) -> ValueError:
        return ValueError(f"{self.path}: {where}: {problem}")

    def read(self, data: object) -> ExporterConfig:
        if isinstance(data, dict) and "port" in data:
            data = {k: v for k, v in data.items() if k != "port"}
            self.warnings.append(
                f"{self.path}: port at the top level is not read (nor by the exporter); "
                "use listen.port"
            )
        top = self.table(data, "the top level", _TOP)
        listen = self.table(top.get("listen", {}), "listen", _LISTEN)
        port = self.typed(listen, "port", int, "listen")
        address = self.typed(listen, "address", str, "listen")
        endpoint = self.typed(listen, "metrics_endpoint", str, "listen") or "/metrics"
        if not endpoint.startswith("/"):
            raise self.fail("listen.metrics_endpoint", f"{endpoint!r} must start with /")
        consul = self.table(top.get("consul", {}), "consul", _CONSUL)
        self.table(consul.get("service", {}), "consul.service", _CONSUL_SERVICE)
        if self.typed(consul, "enable", bool, "consul"):
            self.warnings.append(
                f"{self.path}: consul: registration in Consul is not supported and is not done"
            )
        entries = top.get("namespaces", [])
        if not isinstance(entries, list) or not entries:
            key = "namespace" if self.hcl else "namespaces"
            raise self.fail(key, "expected at least one namespace")
        namespaces = [self.namespace(entry, i) for i, entry in enumerate(entries)]
        names = [ns.name for ns in namespaces]
        for ns in namespaces:
            if names.count(ns.name) > 1:
                raise self.fail(ns.where, f"namespace name {ns.name!r} is used twice")
        return ExporterConfig(
            namespaces, port, address, endpoint, self.warnings, listen="listen" in top
        )

    def namespace(self, entry: object, index: int) -> NamespaceSpec:
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f'namespace "{name}"' if self.hcl else f"namespaces[{index}]"
        body = self.table(entry, where, _NAMESPACE)
        if not isinstance(name, str) or not name:
            raise self.fail(where, "name: required, a text")
        prefix = name
        override = body.get("metrics_override")
        if override is not None:
            table = self.table(override, f"{where}.metrics_override", {"prefix"})
            prefix = self.typed(table, "prefix", str, f"{where}.metrics_override") or ""
        if not _PREFIX.fullmatch(prefix):
            key = "metrics_override.prefix" if override is not None else "name"
            raise self.fail(
                f"{where}.{key}", f"{prefix!r} would make invalid metric names; use letters, "
                "digits and _ (or set metrics_override.prefix)",
            )  # fmt: skip
        parser = self.typed(body, "parser", str, where) or "text"
        if parser not in ("text", "json"):
            raise self.fail(f"{where}.parser", f"{parser!r}: expected text or json")
        log_format = self.typed(body, "format", str, where) or DEFAULT_FORMAT
        if parser == "json" and "format" in body:
            self.warnings.append(f"{self.path}: {where}.format: not used with parser json")
        labels = self.labels(body.get("labels", {}), f"{where}.labels")
        label = self.typed(body, "namespace_label", str, where) or None
        if label is not None and not _LABEL.fullmatch(label):
            raise self.fail(f"{where}.namespace_label", f"{label!r} is not a label name")
        if label is not None and label in labels:
            raise self.fail(f"{where}.namespace_label", f"{label!r} is also in labels")
        buckets = self.buckets(body.get("histogram_buckets"), f"{where}.histogram_buckets")
        relabel_key = "relabel" if self.hcl else "relabel_configs"
        relabel_list = body.get("relabel_configs", [])
        if not isinstance(relabel_list, list):
            raise self.fail(f"{where}.{relabel_key}", "expected a list")
        relabels: list[RelabelSpec] = []
        for i, entry in enumerate(relabel_list):
            relabel = self.relabel(entry, f"{where}.{relabel_key}", i)
            first = next((r for r in relabels if r.target == relabel.target), None)
            if first is None:
                relabels.append(relabel)
            else:  # the exporter keeps the first rule for a label, and so do we
                self.warnings.append(
                    f"{self.path}: {relabel.where}: label {relabel.target!r} is already set "
                    f"by {first.where}; this rule is not used"
                )
        for relabel in relabels:
            if relabel.target in labels or relabel.target == label:
                raise self.fail(relabel.where, f"label {relabel.target!r} is also a static label")
        return NamespaceSpec(
            name=name,
            prefix=prefix,
            format="json" if parser == "json" else log_format,
            where=where,
            inputs=self.inputs(body, where),
            labels=labels,
            namespace_label=label,
            relabels=relabels,
            buckets=buckets,
            print_log=bool(self.typed(body, "print_log", bool, where)),
        )

    def inputs(self, body: dict[str, Any], where: str) -> list[InputSpec]:
        source = self.table(body.get("source", {}), f"{where}.source", {"files", "syslog"})
        files = self.strings(body.get("source_files", []), f"{where}.source_files")
        files += self.strings(source.get("files", []), f"{where}.source.files")
        inputs = [InputSpec(files=tuple(files))] if files else []
        if source.get("syslog") is not None:
            at = f"{where}.source.syslog"
            syslog = self.table(source["syslog"], at, {"listen_address", "format", "tags"})
            text = self.typed(syslog, "listen_address", str, at)
            try:
                address = ListenAddress.parse(text or "")
            except ValueError:
                raise self.fail(f"{at}.listen_address", f"{text!r}: expected "
                                f"{ListenAddress.expected}") from None  # fmt: skip
            kind = self.typed(syslog, "format", str, at) or ""
            if kind not in _SYSLOG_FORMATS:
                raise self.fail(f"{at}.format", f"{kind!r}: expected rfc3164, rfc5424, "
                                "rfc6587 or auto")  # fmt: skip
            tags = [t for t in self.strings(syslog.get("tags", []), f"{at}.tags") if t]
            inputs.append(InputSpec(syslog=address, tags=tuple(tags)))
        if not inputs:
            raise self.fail(f"{where}.source", "needs files or syslog")
        return inputs

    def relabel(self, entry: object, at: str, index: int) -> RelabelSpec:
        target = entry.get("target_label") if isinstance(entry, dict) else None
        where = f'{at} "{target}"' if self.hcl else f"{at}[{index}]"
        body = self.table(entry, where, _RELABEL)
        if not isinstance(target, str) or not _LABEL.fullmatch(target):
            raise self.fail(f"{where}.target_label", f"{target!r} is not a label name")
        source = self.typed(body, "from", str, where)
        if not source:
            raise self.fail(f"{where}.from", "required: the log variable (without $)")
        split = self.typed(body, "split", int, where) or 0
        if split < 0:
            raise self.fail(f"{where}.split", f"{split}: expected 0 or more")
        whitelist = body.get("whitelist")
        if whitelist:
            whitelist = tuple(self.strings(whitelist, f"{where}.whitelist"))
        matches_key = "match" if self.hcl else "matches"
        match_list = body.get("matches", [])
        if not isinstance(match_list, list):
            raise self.fail(f"{where}.{matches_key}", "expected a list")
        matches = []
        for number, match in enumerate(match_list):
            regex = match.get("regexp") if isinstance(match, dict) else None
            at_match = f'{where}.match "{regex}"' if self.hcl else f"{where}.matches[{number}]"
            table = self.table(match, at_match, {"regexp", "replacement"})
            regex = regex or ""  # a match without one takes every value, as in the exporter
            if not isinstance(regex, str):
                raise self.fail(f"{at_match}.regexp", f"expected a text, found {_kind(regex)}")
            try:
                re.compile(regex)
            except re.error as exc:
                raise self.fail(f"{at_match}.regexp", f"invalid regex {regex!r}: {exc}") from None
            matches.append((regex, self.typed(table, "replacement", str, at_match) or ""))
        return RelabelSpec(
            target=target,
            source=source.removeprefix("$"),
            where=where,
            split=split,
            separator=self.typed(body, "separator", str, where) or " ",
            whitelist=whitelist or None,
            matches=tuple(matches),
            only_counter=bool(self.typed(body, "only_counter", bool, where)),
        )

    def table(self, value: object, where: str, keys: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a table, found {_kind(value)}")
        unknown = sorted(str(key) for key in value if key not in keys)
        if unknown:
            shown = ", ".join(sorted(_spelled(k, self.hcl) for k in keys))
            raise self.fail(where, f"unknown key {unknown[0]!r}; expected one of {shown}")
        return value

    def typed(self, table: dict[str, Any], key: str, kind: type, where: str) -> Any:
        """The value of ``key`` read as the exporter's Go struct field of type ``kind``: YAML
        scalars arrive as text and are read by that type (``NO`` stays a text for a text
        field); a HCL file's values arrive typed already."""
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, str) and kind is not str:
            value = _scalar(value, kind)
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            found = _kind(table.get(key))
            raise self.fail(f"{where}.{key}", f"expected {_KIND_NAMES[kind]}, found {found}")
        return value

    def strings(self, value: object, where: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(where, f"expected a list of texts, found {_kind(value)}")
        return list(value)

    def labels(self, value: object, where: str) -> dict[str, str]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a table of name: value, found {_kind(value)}")
        labels = {}
        for name, text in value.items():
            if not isinstance(name, str) or not _LABEL.fullmatch(name):
                raise self.fail(where, f"{name!r} is not a label name")
            if not isinstance(text, str | int | float) or isinstance(text, bool):
                raise self.fail(f"{where}.{name}", f"expected a text, found {_kind(text)}")
            labels[name] = str(text)
        return labels

    def buckets(self, value: object, where: str) -> tuple[float, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list of numbers, found {_kind(value)}")
        numbers: list[float] = []
        for raw in value:
            n = _scalar(raw, float) if isinstance(raw, str) else raw
            if not isinstance(n, int | float) or isinstance(n, bool):
                raise self.fail(where, f"expected a list of numbers, found {_kind(raw)}")
            numbers.append(n)
        if not numbers or any(n <= 0 for n in numbers) or numbers != sorted(set(numbers)):
            raise self.fail(where, "expected increasing positive numbers")
        return tuple(float(n) for n in numbers)


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"text {value!r}"
    return f"{_KIND_NAMES.get(type(value), type(value).__name__)} {value!r}"


_KIND_NAMES: dict[type, str] = {str: "a text", int: "a whole number", float: "a number",
                                bool: "true or false"}  # fmt: skip
_INT = re.compile(r"[-+]?(?:[0-9]+|0x[0-9a-fA-F]+|0o[0-7]+|0b[01]+)")
_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False,
          "y": True, "n": False}  # fmt: skip


def _scalar(text: str, kind: type) -> object:
    """A YAML scalar read into a Go field of ``kind`` as yaml.v3 does; the text itself
    when it does not read as one (the caller names what was found)."""
    if isinstance(text, _Quoted):
        return text  # "80" is a text in YAML, for Go as well
    try:
        if kind is int and _INT.fullmatch(text):
            return int(text.replace("_", ""), 0)
        if kind is float:
            special = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
            return special.get(text.lower()) or float(text)
    except ValueError:
        return text
    if kind is bool:
        return _BOOLS.get(text.lower(), text)
    return text


def _text_loader() -> type:
    """A YAML loader that keeps every scalar as its text (null aside), as the exporter's Go
    structs do for their text fields: ``NO``, ``1.10``, ``0755`` and ``true`` stay texts."""
    import yaml

    class TextLoader(yaml.BaseLoader):
        pass

    TextLoader.add_implicit_resolver(
        "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
    )
    TextLoader.add_constructor("tag:yaml.org,2002:null", lambda _loader, _node: None)
    TextLoader.add_constructor("tag:yaml.org,2002:str", _text)
    return TextLoader


class _Quoted(str):
    """A scalar written in quotes: a text, whatever it looks like."""

    __slots__ = ()


def _text(loader: Any, node: Any) -> str:
    value = loader.construct_scalar(node)
    return _Quoted(value) if node.style in ("'", '"') else str(value)


def _spelled(key: str, hcl: bool) -> str:
    if not hcl:
        return key
    return {"namespaces": "namespace", "relabel_configs": "relabel", "matches": "match"}.get(
        key, key
    )
