"""Render a Markdown file's table of contents, linked by the anchors GitHub gives headings.

A hand-kept contents list drifts as soon as a section is renamed; generating it from the
headings, with GitHub's slug rules, keeps every link landing on its section.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Heading", "headings", "slug", "update_toc"]

_BLOCK = re.compile(r"(<!-- BEGIN toc -->\n)(?P<body>.*?)(<!-- END toc -->)", re.DOTALL)
_HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
_LINK = re.compile(r"!?\[(?P<text>[^\]]*)\](?:\([^)]*\)|\[[^\]]*\])")
_EMPHASIS = re.compile(r"(?<![\w*])(\*{1,2}|_{1,2})(?P<text>\S(?:.*?\S)?)\1(?![\w*])")


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str
    anchor: str


def _plain(text: str) -> str:
    """The text GitHub renders for a heading: code spans, links and emphasis unwrapped."""
    text = text.replace("`", "")
    text = _LINK.sub(lambda m: m["text"], text)
    return _EMPHASIS.sub(lambda m: m["text"], text)


_KEPT = frozenset({"Nd", "Nl", "Pc"})
# Symbols Unicode counts as alphabetic (circled and squared letters), which GitHub keeps.
_ALPHABETIC_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))


def slug(text: str) -> str:
    """GitHub's anchor for rendered heading text: lower case; letters, marks, digits,
    ``-`` and connectors such as ``_`` kept; each space a ``-``; everything else dropped."""
    kept = []
    for char in text.lower():
        category = unicodedata.category(char)
        if char == " ":
            kept.append("-")
        elif char == "-" or category[0] in "LM" or category in _KEPT or _alphabetic(char):
            kept.append(char)
    return "".join(kept)


def _alphabetic(char: str) -> bool:
    point = ord(char)
    return any(low <= point <= high for low, high in _ALPHABETIC_SYMBOLS)


def headings(markdown: str) -> list[Heading]:
    """Every ATX heading outside fenced code, with its anchor (repeats get ``-1``, ``-2``)."""
    found: list[Heading] = []
    seen: dict[str, int] = {}
    fence = ""
    for line in markdown.splitlines():
        opening = _FENCE.match(line)
        if fence:
            if opening and opening["fence"][0] == fence[0] and len(opening["fence"]) >= len(fence):
                fence = ""
            continue
        if opening:
            fence = opening["fence"]
            continue
        match = _HEADING.match(line)
        if match is None:
            continue
        text = _plain(match["text"])
        base = slug(text)
        anchor = base
        while anchor in seen:
            seen[base] += 1
            anchor = f"{base}-{seen[base]}"
        seen[anchor] = 0
        found.append(Heading(len(match["hashes"]), text, anchor))
    return found


def render(markdown: str, levels: tuple[int, ...] = (2, 3)) -> str:
    """A nested list linking every heading of ``levels``, the shallowest at the margin."""
    top = min(levels)
    lines = []
    for heading in headings(markdown):
        if heading.level in levels:
            indent = "  " * (heading.level - top)
            lines.append(f"{indent}- [{heading.text}](#{heading.anchor})")
    return "\n".join(lines)


def update_toc(text: str) -> str:
    """Replace the body of a ``<!-- BEGIN toc -->`` block with the current contents."""
    return _BLOCK.sub(lambda m: m[1] + render(text) + "\n" + m[3], text, count=1)
