"""The billing arithmetic of PRODUCT.md §3, exact (integers and fractions, no floats).

* Billed duration of an answered call of ``d`` seconds with minimum charged duration
  ``M`` and pulse ``P``: ``M`` if ``d <= M``, else ``M + ceil((d - M) / P) * P``
  (30/6: 31 s -> 36 s, 37 s -> 42 s). An unanswered call bills 0.
* Charge = rate / 60 x billed seconds + connect fee (answered calls only), rounded to
  the card's precision with its rounding mode. Money is in rate-table units (10^-8 of
  the currency, ``orchestrator.ratecards.money``).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from orchestrator.ratecards.money import DECIMALS, round_units

Seconds = int | Decimal | Fraction


def billed_seconds(duration: Seconds, mcd: int, pulse: int, *, answered: bool = True) -> int:
    """Seconds billed for a call (``duration`` may carry fractions of a second)."""
    if mcd < 0 or pulse < 1:
        raise ValueError("mcd must be 0 or more and pulse 1 or more")
    if not answered:
        return 0
    d = Fraction(duration)
    if d < 0:
        raise ValueError("a duration is 0 or more seconds")
    if d <= mcd:
        return mcd
    pulses: int = math.ceil((d - mcd) / pulse)  # exact: Fraction, no floats
    return mcd + pulses * pulse


def charge_units(rate: int, billed: int, connect_fee: int = 0, *, precision: int = 4,
                 rounding: str = "up", answered: bool = True) -> int:
    """rate/60 x billed + connect fee (units), rounded to ``precision`` decimals."""
    if not 0 <= precision <= DECIMALS:
        raise ValueError(f"precision is 0 to {DECIMALS} decimals")
    if not answered:
        return 0
    step: int = 10 ** (DECIMALS - precision)
    return round_units(rate * billed + connect_fee * 60, 60 * step, rounding) * step


def call_charge(rate: int, duration: Seconds, mcd: int, pulse: int, connect_fee: int = 0, *,
                precision: int = 4, rounding: str = "up",
                answered: bool = True) -> tuple[int, int]:
    """(billed seconds, charge in units) of one call."""
    billed = billed_seconds(duration, mcd, pulse, answered=answered)
    return billed, charge_units(rate, billed, connect_fee, precision=precision,
                                rounding=rounding, answered=answered)
