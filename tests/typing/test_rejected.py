"""Mistakes a subclasser can make that ``mypy --strict`` must reject.

``api.py`` pins what type-checks; these snippets pin what must not. Each runs through the
real mypy, and the test fails if mypy accepts it or rejects it for another reason.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HEADER = """
from sidecars import ConfigError, Helper, HelperContext, Settings, setting

class One(Settings, prefix="ONE_"):
    pass

class Two(Settings, prefix="TWO_"):
    pass
"""

CASES = {
    "settings_class of another settings type": (
        """
        class Mismatch(Helper[One]):
            name = "mismatch"
            settings_class = Two

            async def run(self, ctx: HelperContext[One]) -> None:
                pass
        """,
        'expression has type "type[Two]", base class "Helper" defined the type as "type[One]"',
    ),
    "a helper without run()": (
        """
        class Lazy(Helper[One]):
            name = "lazy"
            settings_class = One

        Lazy()
        """,
        'Cannot instantiate abstract class "Lazy" with abstract attribute "run"',
    ),
    "run() typed for other settings": (
        """
        class Wrong(Helper[One]):
            name = "wrong"
            settings_class = One

            async def run(self, ctx: HelperContext[Two]) -> None:
                pass
        """,
        'Argument 1 of "run" is incompatible with supertype',
    ),
    "a problem read as text": (
        """
        def first(error: ConfigError) -> None:
            error.problems[0].upper()
        """,
        '"Problem" has no attribute "upper"',
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mypy_rejects(case: str) -> None:
    body, expected = CASES[case]
    source = HEADER + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-c", source],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert expected in done.stdout, done.stdout
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, done.stdout


def test_the_header_alone_is_accepted() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "-c", HEADER],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
