"""Every ``NGINXLOG_*`` variable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar, Literal

from sidecars import ByteSize, Duration, Problem, Settings, setting

from .config import is_exporter_file
from .logformat import LogFormat
from .namespaces import plan
from .routes import RouteRules
from .syslog import ListenAddress

__all__ = ["METRIC_FIELDS", "NginxLogSettings", "StaticLabel"]

METRIC_FIELDS = {
    "count": "status",
    "response_size": "bytes",
    "request_size": "request_length",
    "response_time": "request_time",
    "upstream_time": "upstream_time",
    "upstream_connect_time": "upstream_connect_time",
}
"""Each request metric and the field that feeds it."""

MetricName = Literal[
    "count", "response_size", "request_size", "response_time", "upstream_time",
    "upstream_connect_time",
]  # fmt: skip
LabelName = Literal["status_class", "host", "upstream", "route"]


class StaticLabel:
    """``name=value``: a label every line of every input carries."""

    expected: ClassVar[str] = "name=value with a Prometheus label name"
    type_name: ClassVar[str] = "name=value"

    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value

    @classmethod
    def parse(cls, text: str) -> StaticLabel:
        name, sep, value = text.partition("=")
        if not sep or not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name.strip()):
            raise ValueError
        return cls(name.strip(), value.strip())

    def __repr__(self) -> str:
        return f"{self.name}={self.value}"


class NginxLogSettings(Settings, prefix="NGINXLOG_", admin_port=4040):
    format: str = setting(
        default="combined",
        help="The log_format as in nginx.conf (the whole directive, escape=json too, or just "
        "the format text), combined, or json for JSON lines keyed by variable name",
    )
    files: list[str] = setting(
        default="", help="Log files to follow: paths or globs, rescanned for new files"
    )
    start_at: Literal["end", "beginning"] = setting(
        default="end", help="Where to start in files that exist at start-up (no checkpoint)"
    )
    checkpoint: Path | None = setting(
        default="", help="File that keeps read offsets, so a restart neither loses nor recounts"
    )
    syslog: list[ListenAddress] = setting(
        default="",
        help="Listen for nginx access_log syslog:server=... on udp://host:port, "
        "tcp://host:port or unix:///path",
    )
    config: Path | None = setting(
        default="",
        help="TOML file with [[route]] rules and [[input]] entries with labels, or a "
        "prometheus-nginxlog-exporter config file (.yml, .yaml or .hcl)",
    )
    namespace: str = setting(default="nginx", help="Prefix of the request metric names")
    metrics: list[MetricName] = setting(
        default="count,response_size,request_size,response_time,upstream_time,"
        "upstream_connect_time",
        help="Request metrics to export (each only if the format has its variable)",
    )
    labels: list[LabelName] = setting(
        default="", help="Labels besides method and status: status_class, host, upstream, route"
    )
    static_labels: list[StaticLabel] = setting(
        default="", help="Labels with fixed values on every request metric: name=value,..."
    )
    buckets: list[float] = setting(
        default="0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10",
        help="Upper bounds (seconds) of the time histograms' buckets",
    )
    summaries: bool | None = setting(
        default="",
        help="Also export the time summaries (quantiles 0.5, 0.9, 0.99 over 10 minutes); "
        "unset: on in exporter compat, off otherwise",
    )
    compat: Literal["auto", "exporter", "nginxlog"] = setting(
        default="auto",
        help="exporter: prometheus-nginxlog-exporter's defaults (summaries on, method only "
        "from $request); auto: exporter with an exporter config file or command line",
    )
    metrics_path: str = setting(
        default="/metrics", help="Another path the admin server serves the metrics at"
    )
    route_unmatched: str = setting(
        default="other", help="Route label of paths that no route rule matches"
    )
    max_series: int = setting(
        default=10000, help="Label sets kept at most; later new ones count under 'overflow'"
    )
    series_ttl: Duration = setting(
        default="0", help="Drop label sets not seen for this long; 0 keeps them all"
    )
    extra_variables: list[str] = setting(
        default="", help="Variables defined by map or set in nginx.conf that the format uses"
    )
    exporter_names: bool = setting(
        default=True,
        help="Byte counters named as prometheus-nginxlog-exporter does (no _total suffix)",
    )
    max_line: ByteSize = setting(
        default="64KiB", help="Longer lines are skipped and counted as parse errors"
    )
    checkpoint_interval: Duration = setting(
        default="5s", help="How often the checkpoint file is written (also at exit)"
    )
    poll_interval: Duration = setting(
        default="1s",
        help="How often quiet files and the config file are checked for new lines, rotation "
        "and new glob matches (every 0.1 s while lines keep coming)",
    )

    def parsed_format(self) -> LogFormat:
        log_format = LogFormat.parse(self.format, frozenset(self.extra_variables))
        return log_format.as_exporter() if self.exporter_compat else log_format

    @property
    def exporter_compat(self) -> bool:
        """Whether prometheus-nginxlog-exporter's defaults and label rules apply."""
        if self.compat != "auto":
            return self.compat == "exporter"
        return self.config is not None and is_exporter_file(self.config)

    @property
    def summaries_on(self) -> bool:
        return self.exporter_compat if self.summaries is None else self.summaries

    def validate(self) -> list[Problem]:
        problems = []
        try:
            log_format = self.parsed_format()
        except ValueError as exc:
            problems.append(Problem("NGINXLOG_FORMAT", self.format, str(exc)))
        else:
            if self.config is None or not is_exporter_file(self.config):
                problems += _missing_fields(self, log_format, "NGINXLOG_FORMAT", self.format)
        if any(b <= 0 for b in self.buckets) or list(self.buckets) != sorted(set(self.buckets)):
            problems.append(
                Problem("NGINXLOG_BUCKETS", ",".join(map(str, self.buckets)), "expected "
                        "increasing positive numbers")
            )  # fmt: skip
        if not self.metrics_path.startswith("/"):
            problems.append(
                Problem("NGINXLOG_METRICS_PATH", self.metrics_path, "must start with /")
            )
        if self.max_series < 1:
            problems.append(Problem("NGINXLOG_MAX_SERIES", str(self.max_series), "must be >= 1"))
        has_inputs = True
        if not problems:
            try:
                the_plan = plan(self)
                RouteRules.build(the_plan.routes, self.route_unmatched, str(self.config))
                has_inputs = any(namespace.inputs for namespace in the_plan.namespaces)
            except ValueError as exc:
                problems.append(Problem("NGINXLOG_CONFIG", str(self.config), str(exc)))
            else:
                if the_plan.exporter is not None:
                    for namespace in the_plan.namespaces:
                        labels = ",".join(self.labels)
                        problems += _missing_fields(
                            self, namespace.log_format, "NGINXLOG_LABELS", labels,
                            f"{self.config}: {namespace.where}.format: ",
                        )  # fmt: skip
        if not has_inputs:
            problems.append(
                Problem("NGINXLOG_FILES", None, "required: files to follow, or NGINXLOG_SYSLOG, "
                        "or [[input]] entries in NGINXLOG_CONFIG")
            )  # fmt: skip
        return problems


def _missing_fields(
    settings: NginxLogSettings, log_format: LogFormat, variable: str, value: str, where: str = ""
) -> list[Problem]:
    if log_format.is_json_lines:
        return []
    wanted = set() if log_format.exporter else {"status"}  # without a method: "other"
    wanted |= {"path" if name == "route" else name for name in settings.labels}
    wanted.discard("status_class")
    found = log_format.sources(wanted)
    missing = sorted(wanted - set(found))
    if not missing:
        return []
    return [
        Problem(
            variable,
            value,
            f"{where}the format carries no variable for {', '.join(missing)}, which the labels "
            "need",
        )
    ]
