"""PRODUCT.md §3 billing arithmetic: its worked examples, edge cases, and agreement with a
plain Decimal reference on random calls."""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.billing.arithmetic import billed_seconds, call_charge, charge_units
from orchestrator.ratecards.money import parse_units

MODES = {"up": ROUND_UP, "down": ROUND_DOWN, "half_up": ROUND_HALF_UP,
         "half_down": ROUND_HALF_DOWN}


@pytest.mark.parametrize(("duration", "mcd", "pulse", "billed"), [
    (31, 30, 6, 36), (37, 30, 6, 42),            # PRODUCT.md's worked examples
    (30, 30, 6, 30), (1, 30, 6, 30), (0, 30, 6, 30), (36, 30, 6, 36),
    (61, 60, 60, 120), (60, 60, 60, 60), (1, 1, 1, 1), (59, 1, 1, 59),
    (Decimal("30.001"), 30, 6, 36), (Decimal("0.4"), 1, 1, 1), (5, 0, 6, 6), (0, 0, 1, 0)])
def test_billed_seconds(duration: int | Decimal, mcd: int, pulse: int, billed: int) -> None:
    assert billed_seconds(duration, mcd, pulse) == billed


def test_unanswered_calls_bill_nothing() -> None:
    assert billed_seconds(120, 30, 6, answered=False) == 0
    assert call_charge(parse_units("0.5"), 120, 30, 6, parse_units("0.1"),
                       answered=False) == (0, 0)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        billed_seconds(-1, 1, 1)
    with pytest.raises(ValueError):
        billed_seconds(10, 1, 0)
    with pytest.raises(ValueError):
        charge_units(1, 1, precision=9)


def test_charge_examples() -> None:
    # 0.0120 per minute, 1/1, 90 s: 0.018 exactly.
    assert call_charge(parse_units("0.0120"), 90, 1, 1) == (90, parse_units("0.018"))
    # 0.0100 per minute, 30/6, 31 s -> 36 s: 0.006; plus a 0.05 connect fee.
    assert call_charge(parse_units("0.01"), 31, 30, 6, parse_units("0.05")) == (
        36, parse_units("0.056"))
    # 0.0013 per minute, 1/1, 7 s = 0.000151666..: up -> 0.0002, down -> 0.0001,
    # half_up -> 0.0002 (0.00015166 is past the half), at 6 decimals up -> 0.000152.
    rate = parse_units("0.0013")
    assert charge_units(rate, 7, precision=4, rounding="up") == parse_units("0.0002")
    assert charge_units(rate, 7, precision=4, rounding="down") == parse_units("0.0001")
    assert charge_units(rate, 7, precision=4, rounding="half_up") == parse_units("0.0002")
    assert charge_units(rate, 7, precision=6, rounding="up") == parse_units("0.000152")
    # A tie: 0.0006 per minute for 5 s = 0.00005 exactly: half_up 0.0001, half_down 0.
    tie = parse_units("0.0006")
    assert charge_units(tie, 5, precision=4, rounding="half_up") == parse_units("0.0001")
    assert charge_units(tie, 5, precision=4, rounding="half_down") == 0


@given(duration=st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False),
       mcd=st.integers(0, 120), pulse=st.integers(1, 120),
       rate=st.integers(0, 10**10), fee=st.integers(0, 10**8),
       precision=st.integers(0, 8), mode=st.sampled_from(sorted(MODES)))
def test_agrees_with_a_decimal_reference(duration: Decimal, mcd: int, pulse: int, rate: int,
                                         fee: int, precision: int, mode: str) -> None:
    # Reference written straight from PRODUCT.md §3, in Decimal.
    billed = mcd if duration <= mcd else mcd + math.ceil((duration - mcd) / pulse) * pulse
    with localcontext() as ctx:
        ctx.prec = 60
        money = (Decimal(rate) * billed / 60 + fee) / 10**8
        expected = money.quantize(Decimal(1).scaleb(-precision), rounding=MODES[mode])
    got_billed, got = call_charge(rate, duration, mcd, pulse, fee, precision=precision,
                                  rounding=mode)
    assert got_billed == billed
    assert Decimal(got) / 10**8 == expected
