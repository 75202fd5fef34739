"""Endpoint choice: ketama moves only the departed node's keys; load-aware choices."""

from __future__ import annotations

import collections

from sidecars.ambassador.upstream.balancer import Ketama, LeastConn, PowerOfTwo, RoundRobin
from sidecars.ambassador.upstream.endpoint import Endpoint


def _endpoints(count: int) -> list[Endpoint]:
    return [Endpoint(f"10.0.0.{i}", 6379, "") for i in range(1, count + 1)]


def test_ketama_moves_keys_only_to_an_added_node() -> None:
    nodes = _endpoints(5)
    ring = Ketama()
    ring.rebuild(nodes[:4])
    before = {key: ring.pick(nodes[:4], key) for key in (b"key%d" % i for i in range(2000))}
    ring.rebuild(nodes)
    after = {key: ring.pick(nodes, key) for key in before}
    moved = [key for key in before if before[key] is not after[key]]
    assert all(after[key] is nodes[4] for key in moved)
    assert 0.1 < len(moved) / len(before) < 0.35
    assert min(collections.Counter(after.values()).values()) > 200


def test_ketama_skips_unavailable_nodes_without_moving_others() -> None:
    nodes = _endpoints(4)
    ring = Ketama()
    ring.rebuild(nodes)
    keys = [b"k%d" % i for i in range(500)]
    full = {key: ring.pick(nodes, key) for key in keys}
    partial = {key: ring.pick(nodes[1:], key) for key in keys}
    for key in keys:
        if full[key] is not nodes[0]:
            assert partial[key] is full[key]
        else:
            assert partial[key] is not nodes[0]


def test_round_robin_cycles_and_least_conn_prefers_idle() -> None:
    nodes = _endpoints(3)
    rr = RoundRobin()
    picks = [rr.pick(nodes, None) for _ in range(6)]
    assert collections.Counter(picks) == dict.fromkeys(nodes, 2)
    nodes[0].active, nodes[1].active, nodes[2].active = 5, 0, 3
    assert LeastConn().pick(nodes, None) is nodes[1]
    p2c = PowerOfTwo()
    picks = [p2c.pick(nodes, None) for _ in range(300)]
    assert nodes[0] not in picks  # the busiest of the three never wins a pair
