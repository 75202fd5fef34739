"""Labels taken from a log variable, as prometheus-nginxlog-exporter's ``relabel`` does.

The value is split (``split = 2`` keeps the second word), then either kept when it is on
the whitelist (``other`` when not) or rewritten by the first ``match`` whose regex finds it:
every occurrence is replaced as Go's ``ReplaceAllString`` does, with ``$1``/``${name}``
in the replacement; a value no match finds becomes empty, as with the exporter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .values import unescape_json

__all__ = ["Relabel", "go_replacement"]

_CACHE_LIMIT = 10_000
_GO_GROUP = re.compile(r"\$(?:\{(\w+)\}|(\w+)|(\$))")


@dataclass(slots=True)
class Relabel:
    """One ``relabel`` block, compiled: ``target`` label from the ``source`` field."""

    target: str
    source: str
    split: int = 0
    separator: str = " "
    whitelist: frozenset[str] | None = None
    matches: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = ()
    only_counter: bool = False
    json_escaped: bool = False
    _cache: dict[bytes, str] = field(default_factory=dict)

    def same_shape(self, other: Relabel) -> bool:
        """Whether ``other`` fills the same label from the same field for the same metrics."""
        return (self.target, self.source, self.only_counter, self.json_escaped) == (
            other.target, other.source, other.only_counter, other.json_escaped,
        )  # fmt: skip

    def take_rules(self, other: Relabel) -> None:
        """Use ``other``'s split, whitelist and matches from now on (a reload)."""
        self.split, self.separator = other.split, other.separator
        self.whitelist, self.matches = other.whitelist, other.matches
        self._cache.clear()

    def convert(self, raw: bytes) -> str:
        """The label value of one raw field value (cached per distinct value)."""
        value = self._cache.get(raw)
        if value is None:
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            value = self._cache[raw] = self.map(raw.decode("utf-8", "replace"))
        return value

    def map(self, value: str) -> str:
        if self.json_escaped:
            value = unescape_json(value)
        if self.split > 0:
            words = value.split(self.separator)
            value = words[self.split - 1] if len(words) >= self.split else ""
        if self.whitelist is not None:
            return value if value in self.whitelist else "other"
        if self.matches:
            for regex, replace in self.matches:
                if regex.search(value):
                    return regex.sub(replace, value)
            return ""
        return value


def go_replacement(template: str) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement that expands ``template`` the way Go's ``Expand`` does:
    ``$1``, ``$name``, ``${name}``, ``$$``; a group that does not exist expands to nothing."""
    texts: list[str] = []
    groups: list[int | str | None] = []
    pos = 0
    for found in _GO_GROUP.finditer(template):
        name = found.group(1) or found.group(2)
        texts.append(template[pos : found.start()] + ("$" if found.group(3) else ""))
        groups.append(None if name is None else int(name) if name.isdigit() else name)
        pos = found.end()
    texts.append(template[pos:])
    groups.append(None)

    def expand(match: re.Match[str]) -> str:
        out = []
        known = match.re.groupindex
        for text, group in zip(texts, groups, strict=True):
            out.append(text)
            if (isinstance(group, int) and group <= match.re.groups) or group in known:
                out.append(match.group(group) or "")  # type: ignore[arg-type]
        return "".join(out)

    return expand
