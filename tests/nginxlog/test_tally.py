"""Folding rows into series: histogram buckets, upstream lists, the series cap, expiry."""

from __future__ import annotations

import pytest

from sidecars.nginxlog.routes import RouteRules
from sidecars.nginxlog.store import Store
from sidecars.nginxlog.tally import Tally
from sidecars.nginxlog.values import JSON_CONVERTERS

FIELDS = ("method", "path", "status", "request_time", "upstream_time", "bytes")


def _tally(store: Store, rules: RouteRules | None = None) -> Tally:
    return Tally(store, FIELDS, {"cluster": "a"}, lambda: rules or RouteRules())


def _row(
    method: bytes, path: bytes, status: bytes, rt: bytes, ut: bytes, size: bytes
) -> tuple[bytes, ...]:
    return (method, path, status, rt, ut, size, b"", b"")


def test_buckets_sums_and_upstream_lists() -> None:
    store = Store(("method", "status", "cluster"), (0.1, 1.0), 100)
    tally = _tally(store)
    tally.add([_row(b"GET", b"/", b"200", b"0.000", b"0.1, 0.2 : 0.3", b"10")] * 2)
    tally.add([_row(b"GET", b"/", b"200", b"5", b"-", b"1")] * 1)
    tally.add([_row(b"BREW", b"/", b"418", b"0.5", b"-, -", b"0")] * 1)
    tally.fold(now=1.0)
    series = store.series[("GET", "200", "a")]
    assert series.requests == 3
    assert series.sums[0] == 21
    response, upstream, _ = series.hists
    assert response[:3] == [2, 0, 1]  # 0 lands in the first bucket, 5 in +Inf
    assert response[-2:] == [5.0, 3]
    assert upstream[:3] == [0, 2, 0]
    assert upstream[-2] == pytest.approx(1.2)
    assert upstream[-1] == 2  # "-" is not an observation
    other = store.series[("other", "418", "a")]
    assert other.hists[1][-1] == 0


def test_bad_values_count_as_parse_errors_with_a_reason() -> None:
    store = Store(("method", "status"), (1.0,), 100)
    tally = _tally(store)
    tally.add([_row(b"GET", b"/", b"2x0", b"0.1", b"-", b"1")] * 3)
    tally.add([_row(b"GET", b"/", b"200", b"fast", b"-", b"1")] * 1)
    tally.fold()
    assert store.parse_errors == 4
    assert store.series == {}
    assert set(tally.rejected) == {
        "status b'2x0' is not three digits",
        "time b'fast' is not a number",
    }


def test_the_series_cap_folds_new_label_sets_into_overflow() -> None:
    store = Store(("method", "status", "route", "cluster"), (1.0,), 3)
    rules = RouteRules.build([(r"^/users/\d+$", "/users/:id")], "other", "test")
    tally = _tally(store, rules)
    for status in (b"200", b"201", b"202", b"203", b"204"):
        tally.add([_row(b"GET", b"/users/7", status, b"0.1", b"-", b"1")] * 1)
    tally.fold()
    assert len(store.series) == 4  # the cap, plus the one overflow label set
    assert ("GET", "202", "/users/:id", "a") in store.series
    overflow = store.series[("overflow", "overflow", "overflow", "a")]
    assert overflow.requests == 2
    assert overflow.sums[0] == 2
    assert store.series[("GET", "200", "/users/:id", "a")].sums[0] == 1
    assert store.folded == 2


def test_label_sets_not_seen_expire() -> None:
    store = Store(("method", "status"), (1.0,), 10)
    tally = _tally(store)
    tally.add([_row(b"GET", b"/", b"200", b"0.1", b"-", b"1")] * 1)
    tally.fold(now=10.0)
    tally.add([_row(b"PUT", b"/", b"200", b"0.1", b"-", b"1")] * 1)
    tally.fold(now=20.0)
    assert store.expire(older_than=15.0) == 1
    assert list(store.series) == [("PUT", "200")]


def test_routes_first_match_wins_and_query_is_ignored() -> None:
    rules = RouteRules.build(
        [(r"^/users/(\d+)/orders", r"/users/:id/orders"), (r"^/users/", "/users/*")],
        "unmatched",
        "test",
    )
    assert rules.route("/users/12/orders?x=1") == "/users/:id/orders"
    assert rules.route("/users/abc") == "/users/*"
    assert rules.route("/") == "unmatched"


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("(", "x")], "route rule 1: invalid regex '('"),
        ([("^/a", "x"), ("^/(b)", r"\2")], "route rule 2: bad template"),
        ([("^/(?P<id>b)", r"\g<name>")], "route rule 1: bad template"),
        ([("^/b", r"\q")], "route rule 1: bad template"),
    ],
)
def test_bad_route_rules_are_named(pairs: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("\\2", r"\\2")):
        RouteRules.build(pairs, "other", "f.toml")


def test_converters_replace_a_label_or_add_one() -> None:
    """Relabels (``user`` here) and escape=json unescaping (``host``) come in as converters."""
    fields = ("method", "status", "host", "$remote_user")
    store = Store(("method", "status", "host", "user"), (1.0,), 100)
    converters = {
        "host": ("host", JSON_CONVERTERS["host"]),
        "user": ("$remote_user", lambda raw: "known" if raw == b"alice" else "other"),
    }
    tally = Tally(store, fields, {}, RouteRules, converters)
    tally.add([(b"GET", b"200", b'a\\"b', b"alice"), (b"GET", b"200", b"x", b"eve")])
    tally.fold(now=1.0)
    assert set(store.series) == {("GET", "200", 'a"b', "known"), ("GET", "200", "x", "other")}


def test_json_lines_without_a_time_key_show_no_histogram_for_it() -> None:
    from sidecars.nginxlog.metrics import InputStats, NginxLogCollector, StoreView
    from sidecars.nginxlog.parser import JsonLinesParser

    parser = JsonLinesParser({"method", "status", "request_time", "upstream_connect_time"})
    store = Store(("method", "status"), (0.1, 1.0), 100, summaries=True)
    tally = Tally(store, parser.fields, {}, RouteRules)
    rows: list[tuple[bytes, ...]] = []
    parser.scan(b'{"request": "GET / HTTP/1.1", "status": 200, "request_time": 0.2}\n', rows, [])
    tally.add(rows)
    view = StoreView(store, "nginx", frozenset(parser.fields))
    families = {
        f.name: f for f in NginxLogCollector([view], {"a": InputStats()}, tally.fold).collect()
    }
    assert "nginx_http_response_time_seconds_hist" in families
    assert "nginx_http_response_time_seconds" in families
    assert not [name for name in families if "connect" in name]
