"""Why a line does not match: the first piece of the format it departs from, and where.

A wrong format must be obvious at once, so instead of "no match" the operator reads
"column 61: expected $status (three digits), found 'abc 612 ...'".
"""

from __future__ import annotations

import re

from .logformat import Token

__all__ = ["explain"]

_SHOWN = 40


def explain(tokens: tuple[Token, ...], line: bytes) -> str:
    """One sentence naming the field and the column (1-based) where matching failed."""
    if not tokens:
        return "not a JSON object"
    end = 0
    text = "^"
    for token in tokens:
        text += token.pattern if token.literal is not None else f"(?:{token.pattern})"
        match = re.match(text.encode(), line)
        if match is None:
            return f"column {end + 1}: expected {token.describe()}, found {_excerpt(line, end)}"
        end = match.end()
    if end < len(line):
        return f"column {end + 1}: unexpected text after the last field: {_excerpt(line, end)}"
    return "matches when read alone (a field may hold a newline or an escaped quote)"


def _excerpt(line: bytes, start: int) -> str:
    rest = line[start : start + _SHOWN]
    if not rest:
        return "the end of the line"
    shown = repr(rest.decode("utf-8", "replace"))
    return shown + ("..." if len(line) - start > _SHOWN else "")
