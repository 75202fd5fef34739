"""Admission decisions in-process: whatever the Pod looks like, the answer is well formed,
never an internal error, and any patch returned applies to the Pod it was made for."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sidecars.injector.decide import Decider, Policy
from sidecars.injector.metrics import InjectorStats
from sidecars.injector.review import Admission
from sidecars.injector.templates import parse_templates

from .kube import apply, patch_of, pod, review
from .test_templates import shipped_templates

TEMPLATES = parse_templates(shipped_templates(), "configmap")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
PLACES = [
    ("metadata",),
    ("metadata", "annotations"),
    ("metadata", "annotations", "sidecars.io/helpers"),
    ("metadata", "annotations", "sidecars.io/mounts"),
    ("metadata", "labels"),
    ("spec",),
    ("spec", "containers"),
    ("spec", "containers", 0),
    ("spec", "containers", 0, "name"),
    ("spec", "containers", 0, "volumeMounts"),
    ("spec", "initContainers"),
    ("spec", "volumes"),
    ("spec", "ephemeralContainers"),
]


def admission() -> Admission:
    log = logging.getLogger("test.injector")
    return Admission(Decider(TEMPLATES, Policy()), InjectorStats(), log)


def damaged(changes: list[tuple[tuple[Any, ...], Any]]) -> dict[str, Any]:
    obj = pod("deployment")
    for path, value in changes:
        target: Any = obj
        for step in path[:-1]:
            try:
                target = target[step]
            except (KeyError, IndexError, TypeError):
                break
        else:
            last = path[-1]
            fits_dict = isinstance(target, dict) and isinstance(last, str)
            fits_list = isinstance(target, list) and isinstance(last, int) and len(target) > last
            if fits_dict or fits_list:
                target[last] = value
    return obj


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PLACES), JSON), max_size=4))
def test_any_pod_gets_a_well_formed_answer(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    obj = damaged(changes)
    hook = admission()
    request = review(obj)
    answer = hook.answer(json.dumps(request).encode())
    assert answer.status == 200
    event(answer.outcome)
    assert answer.outcome != "error", hook.stats
    body = json.loads(answer.body)
    assert body["response"]["uid"] == request["request"]["uid"]
    assert body["response"]["allowed"] is True
    ops = patch_of(body)
    if ops is not None:
        apply(copy.deepcopy(obj), ops)


def test_the_status_annotation_wins_over_everything_else() -> None:
    obj = pod("deployment")
    obj["metadata"]["annotations"]["sidecars.io/status"] = '{"injected":[]}'
    answer = admission().answer(json.dumps(review(obj)).encode())
    assert answer.outcome == "already_injected"
    assert patch_of(json.loads(answer.body)) is None
