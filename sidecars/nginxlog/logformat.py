"""NGINX ``log_format`` text turned into one regular expression over many lines.

The expression captures only the fields the enabled metrics need, so the regex engine does
the splitting of a whole chunk at once (``findall`` in multiline mode) and Python touches
only the few captured values. Each variable matches "anything up to the next literal's first
character" (``[^"]*``), which the engine runs as a tight loop; such a pattern may run past a
newline on a malformed line, which the parser detects by counting matches against lines.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Literal

from .variables import EXPORTER_SOURCES, FIELD_SOURCES, LIST_VARIABLES, is_known

__all__ = ["COMBINED", "LogFormat", "Pattern", "Token"]

COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
"""NGINX's built-in format, the default of both NGINX and prometheus-nginxlog-exporter."""

Escape = Literal["default", "json", "none"]

Step = tuple[int, bytes, int, int]
"""One piece for the C scanner: its kind, its text (a literal, or the byte that ends the
value), and the row positions of what it captures (-1: nothing)."""
LITERAL, RUN, REST, TIME, LIST, ESCAPED, REQUEST, ESCAPED_REQUEST = range(8)
_SCANNER_WIDTH = 64  # MAX_WIDTH in _tally.c

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_STRICT = {
    "status": "[0-9]{3}",
    "body_bytes_sent": "[0-9]+",
    "bytes_sent": "[0-9]+",
    "request_length": "[0-9]+",
    "request_time": "[0-9.]+",
    "msec": "[0-9.]+",
    "connection": "[0-9]+",
    "connection_requests": "[0-9]+",
    "time_local": r"[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}",
}
_DESCRIPTIONS = {
    "[0-9]{3}": "three digits",
    "[0-9]+": "a whole number",
    "[0-9.]+": "a number",
}


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of the format: literal text, or one variable (``name``) with its pattern."""

    literal: str | None
    name: str | None
    pattern: str

    def describe(self) -> str:
        if self.literal is not None:
            return f"the text {self.literal!r}"
        assert self.name is not None
        kind = _DESCRIPTIONS.get(self.pattern)
        if kind is None and self.name == "time_local":
            kind = "a time like 10/Oct/2000:13:55:36 -0700"
        if kind is None and self.name in LIST_VARIABLES:
            kind = "a value or a list like '0.1, 0.2 : 0.3'"
        return f"${self.name}" + (f" ({kind})" if kind else "")


@dataclass(frozen=True, slots=True)
class Pattern:
    """The compiled expression and the field each of its groups captures.

    Empty groups close the expression when it captures fewer than two fields, so that
    ``findall`` always yields tuples.
    """

    regex: re.Pattern[bytes]
    fields: tuple[str, ...]
    tokens: tuple[Token, ...] = field(default=())
    steps: tuple[Step, ...] | None = None
    """The same expression as steps for the C scanner (``_tally.c``), when every piece is
    one it runs without backtracking; else None and the regex does the work."""

    @property
    def width(self) -> int:
        """How many values each row has: the fields, and the closing empty groups."""
        return max(2, len(self.fields))


@dataclass(frozen=True, slots=True)
class LogFormat:
    """A parsed format: its pieces and NGINX's escaping mode (``escape=json`` and so on)."""

    text: str
    escape: Escape
    pieces: tuple[tuple[str | None, str | None], ...]
    is_json_lines: bool = False
    exporter: bool = False
    """Read as prometheus-nginxlog-exporter does: the method and path only from ``$request``."""

    def as_exporter(self) -> LogFormat:
        return dataclasses.replace(self, exporter=True)

    @classmethod
    def parse(
        cls, text: str, extra_variables: frozenset[str] = frozenset(), literal_ok: bool = False
    ) -> LogFormat:
        """Read ``combined``, ``json`` (JSON lines), a bare format or a whole ``log_format``
        directive as copied from nginx.conf; ``ValueError`` says what is wrong.

        A format without any variable is a mistake unless ``literal_ok`` (the exporter
        takes it, and counts every other line as a parse error)."""
        stripped = text.strip()
        if stripped in ("", "combined"):
            stripped = COMBINED
        if stripped == "json":
            return cls(text="json", escape="json", pieces=(), is_json_lines=True)
        escape: Escape = "default"
        if stripped.startswith("log_format"):
            words = _config_words(stripped.rstrip(";").strip())
            if len(words) < 3:
                raise ValueError("a log_format directive needs a name and a format")
            words = words[2:]
            if words[0].startswith("escape="):
                mode = words[0].removeprefix("escape=")
                if mode not in ("default", "json", "none"):
                    raise ValueError(f"escape={mode}: expected default, json or none")
                escape = mode  # type: ignore[assignment]
                words = words[1:]
            stripped = "".join(words)
        elif stripped[0] in "'\"":
            with contextlib.suppress(ValueError):
                stripped = "".join(_config_words(stripped.rstrip(";")))
        pieces: list[tuple[str | None, str | None]] = []
        pos = 0
        for match in _VARIABLE.finditer(stripped):
            if match.start() > pos:
                pieces.append((stripped[pos : match.start()], None))
            name = match.group(1) or match.group(2)
            if not is_known(name, extra_variables):
                raise ValueError(
                    f"unknown variable ${name} at column {match.start() + 1}; "
                    "declare variables made with map or set in NGINXLOG_EXTRA_VARIABLES"
                )
            pieces.append((None, name))
            pos = match.end()
        if pos < len(stripped):
            pieces.append((stripped[pos:], None))
        if not literal_ok and not any(name for _, name in pieces):
            raise ValueError("the format names no $variable")
        return cls(text=stripped, escape=escape, pieces=tuple(pieces))

    def variables(self) -> list[str]:
        return [name for _, name in self.pieces if name]

    def sources(self, wanted: set[str]) -> dict[str, str]:
        """The variable each wanted field comes from, for the fields this format carries;
        a wanted ``$name`` is that variable (one no other wanted field comes from)."""
        names = set(self.variables())
        found = {}
        table = EXPORTER_SOURCES if self.exporter else FIELD_SOURCES
        for field_name in table:
            if field_name in wanted:
                for source in table[field_name]:
                    if source in names:
                        found[field_name] = source
                        break
        for field_name in wanted:  # "$name": the variable itself, captured as it is
            if field_name.startswith("$") and field_name[1:] in names:
                found[field_name] = field_name[1:]
        return found

    def compile(self, wanted: set[str]) -> Pattern:
        """One expression capturing the wanted fields that this format carries."""
        sources = self.sources(wanted)
        by_variable: dict[str, list[str]] = {}
        for field_name, source in sources.items():
            by_variable.setdefault(source, []).append(field_name)
        parts = ["^"]
        fields: list[str] = []
        tokens: list[Token] = []
        steps: list[Step] | None = []
        for index, (literal, name) in enumerate(self.pieces):
            if literal is not None:
                parts.append(re.escape(literal))
                tokens.append(Token(literal, None, re.escape(literal)))
                if steps is not None and "\n" not in literal:
                    steps.append((LITERAL, literal.encode(), -1, -1))
                else:
                    steps = None
                continue
            assert name is not None
            following = self.pieces[index + 1] if index + 1 < len(self.pieces) else None
            stop = following[0][0] if following and following[0] else None
            adjacent = following is not None and following[1] is not None
            plain, kind = self._value(name, stop, adjacent)
            captured = by_variable.pop(name, [])
            first, second = -1, -1
            if name == "request" and captured:
                json_quoted = self.escape == "json" and stop == '"'
                method, path = "method" in captured, "path" in captured
                text = _request_pattern(stop, method, path, json_quoted)
                first = len(fields) if method else -1
                second = len(fields) + method if path else -1
                fields += [f for f in ("method", "path") if f in captured]
                # a space after it would let the regex backtrack out of the path and read
                # on from the space instead: the one shape left to the regex
                kind = ESCAPED_REQUEST if json_quoted else REQUEST
                kind = kind if stop is not None and stop != " " and _plain_byte(stop) else None
            elif captured:
                text = f"({plain})"
                first = len(fields)
                fields.append(captured[0])
            else:
                text = f"(?:{plain})"
            if steps is not None and kind is not None:
                steps.append((kind, (stop or "").encode(), first, second))
            else:
                steps = None
            parts.append(text)
            tokens.append(Token(None, name, _STRICT.get(name, plain)))
        parts.append("()" * max(0, 2 - len(fields)) + "$")
        regex = re.compile("".join(parts).encode(), re.MULTILINE)
        return Pattern(
            regex=regex,
            fields=tuple(fields),
            tokens=tuple(tokens),
            steps=tuple(steps) if steps is not None and len(fields) <= _SCANNER_WIDTH else None,
        )

    def _value(self, name: str, stop: str | None, adjacent: bool) -> tuple[str, int | None]:
        """A variable's pattern, and its kind of step for the C scanner (None: only the
        regex can run it, a lazy repeat, or a value ending at a byte of a wider character)."""
        if stop == " " and name == "time_local":
            return _STRICT["time_local"], TIME
        if stop == " " and name in LIST_VARIABLES:
            item = _not(" ,\n", least="+")
            return f"{item}(?:(?:, | : ){item})*+", LIST
        if stop is None:
            return ("[^\\n]*?", None) if adjacent else ("[^\\n]*+", REST)
        plain = _plain_byte(stop)
        if self.escape == "json" and stop == '"':
            return r'(?:[^"\\\n]|\\.)*+', ESCAPED
        return _not(stop), RUN if plain else None


