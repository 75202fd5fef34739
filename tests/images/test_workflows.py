"""The release workflow passes actionlint and calls only scripts that CI runs on every change.

The workflow cannot run here (it needs GitHub's runners and registry), so what it runs must be
what `.ci/run` already runs: a script it names and CI never calls would break unseen.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
SCRIPT = re.compile(r"scripts/[\w/.-]+\.sh")


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "lint-workflows.sh"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )


def test_release_workflow_passes_actionlint() -> None:
    done = actionlint(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 file(s), 0 problem(s)" in done.stdout


def test_actionlint_names_the_line_of_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "release.yml"
    text = WORKFLOW.read_text().replace("SIDECARS_RELEASE_STEP: merge", "X: ${{ matrix.nope }}")
    broken.write_text(text)
    line = next(n for n, s in enumerate(text.splitlines(), 1) if "matrix.nope" in s)
    done = actionlint(broken)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{broken}:{line}:" in done.stdout
    assert 'property "nope" is not defined' in done.stdout


def run_by_ci() -> set[str]:
    """Every script .ci/run calls, and every script those call, and so on."""
    found: set[str] = set()
    todo = set(SCRIPT.findall((ROOT / ".ci" / "run").read_text()))
    while todo:
        script = todo.pop()
        found.add(script)
        todo |= set(SCRIPT.findall((ROOT / script).read_text())) - found
    return found


def test_release_workflow_calls_only_scripts_that_ci_runs() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    called = {
        script
        for job in workflow["jobs"].values()
        for step in job["steps"]
        for script in SCRIPT.findall(step.get("run", ""))
    }
    assert {"scripts/release.sh"} <= called
    assert called <= run_by_ci(), called - run_by_ci()
