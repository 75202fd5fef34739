"""prometheus-nginxlog-exporter's YAML and HCL files read into namespaces, and every
mistake named by file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sidecars import ConfigError
from sidecars.nginxlog.exporter import DEFAULT_FORMAT, load_exporter
from sidecars.nginxlog.namespaces import plan
from sidecars.nginxlog.plan import build_parser
from sidecars.nginxlog.relabel import go_replacement
from sidecars.nginxlog.settings import NginxLogSettings

YAML = """
listen:
  port: 4040
  metrics_endpoint: "/metrics"
namespaces:
  - name: app1
    format: "$remote_addr - $remote_user [$time_local] \\"$request\\" $status $body_bytes_sent"
    source:
      files:
        - /var/log/nginx/app1/access.log
    labels:
      app: "application-one"
    histogram_buckets: [.005, .01, .1, 1]
    relabel_configs:
      - target_label: request_uri
        from: request
        split: 2
        matches:
          - regexp: "^/users/[0-9]+"
            replacement: "/users/:id"
      - target_label: user
        from: remote_user
        whitelist: ["alice", "bob"]
  - name: app2
    source:
      syslog:
        listen_address: "udp://127.0.0.1:5531"
        format: rfc3164
    metrics_override:
      prefix: ""
    namespace_label: vhost
"""

HCL = """
listen {
  port = 4040
  metrics_endpoint = "/metrics"
}

namespace "app1" {
  format = "$remote_addr - $remote_user [$time_local] \\"$request\\" $status $body_bytes_sent"
  source {
    files = ["/var/log/nginx/app1/access.log"]
  }
  labels {
    app = "application-one"
  }
  histogram_buckets = [.005, .01, .1, 1]

  relabel "request_uri" {
    from = "request"
    split = 2
    match "^/users/[0-9]+" {
      replacement = "/users/:id"
    }
  }

  relabel "user" {
    from = "remote_user"
    whitelist = ["alice", "bob"]
  }
}

