"""docs/architecture.md maps each helper's data path by module: every module it names
must exist, so that a rename or a removal cannot leave the map behind."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
HELPERS = ("gitsync", "nginxlog", "ambassador", "injector", "waitfor")
# A module path: "gitsync/sync.py", "ambassador/tcp/_poller.c", "sidecars/cli.py", "docs.py".
MODULE = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.(?:py|c))\b")


def _resolves(name: str) -> bool:
    return any(
        (base / name).is_file() for base in (ROOT, ROOT / "sidecars", ROOT / "sidecars" / "runtime")
    )


def test_every_module_named_exists() -> None:
    named = set(MODULE.findall(DOC.read_text(encoding="utf-8")))
    assert len(named) > 40
    assert sorted(name for name in named if not _resolves(name)) == []


def test_the_pattern_catches_a_missing_module() -> None:
    assert MODULE.findall("gitsync/sync.py then `gitsync/gone.py`") == [
        "gitsync/sync.py",
        "gitsync/gone.py",
    ]
    assert not _resolves("gitsync/gone.py")


def test_every_helper_has_a_data_path_map() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Data paths", 1)[1].split("\n## ", 1)[0]
    for helper in HELPERS:
        assert f"**{helper}: " in section
        block = section.split(f"**{helper}: ", 1)[1].split("\n**", 1)[0]
        assert len(set(re.findall(rf"\b{helper}/[\w/]+\.py", block))) >= 3
