"""Every built-in collector's ``describe()`` says the families its ``collect()`` yields.

As in node_exporter, ``describe()`` reads the configuration only: it yields each family's
name, type, help and label names, no sample, and never folds or reads live counters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from types import SimpleNamespace
from typing import Protocol

import pytest

from sidecars.ambassador.config import load_listeners
from sidecars.ambassador.listener import Listener
from sidecars.ambassador.metrics import AmbassadorCollector
from sidecars.ambassador.settings import AmbassadorSettings
from sidecars.gitsync.metrics import GitSyncCollector, GitSyncStats
from sidecars.injector.metrics import InjectorCollector, InjectorStats
from sidecars.nginxlog.metrics import InputStats, NginxLogCollector, StoreView
from sidecars.nginxlog.routes import RouteRules
from sidecars.nginxlog.store import Store
from sidecars.nginxlog.tally import Tally
from sidecars.runtime.families import Metric
from sidecars.runtime.metrics import RuntimeCollector, label_names
from sidecars.waitfor.metrics import WaitForCollector
from sidecars.waitfor.stats import TargetStats

FIELDS = ("method", "path", "status", "request_time", "upstream_time", "bytes", "request_length")
NGINX_LINE = (b"GET", b"/", b"200", b"0.2", b"0.1", b"10", b"30", b"")


class Describing(Protocol):
    """A collector with the optional ``describe()``."""

    def collect(self) -> Iterable[Metric]: ...

    def describe(self) -> Iterable[Metric]: ...


def assert_agree(collector: Describing) -> None:
    """Each collected family is described with the same type, help and label names, and
    no described family carries a sample."""
    described: dict[str, Metric] = {}
    for shape in collector.describe():
        assert shape.name not in described, f"{shape.name} described twice"
        assert not shape.samples, f"{shape.name}: describe() yielded samples"
        described[shape.name] = shape
    collected = list(collector.collect())
    assert collected, "collect() yielded nothing"
    for family in collected:
        found = described.get(family.name)
        assert found is not None, f"{family.name} is collected but not described"
        assert (found.type, found.documentation) == (family.type, family.documentation)
        declared = set(label_names(found))
        if hasattr(family, "_labelnames"):
            assert set(label_names(family)) == declared, family.name
        for sample in family.samples:
            assert set(sample.labels) - {"le", "quantile"} == declared, sample


def test_runtime() -> None:
    ctx = SimpleNamespace(name="example", is_ready=True, draining=False)
    assert_agree(RuntimeCollector(ctx))


def test_gitsync() -> None:
    stats = GitSyncStats(commit="a" * 40, root_bytes=10)
    stats.observe_sync("success", 0.3)
    stats.hook_runs[("exec", "success")] += 1
    stats.git_commands["fetch"] += 1
    stats.tree_builds["spare"] += 1
    assert_agree(GitSyncCollector(stats))


def test_injector() -> None:
    stats = InjectorStats(injections={"gitsync": 1}, cert_expiry=1.0)
    stats.observe(0.01)
    stats.reloaded("templates", ok=False)
    assert_agree(InjectorCollector(stats))


def test_waitfor() -> None:
    assert_agree(WaitForCollector({"tcp://db:5432": TargetStats(up=True, attempts=2)}))


@pytest.mark.parametrize("mode", ["tcp", "http"])
async def test_ambassador(mode: str) -> None:
    env = {
        "AMBASSADOR_MODE": mode,
        "AMBASSADOR_LISTEN": "127.0.0.1:1",
        "AMBASSADOR_UPSTREAMS": "127.0.0.1:2,127.0.0.1:3",
    }
    log = logging.getLogger("test")
    listeners = [Listener(c, log) for c in load_listeners(AmbassadorSettings.from_env(env))]
    listeners[0].stats.observe(200, 0.02)
    listeners[0].stats.timeouts["idle"] = 1
    assert_agree(AmbassadorCollector(listeners))


class _Nginx:
    """A collector over real stores fed through the tally, counting folds."""

    def __init__(self) -> None:
        self.folds = 0
        self.tallies: list[Tally] = []

    def fold(self) -> None:
        self.folds += 1
        for tally in self.tallies:
            tally.fold()

    def view(self, prefix: str, summaries: bool, **extra: object) -> StoreView:
        store = Store(("method", "status", "cluster"), (0.1, 1.0), 100, summaries=summaries)
        tally = Tally(store, FIELDS, {"cluster": "a"}, RouteRules)
        tally.add([NGINX_LINE] * 3)
        self.tallies.append(tally)
        fields = frozenset(("bytes", "request_length", "request_time", "upstream_time"))
        return StoreView(store, prefix, fields, **extra)  # type: ignore[arg-type]


def _configurations() -> Iterator[tuple[str, list[StoreView], bool, _Nginx]]:
    for exporter_names in (True, False):
        for summaries in (False, True):
            nginx = _Nginx()
            views = [nginx.view("nginx", summaries)]
            yield f"names={exporter_names},summaries={summaries}", views, exporter_names, nginx
    nginx = _Nginx()
    views = [
        nginx.view("nginx", False, const={"namespace": "a"}),
        nginx.view("nginx", False, const={"namespace": "a"}),
        nginx.view("", True, counter_only=frozenset({"cluster"})),
    ]
    yield "shared names, no prefix, counter-only label", views, True, nginx


@pytest.mark.parametrize(
    "case", list(_configurations()), ids=lambda case: case[0] if isinstance(case, tuple) else ""
)
def test_nginxlog(case: tuple[str, list[StoreView], bool, _Nginx]) -> None:
    _, views, exporter_names, nginx = case
    inputs = {"access": InputStats(lines=3)}
    collector = NginxLogCollector(views, inputs, nginx.fold, exporter_names)
    list(collector.describe())
    assert nginx.folds == 0, "describe() folded pending rows"
    assert_agree(collector)


def test_nginxlog_describes_time_families_before_any_line() -> None:
    """``collect()`` leaves a time histogram out until a line feeds it; ``describe()`` does not."""
    store = Store(("method", "status"), (1.0,), 100)
    view = StoreView(store, "nginx", frozenset({"request_time"}))
    collector = NginxLogCollector([view], {}, lambda: None)
    names = {family.name for family in collector.describe()}
    assert "nginx_http_response_time_seconds_hist" in names
