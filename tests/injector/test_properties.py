"""Any mix of annotations and Pod shapes: the patch applies, the Pod stays valid for the
schema and the API server's rules, nothing user-written changes, and a second admission
adds nothing."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecars.injector.decide import Decider, Policy

from . import semantics
from .kube import apply, pod, validate
from .test_corpus import LONG_RUNNING, TEMPLATES

HELPERS = ["waitfor", "gitsync", "gitsync-init", "nginxlog", "ambassador", "gitsinc"]
KEYS = {
    "sidecars.io/native": st.sampled_from(["true", "false", "maybe"]),
    "sidecars.io/order": st.sampled_from(["first", "after-sidecars", "last"]),
    "sidecars.io/volume": st.sampled_from(["shared", "config", "Bad_Name"]),
    "sidecars.io/mounts": st.lists(
        st.sampled_from(
            [
                "web=/usr/share/nginx/html",
                "web=gitsync:/usr/share/nginx/html",
                "web=nginxlog:/var/log/nginx",
                "web=ambassador:/tmp/amb",
                "web=/etc/nginx/conf.d",
                "worker=gitsync:/data",
                "web:/x",
            ]
        ),
        max_size=4,
    ).map(",".join),
    "sidecars.io/gitsync.hold": st.sampled_from(["true", "false"]),
    "sidecars.io/ambassador.hold": st.sampled_from(["true", "false"]),
    "sidecars.io/gitsync.volume": st.sampled_from(["config", "site", "sidecars-shared-nginxlog"]),
    "sidecars.io/nginxlog.volume-size": st.sampled_from(["64Mi", "1Gi", "lots"]),
    "sidecars.io/gitsync.memory-request": st.sampled_from(["32Mi", "1Gi", "x"]),
    "sidecars.io/gitsync.cpu-limit": st.sampled_from(["1", "100m", "1e-3"]),
    "sidecars.io/nginxlog.imagePullPolicy": st.sampled_from(["Always", "Sometimes"]),
    "sidecars.io/gitsync.GITSYNC_PERIOD": st.sampled_from(["10s", "often"]),
    "sidecars.io/ambassador.AMBASSADOR_UPSTREAMS": st.just("db:5432"),
}
SHAPES = {
    "restartPolicy": st.sampled_from(["Always", "OnFailure", "Never"]),
    "hostNetwork": st.booleans(),
    "initContainers": st.sampled_from(
        [
            [],
            [{"name": "proxy", "image": "mesh/proxy:1", "restartPolicy": "Always"}],
            [{"name": "warm", "image": "x/warm:1", "ports": [{"containerPort": 9400}]}],
            [
                {
                    "name": "proxy",
                    "image": "mesh/proxy:1",
                    "restartPolicy": "Always",
                    "ports": [{"containerPort": 4040}],
                }
            ],
        ]
    ),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(HELPERS), max_size=4, unique=True).map(",".join),
    st.fixed_dictionaries({}, optional=KEYS),
    st.fixed_dictionaries({}, optional=SHAPES),
    st.booleans(),
)
def test_any_mix_gives_a_valid_pod(
    helpers: str, annotations: dict[str, str], shape: dict[str, Any], native: bool
) -> None:
    obj = pod("deployment")
    obj["metadata"]["annotations"]["sidecars.io/helpers"] = helpers
    obj["metadata"]["annotations"].update(annotations)
    obj["spec"].update(copy.deepcopy(shape))
    obj["spec"]["containers"].append({"name": "worker", "image": "x/worker:1"})
    before = copy.deepcopy(obj)
    decider = Decider(TEMPLATES, Policy(native=native))
    decision = decider.decide(obj, "shop")
    assert obj == before
    assert decision.outcome in ("injected", "unchanged", "skipped")
    if not decision.ops:
        return
    assert all(op["op"] == "add" for op in decision.ops)
    patched = apply(copy.deepcopy(obj), decision.ops)
    validate(semantics.strip_nulls(patched))
    assert semantics.problems(patched, LONG_RUNNING) == []
    for key in ("containers", "initContainers", "volumes"):
        kept = [c for c in patched["spec"].get(key) or () if c.get("name") not in decision.injected]
        originals = {c["name"]: c for c in obj["spec"].get(key) or ()}
        for item in kept:
            if item["name"] in originals and key != "containers":
                assert item == originals[item["name"]], "a user's item changed"
    assert decider.decide(patched, "shop").outcome == "already_injected"
