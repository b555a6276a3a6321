"""Provider rate cards (what a carrier charges us): create, read, change, delete, list.

Every change checks ``actor.require("write")`` and is recorded in the audit log in the
caller's transaction; the caller commits. The rows of a card live in its revisions
(``orchestrator.ratecards.revisions``). Importing this module registers a carrier
delete guard: a carrier with provider cards cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.carriers.models import Carrier
from orchestrator.carriers.service import register_delete_guard as register_carrier_guard
from orchestrator.carriers.service import valid_id
from orchestrator.carriers.validation import Fields
from orchestrator.codes import CURRENCIES
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.listing import ListQuery, Page, paginate
from orchestrator.ratecards import revisions
from orchestrator.ratecards.models import (
    DIALING,
    PRESENTATIONS,
    CustomerCard,
    CustomerCardParent,
    ProviderCard,
)

FIELDS = ("name", "carrier_id", "currency", "tech_prefix", "force_presentation", "dialing",
          "notes_public", "notes_private")
DEFAULTS: dict[str, Any] = {"tech_prefix": "", "force_presentation": "single",
                            "dialing": "dialled_number", "notes_public": "",
                            "notes_private": ""}
NOTES_MAX = 10_000
TECH_PREFIX_MAX = 20

SEARCH_FIELDS = (ProviderCard.name, ProviderCard.notes_public)
SORTABLE = {"id": ProviderCard.id, "name": cast(Any, func.lower(ProviderCard.name)),
            "currency": ProviderCard.currency, "carrier_id": ProviderCard.carrier_id,
            "created_at": ProviderCard.created_at, "updated_at": ProviderCard.updated_at}

# Checks run before a provider card is deleted (ingress routes register theirs): each
# returns why the card is in use, or None.
DeleteGuard = Callable[[Session, ProviderCard], str | None]
DELETE_GUARDS: list[DeleteGuard] = []


def register_delete_guard(guard: DeleteGuard) -> None:
    if guard not in DELETE_GUARDS:
        DELETE_GUARDS.append(guard)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def reject_unknown(data: Mapping[str, Any], known: Collection[str]) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValidationFailed({key: ["unknown field"] for key in unknown})


def currency_error(value: str) -> str | None:
    return None if value in CURRENCIES else \
        f"{value!r} is not an ISO 4217 currency code (e.g. USD, EUR)"


def require(f: Fields, *names: str) -> None:
    for name in names:
        if f.values.get(name) is None:
            f.error(name, "is required")


def flush_unique(session: Session, kind: str, name: str) -> None:
    """Flush; a unique violation from a concurrent writer becomes a Conflict on name."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("name", f"a {kind} named {name!r} already exists") from exc


def to_dict(card: ProviderCard) -> dict[str, Any]:
    view: dict[str, Any] = {"id": card.id}
    view.update({field: getattr(card, field) for field in FIELDS})
    view["created_at"] = iso(card.created_at)
    view["updated_at"] = iso(card.updated_at)
    return view


def _audit_view(card: ProviderCard) -> dict[str, Any]:
    view = to_dict(card)
    del view["updated_at"]
    return view


def _tech_prefix_error(value: str) -> str | None:
    return None if value.isdigit() and value.isascii() else "must be digits only (0-9)"


def clean_provider_card(values: Mapping[str, Any], *, create: bool = False) -> dict[str, Any]:
    """Normalised values of the given (non-None) fields, or ValidationFailed."""
    reject_unknown(values, FIELDS)
    f = Fields(values)
    if create:
        require(f, "name", "carrier_id", "currency")
    f.text("name", 100, required=True)
    f.integer("carrier_id", 1, 2**63 - 1)
    f.text("currency", 3, required=True, upper=True)
    f.check("currency", currency_error)
    f.text("tech_prefix", TECH_PREFIX_MAX)
    f.check("tech_prefix", _tech_prefix_error)
    f.text("force_presentation", 40, choices=PRESENTATIONS, lower=True)
    f.text("dialing", 40, choices=DIALING, lower=True)
    f.text("notes_public", NOTES_MAX)
    f.text("notes_private", NOTES_MAX)
    return f.done()


