"""Profit rules of a customer card: validation, parsing and vectorised matching.

A rule's ``match`` is empty (every prefix), a plain digit string (that exact prefix)
or a regular expression matched from the start of the prefix. The build matches
with polars (Rust ``regex``) and the tests with Python ``re``; both engines must
give every pattern the same meaning, so patterns are limited to a small grammar
that means the same in both (digits, ``. ^ $ | ( ) (?: ) [..] [^..] \\d``,
quantifiers ``* + ? {m} {m,} {m,n}``, lazy ``?``) and must compile in both.
Backreferences, lookaround, named groups, flags, possessive quantifiers, POSIX or
nested classes and letters are refused with a message naming the construct.

Applying rules on whole columns (used by ``build_engine``): ``rule_index_expr`` (first
matching rule), ``rules_frame`` (the rules as a small frame to join), ``sell_expr``
(markup and rounding in Int128) and ``round_div`` (integer rounding per mode).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import polars as pl

from orchestrator.ratecards.models import ROUNDING, RULE_STATUSES, RULE_TYPES
from orchestrator.ratecards.money import DECIMALS, SCALE

I128 = pl.Int128
MAX_MATCH_LENGTH = 200
MAX_NAME_LENGTH = 100
MAX_VALUE = Decimal(1_000_000)  # currency units, or percent
MAX_BILLING_SECONDS = 86_400

_DIGITS = re.compile(r"[0-9]+")
_QUANTIFIER = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")


class RuleError(ValueError):
    """Rules that cannot be used; ``errors`` maps rule index -> field -> message."""

    def __init__(self, errors: dict[int, dict[str, str]]) -> None:
        self.errors = errors
        first = min(errors)
        field, message = next(iter(errors[first].items()))
        super().__init__(f"rule {first + 1}: {field} {message}")


@dataclass(frozen=True)
class RuleInput:
    """One profit rule as stored (``value`` and ``connect_fee`` are exact decimals)."""

    match: str = ""
    type: str = "percent"
    value: Decimal | str = Decimal(0)
    mcd: int | None = None
    pulse: int | None = None
    connect_fee: Decimal | str | None = None
    rounding: str | None = None
    name_override: str = ""
    status: str = "profit"


@dataclass(frozen=True)
class ParsedRule:
    """A validated rule: ``kind`` is ``all``, ``exact`` or ``regex``; money in units."""

    kind: str
    pattern: str
    type: str
    value_units: int
    mcd: int | None
    pulse: int | None
    connect_fee_units: int | None
    rounding: str | None
    name_override: str
    status: str


def _regex_grammar_error(pattern: str) -> str | None:
    """None when ``pattern`` stays inside the grammar both engines read alike."""
    i, n = 0, len(pattern)
    depth = 0
    can_repeat = False  # the previous token is something a quantifier may follow
    while i < n:
        c = pattern[i]
        if (c.isascii() and c.isdigit()) or c == ".":
            can_repeat, i = True, i + 1
        elif c in "^$" or c == "|":
            can_repeat, i = False, i + 1
        elif c == "(":
            if pattern.startswith("(?:", i):
                i += 3
            elif pattern.startswith("(?", i):
                return "may not use (? groups other than (?: (no lookaround, flags or names)"
            else:
                i += 1
            depth += 1
            can_repeat = False
        elif c == ")":
            if depth == 0:
                return "has an unbalanced )"
            depth -= 1
            can_repeat, i = True, i + 1
        elif c == "\\":
            if pattern[i + 1:i + 2] != "d":
                return "may use no escape other than \\d (no backreferences)"
            can_repeat, i = True, i + 2
        elif c == "[":
            end = _class_end(pattern, i)
            if isinstance(end, str):
                return end
            can_repeat, i = True, end
        elif c in "*+?{":
            if not can_repeat:
                return f"has a quantifier {c} with nothing to repeat"
            if c == "{":
                quantifier = _QUANTIFIER.match(pattern, i)
                if quantifier is None:
                    return "may use braces only as {m}, {m,} or {m,n}"
                low, high = quantifier.group(1), quantifier.group(3)
                if high and int(high) < int(low):
                    return "has a repetition {m,n} with n < m"
                if int(low) > 1000 or (high and int(high) > 1000):
                    return "repeats more than 1000 times"
                i = quantifier.end()
            else:
                i += 1
            if pattern[i:i + 1] == "?":  # lazy: same yes/no answer
                i += 1
            if pattern[i:i + 1] in ("*", "+", "{") and i < n:
                return "may not stack quantifiers (no possessive quantifiers)"
            can_repeat = False
        else:
            return (f"may not contain {c!r}: use digits, . ^ $ | ( ) (?: ) [ ] \\d "
                    "and quantifiers * + ? {m,n}")
    if depth:
        return "has an unbalanced ("
    return None


def _class_end(pattern: str, start: int) -> int | str:
    """Index after the ``]`` closing the class at ``start``, or an error message."""
    i = start + 1
    if pattern[i:i + 1] == "^":
        i += 1
    items = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "]":
            return i + 1 if items else "has an empty character class"
        if c == "\\":
            if pattern[i + 1:i + 2] != "d":
                return "may use no escape other than \\d inside [ ]"
            i += 2
        elif c.isascii() and c.isdigit():
            if pattern[i + 1:i + 2] == "-" and pattern[i + 2:i + 3].isdigit():
                if pattern[i + 2] < c:
                    return "has a reversed range in [ ]"
                i += 3
            else:
                i += 1
        else:
            return f"may not contain {c!r} inside [ ]: use digits, ranges like 1-5 and \\d"
        items += 1
    return "has an unclosed ["


def _compiles_in_polars(pattern: str) -> bool:
    try:
        pl.Series("p", ["1"], dtype=pl.Utf8).str.contains(pattern)
    except Exception:  # polars raises ComputeError for a bad regex
        return False
    return True


def match_error(match: str) -> str | None:
    """Why ``match`` cannot be used, or None."""
    if len(match) > MAX_MATCH_LENGTH:
        return f"is longer than {MAX_MATCH_LENGTH} characters"
    if match == "" or _DIGITS.fullmatch(match):
        return None
    grammar = _regex_grammar_error(match)
    if grammar is not None:
        return grammar
    anchored = anchored_pattern(match)
    for candidate in (match, anchored):
        try:
            re.compile(candidate)
        except re.error as exc:
            return f"is not a valid regular expression ({exc})"
        if not _compiles_in_polars(candidate):
            return "is not a valid regular expression for the build engine"
    return None


def anchored_pattern(match: str) -> str:
    return f"^(?:{match})"


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return result if result.is_finite() else None


def _units(value: Decimal) -> int | None:
    """Exact units of 10^-8, or None when the value has more than 8 decimals."""
    scaled = value * SCALE
    return int(scaled) if scaled == scaled.to_integral_value() else None


def _money_error(value: object, *, minimum: Decimal) -> str | None:
    number = _decimal(value)
    if number is None:
        return "is not a decimal number"
    if number < minimum:
        return "may not be negative" if minimum == 0 else f"may not be below {minimum}"
    if number > MAX_VALUE:
        return f"may not be above {MAX_VALUE}"
    if _units(number) is None:
        return "has more than 8 decimal places"
    return None


def _seconds_error(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return "must be a positive whole number of seconds"
    if value > MAX_BILLING_SECONDS:
        return f"may not exceed {MAX_BILLING_SECONDS} seconds"
    return None


def _rule_errors(rule: RuleInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(rule.match, str):
        errors["match"] = "must be text"
    elif (error := match_error(rule.match)) is not None:
        errors["match"] = error
    if rule.type not in RULE_TYPES:
        errors["type"] = f"must be one of {', '.join(RULE_TYPES)}"
    minimum = Decimal(-100) if rule.type == "percent" else Decimal(0)
    if (error := _money_error(rule.value, minimum=minimum)) is not None:
        errors["value"] = error
    for field in ("mcd", "pulse"):
        if (error := _seconds_error(getattr(rule, field))) is not None:
            errors[field] = error
    if rule.connect_fee is not None and (
            error := _money_error(rule.connect_fee, minimum=Decimal(0))) is not None:
        errors["connect_fee"] = error
    if rule.rounding is not None and rule.rounding not in ROUNDING:
        errors["rounding"] = f"must be empty or one of {', '.join(ROUNDING)}"
    if not isinstance(rule.name_override, str):
        errors["name_override"] = "must be text"
    elif len(rule.name_override) > MAX_NAME_LENGTH:
        errors["name_override"] = f"is longer than {MAX_NAME_LENGTH} characters"
    if rule.status not in RULE_STATUSES:
        errors["status"] = f"must be one of {', '.join(RULE_STATUSES)}"
    return errors


def validate_rules(rules: Sequence[RuleInput]) -> dict[int, dict[str, str]]:
    """Field errors per rule index (0-based); empty when every rule can be used."""
    errors: dict[int, dict[str, str]] = {}
    for index, rule in enumerate(rules):
        found = _rule_errors(rule)
        if found:
            errors[index] = found
    return errors


def parse_rules(rules: Sequence[RuleInput]) -> list[ParsedRule]:
    """Validated rules with money in units; raises RuleError listing every problem."""
    errors = validate_rules(rules)
    if errors:
        raise RuleError(errors)
    parsed = []
    for rule in rules:
        value = _units(_decimal(rule.value) or Decimal(0))
        fee = None if rule.connect_fee is None else _units(
            _decimal(rule.connect_fee) or Decimal(0))
        if rule.match == "":
            kind = "all"
        elif _DIGITS.fullmatch(rule.match):
            kind = "exact"
        else:
            kind = "regex"
        parsed.append(ParsedRule(
            kind=kind, pattern=rule.match, type=rule.type, value_units=value or 0,
            mcd=rule.mcd, pulse=rule.pulse, connect_fee_units=fee, rounding=rule.rounding,
            name_override=rule.name_override, status=rule.status))
    return parsed


def rule_index_expr(rules: Sequence[ParsedRule], prefix: str = "prefix") -> pl.Expr:
    """Int32 index of the first rule matching column ``prefix`` (null: none matches)."""
    column = pl.col(prefix)
    expr: pl.Expr = pl.lit(None, dtype=pl.Int32)
    for index in reversed(range(len(rules))):
        rule = rules[index]
        if rule.kind == "all":
            condition = pl.lit(True)
        elif rule.kind == "exact":
            condition = column == rule.pattern
        else:
            condition = column.str.contains(anchored_pattern(rule.pattern))
        expr = pl.when(condition).then(pl.lit(index, dtype=pl.Int32)).otherwise(expr)
    return expr


def round_div(numerator: pl.Expr, denominator: pl.Expr | int,
              mode: pl.Expr | str) -> pl.Expr:
    """numerator / denominator (> 0) rounded to an integer, as ``money.round_units``:
    ``up`` away from zero, ``down`` toward zero, ``half_up``/``half_down`` nearest with
    ties away from / toward zero. Int128 in and out; ``mode`` may be a column."""
    num = numerator.cast(I128)
    den = (pl.lit(denominator, dtype=I128) if isinstance(denominator, int)
           else denominator.cast(I128))
    magnitude = num.abs()
    quotient = magnitude // den
    twice = (magnitude - quotient * den) * 2
    if isinstance(mode, str):
        bump = {"up": twice > 0, "down": pl.lit(False), "half_up": twice >= den,
                "half_down": twice > den}[mode]
    else:
        bump = (pl.when(mode == "up").then(twice > 0)
                .when(mode == "half_up").then(twice >= den)
                .when(mode == "half_down").then(twice > den)
                .otherwise(pl.lit(False)))
    rounded = quotient + bump.cast(I128)
    return pl.when(num < 0).then(pl.lit(0, dtype=I128) - rounded).otherwise(rounded)


def rules_frame(rules: Sequence[ParsedRule]) -> pl.DataFrame:
    """One row per rule (``rule`` = index), to join on ``rule_index_expr``."""
    return pl.DataFrame({
        "rule": list(range(len(rules))),
        "r_type": [r.type for r in rules],
        "r_value": [r.value_units for r in rules],
        "r_mcd": [r.mcd for r in rules],
        "r_pulse": [r.pulse for r in rules],
        "r_fee": [r.connect_fee_units for r in rules],
        "r_rounding": [r.rounding for r in rules],
        "r_name": [r.name_override or None for r in rules],
        "r_status": [r.status for r in rules],
    }, schema={"rule": pl.Int32, "r_type": pl.Utf8, "r_value": pl.Int64, "r_mcd": pl.Int32,
               "r_pulse": pl.Int32, "r_fee": pl.Int64, "r_rounding": pl.Utf8,
               "r_name": pl.Utf8, "r_status": pl.Utf8})


def sell_expr(field: str, precision: int, rounding: str) -> pl.Expr:
    """Markup of the joined rule (``rules_frame`` columns) on base cost ``field``, rounded
    once to ``precision`` decimals with the rule's rounding, else ``rounding``."""
    step = 10 ** (DECIMALS - precision)
    cost, value = pl.col(field).cast(I128), pl.col("r_value").cast(I128)
    rule_type = pl.col("r_type")
    numerator = (pl.when(rule_type == "percent").then(cost * (value + 100 * SCALE))
                 .when(rule_type == "relative").then(cost + value)
                 .when(rule_type == "absolute").then(value)
                 .otherwise(cost))
    denominator = (pl.when(rule_type == "percent").then(pl.lit(100 * SCALE * step, I128))
                   .otherwise(pl.lit(step, I128)))
    mode = pl.coalesce(pl.col("r_rounding"), pl.lit(rounding))
    return round_div(numerator, denominator, mode).mul(pl.lit(step, I128))
