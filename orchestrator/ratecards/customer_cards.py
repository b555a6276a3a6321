"""Customer rate cards (what we charge a customer) and their parents.

``parents`` is a list of ``{provider_card_id, weight, priority}`` replaced as a whole
when given; its order is kept as ``position``. Every parent's currency must be the
card's or convertible to it (an exchange rate for both, see exchange.py). Profit
rules: ``orchestrator.ratecards.profit_rules``; revisions: ``revisions``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.carriers.service import valid_id
from orchestrator.carriers.validation import Fields
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.listing import ListQuery, Page, paginate
from orchestrator.ratecards import exchange, revisions
from orchestrator.ratecards.models import (
    COLLAPSE_USING,
    PRESENTATIONS,
    RATE_COMPACT,
    ROUNDING,
    STRATEGIES,
    CustomerCard,
    CustomerCardParent,
    ProviderCard,
)
from orchestrator.ratecards.provider_cards import (
    currency_error,
    flush_unique,
    iso,
    reject_unknown,
    require,
)

FIELDS = ("name", "public_name", "currency", "notes", "rate_compact", "collapse_using",
          "collapse", "force_presentation", "strategy", "precision", "rounding",
          "notice_days", "external")
DEFAULTS: dict[str, Any] = {"public_name": "", "notes": "", "rate_compact": "max",
                            "collapse_using": "max", "collapse": False,
                            "force_presentation": "single", "strategy": "lcr",
                            "precision": 4, "rounding": "up", "notice_days": 7,
                            "external": False}
PARENT_FIELDS = ("provider_card_id", "weight", "priority")
WEIGHT_RANGE = (1, 100)
PRIORITY_RANGE = (0, 99)
MAX_PARENTS = 100
NOTES_MAX = 10_000

SEARCH_FIELDS = (CustomerCard.name, CustomerCard.public_name, CustomerCard.notes)
SORTABLE = {"id": CustomerCard.id, "name": cast(Any, func.lower(CustomerCard.name)),
            "public_name": CustomerCard.public_name, "currency": CustomerCard.currency,
            "strategy": CustomerCard.strategy, "external": CustomerCard.external,
            "created_at": CustomerCard.created_at, "updated_at": CustomerCard.updated_at}

# Checks run before a customer card is deleted (ingress routes register theirs):
# each returns why the card is in use, or None.
DeleteGuard = Callable[[Session, CustomerCard], str | None]
DELETE_GUARDS: list[DeleteGuard] = []


def register_delete_guard(guard: DeleteGuard) -> None:
    if guard not in DELETE_GUARDS:
        DELETE_GUARDS.append(guard)


def parent_to_dict(parent: CustomerCardParent) -> dict[str, Any]:
    return {"provider_card_id": parent.provider_card_id, "weight": parent.weight,
            "priority": parent.priority, "position": parent.position}


def to_dict(card: CustomerCard) -> dict[str, Any]:
    view: dict[str, Any] = {"id": card.id}
    view.update({field: getattr(card, field) for field in FIELDS})
    view["parents"] = [parent_to_dict(p) for p in card.parents]
    view["created_at"] = iso(card.created_at)
    view["updated_at"] = iso(card.updated_at)
    return view


def _audit_view(card: CustomerCard) -> dict[str, Any]:
    view = to_dict(card)
    del view["updated_at"]
    return view


def clean_customer_card(values: Mapping[str, Any], *, create: bool = False) -> dict[str, Any]:
    reject_unknown(values, (*FIELDS, "parents"))
    f = Fields(values)
    if create:
        require(f, "name", "currency")
    f.text("name", 100, required=True)
    f.text("public_name", 100)
    f.text("currency", 3, required=True, upper=True)
    f.check("currency", currency_error)
    f.text("notes", NOTES_MAX)
    f.text("rate_compact", 40, choices=RATE_COMPACT, lower=True)
    f.text("collapse_using", 40, choices=COLLAPSE_USING, lower=True)
    f.boolean("collapse")
    f.text("force_presentation", 40, choices=PRESENTATIONS, lower=True)
    f.text("strategy", 40, choices=STRATEGIES, lower=True)
    f.integer("precision", 0, 8)
    f.text("rounding", 40, choices=ROUNDING, lower=True)
    f.integer("notice_days", 0, 365)
    f.boolean("external")
    return f.done()


def clean_parents(parents: object) -> list[dict[str, Any]]:
    """Cleaned parents (defaults filled), errors keyed ``parents[i].field``."""
    if not isinstance(parents, Sequence) or isinstance(parents, str):
        raise ValidationFailed.one("parents", "must be a list of "
                                   "{provider_card_id, weight, priority}")
    if len(parents) > MAX_PARENTS:
        raise ValidationFailed.one("parents", f"at most {MAX_PARENTS} parents")
    cleaned: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    seen: dict[int, int] = {}
    for index, raw in enumerate(parents):
        prefix = f"parents[{index}]."
        if not isinstance(raw, Mapping):
            errors[f"parents[{index}]"] = ["must be an object {provider_card_id, weight, "
                                           "priority}"]
            continue
        unknown = sorted(set(raw) - set(PARENT_FIELDS))
        for key in unknown:
            errors[prefix + str(key)] = ["unknown field"]
        f = Fields({k: v for k, v in raw.items() if v is not None}, prefix)
        require(f, "provider_card_id")
        f.integer("provider_card_id", 1, 2**63 - 1)
        f.integer("weight", *WEIGHT_RANGE)
        f.integer("priority", *PRIORITY_RANGE)
        errors.update(f.errors)
        card_id = f.clean.get("provider_card_id")
        if card_id is not None and card_id in seen:
            errors.setdefault(prefix + "provider_card_id", []).append(
                f"provider card {card_id} is already parents[{seen[card_id]}]")
        elif card_id is not None:
            seen[card_id] = index
        cleaned.append({"weight": 1, "priority": 0} | f.clean | {"position": index})
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _check_parents(session: Session, parents: Sequence[Mapping[str, Any]], currency: str,
                   base: str) -> None:
    errors: dict[str, list[str]] = {}
    for index, parent in enumerate(parents):
        field = f"parents[{index}].provider_card_id"
        card = session.get(ProviderCard, parent["provider_card_id"])
        if card is None:
            errors[field] = [f"no provider card with id {parent['provider_card_id']}"]
        elif not exchange.convertible(session, card.currency, currency, base):
            missing = [c for c in (card.currency, currency)
                       if c != base and exchange.per_base(session, c, base) is None]
            errors[field] = [
                f"provider card {card.name!r} is in {card.currency}, this card in "
                f"{currency}: set the exchange rate of {' and '.join(missing)} (per 1 "
                f"{base}) under currencies first"]
    if errors:
        raise ValidationFailed(errors)


def _name_taken(session: Session, name: str, except_id: int | None = None) -> bool:
    stmt = select(CustomerCard.id).where(func.lower(CustomerCard.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(CustomerCard.id != except_id)
    return session.scalar(stmt.limit(1)) is not None


def get_customer_card(session: Session, actor: Actor, card_id: int) -> CustomerCard:
    actor.require("read")
    card = session.get(CustomerCard, card_id) if valid_id(card_id) else None
    if card is None:
        raise NotFound("customer card", card_id)
    return card


def list_customer_cards(session: Session, actor: Actor, query: ListQuery, *,
                        provider_card_id: int | None = None,
                        external: bool | None = None) -> Page[CustomerCard]:
    """``q`` searches name, public name, notes; filter by a parent or ``external``."""
    actor.require("read")
    stmt = select(CustomerCard)
    if provider_card_id is not None:
        stmt = stmt.where(CustomerCard.id.in_(
            select(CustomerCardParent.customer_card_id)
            .where(CustomerCardParent.provider_card_id == provider_card_id)))
    if external is not None:
        stmt = stmt.where(CustomerCard.external.is_(external))
    return paginate(session, stmt, query, search=SEARCH_FIELDS, sortable=SORTABLE,
                    default_sort="name")


def _clean_all(data: Mapping[str, Any], *, create: bool
               ) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    given = {k: v for k, v in data.items() if v is not None}
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    parents: list[dict[str, Any]] | None = None
    try:
        values = clean_customer_card({k: v for k, v in given.items() if k != "parents"},
                                     create=create)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if "parents" in given:
        try:
            parents = clean_parents(given["parents"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return values, parents


def create_customer_card(session: Session, actor: Actor, data: Mapping[str, Any], *,
                         base_currency: str = exchange.DEFAULT_BASE) -> CustomerCard:
    actor.require("write")
    values, parents = _clean_all(data, create=True)
    values = DEFAULTS | values
    parents = parents or []
    _check_parents(session, parents, values["currency"], base_currency)
    if _name_taken(session, values["name"]):
        raise Conflict("name", f"a customer card named {values['name']!r} already exists")
    card = CustomerCard(**{k: values[k] for k in FIELDS})
    card.parents = [CustomerCardParent(**p) for p in parents]
    session.add(card)
    flush_unique(session, "customer card", card.name)
    audit.record(session, actor, "create", "customer_card", card.id,
                 f"customer card {card.name} created", after=_audit_view(card))
    return card


def update_customer_card(session: Session, actor: Actor, card_id: int,
                         data: Mapping[str, Any], *,
                         base_currency: str = exchange.DEFAULT_BASE) -> CustomerCard:
    """Change the given fields (None = keep); ``parents`` given replaces them all."""
    actor.require("write")
    card = get_customer_card(session, actor, card_id)
    errors: dict[str, list[str]] = {}
    try:
        values, parents = _clean_all(data, create=False)
    except ValidationFailed as exc:
        values, parents, errors = {}, None, dict(exc.errors)
    currency = data.get("currency")
    if isinstance(currency, str) and currency.strip().upper() != card.currency:
        errors["currency"] = [f"is fixed once the card exists (it is {card.currency})"]
    if errors:
        raise ValidationFailed(errors)
    if parents is not None:
        _check_parents(session, parents, card.currency, base_currency)
    if "name" in values and _name_taken(session, values["name"], card.id):
        raise Conflict("name", f"a customer card named {values['name']!r} already exists")
    before = _audit_view(card)
    for field, value in values.items():
        setattr(card, field, value)
    if parents is not None:
        card.parents = []
        session.flush()  # old rows go before the new ones arrive
        card.parents = [CustomerCardParent(**p) for p in parents]
    flush_unique(session, "customer card", card.name)
    audit.record(session, actor, "update", "customer_card", card.id,
                 f"customer card {card.name} updated", before=before, after=_audit_view(card))
    return card


def delete_customer_card(session: Session, actor: Actor, card_id: int) -> None:
    """Delete with its parents, rules, revisions and rates; refused while in use."""
    actor.require("write")
    card = get_customer_card(session, actor, card_id)
    for guard in DELETE_GUARDS:
        reason = guard(session, card)
        if reason:
            raise Conflict("id", f"customer card {card.name!r} is in use: {reason}")
    before = _audit_view(card)
    revisions.delete_all(session, card)
    session.delete(card)
    session.flush()
    audit.record(session, actor, "delete", "customer_card", card_id,
                 f"customer card {card.name} deleted", before=before)
