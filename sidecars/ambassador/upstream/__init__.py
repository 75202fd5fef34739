"""Upstream selection: clusters, their endpoints, DNS, load balancing and health checks.

Imports neither ``http`` nor ``tcp`` (tests/ambassador/test_layout.py)."""
