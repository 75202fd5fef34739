"""The ambassador's request duration histogram as scraped, byte for byte; promtool agrees."""

from __future__ import annotations

import logging

from sidecars.ambassador.config import load_listeners
from sidecars.ambassador.listener import Listener
from sidecars.ambassador.metrics import AmbassadorCollector
from sidecars.ambassador.settings import AmbassadorSettings

from ..promtool import assert_exposed, needs_promtool

DURATION = """\
# HELP ambassador_http_request_duration_seconds Time from a request's head to its response's end.
# TYPE ambassador_http_request_duration_seconds histogram
ambassador_http_request_duration_seconds_bucket{le="0.001",listener="default"} 2.0
ambassador_http_request_duration_seconds_bucket{le="0.0025",listener="default"} 2.0
ambassador_http_request_duration_seconds_bucket{le="0.005",listener="default"} 3.0
ambassador_http_request_duration_seconds_bucket{le="0.01",listener="default"} 3.0
ambassador_http_request_duration_seconds_bucket{le="0.025",listener="default"} 3.0
ambassador_http_request_duration_seconds_bucket{le="0.05",listener="default"} 3.0
ambassador_http_request_duration_seconds_bucket{le="0.1",listener="default"} 3.0
ambassador_http_request_duration_seconds_bucket{le="0.25",listener="default"} 4.0
ambassador_http_request_duration_seconds_bucket{le="0.5",listener="default"} 4.0
ambassador_http_request_duration_seconds_bucket{le="1.0",listener="default"} 4.0
ambassador_http_request_duration_seconds_bucket{le="2.5",listener="default"} 4.0
ambassador_http_request_duration_seconds_bucket{le="5.0",listener="default"} 4.0
ambassador_http_request_duration_seconds_bucket{le="10.0",listener="default"} 5.0
ambassador_http_request_duration_seconds_bucket{le="+Inf",listener="default"} 6.0
ambassador_http_request_duration_seconds_count{listener="default"} 6.0
ambassador_http_request_duration_seconds_sum{listener="default"} 21.255000000000003
"""


@needs_promtool
async def test_the_duration_histogram_is_exposed_as_before() -> None:
    """A bound itself falls in its own bucket; past the last bound only +Inf counts it."""
    env = {
        "AMBASSADOR_MODE": "http",
        "AMBASSADOR_LISTEN": "127.0.0.1:1",
        "AMBASSADOR_UPSTREAMS": "127.0.0.1:2",
    }
    configs = load_listeners(AmbassadorSettings.from_env(env))
    listeners = [Listener(config, logging.getLogger("test")) for config in configs]
    for seconds in (0.0, 0.001, 0.004, 0.25, 10.0, 11.0):
        listeners[0].stats.observe(200, seconds)
    assert_exposed(AmbassadorCollector(listeners), "request_duration", DURATION)
