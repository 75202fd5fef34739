"""A prometheus-nginxlog-exporter config file run for real: two namespaces fed by two
real NGINX, relabelling, shared names with a namespace label, bad files, escape=json."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sidecars.testing import HelperProcess, free_port

from ..promtool import needs_promtool, promtool_check
from .conftest import DETAILED, JSON_LOG, REFERENCE, Nginx, eventually, total


def _following(log: Path) -> Callable[[dict[str, Any]], bool]:
    """A match for ``wait_log``, bound to this ``log`` rather than a loop's latest."""
    return lambda e: e.get("msg") == "following file" and e["path"] == str(log)


@needs_promtool
async def test_two_namespaces_with_relabelling(nginx_factory: Callable[..., Nginx]) -> None:
    first, second = nginx_factory("{log} reference"), nginx_factory("{log} detailed")
    config = first.root / "exporter.yaml"
    uri = {
        "target_label": "request_uri",
        "from": "request",
        "split": 2,
        "matches": [
            {"regexp": "^/users/[0-9]+", "replacement": "/users/:id"},
            {"regexp": "^/(missing|broken)$", "replacement": "/$1"},
        ],
    }
    group = {
        "target_label": "status_group",
        "from": "status",
        "matches": [{"regexp": "^([0-9])[0-9][0-9]$", "replacement": "${1}xx"}],
    }
    namespaces = [
        {
            "name": "app1",
            "format": REFERENCE,
            "source": {"files": [str(first.log)]},
            "labels": {"app": "one"},
            "relabel_configs": [uri],
        },
        {
            "name": "app2",
            "format": DETAILED,
            "source": {"files": [str(second.log)]},
            "histogram_buckets": [0.5, 5],
            "relabel_configs": [group, {"target_label": "upstream_addr", "from": "upstream_addr"}],
        },
    ]
    text = yaml.safe_dump({"listen": {"metrics_endpoint": "/custom"}, "namespaces": namespaces})
    config.write_text(text)
    async with HelperProcess("nginxlog", {"NGINXLOG_CONFIG": str(config)}) as helper:
        await helper.wait_ready()
        for nginx in (first, second):
            await helper.wait_log(_following(nginx.log))
        await first.get(["/users/1", "/users/22", "/missing", "/broken", "/"])
        await second.get(["/up/a", "/up/b", "/missing"])

        async def both() -> tuple[float, float]:
            one = await total(helper, "app1_http_response_count_total")
            two = await total(helper, "app2_http_response_count_total")
            return one, two

        await eventually(both, (5.0, 3.0))
        one = "app1_http_response_count_total"
        assert await total(helper, one, request_uri="/users/:id", app="one", method="GET") == 2
        assert await total(helper, one, request_uri="/missing", status="404") == 1
        assert await total(helper, one, request_uri="/broken", status="500") == 1
        assert await total(helper, one, request_uri="") == 1
        two = "app2_http_response_count_total"
        upstream = f"127.0.0.1:{second.upstream_port}"
        assert await total(helper, two, status_group="2xx", upstream_addr=upstream) == 2
        assert await total(helper, two, status_group="4xx", upstream_addr="-") == 1
        status, exposition = await helper.get("/custom")
        assert status == 200
        done = promtool_check(exposition)
        assert (done.returncode, done.stdout + done.stderr) == (0, "")
        bounds = {
            sample.labels["le"]
            for samples in (await helper.metrics()).values()
            for sample in samples
            if sample.name == "app2_http_response_time_seconds_hist_bucket"
        }
        assert bounds == {"0.5", "5.0", "+Inf"}
        assert "app1_http_upstream_connect_time_seconds_hist" not in exposition  # not logged
        assert "app2_http_upstream_connect_time_seconds_hist" in exposition
        assert "app1_parse_errors_total 0.0" in exposition
        assert "app2_parse_errors_total 0.0" in exposition
        warning = await helper.wait_log(lambda e: "is not applied" in str(e.get("msg")))
        assert str(config) in warning["msg"]


LINE = '10.0.0.1 - {user} [22/Nov/2026:04:00:01 +0000] "GET {path} HTTP/1.1" 200 5 "-" "t" 0.2 -\n'
HCL = """
namespace "a" {{
  format = "{format}"
  source {{ files = ["{a}"] }}
  metrics_override = {{ prefix = "web" }}
  namespace_label = "vhost"
  print_log = true
  relabel "path" {{
    from = "request"
    split = 2
    only_counter = true
  }}
}}
namespace "b" {{
  format = "{format}"
  source {{ files = ["{b}"] }}
  metrics_override = {{ prefix = "web" }}
  namespace_label = "vhost"
  relabel "user" {{
    from = "remote_user"
    whitelist = ["alice"]
  }}
}}
"""


