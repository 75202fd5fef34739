"""tcp mode's path from the listener: clients, the raw splice path (poller, pump), TLS
streams, PROXY headers."""
