"""The ``/metrics`` contract of gitsync: plain counters in one stats object, families at scrape."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..runtime.families import (
    Collector,
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    shapes,
)
from ..runtime.histogram import Histogram

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
SYNC_OUTCOMES = ("success", "noop", "error")
TRIGGER_OUTCOMES = ("accepted", "unauthorized", "forbidden")
REPAIR_REASONS = ("lost", "damaged")


@dataclass(slots=True)
class GitSyncStats:
    syncs: Counter[str] = field(default_factory=Counter)
    durations: Histogram = field(default_factory=lambda: Histogram(BUCKETS))
    last_success: float = 0.0
    commit: str = ""
    consecutive_failures: int = 0
    hook_runs: Counter[tuple[str, str]] = field(default_factory=Counter)
    triggers: Counter[str] = field(default_factory=Counter)
    git_commands: Counter[str] = field(default_factory=Counter)
    tree_builds: Counter[str] = field(default_factory=Counter)
    root_bytes: int = 0
    repairs: Counter[str] = field(default_factory=Counter)

    def observe_sync(self, outcome: str, seconds: float) -> None:
        self.syncs[outcome] += 1
        self.durations.observe(seconds)


class GitSyncCollector(Collector):
    def __init__(self, stats: GitSyncStats) -> None:
        self.stats = stats

    def collect(self) -> Iterable[Metric]:
        s = self.stats
        syncs = CounterMetricFamily(
            "gitsync_syncs",
            "Syncs by outcome: success (published), noop, error.",
            labels=["outcome"],
        )
        for outcome in SYNC_OUTCOMES:
            syncs.add_metric([outcome], s.syncs[outcome])
        duration = s.durations.family(
            "gitsync_sync_duration_seconds", "Time one sync took, poll to publish."
        )
        last = GaugeMetricFamily(
            "gitsync_last_success_timestamp_seconds",
            "Unix time of the last sync that succeeded (published or found nothing new).",
            value=s.last_success,
        )
        commit = GaugeMetricFamily(
            "gitsync_commit_info",
            "Always 1; the hash label is the published commit.",
            labels=["hash"],
        )
        if s.commit:
            commit.add_metric([s.commit], 1)
        failures = GaugeMetricFamily(
            "gitsync_consecutive_failures",
            "Failed syncs since the last success.",
            value=s.consecutive_failures,
        )
        hooks = CounterMetricFamily(
            "gitsync_hook_runs", "Hook runs by hook and outcome.", labels=["hook", "outcome"]
        )
        for (hook, outcome), count in sorted(s.hook_runs.items()):
            hooks.add_metric([hook, outcome], count)
        triggers = CounterMetricFamily(
            "gitsync_trigger_requests", "POST /sync requests by outcome.", labels=["outcome"]
        )
        for outcome in TRIGGER_OUTCOMES:
            triggers.add_metric([outcome], s.triggers[outcome])
        commands = CounterMetricFamily(
            "gitsync_git_commands", "git processes started, by git command.", labels=["command"]
        )
        for command, count in sorted(s.git_commands.items()):
            commands.add_metric([command], count)
        builds = CounterMetricFamily(
            "gitsync_tree_builds",
            "Trees built, by method: reuse, spare (private checkout moved forward), full checkout.",
            labels=["method"],
        )
        for method, count in sorted(s.tree_builds.items()):
            builds.add_metric([method], count)
        repairs = CounterMetricFamily(
            "gitsync_tree_repairs",
            "Published trees built again: lost (deleted, or the link gone) or damaged "
            "(files changed or removed, git HEAD moved).",
            labels=["reason"],
        )
        for reason in REPAIR_REASONS:
            repairs.add_metric([reason], s.repairs[reason])
        size = GaugeMetricFamily(
            "gitsync_root_bytes",
            "Bytes on disk of what the helper keeps in the root (.gitsync), after changes.",
            value=s.root_bytes,
        )
        return [
            syncs,
            duration,
            last,
            commit,
            failures,
            hooks,
            triggers,
            commands,
            builds,
            repairs,
            size,
        ]

    def describe(self) -> Iterable[Metric]:
        """The families over empty stats: the live ones stay untouched."""
        return shapes(GitSyncCollector(GitSyncStats()).collect())


def described() -> list[Metric]:
    """The families this helper exposes, for the README's generated list."""
    return list(GitSyncCollector(GitSyncStats()).describe())
