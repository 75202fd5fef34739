"""prometheus-nginxlog-exporter's command line, read as Go's ``flag`` package reads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sidecars.nginxlog.exporter import DEFAULT_FORMAT
from sidecars.nginxlog.flags import FlagError, environment, parse_flags


def test_go_flag_spellings_and_file_names() -> None:
    flags = parse_flags(
        [
            "--format",
            "$status",
            "-namespace=web",
            "-enable-experimental",
            "-listen-port",
            "9",
            "a.log",
            "-x",
        ]
    )
    assert flags.values == {
        "format": "$status",
        "namespace": "web",
        "enable-experimental": "true",
        "listen-port": "9",
    }
    assert flags.files == ["a.log", "-x"]
    assert parse_flags(["-verify-config=false", "--", "-f.log"]).values == {
        "verify-config": "false"
    }


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["-nope"], "flag provided but not defined: -nope"),
        (["-format"], "flag needs an argument: -format"),
        (["-verify-config=maybe"], "invalid boolean value"),
    ],
)
def test_what_go_refuses(argv: list[str], problem: str) -> None:
    with pytest.raises(FlagError, match=problem):
        parse_flags(argv)


def test_flags_become_settings_in_exporter_compat() -> None:
    env = environment(parse_flags(["-listen-port", "9100", "a.log", "b.log"]), {"X": "1"})
    assert env == {
        "X": "1",
        "NGINXLOG_COMPAT": "exporter",
        "NGINXLOG_ADMIN_ADDR": "0.0.0.0:9100",
        "NGINXLOG_FORMAT": DEFAULT_FORMAT,
        "NGINXLOG_NAMESPACE": "nginx",
        "NGINXLOG_FILES": "a.log,b.log",
        "NGINXLOG_EXTRA_VARIABLES": "",
    }
    flags = parse_flags(["-format", "$status $process_time ${tenant}x", "a.log"])
    env = environment(flags, {"NGINXLOG_EXTRA_VARIABLES": "zone"})
    assert env["NGINXLOG_EXTRA_VARIABLES"] == "zone,process_time,tenant"
    assert environment(parse_flags(["-config-file", "c.yml"]), {})["NGINXLOG_CONFIG"] == "c.yml"
    assert environment(parse_flags(["-parser", "json", "a"]), {})["NGINXLOG_FORMAT"] == "json"


def _run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecars", "nginxlog", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_verify_config_exits_0_or_1(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text("namespaces:\n  - name: web\n    source_files: [a.log]\n", encoding="utf-8")
    bad = tmp_path / "bad.yml"
    bad.write_text("namespaces:\n  - name: web\n    source_files: [a.log]\n    formt: x\n")
    done = _run("-config-file", str(good), "-verify-config", cwd=tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, "Configuration is valid")
    done = _run("-verify-config", "-config-file", str(bad), cwd=tmp_path)
    assert done.returncode == 1
    assert "unknown key 'formt'" in done.stderr
    assert "Traceback" not in done.stderr
    assert (
        _run("-format", "$status $process_time", "-verify-config", "a", cwd=tmp_path).returncode
        == 0
    )
    assert _run("-listen-port", "x", cwd=tmp_path).returncode == 2
