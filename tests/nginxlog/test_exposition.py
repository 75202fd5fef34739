"""nginxlog's request histograms as scraped, byte for byte, for known lines; promtool agrees."""

from __future__ import annotations

from sidecars.nginxlog.metrics import InputStats, NginxLogCollector, StoreView
from sidecars.nginxlog.routes import RouteRules
from sidecars.nginxlog.store import Store
from sidecars.nginxlog.tally import Tally
from sidecars.runtime.exposition import text

from ..promtool import needs_promtool, promtool_check

FIELDS = ("method", "path", "status", "request_time", "upstream_time", "bytes", "request_length")
RESPONSE_TIME = """\
# HELP nginx_http_response_time_seconds_hist Time needed by NGINX to handle requests
# TYPE nginx_http_response_time_seconds_hist histogram
nginx_http_response_time_seconds_hist_bucket{le="0.1",method="GET",status="200"} 2.0
nginx_http_response_time_seconds_hist_bucket{le="1.0",method="GET",status="200"} 2.0
nginx_http_response_time_seconds_hist_bucket{le="+Inf",method="GET",status="200"} 2.0
nginx_http_response_time_seconds_hist_count{method="GET",status="200"} 2.0
nginx_http_response_time_seconds_hist_sum{method="GET",status="200"} 0.2
nginx_http_response_time_seconds_hist_bucket{le="0.1",method="POST",status="500"} 0.0
nginx_http_response_time_seconds_hist_bucket{le="1.0",method="POST",status="500"} 0.0
nginx_http_response_time_seconds_hist_bucket{le="+Inf",method="POST",status="500"} 1.0
nginx_http_response_time_seconds_hist_count{method="POST",status="500"} 1.0
nginx_http_response_time_seconds_hist_sum{method="POST",status="500"} 3.0
"""


def _exposition(summaries: bool) -> str:
    store = Store(("method", "status", "cluster"), (0.1, 1.0), 100, summaries=summaries)
    tally = Tally(store, FIELDS, {"cluster": "a"}, RouteRules)
    tally.add([(b"GET", b"/", b"200", b"0.1", b"0.05, 2", b"10", b"30", b"")] * 2)
    tally.add([(b"POST", b"/", b"500", b"3", b"-", b"1", b"3", b"")])
    fields = frozenset(("bytes", "request_length", "request_time", "upstream_time"))
    view = StoreView(store, "nginx", fields, {"ns": "x"}, frozenset({"cluster"}))
    collector = NginxLogCollector([view], {"a": InputStats(lines=3)}, tally.fold)
    return text(collector.collect()).decode()


@needs_promtool
def test_histograms_and_summaries_as_scraped() -> None:
    """A bound itself falls in its own bucket, a label dropped from all but the counter
    (``cluster``) is merged over, and summaries sit beside the histograms."""
    for summaries in (False, True):
        text = _exposition(summaries)
        lines = text.splitlines(keepends=True)
        start = lines.index(
            "# HELP nginx_http_response_time_seconds_hist Time needed by NGINX to handle requests\n"
        )
        assert "".join(lines[start : start + 12]) == RESPONSE_TIME
        assert ("# TYPE nginx_http_response_time_seconds summary\n" in lines) is summaries
        done = promtool_check(text)
        assert done.returncode == 0, done.stdout + done.stderr
