"""Customer card CRUD: options, parents replaced whole, currencies convertible."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orchestrator.listing import ListQuery
from orchestrator.ratecards import customer_cards as service
from orchestrator.ratecards.models import CustomerCard, CustomerCardParent, ProfitRule
from tests.unit.ratecards.cards_support import (
    ADMIN,
    VIEWER,
    customer,
    exchange_rate,
    open_session,
    provider,
)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    yield from open_session(tmp_path)


def test_create_with_defaults_and_parents(session: Session) -> None:
    a, b = provider(session, "A"), provider(session, "B")
    card = service.create_customer_card(session, ADMIN, {
        "name": " Retail ", "currency": "usd", "strategy": "REVERSE_LCR",
        "parents": [{"provider_card_id": b.id, "weight": 5, "priority": 2},
                    {"provider_card_id": a.id}]})
    assert (card.name, card.currency, card.strategy) == ("Retail", "USD", "reverse_lcr")
    assert (card.precision, card.rounding, card.notice_days) == (4, "up", 7)
    assert (card.rate_compact, card.collapse_using, card.external) == ("max", "max", False)
    assert [(p.provider_card_id, p.weight, p.priority, p.position) for p in card.parents] \
        == [(b.id, 5, 2, 0), (a.id, 1, 0, 1)]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("rate_compact", "median", "is not one of"),
    ("collapse_using", "min", "is not one of"),
    ("force_presentation", "x", "is not one of"),
    ("strategy", "cheapest", "is not one of"),
    ("rounding", "bankers", "is not one of"),
    ("precision", 9, "between 0 and 8"),
    ("precision", -1, "between 0 and 8"),
    ("notice_days", 366, "between 0 and 365"),
    ("external", "perhaps", "true or false"),
    ("collapse", 3, "true or false"),
    ("public_name", "p" * 101, "at most 100"),
    ("currency", "ABC", "ISO 4217"),
])
def test_each_option_names_its_field(session: Session, field: str, value: object,
                                     message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.create_customer_card(session, ADMIN, {"name": "C", "currency": "USD",
                                                      field: value})
    assert list(info.value.errors) == [field]
    assert message in " ".join(info.value.errors[field])
    assert session.scalar(select(func.count()).select_from(CustomerCard)) == 0


def test_parent_errors_are_named_by_position(session: Session) -> None:
    a = provider(session, "A")
    parents: list[Any] = [{"provider_card_id": a.id}, {"provider_card_id": a.id},
                          {"provider_card_id": a.id + 100, "weight": 0, "priority": 100},
                          {"colour": 1}]
    with pytest.raises(ValidationFailed) as info:
        service.create_customer_card(session, ADMIN, {"name": "C", "currency": "USD",
                                                      "parents": parents})
    errors = info.value.errors
    assert "already parents[0]" in errors["parents[1].provider_card_id"][0]
    assert set(errors) == {"parents[1].provider_card_id", "parents[2].weight",
                           "parents[2].priority", "parents[3].colour",
                           "parents[3].provider_card_id"}
    with pytest.raises(ValidationFailed) as missing:
        service.create_customer_card(session, ADMIN, {
            "name": "C", "currency": "USD", "parents": [{"provider_card_id": a.id + 100}]})
    assert "no provider card" in missing.value.errors["parents[0].provider_card_id"][0]


def test_parent_currencies_must_be_convertible(session: Session) -> None:
    euro = provider(session, "Euro deck", currency="EUR")
    with pytest.raises(ValidationFailed) as info:
        customer(session, "Retail", currency="GBP", parents=[euro])
    message = info.value.errors["parents[0].provider_card_id"][0]
    assert "EUR" in message and "GBP" in message and "exchange rate" in message
    exchange_rate(session, "EUR", "0.9")
    with pytest.raises(ValidationFailed):  # GBP still missing
        customer(session, "Retail", currency="GBP", parents=[euro])
    exchange_rate(session, "GBP", "0.8")
    assert customer(session, "Retail", currency="GBP", parents=[euro]).parents
    assert customer(session, "Dollars", currency="USD", parents=[euro]).parents  # USD = base


def test_update_replaces_parents_and_keeps_the_rest(session: Session) -> None:
    a, b, c = provider(session, "A"), provider(session, "B"), provider(session, "C")
    card = customer(session, parents=[a, b], notes="keep")
    service.update_customer_card(session, ADMIN, card.id, {
        "parents": [{"provider_card_id": c.id, "priority": 1}], "precision": 2})
    assert [(p.provider_card_id, p.priority) for p in card.parents] == [(c.id, 1)]
    assert card.precision == 2 and card.notes == "keep"
    assert session.scalar(select(func.count()).select_from(CustomerCardParent)) == 1
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert entry.after is not None and set(entry.after) == {"parents", "precision"}
    service.update_customer_card(session, ADMIN, card.id, {"name": "Renamed"})
    assert len(card.parents) == 1  # parents left out: kept
    with pytest.raises(ValidationFailed) as info:
        service.update_customer_card(session, ADMIN, card.id, {"currency": "EUR"})
    assert "fixed" in info.value.errors["currency"][0]


def test_duplicate_name_list_and_delete(session: Session) -> None:
    a = provider(session, "A")
    card = customer(session, "Retail", parents=[a], public_name="Gold")
    customer(session, "Wholesale", external=True)
    with pytest.raises(Conflict):
        customer(session, "RETAIL")
    assert [c.name for c in service.list_customer_cards(
        session, VIEWER, ListQuery(), provider_card_id=a.id).items] == ["Retail"]
    assert [c.name for c in service.list_customer_cards(
        session, VIEWER, ListQuery(), external=True).items] == ["Wholesale"]
    assert service.list_customer_cards(session, VIEWER, ListQuery(q="gold")).total == 1
    session.add(ProfitRule(customer_card_id=card.id, match="44"))
    session.flush()
    service.delete_customer_card(session, ADMIN, card.id)
    assert session.scalar(select(func.count()).select_from(ProfitRule)) == 0
    with pytest.raises(NotFound):
        service.get_customer_card(session, VIEWER, card.id)


def test_delete_guard_and_roles(session: Session) -> None:
    card = customer(session)

    def guard(_: Session, c: CustomerCard) -> str | None:
        return "ingress route 'r1' uses it" if c.name == "Retail" else None

    service.register_delete_guard(guard)
    try:
        with pytest.raises(Conflict, match="r1"):
            service.delete_customer_card(session, ADMIN, card.id)
    finally:
        service.DELETE_GUARDS.remove(guard)
    with pytest.raises(PermissionDenied):
        service.delete_customer_card(session, VIEWER, card.id)
    service.delete_customer_card(session, ADMIN, card.id)
