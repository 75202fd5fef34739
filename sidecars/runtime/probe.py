"""``sidecars probe URL``: an HTTP health check for images that carry no curl."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

__all__ = ["probe"]


def probe(url: str, timeout: float = 3.0) -> int:
    """Exit code 0 when ``url`` answers 2xx, 1 otherwise, with the reason on stderr."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"probe {url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1
    if 200 <= status < 300:
        return 0
    print(f"probe {url}: HTTP {status}", file=sys.stderr)
    return 1
