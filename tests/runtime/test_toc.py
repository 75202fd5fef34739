"""Anchors follow GitHub's heading rules: the published cases of github-slugger and of the
GitHub mode of VS Code's Markdown extension (rewritten here), and a differential run
against the github-slugger port on PyPI (``github-slugger``) when it is installed."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecars.runtime.toc import headings, render, slug, update_toc


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Hello World", "hello-world"),
        ("foo _italic_ bar", "foo-italic-bar"),
        ("foo_foo_bar", "foo_foo_bar"),
        ("`a.b` c", "ab-c"),
        ("1. not a list", "1-not-a-list"),
        ("1) not a list", "1-not-a-list"),
        ("foo & bar", "foo--bar"),
        ("heading with a period.txt", "heading-with-a-periodtxt"),
        ("I ♥ unicode", "i--unicode"),
        ("Via [remark-cli][]", "via-remark-cli"),
        ("a [link](https://example.com/x) here", "a-link-here"),
        ("**bold** and *em*", "bold-and-em"),
        (
            "Installing: which build runs the ambassador's data path",
            "installing-which-build-runs-the-ambassadors-data-path",
        ),
        ("Привет мир", "привет-мир"),
    ],
)
def test_anchor(heading: str, anchor: str) -> None:
    (found,) = headings(f"## {heading}\n")
    assert found.anchor == anchor


def test_repeated_headings_are_numbered_as_github_numbers_them() -> None:
    text = "## Usage\n## Usage\n## Usage-1\n## Usage\n"
    assert [h.anchor for h in headings(text)] == ["usage", "usage-1", "usage-1-1", "usage-2"]


def test_fenced_code_is_not_a_heading() -> None:
    text = "## One\n```bash\n# a comment\n```\n~~~~\n## not either\n~~~\n~~~~\n### Two ##\n"
    assert [(h.level, h.text) for h in headings(text)] == [(2, "One"), (3, "Two")]
    assert slug("Two") == "two"


def test_render_nests_third_level_and_skips_others() -> None:
    text = "# Title\n## A\n### B\n#### C\n## D\n"
    assert render(text) == "- [A](#a)\n  - [B](#b)\n- [D](#d)"


def test_update_replaces_only_the_block() -> None:
    text = "intro\n<!-- BEGIN toc -->\nstale\n<!-- END toc -->\n\n## A\n"
    assert update_toc(text) == "intro\n<!-- BEGIN toc -->\n- [A](#a)\n<!-- END toc -->\n\n## A\n"
    assert update_toc("## A\n") == "## A\n"


def _old_enough(char: str) -> bool:
    """Characters assigned by Unicode 3.2: the reference's tables predate recent versions."""
    return unicodedata.ucd_3_2_0.category(char) != "Cn"


@settings(max_examples=300)
@given(st.text(st.characters(codec="utf-8").filter(_old_enough), max_size=40))
def test_anchor_matches_the_github_slugger_port(text: str) -> None:
    reference = pytest.importorskip("github_slugger")
    assert slug(text) == reference.slug(text)


def test_numbering_matches_the_github_slugger_port() -> None:
    reference = pytest.importorskip("github_slugger")
    texts = ["Usage", "Usage", "Usage 1", "usage-1", "Usage", "A", "a", "A-1"]
    slugger = reference.GithubSlugger()
    wanted = [slugger.slug(text) for text in texts]
    assert [h.anchor for h in headings("".join(f"## {t}\n" for t in texts))] == wanted
