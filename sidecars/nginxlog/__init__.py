"""nginxlog: NGINX access logs to Prometheus metrics (adapter pattern)."""

from .helper import NginxLog
from .settings import NginxLogSettings

__all__ = ["NginxLog", "NginxLogSettings"]
