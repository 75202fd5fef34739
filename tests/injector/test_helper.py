"""The injector as a real process answering real HTTPS AdmissionReview requests."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp
import pytest

from sidecars.testing import HelperProcess

from ..faults import fault_env
from .harness import injector, new_pair, publish, small_templates
from .kube import apply, names, patch_of, pod, review, validate


async def test_injects_a_deployment_pod_and_refuses_to_inject_twice(tmp_path: Path) -> None:
    async with injector(tmp_path) as hook:
        request = review(pod("deployment"))
        status, answer = await hook.post(request)
        assert status == 200
        assert answer["apiVersion"] == "admission.k8s.io/v1"
        assert answer["kind"] == "AdmissionReview"
        response = answer["response"]
        assert response["uid"] == request["request"]["uid"]
        assert response["allowed"] is True
        assert "warnings" not in response
        patched = apply(pod("deployment"), patch_of(answer) or [])
        validate(patched)
        assert names(patched["spec"]["initContainers"]) == ["waitfor"]
        assert names(patched["spec"]["containers"]) == ["web", "gitsync", "nginxlog"]

        status, again = await hook.post(review(patched))
        assert status == 200
        assert again["response"]["allowed"] is True
        assert patch_of(again) is None, "a Pod carrying the status annotation is left alone"

        assert await hook.proc.sample("injector_admission_requests_total", outcome="injected") == 1
        assert (
            await hook.proc.sample("injector_admission_requests_total", outcome="already_injected")
            == 1
        )
        assert await hook.proc.sample("injector_injections_total", helper="gitsync") == 1
        assert await hook.proc.sample("injector_admission_duration_seconds_count") == 2
        assert await hook.proc.sample("injector_tls_certificate_expiry_timestamp_seconds")
        assert await hook.proc.stop() == 0


async def test_dry_run_is_answered_the_same(tmp_path: Path) -> None:
    async with injector(tmp_path) as hook:
        _, real = await hook.post(review(pod("deployment")))
        _, dry = await hook.post(review(pod("deployment"), dry_run=True))
        assert patch_of(dry) == patch_of(real)
        assert patch_of(real)


async def test_native_sidecars_by_setting(tmp_path: Path) -> None:
    async with injector(tmp_path, {"INJECTOR_NATIVE_SIDECARS": "true"}) as hook:
        _, answer = await hook.post(review(pod("pod-native") | _annotated("gitsync,waitfor")))
        patched = apply(pod("pod-native") | _annotated("gitsync,waitfor"), patch_of(answer) or [])
        validate(patched)
        init = patched["spec"]["initContainers"]
        # after the Pod's own native sidecar, which they may need (a mesh proxy)
        assert names(init) == ["log-shipper", "gitsync", "waitfor"]
        assert [c.get("restartPolicy") for c in init] == ["Always", "Always", None]


def _annotated(helpers: str) -> dict[str, object]:
    obj = pod("pod-native")
    obj["metadata"]["annotations"] = {
        "sidecars.io/helpers": helpers,
        "sidecars.io/waitfor.WAITFOR_TARGETS": "tcp://db:5432",
    }
    return {"metadata": obj["metadata"]}


async def test_mistakes_come_back_as_warnings(tmp_path: Path) -> None:
    async with injector(tmp_path) as hook:
        obj = pod("deployment")
        obj["metadata"]["annotations"]["sidecars.io/helpers"] = "waitfor,gitsinc"
        obj["metadata"]["annotations"]["sidecars.io/waitfor.TARGETS"] = "x"
        _, answer = await hook.post(review(obj))
        warnings = answer["response"]["warnings"]
        assert any("unknown helper 'gitsinc'" in w for w in warnings)
        assert any("waitfor settings start with WAITFOR_" in w for w in warnings)
        assert any("gitsync is not in sidecars.io/helpers" in w for w in warnings)
        assert all(w.startswith("sidecar injector: ") for w in warnings)
        validate(apply(obj, patch_of(answer) or []))
        assert await hook.proc.sample("injector_admission_warnings_total") == len(warnings)


async def test_what_it_does_not_handle_is_allowed_unchanged(tmp_path: Path) -> None:
    async with injector(tmp_path) as hook:
        configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
        _, answer = await hook.post(review(configmap))
        assert answer["response"]["allowed"] is True
        assert patch_of(answer) is None
        assert "handles Pods only" in answer["response"]["warnings"][0]

        broken = pod("deployment")
        broken["spec"]["containers"] = "web"
        _, answer = await hook.post(review(broken))
        assert answer["response"]["allowed"] is True
        assert patch_of(answer) is None
        assert "not understood (spec.containers" in answer["response"]["warnings"][0]

        not_opted = pod("deployment")
        del not_opted["metadata"]["labels"]["sidecars.io/inject"]
        _, answer = await hook.post(review(not_opted))
        assert answer["response"] == {"uid": answer["response"]["uid"], "allowed": True}

        _, answer = await hook.post(review(pod("deployment"), operation="UPDATE"))
        assert patch_of(answer) is None
        assert await hook.proc.sample("injector_admission_requests_total", outcome="skipped") == 3
        assert (
            await hook.proc.sample("injector_admission_requests_total", outcome="not_understood")
            == 1
        )


async def test_bad_requests_get_clear_errors_and_the_server_keeps_serving(tmp_path: Path) -> None:
    async with injector(tmp_path, {"INJECTOR_MAX_BODY": "64KiB"}) as hook:
        status, text = await hook.post(b'{"apiVersion": ')
        assert status == 400
        assert "not JSON" in text
        status, text = await hook.post(pod("deployment"))
        assert status == 400
        assert (
            "expected kind AdmissionReview, apiVersion admission.k8s.io/v1; got kind 'Pod'" in text
        )
        status, text = await hook.post(
            {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"}
        )
        assert status == 400
        status, text = await hook.post(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}}
        )
        assert (status, text) == (400, "the AdmissionReview has no request.uid\n")
        status, text = await hook.post(b"[" * 60_000)  # under the size limit, too deep
        assert status == 400
        assert "not JSON" in text

        huge = review(pod("deployment"))
        huge["request"]["object"]["metadata"]["annotations"]["big"] = "x" * 100_000
        status, text = await hook.post(huge)
        assert status == 413
        assert "larger than INJECTOR_MAX_BODY (65536 bytes)" in text

        async def chunks() -> object:
            for _ in range(100):
                yield b"x" * 4096

        status, text = await hook.post(chunks())  # no Content-Length
        assert status == 413

        status, answer = await hook.post(review(pod("deployment")))
        assert status == 200
        assert patch_of(answer)
        assert await hook.proc.sample("injector_admission_requests_total", outcome="rejected") == 7


async def test_templates_are_reloaded_and_a_broken_file_keeps_the_old_ones(tmp_path: Path) -> None:
    async with injector(tmp_path, templates=small_templates()) as hook:
        obj = pod("pod-init")
        obj["metadata"]["annotations"] = {"sidecars.io/helpers": "extra"}
        _, answer = await hook.post(review(obj))
        assert "unknown helper 'extra'" in answer["response"]["warnings"][0]

        extra = small_templates() + b"  extra:\n    role: init\n    container: {image: x/e:1}\n"
        publish(tmp_path / "templates", {"templates.yaml": extra})
        await hook.proc.wait_log(lambda e: e.get("msg") == "templates reloaded")
        _, answer = await hook.post(review(obj))
        patched = apply(obj, patch_of(answer) or [])
        assert names(patched["spec"]["initContainers"]) == ["extra", "schema"]

        publish(tmp_path / "templates", {"templates.yaml": b"helpers: [\n"})
        line = await hook.proc.wait_log(lambda e: "templates not reloaded" in e.get("msg", ""))
        assert "line 2" in line["msg"]
        _, answer = await hook.post(review(obj))
        assert patch_of(answer), "the last good templates stay in use"
        assert (
            await hook.proc.sample("injector_reloads_total", file="templates", result="failure")
            == 1
        )
        assert (
            await hook.proc.sample("injector_reloads_total", file="templates", result="success")
            == 1
        )


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("templates", "INJECTOR_TEMPLATES="),
        ("cert", "INJECTOR_TLS_CERT="),
        ("mismatch", "INJECTOR_TLS_KEY="),
        ("port", "INJECTOR_LISTEN_ADDR="),
    ],
)
async def test_unusable_configuration_exits_2_naming_the_variable(
    tmp_path: Path, breakage: str, message: str
) -> None:
    _, cert, key = new_pair()
    _, _, other_key = new_pair()
    publish(tmp_path, {"tls.crt": cert, "tls.key": other_key if breakage == "mismatch" else key})
    (tmp_path / "templates.yaml").write_bytes(
        b"helpers: 3\n" if breakage == "templates" else small_templates()
    )
    env = {
        "INJECTOR_TLS_CERT": str(tmp_path / ("missing.crt" if breakage == "cert" else "tls.crt")),
        "INJECTOR_TLS_KEY": str(tmp_path / "tls.key"),
        "INJECTOR_TEMPLATES": str(tmp_path / "templates.yaml"),
        "INJECTOR_LISTEN_ADDR": "127.0.0.1:0",
    }
    blocker = None
    if breakage == "port":
        blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        env["INJECTOR_LISTEN_ADDR"] = f"127.0.0.1:{blocker.sockets[0].getsockname()[1]}"
    try:
        async with HelperProcess("injector", env) as proc:
            assert await proc.wait() == 2
            errors = [e for e in proc.logs if e.get("level") == "error"]
            assert any(message in e["msg"] for e in errors), proc.stderr()
            assert "Traceback" not in proc.stderr()
    finally:
        if blocker is not None:
            blocker.close()


async def test_sigterm_finishes_in_flight_requests_and_exits_0(tmp_path: Path) -> None:
    async with injector(tmp_path, {"INJECTOR_DRAIN_DELAY": "3s"}) as hook:
        async with aiohttp.ClientSession() as session:
            status, _ = await hook.post(review(pod("deployment")), session)
            hook.proc.send(signal.SIGTERM)
            await hook.proc.wait_log(lambda e: str(e.get("msg")).startswith("stopping"))
            status, answer = await hook.post(review(pod("deployment")), session)
            assert status == 200, "still answering during the drain delay"
            assert patch_of(answer)
        assert await hook.proc.wait() == 0
        assert json.dumps(hook.proc.logs).count("Traceback") == 0


async def test_one_log_line_per_admission_names_pod_owner_and_every_warning(
    tmp_path: Path,
) -> None:
    async with injector(tmp_path) as hook:
        obj = pod("deployment")
        obj["metadata"]["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-7d4b9c",
                "uid": "0f6d1a38-3c5e-4bde-9f0e-0c1f2b8a7e11",
                "controller": True,
            }
        ]
        obj["metadata"]["annotations"]["sidecars.io/helpers"] = "waitfor,gitsinc"
        _, answer = await hook.post(review(obj))
        line = await hook.proc.wait_log(lambda e: e.get("msg") == "admission")
        assert line["namespace"] == "shop"
        assert line["pod"] == "web-7d4b9c-"
        assert line["owner"] == "ReplicaSet/web-7d4b9c"
        assert line["outcome"] == "injected"
        assert line["injected"] == ["waitfor"]
        assert line["level"] == "warning"
        shown = [w.removeprefix("sidecar injector: ") for w in answer["response"]["warnings"]]
        assert line["warnings"] == shown

        plain = pod("deployment")
        plain["spec"]["hostNetwork"] = True
        await hook.post(review(plain))
        line = await hook.proc.wait_log(
            lambda e: e.get("msg") == "admission" and e.get("outcome") == "skipped"
        )
        assert line["reason"].startswith("hostNetwork Pod")
        assert line["injected"] == []


async def test_strict_mode_denies_with_a_message_naming_the_mistake(tmp_path: Path) -> None:
    async with injector(tmp_path, {"INJECTOR_STRICT": "true"}) as hook:
        obj = pod("deployment")
        obj["metadata"]["annotations"]["sidecars.io/gitsync.GITSYNC_REPOO"] = "x"
        _, answer = await hook.post(review(obj))
        response = answer["response"]
        assert response["allowed"] is False
        assert "patch" not in response
        assert response["status"]["code"] == 403
        assert response["status"]["message"] == (
            "sidecar injector (strict mode): gitsync: GITSYNC_REPOO is not a setting of this "
            "helper and is ignored; did you mean GITSYNC_REPO?"
        )
        assert await hook.proc.sample("injector_admission_requests_total", outcome="denied") == 1
        _, answer = await hook.post(review(pod("deployment")))
        assert answer["response"]["allowed"] is True
        assert patch_of(answer)


async def test_only_post_mutate_is_served(tmp_path: Path) -> None:
    async with injector(tmp_path) as hook, aiohttp.ClientSession() as session:
        async with session.get(hook.url + "/mutate", ssl=hook.ssl) as response:
            assert response.status == 405
            assert "POST an AdmissionReview" in await response.text()
        async with session.post(hook.url + "/validate", data=b"{}", ssl=hook.ssl) as response:
            assert response.status == 404
            assert "/mutate" in await response.text()


async def test_a_failing_file_watcher_ends_the_injector_with_exit_1(tmp_path: Path) -> None:
    trigger = tmp_path / "fail-now"
    faults = fault_env(tmp_path / "faults", "sidecars.injector.helper:_identities", trigger)
    async with injector(tmp_path, faults, templates=small_templates()) as hook:
        trigger.touch()
        assert await hook.proc.wait() == 1
        crashed = next(e for e in hook.proc.logs if e.get("task") == "injector.watch")
        assert crashed["msg"] == "task injector.watch crashed"
        assert "injected fault" in crashed["exc"]
        assert hook.proc.logs[-1]["msg"] == "stopped because task injector.watch failed"
