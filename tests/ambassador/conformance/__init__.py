"""Differential conformance of the ambassador's http mode against HAProxy."""
