"""Profit rules of a customer card: ordered; the first rule matching a prefix wins.

``match``: plain digits = that exact prefix; anything else = a regular expression
matched from the start of the prefix; empty = every prefix. Positions are 0-based and
kept contiguous (0..n-1) by every change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.carriers.service import valid_id
from orchestrator.carriers.validation import Fields
from orchestrator.errors import NotFound, ValidationFailed
from orchestrator.ratecards import rules
from orchestrator.ratecards.customer_cards import get_customer_card
from orchestrator.ratecards.models import (
    ROUNDING,
    RULE_STATUSES,
    RULE_TYPES,
    ProfitRule,
    Rate,
    RateRevision,
)
from orchestrator.ratecards.provider_cards import reject_unknown

FIELDS = ("match", "type", "value", "mcd", "pulse", "connect_fee", "rounding",
          "name_override", "status")
NULLABLE = ("mcd", "pulse", "connect_fee", "rounding")
DEFAULTS: dict[str, Any] = {"match": "", "type": "percent", "value": "0", "mcd": None,
                            "pulse": None, "connect_fee": None, "rounding": None,
                            "name_override": "", "status": "profit"}
MATCH_MAX = 200
MAX_RULES = 10_000
MAX_SECONDS = 3600
DECIMAL_PLACES = 8


def rule_to_dict(rule: ProfitRule) -> dict[str, Any]:
    view: dict[str, Any] = {"id": rule.id, "customer_card_id": rule.customer_card_id,
                            "position": rule.position}
    view.update({field: getattr(rule, field) for field in FIELDS})
    return view


def match_error(value: str) -> str | None:
    if value.isdigit() and value.isascii():
        return None
    try:
        re.compile(value)
    except re.error as exc:
        return f"is neither digits nor a valid regular expression: {exc}"
    return None


def _decimal(raw: object) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        return None
    try:
        value = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _decimal_text(f: Fields, field: str, *, minimum: Decimal) -> None:
    raw = f.values.get(field)
    if raw is None:
        return
    value = _decimal(raw)
    if value is None:
        f.error(field, "must be a decimal number such as 12.5")
        return
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -DECIMAL_PLACES:
        f.error(field, f"must have at most {DECIMAL_PLACES} decimal places")
    elif abs(value) >= Decimal(10) ** 10:
        f.error(field, "is too large")
    elif value < minimum:
        f.error(field, f"must be {minimum} or more")
    else:
        f.clean[field] = format(value.normalize(), "f") if value else "0"


def clean_rule(values: Mapping[str, Any], *, rule_type: str = "percent") -> dict[str, Any]:
    """Normalised given fields. ``rule_type`` is the type in force (for ``value``)."""
    reject_unknown(values, FIELDS)
    given = {k: v for k, v in values.items() if v is not None}
    f = Fields(given)
    raw_match = given.get("match")
    if isinstance(raw_match, str):
        f.clean["match"] = raw_match.strip()
        if len(f.clean["match"]) > MATCH_MAX:
            f.error("match", f"must be at most {MATCH_MAX} characters")
        elif (message := match_error(f.clean["match"])) is not None:
            f.error("match", message)
    elif raw_match is not None:
        f.error("match", "must be text")
    f.text("type", 40, choices=RULE_TYPES, lower=True)
    kind = f.clean.get("type", rule_type)
    _decimal_text(f, "value", minimum=Decimal(-100) if kind == "percent" else Decimal(0))
    f.integer("mcd", 1, MAX_SECONDS)
    f.integer("pulse", 1, MAX_SECONDS)
    _decimal_text(f, "connect_fee", minimum=Decimal(0))
    f.text("rounding", 40, choices=ROUNDING, lower=True)
    f.text("name_override", 100)
    f.text("status", 40, choices=RULE_STATUSES, lower=True)
    cleaned = f.done()
    for field in NULLABLE:  # an explicit null clears an override
        if field in values and values[field] is None:
            cleaned[field] = None
    if cleaned.get("rounding") == "":
        cleaned["rounding"] = None
    return cleaned


def _build_check(values: Mapping[str, Any]) -> None:
    """The build's own rule check (orchestrator.ratecards.rules.validate_rules)."""
    found = rules.validate_rules([rules.RuleInput(**{f: values[f] for f in FIELDS})])
    if found:
        raise ValidationFailed({field: [message] for field, message in found[0].items()})


def list_rules(session: Session, actor: Actor, card_id: int) -> list[ProfitRule]:
    card = get_customer_card(session, actor, card_id)
    return list(card.rules)


def get_rule(session: Session, actor: Actor, card_id: int, rule_id: int) -> ProfitRule:
    actor.require("read")
    rule = session.get(ProfitRule, rule_id) if valid_id(rule_id) else None
    if rule is None or rule.customer_card_id != card_id:
        get_customer_card(session, actor, card_id)
        raise NotFound("profit rule", rule_id)
    return rule


def _renumber(rules: list[ProfitRule]) -> None:
    for index, rule in enumerate(rules):
        rule.position = index


