"""``process_*``: the families every Prometheus client library exports about its process,
with the names and help the client guidelines give them, read from ``/proc``."""

from __future__ import annotations

import math
import os
import resource
from pathlib import Path

from .families import CounterMetricFamily, GaugeMetricFamily, Metric, shapes

__all__ = ["ProcessCollector"]


class ProcessCollector:
    """CPU, memory, start time and file descriptors of this process; nothing where ``/proc``
    cannot be read (another OS, a locked-down sandbox), so a scrape never fails on it."""

    def __init__(self, proc: Path = Path("/proc")) -> None:
        self.proc = proc
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.page = os.sysconf("SC_PAGE_SIZE")

    def collect(self) -> list[Metric]:
        families: list[Metric] = []
        try:
            boot = self._boot_time()
            # The command name in parentheses may hold spaces; the fields after it do not.
            fields = (self.proc / "self" / "stat").read_bytes().rsplit(b")", 1)[1].split()
        except (OSError, IndexError, ValueError):
            fields = []
        if len(fields) > 21:
            families += [
                GaugeMetricFamily(
                    "process_virtual_memory_bytes",
                    "Virtual memory size in bytes.",
                    value=float(fields[20]),
                ),
                GaugeMetricFamily(
                    "process_resident_memory_bytes",
                    "Resident memory size in bytes.",
                    value=float(fields[21]) * self.page,
                ),
                GaugeMetricFamily(
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    value=float(fields[19]) / self.ticks + boot,
                ),
                CounterMetricFamily(
                    "process_cpu_seconds_total",
                    "Total user and system CPU time spent in seconds.",
                    value=(float(fields[11]) + float(fields[12])) / self.ticks,
                ),
            ]
        try:
            open_fds = len(os.listdir(self.proc / "self" / "fd"))
        except OSError:
            return families
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        families += [
            GaugeMetricFamily(
                "process_open_fds", "Number of open file descriptors.", value=open_fds
            ),
            GaugeMetricFamily(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                value=math.inf if soft == resource.RLIM_INFINITY else float(soft),
            ),
        ]
        return families

    def describe(self) -> list[Metric]:
        return shapes(self.collect())

    def _boot_time(self) -> float:
        for line in (self.proc / "stat").read_bytes().splitlines():
            if line.startswith(b"btime "):
                return float(line.split()[1])
        raise ValueError("no btime in /proc/stat")
