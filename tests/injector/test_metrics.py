"""The /metrics contract: the injector's families by name and type, and promtool accepts them."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ..promtool import needs_promtool, promtool_check
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
