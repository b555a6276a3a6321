"""Customer CRUD: conflicts, currency fixed, partial update, list, delete, audit, roles."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.customers import ips, payments, service, sip_users
from orchestrator.customers.models import Customer, CustomerIP, CustomerPayment, SipUser
from orchestrator.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orchestrator.listing import ListQuery
from tests.unit.customers.conftest import OPERATOR, VIEWER


def _audit(session: Session, object_type: str = "customer") -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.object_type == object_type)
                                .order_by(AuditEntry.id)))


def test_create_records_audit_with_after(session: Session, make_customer: Any) -> None:
    customer = make_customer("Acme", email="ops@acme.example")
    [entry] = _audit(session)
    assert (entry.action, entry.object_id, entry.username) == ("create", customer.id, "olivia")
    assert entry.before is None
    assert entry.after is not None and entry.after["name"] == "Acme"
    assert entry.after["email"] == "ops@acme.example"


def test_duplicate_name_ignoring_case_is_a_conflict(session: Session,
                                                   make_customer: Any) -> None:
    make_customer("Acme")
    with pytest.raises(Conflict) as info:
        make_customer("  ACME ")
    assert info.value.field == "name"
    assert "Acme" in info.value.message
    assert session.scalar(select(func.count()).select_from(Customer)) == 1


def test_rename_onto_another_name_is_a_conflict(session: Session, make_customer: Any) -> None:
    make_customer("Acme")
    other = make_customer("Beta")
    with pytest.raises(Conflict):
        service.update_customer(session, OPERATOR, other.id, {"name": "acme"})
    renamed = service.update_customer(session, OPERATOR, other.id, {"name": "BETA"})
    assert renamed.name == "BETA"  # its own name in another case is fine


def test_currency_cannot_change(session: Session, make_customer: Any) -> None:
    customer = make_customer("Acme", currency="EUR")
    with pytest.raises(ValidationFailed) as info:
        service.update_customer(session, OPERATOR, customer.id, {"currency": "USD"})
    assert list(info.value.errors) == ["currency"]
    assert "cannot change" in info.value.errors["currency"][0]
    assert customer.currency == "EUR"
    same = service.update_customer(session, OPERATOR, customer.id, {"currency": "eur"})
    assert same.currency == "EUR"


def test_partial_update_changes_only_given_fields(session: Session, make_customer: Any) -> None:
    customer = make_customer("Acme", city="Paris", channels=10)
    service.update_customer(session, OPERATOR, customer.id, {"channels": "20"})
    assert (customer.city, customer.channels) == ("Paris", 20)
    entry = _audit(session)[-1]
    assert entry.action == "update"
    assert entry.before == {"channels": 10} and entry.after == {"channels": 20}


def test_bad_update_changes_nothing(session: Session, make_customer: Any) -> None:
    customer = make_customer("Acme", city="Paris")
    with pytest.raises(ValidationFailed) as info:
        service.update_customer(session, OPERATOR, customer.id,
                                {"city": "Lyon", "status": "nope", "name": ""})
    assert set(info.value.errors) == {"status", "name"}
    assert customer.city == "Paris"
    assert len(_audit(session)) == 1


def test_changing_email_clears_its_verification(session: Session, make_customer: Any) -> None:
    customer = make_customer("Acme", email="a@acme.example", email_verified=True,
                             mobile="+447400123456", mobile_verified=True)
    service.update_customer(session, OPERATOR, customer.id, {"email": "b@acme.example"})
    assert not customer.email_verified
    assert customer.mobile_verified
    service.update_customer(session, OPERATOR, customer.id,
                            {"mobile": "+447400123457", "mobile_verified": True})
    assert customer.mobile_verified


def test_get_unknown_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        service.get_customer(session, OPERATOR, 999)
    with pytest.raises(NotFound):
        service.update_customer(session, OPERATOR, 999, {"city": "x"})


def test_viewer_reads_but_cannot_write(session: Session, make_customer: Any) -> None:
    customer = make_customer("Acme")
    assert service.get_customer(session, VIEWER, customer.id) is customer
    with pytest.raises(PermissionDenied):
        service.create_customer(session, VIEWER, {"name": "B", "currency": "USD"})
    with pytest.raises(PermissionDenied):
        service.update_customer(session, VIEWER, customer.id, {"city": "x"})
    with pytest.raises(PermissionDenied):
        service.delete_customer(session, VIEWER, customer.id)
    with pytest.raises(PermissionDenied):
        ips.add_ip(session, VIEWER, customer.id, {"network": "192.0.2.1"})
    with pytest.raises(PermissionDenied):
        payments.add_payment(session, VIEWER, customer.id, {"amount": "1"})


def test_delete_cascades_and_is_audited(session: Session, make_customer: Any) -> None:
    customer = make_customer("Acme")
    ips.add_ip(session, OPERATOR, customer.id, {"network": "192.0.2.1"})
    sip_users.add_sip_user(session, OPERATOR, customer.id,
                           {"username": "acme1", "password": "s3cret-pass"}, realm="r.example")
    payments.add_payment(session, OPERATOR, customer.id, {"amount": "10"})
    session.commit()
    service.delete_customer(session, OPERATOR, customer.id)
    session.commit()
    for model in (Customer, CustomerIP, SipUser, CustomerPayment):
        assert session.scalar(select(func.count()).select_from(model)) == 0
    entry = _audit(session)[-1]
    assert entry.action == "delete" and entry.after is None
    assert entry.before is not None
    assert (entry.before["name"], entry.before["ips"], entry.before["sip_users"]) == (
        "Acme", 1, 1)


def test_list_searches_sorts_and_pages(session: Session, make_customer: Any) -> None:
    make_customer("Zulu Voice", city="Berlin", status="inactive")
    make_customer("Alpha Telecom", email="noc@alpha.example")
    make_customer("Mike Networks", website="https://mike.example")
    page = service.list_customers(session, OPERATOR, ListQuery())
    assert [c.name for c in page.items] == ["Alpha Telecom", "Mike Networks", "Zulu Voice"]
    assert page.total == 3
    assert [c.name for c in service.list_customers(
        session, VIEWER, ListQuery(q="BERLIN")).items] == ["Zulu Voice"]
    assert [c.name for c in service.list_customers(
        session, VIEWER, ListQuery(q="alpha.example")).items] == ["Alpha Telecom"]
    assert [c.name for c in service.list_customers(
        session, VIEWER, ListQuery(q="mike.ex")).items] == ["Mike Networks"]
    desc = service.list_customers(session, VIEWER, ListQuery(sort="-name", per_page=2))
    assert [c.name for c in desc.items] == ["Zulu Voice", "Mike Networks"]
    assert (desc.total, desc.pages) == (3, 2)
    inactive = service.list_customers(session, VIEWER, ListQuery(), status="inactive")
    assert [c.name for c in inactive.items] == ["Zulu Voice"]
    with pytest.raises(ValidationFailed) as info:
        service.list_customers(session, VIEWER, ListQuery(sort="balance"))
    assert "sort" in info.value.errors
