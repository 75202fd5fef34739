"""``promtool check metrics``: Prometheus' own linter run on an exposition, for real."""

import shutil
import subprocess

import pytest

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