@needs_promtool
async def test_hcl_namespaces_share_names_under_a_namespace_label(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text(LINE.format(user="-", path="/x") + LINE.format(user="-", path="/y"))
    b.write_text(LINE.format(user="alice", path="/x") + LINE.format(user="eve", path="/x"))
    config = tmp_path / "exporter.hcl"
    config.write_text(HCL.format(format=REFERENCE.replace('"', '\\"'), a=a, b=b))
    settings = {
        "NGINXLOG_CONFIG": str(config),
        "NGINXLOG_START_AT": "beginning",
        "NGINXLOG_SUMMARIES": "true",
    }
    async with HelperProcess("nginxlog", settings) as helper:
        count = "web_http_response_count_total"

        async def requests() -> float:
            return await total(helper, count)

        await eventually(requests, 4.0)
        assert await total(helper, count, vhost="a", path="/x") == 1
        assert await total(helper, count, vhost="b", user="alice") == 1
        assert await total(helper, count, vhost="b", user="other") == 1
        status, exposition = await helper.get("/metrics")
        assert status == 200
        done = promtool_check(exposition)
        assert (done.returncode, done.stdout + done.stderr) == (0, "")
        hist = 'web_http_response_time_seconds_hist_count{method="GET",status="200",vhost="a"} 2.0'
        assert hist in exposition  # only_counter: the path label is on the counter alone
        summary = 'web_http_response_time_seconds_count{method="GET",status="200",vhost="a"} 2.0'
        assert summary in exposition
        assert 'web_parse_errors_total{vhost="a"} 0.0' in exposition
        assert 'web_parse_errors_total{vhost="b"} 0.0' in exposition
        assert exposition.count("# TYPE web_http_response_count_total counter") == 1
    assert helper.process is not None
    assert helper.process.stdout is not None
    printed = await helper.process.stdout.read()
    assert printed == a.read_bytes()  # print_log is on for namespace a only


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("namespaces:\n  - name: a\n    source: {files: [a.log]}\n    lables: {}\n", "lables"),
        ("namespaces:\n  - name: a\n    source: {files: [a.log]}\n    print_log: 3\n", "print_log"),
        (
            "namespaces:\n  - name: a\n    source: {files: [a.log]}\n    relabel_configs:\n"
            "      - {target_label: x, from: status, matches: [{regexp: '[0-9'}]}\n",
            "relabel_configs[0].matches[0].regexp",
        ),
    ],
)
async def test_a_bad_exporter_file_exits_2(tmp_path: Path, text: str, key: str) -> None:
    config = tmp_path / "exporter.yml"
    config.write_text(text)
    helper = HelperProcess("nginxlog", {"NGINXLOG_CONFIG": str(config)}, admin=False)
    await helper.start()
    assert await helper.wait() == 2
    assert str(config) in helper.stderr()
    assert key in helper.stderr()
    assert "Traceback" not in helper.stderr()


async def raw_request(nginx: Nginx, target: bytes) -> None:
    """A request line sent as it is: an HTTP library would percent-encode the quote."""
    reader, writer = await asyncio.open_connection("127.0.0.1", nginx.port)
    writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    await writer.drain()
    await asyncio.wait_for(reader.read(), 10)
    writer.close()
    await writer.wait_closed()