namespace "app2" {
  source = {
    syslog {
      listen_address = "udp://127.0.0.1:5531"
      format = "rfc3164"
    }
  }
  metrics_override = { prefix = "" }
  namespace_label = "vhost"
}
"""


@pytest.mark.parametrize(("suffix", "text"), [(".yaml", YAML), (".hcl", HCL)])
def test_yaml_and_hcl_read_the_same(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"config{suffix}"
    path.write_text(text)
    config = load_exporter(path)
    app1, app2 = config.namespaces
    assert (app1.name, app1.prefix, app1.labels) == ("app1", "app1", {"app": "application-one"})
    assert app1.inputs[0].files == ("/var/log/nginx/app1/access.log",)
    assert app1.buckets == (0.005, 0.01, 0.1, 1.0)
    uri, user = app1.relabels
    assert (uri.target, uri.source, uri.split) == ("request_uri", "request", 2)
    assert uri.matches == (("^/users/[0-9]+", "/users/:id"),)
    assert user.whitelist == ("alice", "bob")
    assert (app2.prefix, app2.namespace_label, app2.format) == ("", "vhost", DEFAULT_FORMAT)
    assert str(app2.inputs[0].syslog) == "udp://127.0.0.1:5531"
    assert config.port == 4040
    assert config.warnings == []


def test_relabels_map_values_as_the_exporter_does(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(YAML)
    settings = NginxLogSettings.from_env({"NGINXLOG_CONFIG": str(path)})
    app1, app2 = plan(settings).namespaces
    uri, user = app1.relabels
    assert uri.source == "path"  # the second word of $request
    assert uri.convert(b"/users/12") == "/users/:id"
    assert uri.convert(b"/users/12/photos?x=1") == "/users/:id/photos?x=1"  # ReplaceAll
    assert uri.convert(b"/other") == ""  # no match: empty, as in the exporter
    assert user.source == "$remote_user"
    assert (user.convert(b"alice"), user.convert(b"mallory")) == ("alice", "other")
    assert app2.const == {"vhost": "app2"}
    assert app2.static == {"vhost": "app2"}


def test_go_style_replacements() -> None:
    def sub(pattern: str, template: str, value: str) -> str:
        return re.compile(pattern).sub(go_replacement(template), value)

    assert sub(r"^/(users|groups)/[0-9]+", "/$1/:id", "/users/7") == "/users/:id"
    assert sub(r"^/(?P<kind>\w+)/\d+", "/${kind}/:id", "/docs/1") == "/docs/:id"
    assert sub(r"^/(\w+)", "$9-$$-${nope}", "/a") == "-$-"
    assert sub(r"\d", "#", "a1b22") == "a#b##"


@pytest.mark.parametrize(
    ("suffix", "text", "message"),
    [
        (".yaml", "namespaces:\n  - name: a\n    formt: x\n", "namespaces[0]: unknown key 'formt'"),
        (
            ".yaml",
            "namespaces:\n  - name: a\n    source:\n      files: /a.log\n",
            "namespaces[0].source.files: expected a list of texts, found text '/a.log'",
        ),
        (
            ".yaml",
            "namespaces:\n  - name: a\n    source: {files: [a]}\n    relabel_configs:\n"
            "      - {target_label: u, from: request, split: 2, matches: [{regexp: '(x'}]}\n",
            "namespaces[0].relabel_configs[0].matches[0].regexp: invalid regex '(x'",
        ),
        (
            ".yaml",
            "listen:\n  port: '80'\nnamespaces: []\n",
            "listen.port: expected a whole number, found text '80'",
        ),
        (".yaml", "namespaces:\n  - name: my-app\n    source: {files: [a]}\n", ".name: 'my-app'"),
        (
            ".hcl",
            'namespace "a" {\n  source { files = ["a"] }\n'
            '  relabel "u" {\n    from = "request"\n    split = 2\n'
            '    match "[" { replacement = "x" }\n  }\n}\n',
            'namespace "a".relabel "u".match "[".regexp: invalid regex',
        ),
        (".hcl", 'namespace "a" {\n  sorce { files = ["a"] }\n}\n', "unknown key 'sorce'"),
        (".hcl", "namespace {", "is not valid HCL"),
    ],
)
def test_mistakes_name_the_file_and_the_key(
    tmp_path: Path, suffix: str, text: str, message: str
) -> None:
    path = tmp_path / f"exporter{suffix}"
    path.write_text(text)
    with pytest.raises(ValueError, match="^" + str(path).replace(".", r"\.")) as caught:
        load_exporter(path)
    assert message in str(caught.value)


def test_consul_is_named_as_not_done_and_tags_are_read(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "consul:\n  enable: true\nnamespaces:\n  - name: a\n    source:\n      syslog:\n"
        "        listen_address: udp://127.0.0.1:0\n        tags: [nginx]\n"
    )
    config = load_exporter(path)
    assert [w for w in config.warnings if "consul" in w and str(path) in w]
    assert config.namespaces[0].inputs[0].tags == ("nginx",)


def test_relabel_from_a_summed_variable_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "namespaces:\n  - name: a\n    source: {files: [a.log]}\n    relabel_configs:\n"
        "      - {target_label: size, from: body_bytes_sent}\n"
    )
    with pytest.raises(ConfigError, match=r"relabel_configs\[0\]\.from: \$body_bytes_sent"):
        NginxLogSettings.from_env({"NGINXLOG_CONFIG": str(path)})


def test_json_lines_namespaces_relabel_known_variables(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "namespaces:\n  - name: a\n    parser: json\n    source: {files: [a.log]}\n"
        "    relabel_configs:\n      - {target_label: code, from: status}\n"
        "      - {target_label: uri, from: request, split: 2}\n"
    )
    (namespace,) = plan(NginxLogSettings.from_env({"NGINXLOG_CONFIG": str(path)})).namespaces
    assert namespace.log_format.is_json_lines
    assert [(r.target, r.source) for r in namespace.relabels] == [
        ("code", "status"),
        ("uri", "path"),
    ]
    path.write_text(path.read_text() + "      - {target_label: ua, from: http_user_agent}\n")
    with pytest.raises(ConfigError, match="with parser json, \\$http_user_agent cannot be a label"):
        NginxLogSettings.from_env({"NGINXLOG_CONFIG": str(path)})


def test_labels_are_checked_against_each_namespace_format(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "namespaces:\n  - name: a\n    format: '$host \"$request\" $status'\n"
        "    source: {files: [a.log]}\n  - name: b\n    source: {files: [b.log]}\n"
    )
    env = {"NGINXLOG_CONFIG": str(path), "NGINXLOG_LABELS": "host"}
    with pytest.raises(ConfigError) as caught:
        NginxLogSettings.from_env(env)
    assert f"{path}: namespaces[1].format: the format carries no variable for host" in str(
        caught.value
    )
    assert "namespaces[0]" not in str(caught.value)


def test_variables_made_with_map_are_read_as_text_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "namespaces:\n  - name: a\n    format: '$remote_addr $tenant \"$request\" $status'\n"
        "    source: {files: [a.log]}\n"
        "    relabel_configs:\n      - {target_label: t, from: tenant}\n"
        "  - name: b\n    parser: json\n    format: '$status'\n    source: {files: [b.log]}\n"
    )
    the_plan = plan(NginxLogSettings.from_env({"NGINXLOG_CONFIG": str(path)}))
    assert any("namespaces[0].format" in w and "$tenant" in w for w in the_plan.warnings)
    assert any("namespaces[1].format: not used with parser json" in w for w in the_plan.warnings)
    tenant = the_plan.namespaces[0].relabels[0]
    assert tenant.source == "$tenant"
    parser = build_parser(the_plan.namespaces[0].log_format, {"method", "status", "$tenant"})
    rows: list[tuple[bytes, ...]] = []
    bad: list[bytes] = []
    parser.scan(b'1.2.3.4 acme "GET / HTTP/1.1" 200\n', rows, bad)
    assert bad == []
    assert dict(zip(parser.fields, rows[0], strict=False))["$tenant"] == b"acme"


def _namespace_yaml(tmp_path: Path, body: str, top: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"{top}namespaces:\n  - name: a\n    source_files: [a.log]\n{body}")
    return path


def test_values_are_read_by_the_type_the_exporter_expects(tmp_path: Path) -> None:
    path = _namespace_yaml(
        tmp_path,
        "    labels: {no: NO, version: 1.10, mode: 0755, flag: true, n: 3}\n"
        "    histogram_buckets: [1e-3, .5, 2]\n"
        "    print_log: yes\n",
        top="listen: {port: 0x10}\n",
    )
    config = load_exporter(path)
    (namespace,) = config.namespaces
    assert namespace.labels == {
        "no": "NO",
        "version": "1.10",
        "mode": "0755",
        "flag": "true",
        "n": "3",
    }
    assert namespace.buckets == (0.001, 0.5, 2.0)
    assert namespace.print_log is True
    assert config.port == 16


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("    histogram_buckets: [1, two]\n", "histogram_buckets: expected a list of numbers, "
         "found text 'two'"),
        ("    histogram_buckets: [1, '2']\n", "histogram_buckets: expected a list of numbers, "
         "found text '2'"),
        ("    print_log: maybe\n", "namespaces[0].print_log: expected true or false, "
         "found text 'maybe'"),
        ("    relabel_configs: [{target_label: u, from: request, split: two}]\n",
         "relabel_configs[0].split: expected a whole number, found text 'two'"),
        ("    labels: {a: [1]}\n", "labels.a: expected a text, found a list"),
    ],
)  # fmt: skip
def test_a_wrong_type_names_the_key_and_what_was_found(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load_exporter(_namespace_yaml(tmp_path, body))


def test_without_a_format_the_exporters_default_applies(tmp_path: Path) -> None:
    settings = NginxLogSettings.from_env({"NGINXLOG_CONFIG": str(_namespace_yaml(tmp_path, ""))})
    (namespace,) = plan(settings).namespaces
    assert namespace.log_format.text == DEFAULT_FORMAT
    assert settings.summaries_on


def test_a_duplicated_relabel_target_keeps_the_first_rule(tmp_path: Path) -> None:
    path = _namespace_yaml(
        tmp_path,
        "    relabel_configs:\n      - {target_label: u, from: remote_user}\n"
        "      - {target_label: u, from: request, split: 2}\n",
    )
    config = load_exporter(path)
    assert [(r.target, r.source) for r in config.namespaces[0].relabels] == [("u", "remote_user")]
    assert any("relabel_configs[1]" in w and "relabel_configs[0]" in w for w in config.warnings)


def test_typos_under_consul_are_errors(tmp_path: Path) -> None:
    path = _namespace_yaml(tmp_path, "", top="consul:\n  enabel: true\n")
    with pytest.raises(ConfigError, match=r"consul: unknown key 'enabel'"):
        NginxLogSettings.from_env({"NGINXLOG_CONFIG": str(path)})
    path = _namespace_yaml(tmp_path, "", top="consul:\n  service: {nmae: x}\n")
    with pytest.raises(ConfigError, match=r"consul\.service: unknown key 'nmae'"):
        NginxLogSettings.from_env({"NGINXLOG_CONFIG": str(path)})
