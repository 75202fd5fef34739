"""The NGINX variables a ``log_format`` may name, and the ones that feed metrics.

A name outside these sets is almost always a typo, which would otherwise turn into a
format that silently matches nothing; variables made with ``map`` or ``set`` are declared
through ``NGINXLOG_EXTRA_VARIABLES``.
"""

from __future__ import annotations

__all__ = ["EXPORTER_SOURCES", "FIELD_SOURCES", "LIST_VARIABLES", "is_known"]

_NAMES_TEXT = """
args binary_remote_addr body_bytes_sent bytes_sent connection connection_requests
connection_time content_length content_type document_root document_uri host hostname
https is_args limit_rate msec nginx_version pid pipe proxy_protocol_addr
proxy_protocol_port proxy_protocol_server_addr proxy_protocol_server_port query_string
realpath_root remote_addr remote_port remote_user request request_body request_body_file
request_completion request_filename request_id request_length request_method
request_time request_uri scheme server_addr server_name server_port server_protocol
status tcpinfo_rtt tcpinfo_rttvar tcpinfo_snd_cwnd tcpinfo_rcv_space time_iso8601
time_local uri upstream_addr upstream_bytes_received upstream_bytes_sent
upstream_cache_status upstream_connect_time upstream_header_time upstream_queue_time
upstream_response_length upstream_response_time upstream_status upstream_first_byte_time
upstream_session_time gzip_ratio http2 http3 realip_remote_addr realip_remote_port
invalid_referer secure_link secure_link_expires uid_got uid_set uid_reset date_local
date_gmt fastcgi_script_name fastcgi_path_info proxy_host proxy_port
proxy_add_x_forwarded_for ssl_protocol ssl_cipher ssl_ciphers ssl_curve ssl_curves
ssl_server_name ssl_session_id ssl_session_reused ssl_early_data ssl_alpn_protocol
ssl_client_cert ssl_client_raw_cert ssl_client_escaped_cert ssl_client_fingerprint
ssl_client_i_dn ssl_client_s_dn ssl_client_serial ssl_client_v_start ssl_client_v_end
ssl_client_v_remain ssl_client_verify quic limit_req_status limit_conn_status
memcached_key geoip_country_code geoip_country_name geoip_city geoip_region geoip_org
"""
_NAMES = frozenset(_NAMES_TEXT.split())
_PREFIXES = (
    "arg_",
    "cookie_",
    "http_",
    "sent_http_",
    "sent_trailer_",
    "upstream_http_",
    "upstream_cookie_",
    "upstream_trailer_",
    "proxy_protocol_tlv_",
    "jwt_",
    "geoip2_",
)

FIELD_SOURCES: dict[str, tuple[str, ...]] = {
    "method": ("request_method", "request"),
    "path": ("uri", "request_uri", "document_uri", "request"),
    "status": ("status",),
    "bytes": ("body_bytes_sent", "bytes_sent"),
    "request_length": ("request_length",),
    "request_time": ("request_time",),
    "upstream_time": ("upstream_response_time",),
    "upstream_connect_time": ("upstream_connect_time",),
    "host": ("host", "server_name"),
    "upstream": ("upstream_addr",),
}
"""Each field a metric can use, and the variables it can come from, preferred first."""

EXPORTER_SOURCES = {**FIELD_SOURCES, "method": ("request",), "path": ("request",)}
"""The same for prometheus-nginxlog-exporter, which reads the method and path only from
``$request``: a format without it has the method label empty."""

LIST_VARIABLES = frozenset(
    name for name in _NAMES if name.startswith("upstream_") and "cache" not in name
)
"""Variables that hold one value per upstream tried: ``0.1, 0.2 : 0.3``."""


def is_known(name: str, extra: frozenset[str] = frozenset()) -> bool:
    return name in _NAMES or name in extra or name.startswith(_PREFIXES)