def add_rule(session: Session, actor: Actor, card_id: int,
             data: Mapping[str, Any]) -> ProfitRule:
    """Append a rule at the end (move it afterwards to change its place)."""
    actor.require("write")
    card = get_customer_card(session, actor, card_id)
    values = DEFAULTS | clean_rule(data, rule_type=str(data.get("type") or "percent"))
    if len(card.rules) >= MAX_RULES:
        raise ValidationFailed.one("match", f"a card has at most {MAX_RULES} rules")
    _build_check(values)
    rule = ProfitRule(customer_card_id=card.id, position=len(card.rules), **values)
    card.rules.append(rule)
    session.flush()
    audit.record(session, actor, "create", "profit_rule", rule.id,
                 f"profit rule added to customer card {card.name}", after=rule_to_dict(rule))
    return rule


def update_rule(session: Session, actor: Actor, card_id: int, rule_id: int,
                data: Mapping[str, Any]) -> ProfitRule:
    actor.require("write")
    rule = get_rule(session, actor, card_id, rule_id)
    new_type = data.get("type")
    values = clean_rule(data, rule_type=str(new_type).strip().lower()
                        if isinstance(new_type, str) else rule.type)
    before = rule_to_dict(rule)
    _build_check({f: values.get(f, getattr(rule, f)) for f in FIELDS})
    for field, value in values.items():
        setattr(rule, field, value)
    session.flush()
    audit.record(session, actor, "update", "profit_rule", rule.id,
                 f"profit rule of customer card {rule.card.name} updated", before=before,
                 after=rule_to_dict(rule))
    return rule


def delete_rule(session: Session, actor: Actor, card_id: int, rule_id: int) -> None:
    actor.require("write")
    rule = get_rule(session, actor, card_id, rule_id)
    card = rule.card
    before = rule_to_dict(rule)
    card.rules.remove(rule)
    _renumber(card.rules)
    session.flush()
    audit.record(session, actor, "delete", "profit_rule", rule_id,
                 f"profit rule removed from customer card {card.name}", before=before)


def move_rule(session: Session, actor: Actor, card_id: int, rule_id: int,
              position: int) -> list[ProfitRule]:
    """Move a rule to ``position`` (0-based); the others keep their order."""
    actor.require("write")
    rule = get_rule(session, actor, card_id, rule_id)
    card = rule.card
    rules = list(card.rules)
    if isinstance(position, bool) or not isinstance(position, int) \
            or not 0 <= position < len(rules):
        raise ValidationFailed.one("position", f"must be between 0 and {len(rules) - 1}")
    old = rule.position
    rules.remove(rule)
    rules.insert(position, rule)
    _renumber(rules)
    session.flush()
    session.expire(card, ["rules"])
    audit.record(session, actor, "update", "profit_rule", rule.id,
                 f"profit rule of customer card {card.name} moved", before={"position": old},
                 after={"position": position})
    return list(card.rules)


def _alternation(prefixes: Sequence[str]) -> str:
    return prefixes[0] if len(prefixes) == 1 else "^(" + "|".join(prefixes) + ")$"


def _chunks(prefixes: Sequence[str]) -> list[str]:
    """Matches covering exactly ``prefixes``, each at most MATCH_MAX characters."""
    out: list[str] = []
    current: list[str] = []
    for prefix in prefixes:
        if current and len(_alternation([*current, prefix])) > MATCH_MAX:
            out.append(_alternation(current))
            current = []
        current.append(prefix)
    if current:
        out.append(_alternation(current))
    return out


def import_from_parents(session: Session, actor: Actor, card_id: int) -> list[ProfitRule]:
    """One rule per destination name of the parents' active revisions, appended.

    Each rule matches exactly that name's prefixes (``4420`` alone, else
    ``^(4420|4421)$``; split over several rules when longer than 200 characters),
    with type percent, value 0, the name as ``name_override``. Matches already
    present on the card are skipped.
    """
    actor.require("write")
    card = get_customer_card(session, actor, card_id)
    parent_ids = [p.provider_card_id for p in card.parents]
    if not parent_ids:
        raise ValidationFailed.one("parents", "the card has no parents to import from")
    rows = session.execute(
        select(Rate.name, Rate.prefix)
        .join(RateRevision, RateRevision.id == Rate.revision_id)
        .where(RateRevision.state == "active", RateRevision.provider_card_id.in_(parent_ids),
               Rate.name != "")
        .group_by(Rate.name, Rate.prefix).order_by(Rate.name, Rate.prefix)).all()
    by_name: dict[str, list[str]] = {}
    for name, prefix in rows:
        by_name.setdefault(str(name), []).append(str(prefix))
    existing = {r.match for r in card.rules}
    created: list[ProfitRule] = []
    for name, prefixes in by_name.items():
        for match in _chunks(prefixes):
            if match in existing:
                continue
            existing.add(match)
            if len(card.rules) >= MAX_RULES:
                raise ValidationFailed.one("match", f"a card has at most {MAX_RULES} rules")
            rule = ProfitRule(customer_card_id=card.id, position=len(card.rules),
                              **(DEFAULTS | {"match": match, "name_override": name[:100]}))
            card.rules.append(rule)
            created.append(rule)
    session.flush()
    audit.record(session, actor, "import", "profit_rule", None,
                 f"{len(created)} profit rule(s) imported from the parents of customer card "
                 f"{card.name}", after={"count": len(created)})
    return created
