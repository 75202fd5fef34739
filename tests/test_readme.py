"""The README's settings tables and metric lists are generated from the settings classes and
the collectors; they must not drift."""

import re
from pathlib import Path

from sidecars.runtime import discovery
from sidecars.runtime.docs import update_readme
from sidecars.runtime.toc import headings, update_toc

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


def test_readme_contents_list_every_section() -> None:
    text = README.read_text(encoding="utf-8")
    assert "<!-- BEGIN toc -->" in text
    assert update_toc(text) == text, "run: sidecars docs --write README.md"
    added = text + "\n## A section added later\n"
    assert update_toc(added) != added


def test_readme_contents_links_land_on_headings() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- BEGIN toc -->", 1)[1].split("<!-- END toc -->", 1)[0]
    links = re.findall(r"\]\(#([^)]+)\)", block)
    anchors = {heading.anchor for heading in headings(text)}
    assert links
    assert [link for link in links if link not in anchors] == []
    wanted = [h.anchor for h in headings(text) if h.level in (2, 3)]
    assert links == wanted


def test_readme_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    assert first_block.startswith("bash scripts/try.sh")
    assert text.index("bash scripts/test.sh") < text.index("<!-- BEGIN toc -->")


def _markdown_files() -> list[Path]:
    root = README.parent
    found = [README, *root.glob("docs/*.md"), *root.glob("benchmarks/**/*.md")]
    return [*found, *root.glob("examples/**/*.md")]


def test_links_between_the_docs_land_on_files_and_headings() -> None:
    broken = []
    for source in _markdown_files():
        text = source.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (source.parent / path).resolve() if path else source
            if not file.exists():
                broken.append(f"{source.name}: {target}")
            elif anchor and file.suffix == ".md":
                anchors = {h.anchor for h in headings(file.read_text(encoding="utf-8"))}
                if anchor not in anchors:
                    broken.append(f"{source.name}: {target}")
    assert broken == []


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


async def test_the_runtime_list_is_what_a_helper_shows_besides_its_own(tmp_path: Path) -> None:
    """Scraped from a running helper: each family is in the runtime's list or the helper's,
    and every family of the runtime's list is there."""
    from sidecars.nginxlog.metrics import described as nginxlog_families
    from sidecars.runtime.metrics import described as runtime_families
    from sidecars.testing import HelperProcess

    log = tmp_path / "access.log"
    log.write_text("")
    env = {"NGINXLOG_FILES": str(log), "NGINXLOG_FORMAT": "combined"}
    async with HelperProcess("nginxlog", env) as proc:
        await proc.wait_ready()
        scraped = set(await proc.metrics())
    runtime = {family.name for family in runtime_families()}
    own = {family.name for family in nginxlog_families()}
    assert runtime <= scraped
    assert scraped <= runtime | own, scraped - runtime - own