def _plain_byte(char: str) -> bool:
    """Whether a character is one byte in the encoded text, and not the line's end."""
    return char.isascii() and char != "\n"


def variable_names(text: str) -> list[str]:
    """Every ``$name`` of a format text, in order."""
    return [match.group(1) or match.group(2) for match in _VARIABLE.finditer(text)]


def _not(chars: str, least: str = "*") -> str:
    """Any run of characters but ``chars``; possessive, since what follows starts with one
    of them, so giving characters back could never help and the engine skips saving the
    state it would need for that (a tenth of the matching time)."""
    unique = "".join(dict.fromkeys(chars))
    return "[^" + "".join("\\n" if c == "\n" else re.escape(c) for c in unique) + "]" + least + "+"


def _request_pattern(stop: str | None, method: bool, path: bool, json_quoted: bool) -> str:
    word = _not(" " + (stop or "\n"))
    rest = _not(stop) if stop else "[^\\n]*"  # a variable may follow: it must give back
    if json_quoted:
        word, rest = r'(?:[^ "\\\n]|\\.)*+', r'(?:[^"\\\n]|\\.)*+'
    head = f"({word})" if method else word
    tail = f"(?: ({word}))?" if path else ""
    return head + tail + rest


def _config_words(text: str) -> list[str]:
    """Split an nginx.conf directive into words, undoing its quoting."""
    words: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char in "'\"":
            end = pos + 1
            out = []
            while end < len(text) and text[end] != char:
                if text[end] == "\\" and end + 1 < len(text):
                    end += 1
                    out.append({"n": "\n", "t": "\t", "r": "\r"}.get(text[end], text[end]))
                else:
                    out.append(text[end])
                end += 1
            if end >= len(text):
                raise ValueError(f"unterminated quote starting at column {pos + 1}")
            words.append("".join(out))
            pos = end + 1
        else:
            end = pos
            while end < len(text) and not text[end].isspace():
                end += 1
            words.append(text[pos:end])
            pos = end
    return words
