"""The README's footprint table, rendered from ``results.json`` (``run.py --json``)."""

from __future__ import annotations

import re
from typing import Any

BEGIN, END = "<!-- BEGIN footprint -->", "<!-- END footprint -->"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} MB"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def render(results: dict[str, Any]) -> str:
    floors, helpers = results["floors"], results["helpers"]
    lines = [
        f"Measured {results['date']} with `benchmarks/footprint/run.py` (version "
        f"{results['version']}, Python {results['python']}, {results['machine']}; medians "
        f"of {results['repeat']} runs). MB are MiB.",
        "",
        "| helper | idle RSS | exec → /readyz 200 | CPU-s exec → exit 0 | image |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in sorted(helpers.items()):
        if "rss_mib" in row:
            rss, start, cpu = _mib(row["rss_mib"]), _seconds(row["start_s"]), "-"
        else:
            rss = f"{_mib(row['peak_mib'])} (peak)"
            start, cpu = f"{_seconds(row['exit_s'])} to exit", f"{row['cpu_s']:.3f}"
        lines.append(f"| {name} | {rss} | {start} | {cpu} | {_mib(row['image_mib'])} |")
    for name, row in sorted(floors.items(), key=lambda item: item[1]["rss_mib"]):
        rss, cpu = _mib(row["rss_mib"]), f"{row['cpu_s']:.3f}"
        lines.append(f"| *floor: `{name}`* | {rss} | - | {cpu} | - |")
    return "\n".join(lines)


def replace_table(text: str, table: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"no {BEGIN} ... {END} block")
    return pattern.sub(lambda _: f"{BEGIN}\n{table}\n{END}", text)
