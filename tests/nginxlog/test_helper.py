"""nginxlog as a real process next to a real NGINX: counts, rotation, syslog, reload."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sidecars.testing import HelperProcess
from sidecars.testing import eventually as until

from ..faults import fault_env
from .conftest import DETAILED, JSON_LOG, REFERENCE, Nginx, eventually, total

DIRECTIVE = f"log_format reference '{REFERENCE}';"
COUNT = "nginx_http_response_count_total"


def env(log: Path, **extra: str) -> dict[str, str]:
    return {"NGINXLOG_FORMAT": DIRECTIVE, "NGINXLOG_FILES": str(log), **extra}


async def test_counts_match_the_requests_sent(nginx_factory: Callable[..., Nginx]) -> None:
    nginx = nginx_factory()
    async with HelperProcess("nginxlog", env(nginx.log)) as helper:
        await helper.wait_ready()
        await helper.wait_log(lambda e: e.get("msg") == "following file")
        await nginx.get(["/"] * 20 + ["/missing"] * 5 + ["/up/a", "/up/b"])
        await nginx.get(["/"] * 3, method="POST")

        async def count() -> float:
            return await total(helper, COUNT)

        await eventually(count, 30.0)
        assert await total(helper, COUNT, method="GET", status="200") == 22
        assert await total(helper, COUNT, method="GET", status="404") == 5
        assert await total(helper, COUNT, method="POST", status="200") == 3
        hist = "nginx_http_response_time_seconds_hist_count"
        assert await total(helper, hist) == 30
        assert await total(helper, "nginx_http_upstream_time_seconds_hist_count") == 2
        assert await total(helper, "nginx_http_response_size_bytes") > 0
        assert await total(helper, "nginx_parse_errors_total") == 0


async def test_host_upstream_and_status_class_labels(nginx_factory: Callable[..., Nginx]) -> None:
    nginx = nginx_factory("{log} detailed")
    settings = {
        "NGINXLOG_FORMAT": DETAILED,
        "NGINXLOG_FILES": str(nginx.log),
        "NGINXLOG_LABELS": "host,upstream,status_class",
    }
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_log(lambda e: e.get("msg") == "following file")
        await nginx.get(["/up/a", "/up/b", "/missing"])

        async def count() -> float:
            return await total(helper, COUNT, host="127.0.0.1")

        await eventually(count, 3.0)
        upstream = f"127.0.0.1:{nginx.upstream_port}"
        assert await total(helper, COUNT, upstream=upstream, status_class="2xx") == 2
        assert await total(helper, COUNT, upstream="-", status_class="4xx") == 1
        connect = "nginx_http_upstream_connect_time_seconds_hist_count"
        assert await total(helper, connect) == 2
        assert await total(helper, "nginx_http_request_size_bytes") > 0


async def test_escape_json_format_from_nginx_conf(nginx_factory: Callable[..., Nginx]) -> None:
    nginx = nginx_factory("{log} jsonlog")
    settings = {"NGINXLOG_FORMAT": JSON_LOG, "NGINXLOG_FILES": str(nginx.log)}
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_log(lambda e: e.get("msg") == "following file")
        await nginx.get(["/", "/missing"], headers={"User-Agent": 'a "quoted" \\ agent'})
        await nginx.get(["/"], method="DELETE")

        async def count() -> float:
            return await total(helper, COUNT)

        await eventually(count, 3.0)
        assert await total(helper, COUNT, method="DELETE", status="200") == 1
        assert await total(helper, COUNT, status="404") == 1
        assert await total(helper, "nginx_parse_errors_total") == 0
        assert '\\"quoted\\"' in nginx.log.read_text()


async def test_rename_rotation_and_copytruncate_lose_and_repeat_nothing(
    nginx_factory: Callable[..., Nginx],
) -> None:
    nginx = nginx_factory()
    async with HelperProcess("nginxlog", env(nginx.log)) as helper:
        await helper.wait_ready()
        await helper.wait_log(lambda e: e.get("msg") == "following file")

        async def count() -> float:
            return await total(helper, COUNT)

        await nginx.get(["/"] * 10)
        await eventually(count, 10.0)
        nginx.log.rename(nginx.log.with_suffix(".log.1"))
        await nginx.get(["/"] * 4)  # still written to the renamed file
        nginx.signal("reopen")
        await helper.wait_log(lambda e: e.get("msg") == "file rotated, reading the new one")
        await nginx.get(["/"] * 6)
        await eventually(count, 20.0)

        shutil.copy(nginx.log, nginx.root / "copy.log")
        os.truncate(nginx.log, 0)
        await helper.wait_log(lambda e: e.get("msg") == "file truncated, reading from its start")
        await nginx.get(["/"] * 5)
        await eventually(count, 25.0)
        assert await total(helper, "nginxlog_input_rotations_total") == 2


async def test_syslog_from_nginx(nginx_factory: Callable[..., Nginx]) -> None:
    extra = {"NGINXLOG_FORMAT": DIRECTIVE, "NGINXLOG_SYSLOG": "udp://127.0.0.1:0"}
    async with HelperProcess("nginxlog", extra) as helper:
        listening = await helper.wait_log(lambda e: e.get("msg") == "syslog listening")
        port = str(listening["address"]).rsplit(":", 1)[1]
        nginx = nginx_factory(f"syslog:server=127.0.0.1:{port},tag=nginx reference")
        await nginx.get(["/"] * 7 + ["/broken"] * 2)

        async def count() -> float:
            return await total(helper, COUNT)

        await eventually(count, 9.0)
        assert await total(helper, COUNT, status="500") == 2
        assert await total(helper, "nginx_parse_errors_total") == 0


async def test_bad_lines_are_counted_and_explained(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    good = (
        b'127.0.0.1 - - [22/Nov/2026:04:00:01 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl" '
        b"0.010 0.009\n"
    )
    lines = [good * 3, b"not a log line at all\n", bytes(range(256)).replace(b"\n", b"") + b"\n"]
    lines += [good.replace(b" 200 ", b" abc "), b"x" * (1 << 20) + b"\n", good * 2]
    log.write_bytes(b"".join(lines))
    settings = env(log, NGINXLOG_START_AT="beginning")
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_ready()

        async def count() -> float:
            return await total(helper, COUNT)

        await eventually(count, 5.0)
        assert await total(helper, "nginx_parse_errors_total") == 4
        assert await total(helper, "nginxlog_input_too_long_lines_total") == 1
        warning = await helper.wait_log(
            lambda e: e.get("msg") == "line does not match the log format"
        )
        assert warning["why"] == "column 4: expected the text ' - ', found ' a log line at all'"
        assert warning["line"] == "not a log line at all"


async def test_a_short_line_is_explained_by_column_and_field(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b'127.0.0.1 - - [22/Nov/2026:04:00:01 +0000] "GET / HTTP/1.1" 200 12\n')
    async with HelperProcess("nginxlog", env(log, NGINXLOG_START_AT="beginning")) as helper:
        warning = await helper.wait_log(
            lambda e: e.get("msg") == "line does not match the log format"
        )
        assert warning["why"] == "column 67: expected the text ' \"', found the end of the line"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"NGINXLOG_FORMAT": "$remote_addr $stauts"}, "unknown variable $stauts"),
        ({"NGINXLOG_BUCKETS": "1,0.5"}, "NGINXLOG_BUCKETS"),
        ({"NGINXLOG_LABELS": "host"}, "no variable for host"),
    ],
)
async def test_bad_settings_exit_2(tmp_path: Path, settings: dict[str, str], message: str) -> None:
    files = {"NGINXLOG_FILES": str(tmp_path / "a.log")}
    helper = HelperProcess("nginxlog", {**files, **settings}, admin=False)
    await helper.start()
    assert await helper.wait() == 2
    assert message in helper.stderr()
    assert "Traceback" not in helper.stderr()


async def test_invalid_route_regex_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "nginxlog.toml"
    config.write_text("[[route]]\nmatch = '^/users/(\\d+'\nroute = '/users/:id'\n")
    settings = {"NGINXLOG_FILES": str(tmp_path / "a.log"), "NGINXLOG_CONFIG": str(config)}
    helper = HelperProcess("nginxlog", settings, admin=False)
    await helper.start()
    assert await helper.wait() == 2
    assert "route rule 1: invalid regex" in helper.stderr()
    assert "Traceback" not in helper.stderr()


async def test_routes_reload_on_sighup_keeps_counters(nginx_factory: Callable[..., Nginx]) -> None:
    nginx = nginx_factory()
    config = nginx.root / "nginxlog.toml"
    config.write_text("[[route]]\nmatch = '^/users/\\d+$'\nroute = '/users/:id'\n")
    settings = env(nginx.log, NGINXLOG_CONFIG=str(config), NGINXLOG_LABELS="route")
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_ready()
        await helper.wait_log(lambda e: e.get("msg") == "following file")
        await nginx.get(["/users/1", "/users/22", "/other"])

        async def users() -> float:
            return await total(helper, COUNT, route="/users/:id")

        await eventually(users, 2.0)
        assert await total(helper, COUNT, route="other") == 1
        config.write_text("[[route]]\nmatch = '^/users/(\\d+)$'\nroute = '/u/:id'\n")
        helper.send(signal.SIGHUP)
        await helper.wait_log(lambda e: e.get("msg") == "route rules reloaded")
        await nginx.get(["/users/3"])

        async def renamed() -> float:
            return await total(helper, COUNT, route="/u/:id")

        await eventually(renamed, 1.0)
        assert await users() == 2.0


async def test_checkpoint_restart_neither_loses_nor_recounts(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    line = b'10.0.0.1 - - [22/Nov/2026:04:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "t" 0.001 -\n'
    log.write_bytes(line * 5)
    settings = env(log, NGINXLOG_START_AT="beginning", NGINXLOG_CHECKPOINT=str(tmp_path / "cp"))
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_ready()

        async def count() -> float:
            return await total(helper, COUNT)

        await eventually(count, 5.0)
    with log.open("ab") as handle:
        handle.write(line * 3)
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_ready()
        await eventually(count, 3.0)
        with log.open("ab") as handle:
            handle.write(line * 2)
        await eventually(count, 5.0)


async def test_files_that_appear_later_are_read_from_their_start(tmp_path: Path) -> None:
    line = b'10.0.0.1 - - [22/Nov/2026:04:00:01 +0000] "PUT /x HTTP/1.1" 201 5 "-" "t" 0.2 -\n'
    settings = env(tmp_path / "logs" / "*.log")
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_ready()
        (tmp_path / "logs").mkdir()
        (tmp_path / "logs" / "a.log").write_bytes(line * 2)
        (tmp_path / "logs" / "b.log").write_bytes(line)

        async def count() -> float:
            return await total(helper, COUNT, method="PUT", status="201")

        await eventually(count, 3.0)


LINE = b'10.0.0.1 - - [22/Nov/2026:04:00:01 +0000] "GET /x HTTP/1.1" 200 5 "-" "t" 0.2 -\n'


async def test_inputs_from_the_config_file_carry_their_labels(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(LINE * 2)
    (tmp_path / "b.log").write_bytes(LINE * 3)
    config = tmp_path / "nginxlog.toml"
    config.write_text(
        f"[[input]]\nfiles = ['{tmp_path / 'a.log'}']\nlabels = {{ site = 'a' }}\n"
        f"[[input]]\nfiles = ['{tmp_path / 'b.log'}']\nlabels = {{ site = 'b' }}\n"
    )
    settings = {
        "NGINXLOG_FORMAT": DIRECTIVE,
        "NGINXLOG_CONFIG": str(config),
        "NGINXLOG_START_AT": "beginning",
        "NGINXLOG_STATIC_LABELS": "cluster=c1",
    }
    async with HelperProcess("nginxlog", settings) as helper:

        async def site_b() -> float:
            return await total(helper, COUNT, site="b", cluster="c1")

        await eventually(site_b, 3.0)
        assert await total(helper, COUNT, site="a", cluster="c1") == 2


async def test_route_rules_reload_when_the_config_file_changes(tmp_path: Path) -> None:
    config = tmp_path / "nginxlog.toml"
    config.write_text("[[route]]\nmatch = '^/x$'\nroute = '/first'\n")
    log = tmp_path / "access.log"
    log.write_bytes(b"")
    settings = env(log, NGINXLOG_CONFIG=str(config), NGINXLOG_LABELS="route")
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_log(lambda e: e.get("msg") == "following file")
        config.write_text("[[route]]\nmatch = '^/x$'\nroute = '/second'\n")
        await helper.wait_log(lambda e: e.get("msg") == "route rules reloaded")
        with log.open("ab") as handle:
            handle.write(LINE)

        async def second() -> float:
            return await total(helper, COUNT, route="/second")

        await eventually(second, 1.0)


async def test_label_sets_not_seen_expire(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(LINE)
    settings = env(log, NGINXLOG_START_AT="beginning", NGINXLOG_SERIES_TTL="1s")
    async with HelperProcess("nginxlog", settings) as helper:

        async def expired() -> float:
            return await total(helper, "nginxlog_series_expired_total")

        await eventually(expired, 1.0)
        assert await total(helper, COUNT) == 0
        assert await total(helper, "nginxlog_series") == 0


async def test_a_file_rotated_while_stopped_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(LINE * 4)
    settings = env(log, NGINXLOG_CHECKPOINT=str(tmp_path / "cp"), NGINXLOG_START_AT="beginning")
    async with HelperProcess("nginxlog", settings) as helper:

        async def count() -> float:
            return await total(helper, COUNT)

        await eventually(count, 4.0)
    log.rename(tmp_path / "access.log.1")
    log.write_bytes(LINE * 2)
    async with HelperProcess("nginxlog", {**settings, "NGINXLOG_START_AT": "end"}) as helper:
        await eventually(count, 2.0)


async def test_an_unreadable_path_is_reported_once(tmp_path: Path) -> None:
    (tmp_path / "dir.log").mkdir()
    other = tmp_path / "b.log"
    settings = {
        "NGINXLOG_FORMAT": DIRECTIVE,
        "NGINXLOG_FILES": f"{tmp_path / 'dir.log'},{other}",
        "NGINXLOG_POLL_INTERVAL": "50ms",
        "NGINXLOG_START_AT": "beginning",
    }
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_log(lambda e: e.get("msg") == "cannot open log file")

        async def count() -> float:
            return await total(helper, COUNT)

        other.write_bytes(LINE)  # each count below needs a later poll of both paths
        await eventually(count, 1.0)
        with other.open("ab") as handle:
            handle.write(LINE)
        await eventually(count, 2.0)
        warnings = [e for e in helper.logs if e.get("msg") == "cannot open log file"]
        assert len(warnings) == 1


_LINE = '127.0.0.1 - - [04/Dec/2026:09:00:00 +0000] "GET / HTTP/1.1" 200 3 "-" "curl"\n'


@pytest.mark.skipif(
    shutil.which("setpriv") is None or os.geteuid() != 0,
    reason="drops root's file-permission override with setpriv",
)
async def test_an_unreadable_file_is_not_ready_then_read_from_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "access.log"
    log.write_text(_LINE * 3)
    log.chmod(0)
    wrapper = tmp_path / "python"
    caps = "-dac_override,-dac_read_search"
    wrapper.write_text(
        f'#!/bin/sh\nexec setpriv --inh-caps={caps} --bounding-set={caps} {sys.executable} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(wrapper))
    settings = {"NGINXLOG_FILES": str(log), "NGINXLOG_START_AT": "end"}
    async with HelperProcess("nginxlog", settings) as helper:

        async def unready() -> bool:
            status, body = await helper.get("/readyz")
            return status == 503 and "no input can be read" in body and str(log) in body

        await until(unready, 15.0, "readyz 503 naming the file")
        with log.open("a") as handle:
            handle.write(_LINE * 2)  # written before the first successful open: old lines
        log.chmod(0o644)
        opened = await helper.wait_log(lambda e: e.get("msg") == "following file")
        assert opened["offset"] == len(_LINE) * 5
        await helper.wait_ready()
        with log.open("a") as handle:
            handle.write(_LINE)

        async def counted() -> float:
            return await total(helper, COUNT)

        await eventually(counted, 1.0)


async def test_a_missing_file_is_named_once_and_again_when_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    async with HelperProcess("nginxlog", {"NGINXLOG_FILES": str(log)}) as helper:
        await helper.wait_ready()
        await helper.wait_log(lambda e: "does not exist" in str(e.get("msg")))
        log.write_text(_LINE * 2)
        appeared = await helper.wait_log(lambda e: e.get("msg") == "log file appeared")
        assert appeared["path"] == str(log)

        async def counted() -> float:
            return await total(helper, COUNT)

        await eventually(counted, 2.0)
        missing = [e for e in helper.logs if "does not exist" in str(e.get("msg"))]
        assert len(missing) == 1


def _imported(stderr: str) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize(
    ("config", "used", "unused"),
    [
        (
            None,
            set(),
            {
                "yaml",
                "hcl",
                "tomllib",
                "watchfiles",
                "sidecars.nginxlog.check",
                "sidecars.nginxlog.exporter",
                "sidecars.nginxlog.relabel",
                "sidecars.nginxlog.explain",
            },
        ),
        ("c.yml", {"yaml", "sidecars.nginxlog.exporter"}, {"hcl", "tomllib", "watchfiles"}),
        ("c.toml", {"tomllib"}, {"yaml", "hcl", "watchfiles"}),
    ],
)
async def test_start_up_imports_only_what_the_configuration_uses(
    tmp_path: Path, config: str | None, used: set[str], unused: set[str]
) -> None:
    settings = {"PYTHONPROFILEIMPORTTIME": "1", "NGINXLOG_FILES": str(tmp_path / "a.log")}
    if config is not None:
        path = tmp_path / config
        if config.endswith(".yml"):
            path.write_text(f"namespaces:\n  - name: a\n    source_files: [{tmp_path}/a.log]\n")
            del settings["NGINXLOG_FILES"]
        else:
            path.write_text("")
        settings["NGINXLOG_CONFIG"] = str(path)
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_ready()
        modules = _imported(helper.stderr())
    assert "sidecars.nginxlog.helper" in modules
    assert used <= modules
    assert not unused & modules


async def test_a_failing_follower_ends_the_helper_with_exit_1(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("")
    trigger = tmp_path / "fail-now"
    faults = fault_env(tmp_path / "faults", "sidecars.nginxlog.files:FileFollower.poll", trigger)
    settings = env(log, NGINXLOG_POLL_INTERVAL="50ms", **faults)
    async with HelperProcess("nginxlog", settings) as helper:
        await helper.wait_ready()
        trigger.touch()
        assert await helper.wait() == 1
        crashed = next(e for e in helper.logs if e["msg"].startswith("task nginxlog.follow"))
        assert "injected fault" in crashed["exc"]
        assert helper.logs[-1]["msg"] == f"stopped because task {crashed['task']} failed"
