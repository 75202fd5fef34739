"""``sidecars nginxlog check``: match statistics and the first mismatches explained."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import REFERENCE

GOOD = '1.2.3.4 - - [22/Nov/2026:04:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "c" 0.1 -\n'


def _check(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecars", "nginxlog", "check", *args],
        env={**os.environ, "NGINXLOG_FORMAT": REFERENCE, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_all_lines_match(tmp_path: Path) -> None:
    sample = tmp_path / "sample.log"
    sample.write_text(GOOD * 4)
    result = _check(str(sample))
    assert result.returncode == 0, result.stderr
    assert "lines: 4, matched: 4 (100.0%), not matched: 0" in result.stdout


def test_mismatches_are_explained(tmp_path: Path) -> None:
    sample = tmp_path / "sample.log"
    sample.write_text(GOOD + GOOD.replace(" 200 ", " 2OO ") + GOOD.replace(" 0.1 -", "") + GOOD)
    result = _check(str(sample))
    assert result.returncode == 1
    assert "lines: 4, matched: 2 (50.0%), not matched: 2" in result.stdout
    assert f"{sample}:2: status b'2OO' is not three digits" in result.stdout
    assert f"""{sample}:3: column 71: expected the text '" ', found '"'""" in result.stdout


def test_a_bad_format_is_a_usage_error(tmp_path: Path) -> None:
    sample = tmp_path / "sample.log"
    sample.write_text(GOOD)
    result = _check(str(sample), NGINXLOG_FORMAT="$remote_addr $nope")
    assert result.returncode == 2
    assert "unknown variable $nope" in result.stderr


def test_with_an_exporter_file_the_namespace_listing_the_file_decides(tmp_path: Path) -> None:
    sample = tmp_path / "b.log"
    sample.write_text('GET 200 "x"\n' * 2 + GOOD)
    config = tmp_path / "exporter.yaml"
    config.write_text(
        f"namespaces:\n  - name: a\n    source: {{files: ['{tmp_path}/a.log']}}\n"
        f"  - name: b\n    format: '$request_method $status \"$http_referer\"'\n"
        f"    source: {{files: ['{tmp_path}/*.log']}}\n"
    )
    result = _check(str(sample), NGINXLOG_CONFIG=str(config))
    assert result.returncode == 1, result.stderr
    assert "namespace: b" in result.stdout
    assert "lines: 3, matched: 2" in result.stdout
