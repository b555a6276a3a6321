"""Fixed-point units of rate tables: exact parsing, formatting and rounding."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.ratecards import money
from orchestrator.ratecards.money import MoneyFormatError

MODES = {"up": ROUND_UP, "down": ROUND_DOWN, "half_up": ROUND_HALF_UP,
         "half_down": ROUND_HALF_DOWN}


@pytest.mark.parametrize(("text", "units"), [
    ("0.0123", 1_230_000), ("1", 100_000_000), (".5", 50_000_000), ("0.00000001", 1),
    (" 2.50 ", 250_000_000), ("-0.1", -10_000_000), ("007.1", 710_000_000)])
def test_parse(text: str, units: int) -> None:
    assert money.parse_units(text) == units


@pytest.mark.parametrize(("text", "message"), [
    ("", "not a number"), (".", "not a number"), ("1e5", "not a number"),
    ("1,5", "not a number"), ("0.000000001", "more than 8 decimal places"),
    ("99999999999999999999", "too large")])
def test_parse_refuses(text: str, message: str) -> None:
    with pytest.raises(MoneyFormatError, match=message):
        money.parse_units(text)


@given(st.decimals(min_value=-10**6, max_value=10**6, places=8, allow_nan=False))
def test_round_trip_through_decimal(value: Decimal) -> None:
    units = money.units_from_decimal(value)
    assert money.to_decimal(units) == value
    assert Decimal(money.format_units(units)) == value


@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(1, 10**6),
       st.sampled_from(sorted(MODES)))
def test_round_units_agrees_with_decimal(numerator: int, denominator: int, mode: str) -> None:
    with localcontext() as ctx:
        ctx.prec = 60
        expected = (Decimal(numerator) / Decimal(denominator)).quantize(
            Decimal(1), rounding=MODES[mode])
    assert money.round_units(numerator, denominator, mode) == expected


def test_round_units_bad_arguments() -> None:
    with pytest.raises(ValueError):
        money.round_units(1, 0, "up")
    with pytest.raises(ValueError):
        money.round_units(1, 3, "sideways")
