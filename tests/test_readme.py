"""The README's settings tables are generated from the settings classes; they must not drift."""

from pathlib import Path

from sidecars.runtime import discovery
from sidecars.runtime.docs import update_readme

README = Path(__file__).resolve().parents[1] / "README.md"
BUILT_IN = {"ambassador", "gitsync", "injector", "nginxlog", "waitfor"}


def test_readme_tables_match_the_settings_classes() -> None:
    text = README.read_text(encoding="utf-8")
    loaders = {name: ep.load for name, ep in discovery.available().items()}
    assert update_readme(text, loaders) == text, "run: sidecars docs --write README.md"


def test_every_built_in_helper_has_a_table() -> None:
    text = README.read_text(encoding="utf-8")
    for name in BUILT_IN:
        assert f"<!-- BEGIN settings {name} -->" in text
