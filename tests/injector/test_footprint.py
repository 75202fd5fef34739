"""What an idle injector has imported: nothing its configuration does not use.

Read from the process's own ``-X importtime`` report (``PYTHONPROFILEIMPORTTIME``), so
the test sees the real start-up, not an import in the test process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from .harness import injector
from .test_templates import shipped_templates

NEVER_AT_START = ("aiohttp", "cryptography", "watchfiles", "git", "decimal")


def imported(stderr: list[str]) -> set[str]:
    names = set()
    for line in stderr:
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize("kind", ["json", "yaml"])
async def test_an_idle_injector_loads_only_what_its_configuration_needs(
    tmp_path: Path, kind: str
) -> None:
    text = shipped_templates()
    templates = (json.dumps(yaml.safe_load(text)) if kind == "json" else text).encode()
    env = {"PYTHONPROFILEIMPORTTIME": "1"}
    async with injector(tmp_path, env, templates=templates) as hook:
        status, _ = await hook.proc.get("/metrics")
        assert status == 200
        modules = imported(hook.proc.stderr_text)
    assert "sidecars" in modules, "the report was read"
    assert not modules & set(NEVER_AT_START)
    assert ("yaml" in modules) == (kind == "yaml"), "YAML only for YAML templates"
