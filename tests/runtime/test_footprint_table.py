"""The README's footprint table is rendered from the benchmark's results; it must not drift."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOOTPRINT = ROOT / "benchmarks" / "footprint"


def _table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("footprint_table", FOOTPRINT / "table.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_matches_results_json() -> None:
    table = _table()
    results = json.loads((FOOTPRINT / "results.json").read_text(encoding="utf-8"))
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    wanted = table.replace_table(text, table.render(results))
    assert wanted == text, (
        "run: python benchmarks/footprint/run.py --json benchmarks/footprint/results.json "
        "--write-readme README.md"
    )


def test_every_built_in_helper_and_the_floors_are_measured() -> None:
    results = json.loads((FOOTPRINT / "results.json").read_text(encoding="utf-8"))
    assert set(results["helpers"]) == {"ambassador", "gitsync", "injector", "nginxlog", "waitfor"}
    assert {"python -c pass", "import asyncio"} <= set(results["floors"])


def test_a_missing_block_is_an_error() -> None:
    with pytest.raises(ValueError, match="BEGIN footprint"):
        _table().replace_table("no table here", "| x |")
