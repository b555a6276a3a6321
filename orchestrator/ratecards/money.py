"""Fixed-point money of rate tables: integers counting 10^-8 of the card's currency.

Exact, fast in polars and SQL, and never binary floating point. Interfaces show
decimal strings (``format_units``); imports parse them (``parse_units``) and refuse
more than ``DECIMALS`` decimal places rather than round silently.
"""

from __future__ import annotations

import re
from decimal import Decimal

DECIMALS = 8
SCALE = 10**DECIMALS
MAX_UNITS = 2**63 - 1
ROUNDING_MODES = ("up", "down", "half_up", "half_down")

_DECIMAL = re.compile(r"^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$")


class MoneyFormatError(ValueError):
    """A text that is not a decimal number this table can hold exactly."""


def parse_units(text: str) -> int:
    """``"0.0123"`` -> 1_230_000. Raises MoneyFormatError with a user-facing message."""
    match = _DECIMAL.match(text)
    if match is None or not (match.group(2) or match.group(3)):
        raise MoneyFormatError("is not a number")
    sign, whole, frac = match.group(1), match.group(2) or "0", match.group(3) or ""
    if len(frac) > DECIMALS:
        raise MoneyFormatError(f"has more than {DECIMALS} decimal places")
    units: int = int(whole) * SCALE + int(frac.ljust(DECIMALS, "0"))
    if units > MAX_UNITS:
        raise MoneyFormatError("is too large")
    return -units if sign == "-" else units


def units_from_decimal(value: Decimal) -> int:
    """An exact Decimal (at most 8 places) as units."""
    return parse_units(format(value, "f"))


def format_units(units: int, places: int = DECIMALS) -> str:
    """1_230_000 -> ``"0.01230000"`` (``places`` keeps that many decimals, >= needed)."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), SCALE)
    digits = str(frac).rjust(DECIMALS, "0")[:places]
    return f"{sign}{whole}.{digits}" if places else f"{sign}{whole}"


def to_decimal(units: int) -> Decimal:
    return Decimal(units).scaleb(-DECIMALS)


def round_units(numerator: int, denominator: int, mode: str) -> int:
    """numerator / denominator rounded to an integer with ``mode`` (reference for tests
    and for scalar use; the build does the same on whole columns).

    ``up`` rounds away from zero, ``down`` toward zero; ``half_up`` / ``half_down``
    round to nearest with ties away from / toward zero.
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    negative = numerator < 0
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder:
        if mode == "up":
            quotient += 1
        elif mode == "half_up":
            quotient += 2 * remainder >= denominator
        elif mode == "half_down":
            quotient += 2 * remainder > denominator
        elif mode != "down":
            raise ValueError(f"unknown rounding mode {mode!r}")
    return -quotient if negative else quotient
