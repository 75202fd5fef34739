"""The /metrics contract of gitsync: names, types, and what promtool says about them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from sidecars.gitsync.metrics import GitSyncCollector, GitSyncStats
from sidecars.runtime.exposition import text

from ..promtool import assert_exposed, needs_promtool, promtool_check

FAMILIES = {
    "gitsync_syncs": "counter",
    "gitsync_sync_duration_seconds": "histogram",
    "gitsync_last_success_timestamp_seconds": "gauge",
    "gitsync_commit_info": "gauge",
    "gitsync_consecutive_failures": "gauge",
    "gitsync_hook_runs": "counter",
    "gitsync_trigger_requests": "counter",
    "gitsync_git_commands": "counter",
    "gitsync_tree_builds": "counter",
    "gitsync_tree_repairs": "counter",
    "gitsync_root_bytes": "gauge",
}


def _exposition() -> bytes:
    stats = GitSyncStats()
    stats.observe_sync("success", 0.07)
    stats.observe_sync("noop", 0.004)
    stats.observe_sync("error", 120.0)
    stats.commit = "a" * 40
    stats.hook_runs[("exec", "error")] += 2
    stats.triggers["forbidden"] += 1
    stats.git_commands["ls-remote"] += 3
    stats.tree_builds["spare"] += 1
    stats.repairs["damaged"] += 1
    return text(GitSyncCollector(stats).collect())


def test_families_and_values() -> None:
    families = {f.name: f for f in text_string_to_metric_families(_exposition().decode())}
    assert {name: f.type for name, f in families.items()} == FAMILIES
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert samples[("gitsync_syncs_total", (("outcome", "error"),))] == 1
    assert samples[("gitsync_sync_duration_seconds_bucket", (("le", "0.01"),))] == 1
    assert samples[("gitsync_sync_duration_seconds_bucket", (("le", "0.1"),))] == 2
    assert samples[("gitsync_sync_duration_seconds_bucket", (("le", "+Inf"),))] == 3
    assert samples[("gitsync_commit_info", (("hash", "a" * 40),))] == 1
    assert samples[("gitsync_hook_runs_total", (("hook", "exec"), ("outcome", "error")))] == 2
    assert samples[("gitsync_tree_repairs_total", (("reason", "damaged"),))] == 1
    assert samples[("gitsync_tree_repairs_total", (("reason", "lost"),))] == 0


@needs_promtool
def test_promtool_accepts_the_exposition() -> None:
    done = promtool_check(_exposition().decode())
    assert done.returncode == 0, done.stdout + done.stderr


DURATION_EXPOSITION = """\
# HELP gitsync_sync_duration_seconds Time one sync took, poll to publish.
# TYPE gitsync_sync_duration_seconds histogram
gitsync_sync_duration_seconds_bucket{le="0.01"} 2.0
gitsync_sync_duration_seconds_bucket{le="0.025"} 2.0
gitsync_sync_duration_seconds_bucket{le="0.05"} 2.0
gitsync_sync_duration_seconds_bucket{le="0.1"} 3.0
gitsync_sync_duration_seconds_bucket{le="0.25"} 3.0
gitsync_sync_duration_seconds_bucket{le="0.5"} 3.0
gitsync_sync_duration_seconds_bucket{le="1.0"} 4.0
gitsync_sync_duration_seconds_bucket{le="2.5"} 4.0
gitsync_sync_duration_seconds_bucket{le="5.0"} 4.0
gitsync_sync_duration_seconds_bucket{le="10.0"} 4.0
gitsync_sync_duration_seconds_bucket{le="30.0"} 4.0
gitsync_sync_duration_seconds_bucket{le="60.0"} 5.0
gitsync_sync_duration_seconds_bucket{le="+Inf"} 6.0
gitsync_sync_duration_seconds_count 6.0
gitsync_sync_duration_seconds_sum 181.084
"""


@needs_promtool
def test_the_duration_histogram_is_exposed_byte_for_byte_as_before() -> None:
    """The lines the hand-written histogram exposed for these observations (a bound itself
    falls in its own bucket; past the last bound only +Inf counts it)."""
    stats = GitSyncStats()
    for seconds in (0.004, 0.01, 0.07, 1.0, 60.0, 120.0):
        stats.observe_sync("success", seconds)
    assert_exposed(GitSyncCollector(stats), "sync_duration", DURATION_EXPOSITION)
