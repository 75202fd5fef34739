"""``promtool check metrics``: Prometheus' own linter run on an exposition, for real."""

import shutil
import subprocess

import pytest

from sidecars.runtime.exposition import text as exposition
from sidecars.runtime.families import Collector

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool (Debian: prometheus)"
)


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    """What promtool says: exit 0 when it accepts ``text``; lint warnings in the output."""
    return subprocess.run(
        ["promtool", "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_exposed(collector: Collector, family: str, expected: str) -> None:
    """The lines of ``collector``'s scrape that name ``family`` are exactly ``expected``, and
    promtool accepts the whole scrape."""
    text = exposition(collector.collect()).decode()
    lines = [line for line in text.splitlines(keepends=True) if family in line]
    assert "".join(lines) == expected
    done = promtool_check(text)
    assert done.returncode == 0, done.stdout + done.stderr
