"""The three ways a helper can end badly, each with its own exit code."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConfigError", "HelperError", "Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad setting: the variable, the value as written (``None`` if unset), what was wrong.

    A problem that no single variable owns has an empty ``variable`` and reads as ``reason``.
    """

    variable: str
    value: str | None
    reason: str

    def __str__(self) -> str:
        if not self.variable:
            return self.reason
        if self.value is None:
            return f"{self.variable} is not set: {self.reason}"
        return f"{self.variable}={self.value!r}: {self.reason}"


class ConfigError(Exception):
    """The operator's configuration is wrong: exit code 2, the message says what to fix.

    Raise it with one message, or with every ``Problem`` found so that all are fixed in one go.
    """

    exit_code = 2

    def __init__(self, problems: list[Problem] | str) -> None:
        self.problems: list[Problem] = (
            [Problem("", None, problems)] if isinstance(problems, str) else list(problems)
        )
        super().__init__(self.render())

    def render(self) -> str:
        if len(self.problems) == 1:
            return f"configuration error: {self.problems[0]}"
        lines = [f"configuration error: {len(self.problems)} problems"]
        lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


class HelperError(Exception):
    """The helper cannot do its job (a target never answered, a sync kept failing): exit code 1.

    The message is logged as it is, without a traceback: it is meant for the operator.
    """

    exit_code = 1
