"""Every ``WAITFOR_*`` variable."""

from __future__ import annotations

from sidecars import Duration, Settings, setting

from .targets import Target


class WaitForSettings(Settings, prefix="WAITFOR_", admin_port=9403):
    targets: list[Target] = setting(
        help="Dependencies to wait for: tcp://host:port, http(s)://host/path[#status=200,204], "
        "file:///path, dns://name"
    )
    timeout: Duration = setting(
        default="5m", help="Give up (exit 1) after this long; 0 waits forever"
    )
    attempt_timeout: Duration = setting(default="2s", help="Limit of one connection attempt")
    interval: Duration = setting(default="250ms", help="First delay between attempts; it doubles")
    max_interval: Duration = setting(default="5s", help="Longest delay between attempts")
    http_insecure: bool = setting(
        default=False, help="Accept any TLS certificate from https targets"
    )
