"""Carrier CRUD: every rule names its field, duplicates, currency fixed, listing, roles."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.carriers import service
from orchestrator.carriers.models import Carrier, Gateway
from orchestrator.carriers.schemas import CarrierCreate, CarrierUpdate, GatewayCreate
from orchestrator.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orchestrator.listing import ListQuery, Page
from tests.unit.carriers.conftest import ADMIN, VIEWER


def make(session: Session, name: str = "Acme", **fields: Any) -> Carrier:
    fields.setdefault("currency", "USD")
    return service.create_carrier(session, ADMIN, CarrierCreate(name=name, **fields))


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Carrier)) or 0


def test_create_normalises_and_defaults(session: Session) -> None:
    carrier = make(session, "  Acme Telecom ", currency="eur", country="gb",
                   website="acme.example", status="PENDING_APPROVAL")
    assert (carrier.name, carrier.currency, carrier.country) == ("Acme Telecom", "EUR", "GB")
    assert carrier.website == "https://acme.example"
    assert carrier.status == "pending_approval"
    assert (carrier.pre_ring_timeout, carrier.post_ring_timeout) == (30, 30)
    assert (carrier.channels, carrier.cps) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("name", "", "is required"),
     ("name", "   ", "is required"),
     ("name", "x" * 101, "at most 100"),
     ("status", "deleted", "is not one of"),
     ("currency", "XYZ", "ISO 4217"),
     ("currency", "US", "ISO 4217"),
     ("channels", -1, "between 0 and"),
     ("channels", "many", "whole number"),
     ("cps", -5, "between 0 and"),
     ("cps", 1.5, "whole number"),
     ("pre_ring_timeout", 0, "between 1 and 300"),
     ("pre_ring_timeout", 301, "between 1 and 300"),
     ("post_ring_timeout", 0, "between 1 and 300"),
     ("paypal_email", "not-an-email", "valid email"),
     ("paypal_email", "a@b", "valid email"),
     ("website", "ftp://acme.example", "http"),
     ("website", "https://bad host", "not valid"),
     ("portal_url", "https://", "not valid"),
     ("country", "ZZ", "ISO 3166"),
     ("country", "GBR", "at most 2"),
     ("portal_access", "maybe", "true or false"),
     ("portal_password", "p" * 256, "at most 255")],
)
def test_each_rule_names_its_field(session: Session, field: str, value: object,
                                   message: str) -> None:
    values: dict[str, Any] = {"name": "Acme", "currency": "USD", field: value}
    with pytest.raises(ValidationFailed) as info:
        service.create_carrier(session, ADMIN, CarrierCreate.from_mapping(values))
    assert list(info.value.errors) == [field]
    assert message in " ".join(info.value.errors[field])
    assert count(session) == 0


def test_all_bad_fields_reported_at_once(session: Session) -> None:
    data = CarrierCreate.from_mapping({"currency": "ABC", "channels": -1, "country": "QQ",
                                       "post_ring_timeout": 999})
    with pytest.raises(ValidationFailed) as info:
        service.create_carrier(session, ADMIN, data,
                               [GatewayCreate(host="http://x"), GatewayCreate(host="ok.example")])
    assert set(info.value.errors) == {"name", "currency", "channels", "country",
                                      "post_ring_timeout", "gateways[0].host"}


def test_unknown_field_refused_by_name() -> None:
    with pytest.raises(ValidationFailed) as info:
        CarrierCreate.from_mapping({"name": "A", "currency": "USD", "colour": "red"})
    assert info.value.errors == {"colour": ["unknown field"]}


def test_text_values_from_forms_are_converted(session: Session) -> None:
    data = CarrierCreate.from_mapping({"name": "Form", "currency": "USD", "channels": "120",
                                       "cps": " 10 ", "portal_access": "yes",
                                       "pre_ring_timeout": "5"})
    carrier = service.create_carrier(session, ADMIN, data)
    assert (carrier.channels, carrier.cps, carrier.portal_access) == (120, 10, True)
    assert carrier.pre_ring_timeout == 5


def test_duplicate_name_case_insensitive(session: Session) -> None:
    first = make(session, "Acme")
    with pytest.raises(Conflict) as info:
        make(session, "ACME")
    assert info.value.field == "name"
    other = make(session, "Other")
    with pytest.raises(Conflict, match="already exists"):
        service.update_carrier(session, ADMIN, other.id, CarrierUpdate(name="acme "))
    service.update_carrier(session, ADMIN, first.id, CarrierUpdate(name="acme"))  # itself
    assert first.name == "acme"


def test_currency_fixed_after_creation(session: Session) -> None:
    carrier = make(session, currency="USD")
    with pytest.raises(ValidationFailed) as info:
        service.update_carrier(session, ADMIN, carrier.id, CarrierUpdate(currency="EUR"))
    assert "fixed" in info.value.errors["currency"][0]
    assert carrier.currency == "USD"
    service.update_carrier(session, ADMIN, carrier.id, CarrierUpdate(currency="usd"))


def test_partial_update_keeps_other_fields_and_is_audited(session: Session) -> None:
    carrier = make(session, city="London", channels=10)
    service.update_carrier(session, ADMIN, carrier.id, CarrierUpdate(channels=20, city=""))
    assert (carrier.channels, carrier.city, carrier.currency) == (20, "", "USD")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert entry.before == {"channels": 10, "city": "London"}
    assert entry.after == {"channels": 20, "city": ""}
    assert entry.username == "alice" and entry.object_id == carrier.id


def test_update_reports_every_bad_field(session: Session) -> None:
    carrier = make(session)
    with pytest.raises(ValidationFailed) as info:
        service.update_carrier(session, ADMIN, carrier.id,
                               CarrierUpdate(name="", cps=-1, currency="EUR"))
    assert set(info.value.errors) == {"name", "cps", "currency"}


def test_get_and_missing(session: Session) -> None:
    carrier = make(session)
    assert service.get_carrier(session, VIEWER, carrier.id) is carrier
    assert service.find_carrier(session, VIEWER, "acme") is carrier
    assert service.find_carrier(session, VIEWER, str(carrier.id)) is carrier
    with pytest.raises(NotFound):
        service.get_carrier(session, ADMIN, 999)
    with pytest.raises(NotFound):
        service.update_carrier(session, ADMIN, 999, CarrierUpdate(cps=1))
    with pytest.raises(NotFound):
        service.delete_carrier(session, ADMIN, 999)


def test_viewer_cannot_change_anything(session: Session) -> None:
    carrier = make(session)
    with pytest.raises(PermissionDenied):
        service.create_carrier(session, VIEWER, CarrierCreate(name="B", currency="USD"))
    with pytest.raises(PermissionDenied):
        service.update_carrier(session, VIEWER, carrier.id, CarrierUpdate(cps=3))
    with pytest.raises(PermissionDenied):
        service.delete_carrier(session, VIEWER, carrier.id)
    assert carrier.cps == 0 and count(session) == 1


def test_delete_cascades_and_is_audited(session: Session) -> None:
    carrier = service.create_carrier(
        session, ADMIN, CarrierCreate(name="Gone", currency="USD"),
        [GatewayCreate(host="192.0.2.1"), GatewayCreate(host="192.0.2.2")])
    service.delete_carrier(session, ADMIN, carrier.id)
    assert count(session) == 0
    assert session.scalar(select(func.count()).select_from(Gateway)) == 0
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "delete")).one()
    assert entry.before is not None and entry.before["name"] == "Gone"
    assert [g["host"] for g in entry.before["gateways"]] == ["192.0.2.1", "192.0.2.2"]


def test_delete_guard_refuses_while_in_use(session: Session,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "DELETE_GUARDS", [])
    service.register_delete_guard(lambda s, c: "provider rate card 'Wholesale' uses it"
                                  if c.name == "Used" else None)
    used, free = make(session, "Used"), make(session, "Free")
    with pytest.raises(Conflict, match="Wholesale"):
        service.delete_carrier(session, ADMIN, used.id)
    service.delete_carrier(session, ADMIN, free.id)
    assert [c.name for c in session.scalars(select(Carrier))] == ["Used"]


def names(page: Page[Carrier]) -> list[str]:
    return [c.name for c in page.items]


def test_list_search_sort_paginate(session: Session) -> None:
    make(session, "Bravo", city="Paris", status="inactive")
    make(session, "alpha", website="https://alpha-voice.example", currency="EUR")
    make(session, "Charlie", portal_url="https://portal.charlie.example")
    assert names(service.list_carriers(session, VIEWER, ListQuery())) == [
        "alpha", "Bravo", "Charlie"]
    assert names(service.list_carriers(session, VIEWER, ListQuery(q="PARIS"))) == ["Bravo"]
    assert names(service.list_carriers(session, VIEWER, ListQuery(q="voice"))) == ["alpha"]
    assert names(service.list_carriers(session, VIEWER, ListQuery(q="portal.char"))) == [
        "Charlie"]
    page = service.list_carriers(session, VIEWER, ListQuery(sort="-currency,name",
                                                            per_page=2, page=1))
    assert names(page) == ["Bravo", "Charlie"] and page.total == 3 and page.pages == 2
    assert names(service.list_carriers(session, VIEWER, ListQuery(), status="inactive")) == [
        "Bravo"]
    with pytest.raises(ValidationFailed) as info:
        service.list_carriers(session, VIEWER, ListQuery(sort="portal_password_encrypted"))
    assert "sort" in info.value.errors


def test_to_dict_is_json_ready(session: Session) -> None:
    view = service.to_dict(make(session), children=True)
    assert view["created_at"].endswith("+00:00")
    assert view["gateways"] == [] and view["payments"] == []
    assert set(view) >= {"id", "name", "status", "currency", "channels", "cps",
                         "paypal_email", "website", "portal_url", "portal_username",
                         "portal_password_set", "portal_access", "address_lines", "city",
                         "postcode", "country", "pre_ring_timeout", "post_ring_timeout"}


def test_services_accept_plain_mappings_from_json(session: Session) -> None:
    carrier = service.create_carrier(
        session, ADMIN, {"name": "Json", "currency": "GBP", "channels": 5},
        [{"host": "192.0.2.9", "port": 5080, "transport": "tcp", "weight": 10}])
    assert [(g.host, g.port, g.weight) for g in carrier.gateways] == [("192.0.2.9", 5080, 10)]
    service.update_carrier(session, ADMIN, carrier.id, {"cps": 7, "city": None})
    assert carrier.cps == 7
    with pytest.raises(ValidationFailed) as info:
        service.update_carrier(session, ADMIN, carrier.id, {"cps": 1, "id": 5})
    assert info.value.errors == {"id": ["unknown field"]}
    with pytest.raises(ValidationFailed) as missing:
        service.create_carrier(session, ADMIN, {"channels": 1})
    assert set(missing.value.errors) == {"name", "currency"}


def test_impossible_ids_are_not_found(session: Session) -> None:
    for bad in (0, -1, 2**70):
        with pytest.raises(NotFound):
            service.get_carrier(session, VIEWER, bad)
    with pytest.raises(ValidationFailed, match="status"):
        service.list_carriers(session, VIEWER, ListQuery(), status="gone")


def test_unique_violation_from_a_concurrent_writer_is_a_conflict(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    make(session, "Race")
    monkeypatch.setattr(service, "_name_taken", lambda *args, **kwargs: False)
    with pytest.raises(Conflict) as info:
        make(session, "Race")
    assert info.value.field == "name"
