"""A deliberately simple reference of the customer-card build, for the tests.

Written from docs/design/ratecards.md ("Build" and its decisions), not from the fast
engine: plain dicts, Python ``Decimal`` in currency units (not 10^-8 integers),
``re.match`` for rules, and a char-by-char walk for every longest-prefix match.
Slow on purpose; small decks only (and the benchmark's naive comparison).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_DOWN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    localcontext,
)

MODES = {"up": ROUND_UP, "down": ROUND_DOWN, "half_up": ROUND_HALF_UP,
         "half_down": ROUND_HALF_DOWN}
EIGHT = Decimal("0.00000001")


@dataclass
class RefRow:
    name: str
    rate: Decimal
    inter: Decimal | None
    intra: Decimal | None
    connect_fee: Decimal
    mcd: int
    pulse: int
    status: str  # active | blocked


@dataclass
class RefParent:
    card_id: int
    rows: dict[str, RefRow]
    priority: int = 0
    position: int = 0
    fx_numerator: int = 1
    fx_denominator: int = 1


@dataclass
class RefRule:
    match: str = ""
    type: str = "percent"
    value: Decimal = Decimal(0)
    mcd: int | None = None
    pulse: int | None = None
    connect_fee: Decimal | None = None
    rounding: str | None = None
    name_override: str = ""
    status: str = "profit"


@dataclass
class RefOptions:
    rate_compact: str = "max"
    collapse_using: str = "max"
    collapse: bool = False
    force_presentation: str = "single"
    strategy: str = "lcr"
    precision: int = 4
    rounding: str = "up"


@dataclass
class RefOut:
    name: str
    rate: Decimal
    inter: Decimal | None
    intra: Decimal | None
    connect_fee: Decimal
    mcd: int
    pulse: int
    status: str
    candidates: list[tuple[int, Decimal]] = field(default_factory=list)


@dataclass
class RefResult:
    rows: dict[str, RefOut]
    removed: int
    blocked: int
    unserved: int
    collapsed: int


def _convert(value: Decimal | None, parent: RefParent) -> Decimal | None:
    if value is None:
        return None
    exact = value * parent.fx_numerator / parent.fx_denominator
    return exact.quantize(EIGHT, rounding=ROUND_HALF_UP)


def _longest_match(parent: RefParent, prefix: str) -> RefRow | None:
    length = len(prefix)
    while length > 0:
        row = parent.rows.get(prefix[:length])
        if row is not None:
            return row
        length -= 1
    return None


def _rule_matches(rule: RefRule, prefix: str) -> bool:
    if rule.match == "":
        return True
    if all(c in "0123456789" for c in rule.match):
        return prefix == rule.match
    return re.match(rule.match, prefix) is not None


def _mean(values: list[Decimal]) -> Decimal:
    return (sum(values, Decimal(0)) / len(values)).quantize(EIGHT, rounding=ROUND_HALF_UP)


def _single(rate: Decimal, inter: Decimal | None, intra: Decimal | None,
            how: str) -> Decimal:
    listed = [v for v in (rate, inter, intra) if v is not None]
    if how == "rate":
        return rate
    if how == "inter":
        return inter if inter is not None else rate
    if how == "intra":
        return intra if intra is not None else rate
    if how == "max":
        return max(listed)
    return _mean(listed)


def _combine(values: list[Decimal], how: str) -> Decimal:
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    return _mean(values)


def _sell(cost: Decimal, rule: RefRule | None, options: RefOptions) -> Decimal:
    if rule is None:
        value = cost
    elif rule.type == "percent":
        value = cost * (100 + rule.value) / 100
    elif rule.type == "relative":
        value = cost + rule.value
    else:
        value = rule.value
    mode = rule.rounding if rule is not None and rule.rounding else options.rounding
    return value.quantize(Decimal(1).scaleb(-options.precision), rounding=MODES[mode])


def reference_build(parents: list[RefParent], rules: list[RefRule],
                    options: RefOptions) -> RefResult:
    with localcontext() as context:
        context.prec = 120
        return _build(parents, rules, options)


def _build(parents: list[RefParent], rules: list[RefRule],
           options: RefOptions) -> RefResult:
    order = sorted(parents, key=lambda p: (p.priority, p.position, p.card_id))
    every_prefix: set[str] = set()
    for parent in parents:
        every_prefix.update(parent.rows)
    built: dict[str, RefOut] = {}
    removed = 0
    unserved_prefixes: set[str] = set()
    for prefix in sorted(every_prefix):
        rule = next((r for r in rules if _rule_matches(r, prefix)), None)
        if rule is not None and rule.status == "remove":
            removed += 1
            continue
        # (parent, converted row) for every parent whose longest match is active
        serving: list[tuple[RefParent, dict[str, Decimal | None], RefRow]] = []
        first_listing: RefRow | None = None
        for parent in order:
            row = _longest_match(parent, prefix)
            if row is None:
                continue
            if first_listing is None:
                first_listing = row
            if row.status == "active":
                costs = {"rate": _convert(row.rate, parent),
                         "inter": _convert(row.inter, parent),
                         "intra": _convert(row.intra, parent),
                         "connect_fee": _convert(row.connect_fee, parent)}
                serving.append((parent, costs, row))
        assert first_listing is not None  # the prefix comes from some parent
        parent_name = serving[0][2].name if serving else first_listing.name
        name = rule.name_override if rule is not None and rule.name_override else parent_name
        if not serving or (rule is not None and rule.status == "blocked"):
            if not serving:
                unserved_prefixes.add(prefix)
            neutral = None if options.force_presentation == "single" else Decimal(0)
            built[prefix] = RefOut(name, Decimal(0), neutral, neutral, Decimal(0), 1, 1,
                                   "blocked", [])
            continue
        singles = []
        for parent, costs, _row in serving:
            rate = costs["rate"]
            assert rate is not None
            singles.append((parent, _single(rate, costs["inter"], costs["intra"],
                                            options.collapse_using)))
        if options.force_presentation == "single":
            rate_out = _sell(_combine([s for _, s in singles], options.rate_compact), rule,
                             options)
            inter_out = intra_out = None
        else:
            def field_cost(costs: dict[str, Decimal | None], key: str) -> Decimal:
                value = costs[key] if costs[key] is not None else costs["rate"]
                assert value is not None
                return value

            inter_out = _sell(_combine([field_cost(c, "inter") for _, c, _ in serving],
                                       options.rate_compact), rule, options)
            intra_out = _sell(_combine([field_cost(c, "intra") for _, c, _ in serving],
                                       options.rate_compact), rule, options)
            if options.force_presentation == "inter_intra_indeterminate":
                rate_out = _sell(_combine([field_cost(c, "rate") for _, c, _ in serving],
                                          options.rate_compact), rule, options)
            else:
                rate_out = max(inter_out, intra_out)
        mcd = rule.mcd if rule is not None and rule.mcd is not None else max(
            r.mcd for _, _, r in serving)
        pulse = rule.pulse if rule is not None and rule.pulse is not None else max(
            r.pulse for _, _, r in serving)
        if rule is not None and rule.connect_fee is not None:
            fee = rule.connect_fee
        else:
            fee = max(c["connect_fee"] or Decimal(0) for _, c, _ in serving)
        sign = -1 if options.strategy == "reverse_lcr" else 1
        ranked = sorted(singles, key=lambda item: (item[0].priority, sign * item[1],
                                                   item[0].card_id))
        built[prefix] = RefOut(name, rate_out, inter_out, intra_out, fee, mcd, pulse,
                               "active", [(p.card_id, cost) for p, cost in ranked])
    collapsed = 0
    if options.collapse:
        kept: dict[str, RefOut] = {}
        for prefix, out in built.items():
            shorter = None
            for length in range(len(prefix) - 1, 0, -1):
                if prefix[:length] in built:
                    shorter = built[prefix[:length]]
                    break
            if shorter is not None and shorter == out:
                collapsed += 1
                unserved_prefixes.discard(prefix)
                continue
            kept[prefix] = out
        built = kept
    blocked = sum(1 for out in built.values() if out.status == "blocked")
    return RefResult(built, removed, blocked, len(unserved_prefixes), collapsed)
