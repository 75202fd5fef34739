"""Where an input's lines go: the parser, the tally, and a rate-limited word on mismatches."""

from __future__ import annotations

import logging
import time

from .metrics import InputStats
from .parser import LineParser, Parser
from .tally import Tally

__all__ = ["Feed"]

_FOLD_ROWS = 20_000
_BATCH = 512
_REPORT_EVERY = 10.0


class Feed:
    """Parses whole lines into one input's tally; batches single lines (syslog)."""

    def __init__(
        self, name: str, parser: Parser, tally: Tally, stats: InputStats, log: logging.Logger
    ) -> None:
        self.name = name
        self.parser = parser
        self.tally = tally
        self.stats = stats
        self.log = log
        self.pending: list[bytes] = []
        self._unreported = 0
        self._last_report = -_REPORT_EVERY
        self._bad: list[bytes] = []

    def lines(self, chunk: bytes, end: int | None = None) -> None:
        """Count every line of ``chunk[:end]``: whole lines, each ending in a newline."""
        bad = self._bad
        count = self.tally.scan(self.parser, chunk, bad, end)
        self.stats.lines += count
        self.stats.bytes += len(chunk) if end is None else end
        if bad:
            self.tally.store.parse_errors += len(bad)
            self._report(bad)
            bad.clear()
        if self.tally.pending() > _FOLD_ROWS:
            self.tally.fold()

    def too_long(self) -> None:
        self.stats.too_long += 1
        self.stats.lines += 1
        self.tally.store.parse_errors += 1

    def line(self, line: bytes) -> None:
        """One line without its newline (a syslog message); parsed with the next batch."""
        self.pending.append(line)
        if len(self.pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            chunk = b"\n".join(self.pending) + b"\n"
            self.pending.clear()
            self.lines(chunk)

    def _report(self, bad: list[bytes]) -> None:
        self._unreported += len(bad)
        now = time.monotonic()
        if now - self._last_report < _REPORT_EVERY:
            return
        from .explain import explain  # the first mismatch pays for it

        tokens = self.parser.pattern.tokens if isinstance(self.parser, LineParser) else ()
        self.log.warning(
            "line does not match the log format",
            extra={
                "input": self.name,
                "why": explain(tokens, bad[0]),
                "line": bad[0][:200].decode("utf-8", "replace"),
                "unmatched_since_last_report": self._unreported,
            },
        )
        self._unreported = 0
        self._last_report = now

    def report_rejected(self) -> None:
        """Say which values (a status that is not three digits...) made lines count as errors."""
        if self.tally.rejected:
            reason = self.tally.rejected.most_common(1)[0][0]
            self.log.warning(
                "line values do not fit their metric",
                extra={
                    "input": self.name,
                    "why": reason,
                    "lines": sum(self.tally.rejected.values()),
                },
            )
            self.tally.rejected.clear()
