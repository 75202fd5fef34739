"""Route rules: turn request paths into a bounded set of templates (``/users/:id``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .values import unescape_json

__all__ = ["RouteRules"]


@dataclass(frozen=True, slots=True)
class RouteRules:
    """Ordered ``(regex, template)`` rules; the first that matches a path names its route.

    The template may use the regex's groups (``\\1``, ``\\g<name>``); a path no rule
    matches gets ``unmatched``. The query string is cut off before matching; a path
    written by an ``escape=json`` format is unescaped first.
    """

    rules: tuple[tuple[re.Pattern[str], str], ...] = ()
    unmatched: str = "other"
    json_escaped: bool = False

    @classmethod
    def build(
        cls,
        pairs: list[tuple[str, str]],
        unmatched: str,
        where: str,
        json_escaped: bool = False,
    ) -> RouteRules:
        """Compile the rules; ``ValueError`` names the rule (by ``where`` and number)."""
        compiled = []
        for number, (pattern, template) in enumerate(pairs, start=1):
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"{where}: route rule {number}: invalid regex {pattern!r}: {exc}"
                ) from None
            try:
                regex.sub(template, "")  # parses the template even when nothing matches
            except (re.error, IndexError) as exc:
                raise ValueError(
                    f"{where}: route rule {number}: bad template {template!r}: {exc}"
                ) from None
            compiled.append((regex, template))
        return cls(tuple(compiled), unmatched, json_escaped)

    def route(self, path: str) -> str:
        if self.json_escaped:
            path = unescape_json(path)
        path = path.partition("?")[0]
        for regex, template in self.rules:
            match = regex.search(path)
            if match is not None:
                return match.expand(template)
        return self.unmatched
