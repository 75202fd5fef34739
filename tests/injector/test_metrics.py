"""The /metrics contract: the injector's families by name and type, and promtool accepts them."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sidecars.injector.metrics import InjectorCollector, InjectorStats

from ..promtool import assert_exposed, needs_promtool, promtool_check
from .harness import injector
from .kube import pod, review

FAMILIES = {
    "injector_admission_requests": "counter",
    "injector_injections": "counter",
    "injector_admission_warnings": "counter",
    "injector_admission_duration_seconds": "histogram",
    "injector_tls_certificate_expiry_timestamp_seconds": "gauge",
    "injector_reloads": "counter",
}


@needs_promtool
async def test_the_exposition_is_what_we_document_and_promtool_accepts_it(tmp_path: Path) -> None:
    async with injector(tmp_path) as hook:
        await hook.post(review(pod("deployment")))
        status, text = await hook.proc.get("/metrics")
    assert status == 200
    ours = {
        family.name: family.type
        for family in text_string_to_metric_families(text)
        if family.name.startswith("injector_")
    }
    assert ours == FAMILIES
    done = promtool_check(text)
    assert done.returncode == 0, done.stdout + done.stderr


LATENCY_EXPOSITION = """\
# HELP injector_admission_duration_seconds Time from receiving a request to having its answer ready.
# TYPE injector_admission_duration_seconds histogram
injector_admission_duration_seconds_bucket{le="0.0005"} 2.0
injector_admission_duration_seconds_bucket{le="0.001"} 2.0
injector_admission_duration_seconds_bucket{le="0.0025"} 2.0
injector_admission_duration_seconds_bucket{le="0.005"} 3.0
injector_admission_duration_seconds_bucket{le="0.01"} 3.0
injector_admission_duration_seconds_bucket{le="0.025"} 3.0
injector_admission_duration_seconds_bucket{le="0.05"} 3.0
injector_admission_duration_seconds_bucket{le="0.1"} 3.0
injector_admission_duration_seconds_bucket{le="0.25"} 4.0
injector_admission_duration_seconds_bucket{le="0.5"} 4.0
injector_admission_duration_seconds_bucket{le="1.0"} 4.0
injector_admission_duration_seconds_bucket{le="+Inf"} 5.0
injector_admission_duration_seconds_count 5.0
injector_admission_duration_seconds_sum 2.2536
"""


@needs_promtool
def test_the_latency_histogram_is_exposed_byte_for_byte_as_before() -> None:
    """The lines the hand-written histogram exposed for these observations (a bound itself
    falls in its own bucket; past the last bound only +Inf counts it)."""
    stats = InjectorStats()
    for seconds in (0.0001, 0.0005, 0.003, 0.25, 2.0):
        stats.observe(seconds)
    assert_exposed(InjectorCollector(stats), "admission_duration", LATENCY_EXPOSITION)
