"""The README's settings tables and metric lists are generated from the settings classes and
the collectors; they must not drift."""

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


def test_every_built_in_helper_has_a_generated_metric_list() -> None:
    text = README.read_text(encoding="utf-8")
    for name in BUILT_IN:
        assert f"<!-- BEGIN metrics {name} -->" in text


def test_a_stale_metric_list_is_rewritten_from_the_collector() -> None:
    """A row edited by hand (a help text, a label dropped) does not survive a render."""
    text = README.read_text(encoding="utf-8")
    row = "| `gitsync_hook_runs_total` | counter | `hook`, `outcome` |"
    assert row in text
    stale = text.replace(row, "| `gitsync_hook_runs_total` | counter | `hook` |")
    loaders = {name: ep.load for name, ep in discovery.available().items()}
    assert update_readme(stale, loaders) == text