def _name_taken(session: Session, name: str, except_id: int | None = None) -> bool:
    stmt = select(ProviderCard.id).where(func.lower(ProviderCard.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(ProviderCard.id != except_id)
    return session.scalar(stmt.limit(1)) is not None


def _check_carrier(session: Session, carrier_id: int) -> None:
    if session.get(Carrier, carrier_id) is None:
        raise ValidationFailed.one("carrier_id", f"no carrier with id {carrier_id}")


def get_provider_card(session: Session, actor: Actor, card_id: int) -> ProviderCard:
    actor.require("read")
    card = session.get(ProviderCard, card_id) if valid_id(card_id) else None
    if card is None:
        raise NotFound("provider card", card_id)
    return card


def list_provider_cards(session: Session, actor: Actor, query: ListQuery, *,
                        carrier_id: int | None = None,
                        currency: str | None = None) -> Page[ProviderCard]:
    """``q`` searches name and public notes; sort by SORTABLE keys; filter by carrier."""
    actor.require("read")
    stmt = select(ProviderCard)
    if carrier_id is not None:
        stmt = stmt.where(ProviderCard.carrier_id == carrier_id)
    if currency:
        stmt = stmt.where(ProviderCard.currency == currency.strip().upper())
    return paginate(session, stmt, query, search=SEARCH_FIELDS, sortable=SORTABLE,
                    default_sort="name")


def create_provider_card(session: Session, actor: Actor,
                         data: Mapping[str, Any]) -> ProviderCard:
    actor.require("write")
    values = DEFAULTS | clean_provider_card(
        {k: v for k, v in data.items() if v is not None}, create=True)
    _check_carrier(session, values["carrier_id"])
    if _name_taken(session, values["name"]):
        raise Conflict("name", f"a provider card named {values['name']!r} already exists")
    card = ProviderCard(**{k: values[k] for k in FIELDS})
    session.add(card)
    flush_unique(session, "provider card", card.name)
    audit.record(session, actor, "create", "provider_card", card.id,
                 f"provider card {card.name} created", after=_audit_view(card))
    return card


def update_provider_card(session: Session, actor: Actor, card_id: int,
                         data: Mapping[str, Any]) -> ProviderCard:
    """Change the given fields only (None = keep); the currency is fixed."""
    actor.require("write")
    card = get_provider_card(session, actor, card_id)
    given = {k: v for k, v in data.items() if v is not None}
    errors: dict[str, list[str]] = {}
    try:
        values = clean_provider_card(given)
    except ValidationFailed as exc:
        values, errors = {}, dict(exc.errors)
    currency = given.get("currency")
    if isinstance(currency, str) and currency.strip().upper() != card.currency:
        errors["currency"] = [f"is fixed once the card exists (it is {card.currency})"]
    if errors:
        raise ValidationFailed(errors)
    if "carrier_id" in values:
        _check_carrier(session, values["carrier_id"])
    if "name" in values and _name_taken(session, values["name"], card.id):
        raise Conflict("name", f"a provider card named {values['name']!r} already exists")
    before = _audit_view(card)
    for field, value in values.items():
        setattr(card, field, value)
    flush_unique(session, "provider card", card.name)
    audit.record(session, actor, "update", "provider_card", card.id,
                 f"provider card {card.name} updated", before=before, after=_audit_view(card))
    return card


def users_of(session: Session, card_id: int) -> list[str]:
    """Names of the customer cards that use this provider card as a parent."""
    return list(session.scalars(
        select(CustomerCard.name).join(CustomerCardParent,
                                       CustomerCardParent.customer_card_id == CustomerCard.id)
        .where(CustomerCardParent.provider_card_id == card_id)
        .distinct().order_by(CustomerCard.name)))


def delete_provider_card(session: Session, actor: Actor, card_id: int) -> None:
    """Delete with its revisions and rates; refused while a customer card uses it."""
    actor.require("write")
    card = get_provider_card(session, actor, card_id)
    users = users_of(session, card.id)
    if users:
        shown = ", ".join(repr(n) for n in users[:10]) + (" ..." if len(users) > 10 else "")
        raise Conflict("id", f"provider card {card.name!r} is a parent of customer "
                       f"card(s) {shown}: remove it from them first")
    for guard in DELETE_GUARDS:
        reason = guard(session, card)
        if reason:
            raise Conflict("id", f"provider card {card.name!r} is in use: {reason}")
    before = _audit_view(card)
    revisions.delete_all(session, card)
    session.delete(card)
    session.flush()
    audit.record(session, actor, "delete", "provider_card", card_id,
                 f"provider card {card.name} deleted", before=before)


def carrier_guard(session: Session, carrier: Carrier) -> str | None:
    """Carrier delete guard: the carrier's provider cards keep it."""
    names = list(session.scalars(select(ProviderCard.name).where(
        ProviderCard.carrier_id == carrier.id).order_by(ProviderCard.name).limit(4)))
    if not names:
        return None
    shown = ", ".join(repr(n) for n in names[:3]) + (" ..." if len(names) > 3 else "")
    return f"provider rate card(s) {shown} belong to it"


register_carrier_guard(carrier_guard)