async def test_escape_json_paths_are_unescaped_before_matching(
    nginx_factory: Callable[..., Nginx],
) -> None:
    nginx = nginx_factory("{log} jsonlog")
    routes = nginx.root / "routes.toml"
    routes.write_text(
        "[[route]]\nmatch = '^/say/\"hi\"$'\nroute = '/say/quoted'\n"
        "[[route]]\nmatch = '^/back\\\\slash$'\nroute = '/backslash'\n"
    )
    exporter = nginx.root / "exporter.yaml"
    relabel = {
        "target_label": "request_uri",
        "from": "request",
        "split": 2,
        "matches": [{"regexp": '^/say/"(hi)"$', "replacement": "/say/$1"}],
    }
    namespace = {
        "name": "json",
        "format": JSON_LOG,
        "source": {"files": [str(nginx.log)]},
        "relabel_configs": [relabel],
    }
    exporter.write_text(yaml.safe_dump({"namespaces": [namespace]}))
    route_settings = {
        "NGINXLOG_FORMAT": JSON_LOG,
        "NGINXLOG_FILES": str(nginx.log),
        "NGINXLOG_LABELS": "route",
        "NGINXLOG_CONFIG": str(routes),
    }
    async with (
        HelperProcess("nginxlog", route_settings) as by_route,
        HelperProcess("nginxlog", {"NGINXLOG_CONFIG": str(exporter)}) as by_relabel,
    ):
        for helper in (by_route, by_relabel):
            await helper.wait_log(lambda e: e.get("msg") == "following file")
        await raw_request(nginx, b'/say/"hi"')
        await raw_request(nginx, b"/back\\slash")
        assert '\\"hi\\"' in nginx.log.read_text()  # nginx did escape them

        async def quoted() -> float:
            return await total(by_route, "nginx_http_response_count_total", route="/say/quoted")

        await eventually(quoted, 1.0)
        name = "nginx_http_response_count_total"
        assert await total(by_route, name, route="/backslash") == 1

        async def relabelled() -> float:
            return await total(by_relabel, "json_http_response_count_total", request_uri="/say/hi")

        await eventually(relabelled, 1.0)
        assert await total(by_relabel, "json_parse_errors_total") == 0


async def test_syslog_namespace_reads_only_its_tags(
    tmp_path: Path, nginx_factory: Callable[..., Nginx]
) -> None:
    port = free_port()
    syslog = {"listen_address": f"udp://127.0.0.1:{port}", "format": "rfc3164", "tags": ["nginx"]}
    namespace = {"name": "sys", "format": REFERENCE, "source": {"syslog": syslog}}
    config = tmp_path / "exporter.yaml"
    config.write_text(yaml.safe_dump({"namespaces": [namespace]}))
    async with HelperProcess("nginxlog", {"NGINXLOG_CONFIG": str(config)}) as helper:
        await helper.wait_log(lambda e: e.get("msg") == "syslog listening")
        nginx = nginx_factory(f"syslog:server=127.0.0.1:{port},tag=nginx reference")
        line = '10.0.0.1 - - [22/Nov/2026:04:00:01 +0000] "PUT /x HTTP/1.1" 201 5 "-" "t" 0.2 -'
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for tag in (b"other", b"nginx"):
                message = b"<190>Nov 22 04:30:00 web-1 " + tag + b": " + line.encode()
                sender.sendto(message, ("127.0.0.1", port))
        await nginx.get(["/"] * 3)

        async def count() -> float:
            return await total(helper, "sys_http_response_count_total")

        await eventually(count, 4.0)
        assert await total(helper, "sys_http_response_count_total", method="PUT") == 1


async def test_relabel_rules_reload_when_the_exporter_file_changes(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(LINE.format(user="-", path="/users/1"))
    config = tmp_path / "exporter.yaml"

    def write(replacement: str, source: str = "request") -> None:
        match = {"regexp": "^/users/[0-9]+$", "replacement": replacement}
        relabel = {"target_label": "uri", "from": source, "split": 2, "matches": [match]}
        namespace = {
            "name": "app",
            "format": REFERENCE,
            "source": {"files": [str(log)]},
            "relabel_configs": [relabel],
        }
        config.write_text(yaml.safe_dump({"namespaces": [namespace]}))

    write("/users/:id")
    settings = {"NGINXLOG_CONFIG": str(config), "NGINXLOG_START_AT": "beginning"}
    async with HelperProcess("nginxlog", settings) as helper:
        name = "app_http_response_count_total"

        async def first() -> float:
            return await total(helper, name, uri="/users/:id")

        await eventually(first, 1.0)
        write("/u/:id")
        await helper.wait_log(lambda e: e.get("msg") == "relabel rules reloaded")
        with log.open("a") as handle:
            handle.write(LINE.format(user="-", path="/users/2"))

        async def second() -> float:
            return await total(helper, name, uri="/u/:id")

        await eventually(second, 1.0)
        assert await first() == 1.0  # counters kept
        write("/u/:id", source="request_uri")  # another source field: needs a restart
        await helper.wait_log(lambda e: "restart to apply" in str(e.get("msg")))
