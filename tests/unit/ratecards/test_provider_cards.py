"""Provider card CRUD: each rule names its field, fixed currency, delete guards, audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.carriers import service as carriers
from orchestrator.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orchestrator.listing import ListQuery
from orchestrator.ratecards import provider_cards as service
from orchestrator.ratecards.models import ProviderCard, Rate, RateRevision
from tests.unit.ratecards.cards_support import (
    ADMIN,
    VIEWER,
    carrier,
    customer,
    open_session,
    provider,
    revision,
)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    yield from open_session(tmp_path)


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ProviderCard)) or 0


def test_create_normalises_and_defaults(session: Session) -> None:
    owner = carrier(session)
    card = service.create_provider_card(session, ADMIN, {
        "name": "  Acme A-Z ", "carrier_id": owner.id, "currency": "eur",
        "tech_prefix": " 0044 ", "force_presentation": "INTER_INTRA"})
    assert (card.name, card.currency, card.tech_prefix) == ("Acme A-Z", "EUR", "0044")
    assert (card.force_presentation, card.dialing) == ("inter_intra", "dialled_number")
    assert (card.notes_public, card.notes_private) == ("", "")
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "provider_card")).one()
    assert entry.action == "create" and entry.after is not None
    assert entry.after["name"] == "Acme A-Z"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "", "is required"),
    ("name", "x" * 101, "at most 100"),
    ("currency", "XYZ", "ISO 4217"),
    ("tech_prefix", "12#", "digits only"),
    ("tech_prefix", "1" * 21, "at most 20"),
    ("force_presentation", "double", "is not one of"),
    ("dialing", "lrn", "is not one of"),
    ("notes_public", "n" * 10_001, "at most 10000"),
    ("carrier_id", "abc", "whole number"),
    ("carrier_id", 999, "no carrier"),
    ("colour", "red", "unknown field"),
])
def test_each_rule_names_its_field(session: Session, field: str, value: object,
                                   message: str) -> None:
    owner = carrier(session)
    data: dict[str, Any] = {"name": "Card", "carrier_id": owner.id, "currency": "USD",
                            field: value}
    with pytest.raises(ValidationFailed) as info:
        service.create_provider_card(session, ADMIN, data)
    assert list(info.value.errors) == [field]
    assert message in " ".join(info.value.errors[field])
    assert count(session) == 0


def test_required_fields(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.create_provider_card(session, ADMIN, {})
    assert set(info.value.errors) == {"name", "carrier_id", "currency"}


def test_duplicate_name_and_fixed_currency(session: Session) -> None:
    card = provider(session, "Acme")
    with pytest.raises(Conflict) as info:
        provider(session, "ACME")
    assert info.value.field == "name"
    with pytest.raises(ValidationFailed) as failed:
        service.update_provider_card(session, ADMIN, card.id, {"currency": "EUR"})
    assert "fixed" in failed.value.errors["currency"][0] and card.currency == "USD"
    service.update_provider_card(session, ADMIN, card.id, {"currency": "usd", "name": "acme"})
    assert card.name == "acme"


def test_update_changes_given_fields_and_is_audited(session: Session) -> None:
    card = provider(session, notes_public="old")
    service.update_provider_card(session, ADMIN, card.id, {"notes_public": "new",
                                                           "tech_prefix": None})
    assert card.notes_public == "new" and card.tech_prefix == ""
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert entry.before == {"notes_public": "old"} and entry.after == {"notes_public": "new"}


def test_list_filters_search_and_sort(session: Session) -> None:
    first = provider(session, "Bravo", notes_public="premium route")
    provider(session, "alpha", carrier_id=first.carrier_id)
    provider(session, "Charlie", currency="EUR")
    page = service.list_provider_cards(session, VIEWER, ListQuery())
    assert [c.name for c in page.items] == ["alpha", "Bravo", "Charlie"]
    mine = service.list_provider_cards(session, VIEWER, ListQuery(sort="-name"),
                                       carrier_id=first.carrier_id)
    assert [c.name for c in mine.items] == ["Bravo", "alpha"] and mine.total == 2
    found = service.list_provider_cards(session, VIEWER, ListQuery(q="PREMIUM"))
    assert [c.name for c in found.items] == ["Bravo"]
    euro = service.list_provider_cards(session, VIEWER, ListQuery(), currency="eur")
    assert [c.name for c in euro.items] == ["Charlie"]
    with pytest.raises(ValidationFailed) as info:
        service.list_provider_cards(session, VIEWER, ListQuery(sort="notes_private"))
    assert list(info.value.errors) == ["sort"]


def test_delete_refused_while_parent_of_a_customer_card(session: Session) -> None:
    card = provider(session)
    user = customer(session, "Retail", parents=[card])
    with pytest.raises(Conflict) as info:
        service.delete_provider_card(session, ADMIN, card.id)
    assert "'Retail'" in info.value.message
    session.delete(user)
    session.flush()
    rows_id = revision(session, card, [("44", "UK", 100)]).id
    service.delete_provider_card(session, ADMIN, card.id)
    assert count(session) == 0
    session.expire_all()
    assert session.get(RateRevision, rows_id) is None
    assert session.scalar(select(func.count()).select_from(Rate)) == 0
    with pytest.raises(NotFound):
        service.get_provider_card(session, ADMIN, card.id)


def test_carrier_with_cards_cannot_be_deleted(session: Session) -> None:
    card = provider(session, "Acme A-Z")
    with pytest.raises(Conflict) as info:
        carriers.delete_carrier(session, ADMIN, card.carrier_id)
    assert "Acme A-Z" in info.value.message
    service.delete_provider_card(session, ADMIN, card.id)
    carriers.delete_carrier(session, ADMIN, card.carrier_id)


def test_viewer_reads_but_cannot_change(session: Session) -> None:
    card = provider(session)
    assert service.get_provider_card(session, VIEWER, card.id) is card
    with pytest.raises(PermissionDenied):
        service.update_provider_card(session, VIEWER, card.id, {"name": "x"})
    with pytest.raises(PermissionDenied):
        service.delete_provider_card(session, VIEWER, card.id)
    with pytest.raises(NotFound):
        service.get_provider_card(session, VIEWER, 2**70)
