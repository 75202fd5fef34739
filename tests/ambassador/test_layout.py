"""The ambassador's layout shows its architecture: upstream selection (``upstream/``) knows
nothing of the HTTP exchange (``http/``) or the TCP path (``tcp/``) that use it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sidecars.ambassador

PACKAGE = Path(sidecars.ambassador.__file__).parent
PREFIX = "sidecars.ambassador."
UPSTREAM = sorted((PACKAGE / "upstream").glob("*.py"))


def internal_imports(source: str, package: list[str]) -> set[str]:
    """The ambassador's own modules (and names) a module in ``package`` (``["upstream"]``)
    imports, dotted relative to the ambassador: ``from ..http.framing import Head`` gives
    ``http.framing`` and ``http.framing.Head``. Imports under ``if TYPE_CHECKING:`` count."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name[len(PREFIX) :] for a in node.names if a.name.startswith(PREFIX)}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0:
                if not module.startswith(PREFIX):
                    continue  # the standard library's http too
                base = module[len(PREFIX) :].split(".")
            else:
                assert node.level - 1 <= len(package), "a relative import leaves the ambassador"
                base = package[: len(package) - (node.level - 1)] + module.split(".")
            stem = ".".join(part for part in base if part)
            found |= {stem} if stem else set()
            found |= {f"{stem}.{a.name}".lstrip(".") for a in node.names}
    return found


def forbidden(names: set[str]) -> list[str]:
    return sorted(name for name in names if name.split(".")[0] in ("http", "tcp"))


def test_upstream_is_a_package_of_its_own() -> None:
    assert {path.stem for path in UPSTREAM} >= {"balancer", "cluster", "dns", "endpoint"}


@pytest.mark.parametrize("path", UPSTREAM, ids=lambda path: path.name)
def test_upstream_imports_neither_http_nor_tcp(path: Path) -> None:
    bad = forbidden(internal_imports(path.read_text(), ["upstream"]))
    assert not bad, f"upstream/{path.name} imports {bad}"


@pytest.mark.parametrize(
    ("line", "caught"),
    [
        ("from ..http.framing import line_pattern", True),
        ("from ..tcp import tlsstream", True),
        ("from .. import http", True),
        ("import sidecars.ambassador.tcp.tlsstream", True),
        ("from sidecars.ambassador.http import headers", True),
        ("if TYPE_CHECKING:\n    from ..http.client import HttpClient", True),
        ("from ..settings import AmbassadorSettings", False),
        ("from .endpoint import Endpoint", False),
        ("import http.client", False),
        ("from http import HTTPStatus", False),
    ],
)
def test_the_check_catches_every_form_of_import(line: str, caught: bool) -> None:
    assert bool(forbidden(internal_imports(line, ["upstream"]))) is caught
