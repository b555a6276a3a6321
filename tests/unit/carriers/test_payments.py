"""Carrier payments: amounts, statuses (cancelled is final), balance."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.carriers import payments, service
from orchestrator.carriers.models import Carrier
from orchestrator.carriers.schemas import CarrierCreate, PaymentCreate
from orchestrator.errors import NotFound, PermissionDenied, ValidationFailed
from tests.unit.carriers.conftest import ADMIN, VIEWER


@pytest.fixture
def carrier(session: Session) -> Carrier:
    return service.create_carrier(session, ADMIN, CarrierCreate(name="Acme", currency="USD"))


def pay(session: Session, carrier: Carrier, amount: str, status: str = "completed",
        fee: str = "0") -> int:
    return payments.add_payment(session, ADMIN, carrier.id,
                                PaymentCreate(amount=amount, fee=fee, status=status)).id


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", "0", "not be zero"),
    ("amount", "abc", "decimal number"),
    ("amount", "NaN", "decimal number"),
    ("amount", "1.0000001", "6 decimal places"),
    ("amount", "1e20", "too large"),
    ("fee", "-1", "not be negative"),
    ("status", "refunded", "not one of"),
    ("description", "d" * 256, "at most 255"),
])
def test_bad_payment_names_the_field(session: Session, carrier: Carrier, field: str,
                                     value: str, message: str) -> None:
    values = {"amount": "10", field: value}
    with pytest.raises(ValidationFailed) as info:
        payments.add_payment(session, ADMIN, carrier.id, PaymentCreate.from_mapping(values))
    assert list(info.value.errors) == [field]
    assert message in info.value.errors[field][0]
    assert payments.list_payments(session, ADMIN, carrier.id) == []


def test_balance_counts_completed_only_exactly(session: Session, carrier: Carrier) -> None:
    pay(session, carrier, "0.1")
    pay(session, carrier, "0.2", fee="1.50")
    pay(session, carrier, "500", status="pending")
    pay(session, carrier, "-0.05")  # refund from the carrier
    cancelled = pay(session, carrier, "70")
    payments.set_payment_status(session, ADMIN, carrier.id, cancelled, "cancelled")
    assert payments.balance(session, carrier.id) == Decimal("0.25")
    view = service.to_dict(carrier, children=True)["payments"]
    assert [p["amount"] for p in view] == ["0.10", "0.20", "500.00", "-0.05", "70.00"]
    assert view[1]["fee"] == "1.50"
    with pytest.raises(NotFound):
        payments.balance(session, 999)


def test_status_changes_and_cancelled_is_final(session: Session, carrier: Carrier) -> None:
    payment_id = pay(session, carrier, "100", status="pending")
    assert payments.balance(session, carrier.id) == 0
    payments.set_payment_status(session, ADMIN, carrier.id, payment_id, "completed")
    assert payments.balance(session, carrier.id) == Decimal(100)
    payments.set_payment_status(session, ADMIN, carrier.id, payment_id, "cancelled")
    assert payments.balance(session, carrier.id) == 0
    for status in ("completed", "pending"):
        with pytest.raises(ValidationFailed, match="final"):
            payments.set_payment_status(session, ADMIN, carrier.id, payment_id, status)
    with pytest.raises(ValidationFailed, match="status"):
        payments.set_payment_status(session, ADMIN, carrier.id, payment_id, "paid")
    with pytest.raises(PermissionDenied):
        payments.set_payment_status(session, VIEWER, carrier.id, payment_id, "cancelled")
    entries = list(session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "carrier_payment").order_by(AuditEntry.id)))
    assert [(e.before or {}).get("status") for e in entries] == [None, "pending", "completed"]
    assert [(e.after or {}).get("status") for e in entries] == [
        "pending", "completed", "cancelled"]


def test_payment_of_another_carrier_is_not_found(session: Session, carrier: Carrier) -> None:
    other = service.create_carrier(session, ADMIN, CarrierCreate(name="B", currency="EUR"))
    payment_id = pay(session, other, "5")
    with pytest.raises(NotFound, match="payment"):
        payments.set_payment_status(session, ADMIN, carrier.id, payment_id, "cancelled")
    assert [p.id for p in payments.list_payments(session, VIEWER, other.id)] == [payment_id]
