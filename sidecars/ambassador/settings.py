"""Every ``AMBASSADOR_*`` variable.

The variables describe one listener completely; a config file may describe several, each
entry overriding these values by the same names in lower case (see ``config.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from sidecars import Duration, HostPort, Problem, Settings, setting

Balancing = Literal["round_robin", "least_conn", "p2c", "ketama"]


class AmbassadorSettings(Settings, prefix="AMBASSADOR_", admin_port=9401, drain_delay="5s"):
    drain_timeout: Duration = setting(
        default="45s",
        help="How long a stopping ambassador may take in all (drain delay plus connection wait)",
    )
    config_file: Path | None = setting(
        default=None,
        help="YAML (.yaml, .yml) or JSON file with a 'listeners' list; each entry overrides "
        "these settings",
    )
    listen: HostPort = setting(default="127.0.0.1:15000", help="Address the listener binds")
    mode: Literal["tcp", "http"] = setting(
        default="tcp", help="tcp forwards any byte stream; http balances each HTTP/1.1 request"
    )
    upstreams: list[str] = setting(
        default="",
        help="Upstream endpoints: host:port (names re-resolved, every A/AAAA record used) "
        "or srv:_service._proto.name (SRV records)",
    )
    lb: Balancing = setting(default="round_robin", help="How an endpoint is chosen")
    hash_key: str = setting(
        default="",
        help="ketama key in http mode: header:NAME or path (tcp mode hashes the client address)",
    )
    connect_timeout: Duration = setting(default="5s", help="Limit of one upstream connect")
    connect_attempts: int = setting(
        default=3, help="Endpoints tried (each once) before a connection or request fails"
    )
    idle_timeout: Duration = setting(
        default="1h", help="Close a connection with no traffic for this long; 0 turns it off"
    )
    max_connections: int = setting(
        default=10000,
        help="Client connections open at once per listener; past it new ones wait in the "
        "backlog (tcp) or are refused (http, TLS)",
    )
    max_connection_age: Duration = setting(
        default="0", help="tcp: close connections older than this to re-spread them; 0 is off"
    )
    tcp_keepalive: bool = setting(default=True, help="TCP keep-alive on both legs")
    proxy_protocol: Literal["off", "v1", "v2"] = setting(
        default="off", help="tcp: send a PROXY protocol header to the upstream"
    )
    eject_after: int = setting(
        default=5, help="Consecutive connect failures (or 5xx in http mode) that eject an endpoint"
    )
    eject_time: Duration = setting(
        default="10s", help="First ejection period; it doubles for each repeat, up to 10 times"
    )
    health_check: Literal["off", "tcp", "http"] = setting(
        default="off", help="Active checks of every endpoint"
    )
    health_check_path: str = setting(default="/healthz", help="Path of the http active check")
    health_check_interval: Duration = setting(default="5s", help="Time between active checks")
    tls: bool = setting(default=False, help="Connect to upstreams over TLS")
    tls_ca_file: Path | None = setting(
        default=None, help="CA bundle that verifies upstreams; empty uses the system's"
    )
    tls_server_name: str = setting(
        default="", help="SNI and verified name; empty uses the upstream's host name"
    )
    tls_insecure: bool = setting(default=False, help="Skip upstream certificate verification")
    tls_cert_file: Path | None = setting(default=None, help="Client certificate (mTLS)")
    tls_key_file: Path | None = setting(default=None, help="Key of the client certificate")
    listen_tls_cert_file: Path | None = setting(
        default=None, help="Terminate TLS on the listener with this certificate (reloaded)"
    )
    listen_tls_key_file: Path | None = setting(default=None, help="Key of the listener certificate")
    request_timeout: Duration = setting(
        default="60s", help="http: limit of one request until its response ends; 0 is off"
    )
    header_timeout: Duration = setting(
        default="10s",
        help="http: time from the accept, or the previous response, to a whole request head",
    )
    retries: int = setting(default=2, help="http: retries of an idempotent request")
    retry_budget: float = setting(
        default=0.2, help="http: retries allowed per request on average, beyond a burst of 10"
    )
    pool_idle_timeout: Duration = setting(
        default="4s", help="http: close pooled upstream connections idle this long"
    )
    pool_size: int = setting(default=64, help="http: idle upstream connections kept per endpoint")
    request_headers_add: list[str] = setting(
        default="", help="http: 'Name: value' headers added to requests"
    )
    request_headers_remove: list[str] = setting(
        default="", help="http: header names removed from requests"
    )
    response_headers_add: list[str] = setting(
        default="", help="http: 'Name: value' headers added to responses"
    )
    response_headers_remove: list[str] = setting(
        default="", help="http: header names removed from responses"
    )
    x_forwarded_for: bool = setting(default=True, help="http: append the client to X-Forwarded-For")
    dns_server: HostPort | None = setting(
        default=None,
        help="Query this DNS server directly (TTL-aware, SRV); empty uses the system resolver",
    )
    dns_min_ttl: Duration = setting(
        default="5s", help="Shortest re-resolution period (the period with the system resolver)"
    )
    dns_max_ttl: Duration = setting(default="5m", help="Longest re-resolution period")
    connection_drain: Duration = setting(
        default="30s", help="Then wait up to this long for open connections before closing them"
    )

    def validate(self) -> list[Problem]:
        problems = []
        if not self.config_file and not self.upstreams:
            problems.append(
                Problem(
                    f"{self.prefix}UPSTREAMS", None, "required unless AMBASSADOR_CONFIG_FILE is set"
                )
            )
        if self.max_connections < 1:
            problems.append(
                Problem(
                    f"{self.prefix}MAX_CONNECTIONS", str(self.max_connections), "must be at least 1"
                )
            )
        if float(self.drain_delay) + float(self.connection_drain) >= float(self.drain_timeout):
            problems.append(
                Problem(
                    f"{self.prefix}DRAIN_TIMEOUT",
                    str(self.drain_timeout),
                    "must exceed AMBASSADOR_DRAIN_DELAY plus AMBASSADOR_CONNECTION_DRAIN",
                )
            )
        return problems
