"""http mode's exchange: the client leg, the upstream leg and its pool, framing, header
rules, routing, tunnels."""
