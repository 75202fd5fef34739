"""The states of an http mode client connection, shared by the modules that drive it."""

WAIT, CONNECTING, EXCHANGE, TUNNEL = 0, 1, 2, 3
