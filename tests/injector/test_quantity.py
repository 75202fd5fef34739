"""Quantities compared the way the API server compares requests and limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecars.injector.plan import QUANTITY
from sidecars.injector.quantity import quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100m", 0.1),
        ("1", 1.0),
        ("0.5", 0.5),
        ("64Mi", 64 * 2**20),
        ("1Gi", 2**30),
        ("1G", 1e9),
        ("1e3", 1000.0),
        ("1E3", 1000.0),
        ("2E", 2e18),
        ("128974848", 128974848.0),
    ],
)
def test_values(text: str, value: float) -> None:
    assert QUANTITY.fullmatch(text)
    assert quantity(text) == pytest.approx(value)


@given(st.integers(min_value=1, max_value=10**6))
def test_binary_and_decimal_suffixes_order_like_bytes(n: int) -> None:
    assert quantity(f"{n}Mi") > quantity(f"{n}M")
    assert quantity(f"{n}Gi") > quantity(f"{n}Mi")
    assert quantity(f"{n}m") < quantity(str(n))


@pytest.mark.parametrize("text", ["", "lots", "1.2.3", "Mi", "1 Gi", "-1"])
def test_not_quantities(text: str) -> None:
    assert not QUANTITY.fullmatch(text)
