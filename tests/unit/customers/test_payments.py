"""Payments, balance with mixed statuses and tax, credit and call refusal reasons."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.customers import payments
from orchestrator.errors import NotFound, ValidationFailed
from orchestrator.listing import ListQuery
from tests.unit.customers.conftest import OPERATOR, VIEWER


@pytest.mark.parametrize(("data", "field"), [
    ({}, "amount"),
    ({"amount": "0"}, "amount"),
    ({"amount": "0.0000"}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"amount": "NaN"}, "amount"),
    ({"amount": "1.0000001"}, "amount"),
    ({"amount": "10", "fee": "-0.01"}, "fee"),
    ({"amount": "10", "status": "refunded"}, "status"),
    ({"amount": "10", "description": "x" * 256}, "description"),
])
def test_bad_payment_names_the_field(session: Session, make_customer: Any,
                                     data: dict[str, Any], field: str) -> None:
    customer = make_customer()
    with pytest.raises(ValidationFailed) as info:
        payments.add_payment(session, OPERATOR, customer.id, data)
    assert field in info.value.errors
    assert payments.list_payments(session, VIEWER, customer.id).total == 0


def test_balance_counts_only_completed_amounts(session: Session, make_customer: Any) -> None:
    customer = make_customer(tax_percent="20", debit_limit="50")
    add = payments.add_payment
    add(session, OPERATOR, customer.id, {"amount": "100.10", "fee": "3.5", "status": "completed"})
    add(session, OPERATOR, customer.id, {"amount": "40", "status": "pending"})
    add(session, OPERATOR, customer.id, {"amount": "1000", "status": "cancelled"})
    add(session, OPERATOR, customer.id, {"amount": "-0.05", "status": "completed"})
    session.commit()
    assert payments.balance(session, customer.id) == Decimal("100.05")
    assert payments.credit_available(session, customer.id) == Decimal("150.05")
    assert payments.call_refusal(session, customer.id) is None


def test_balance_applies_tax_to_charges(session: Session, make_customer: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    customer = make_customer(tax_percent="20")
    payments.add_payment(session, OPERATOR, customer.id, {"amount": "10", "status": "completed"})
    monkeypatch.setattr(payments, "rated_charges",
                        lambda _s, ids: {cid: Decimal("2.5") for cid in ids})
    # 10 - 2.5 x 1.20 = 7
    assert payments.balance(session, customer.id) == Decimal("7")


def test_status_changes_and_cancelled_is_final(session: Session, make_customer: Any) -> None:
    customer = make_customer()
    payment = payments.add_payment(session, OPERATOR, customer.id, {"amount": "25"})
    assert payment.status == "pending"
    assert payments.balance(session, customer.id) == 0
    payments.set_payment_status(session, OPERATOR, customer.id, payment.id, "completed")
    assert payments.balance(session, customer.id) == Decimal("25")
    payments.set_payment_status(session, OPERATOR, customer.id, payment.id, "cancelled")
    assert payments.balance(session, customer.id) == 0
    with pytest.raises(ValidationFailed) as info:
        payments.set_payment_status(session, OPERATOR, customer.id, payment.id, "completed")
    assert list(info.value.errors) == ["status"]
    assert payment.status == "cancelled"
    with pytest.raises(ValidationFailed):
        payments.set_payment_status(session, OPERATOR, customer.id, payment.id, "bogus")
    audit = [(e.action, e.before, e.after) for e in session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "customer_payment")
        .order_by(AuditEntry.id))]
    assert audit[1:] == [("update", {"status": "pending"}, {"status": "completed"}),
                         ("update", {"status": "completed"}, {"status": "cancelled"})]


def test_payment_of_another_customer_is_not_found(session: Session,
                                                  make_customer: Any) -> None:
    one, two = make_customer("One"), make_customer("Two")
    payment = payments.add_payment(session, OPERATOR, one.id, {"amount": "5"})
    with pytest.raises(NotFound):
        payments.set_payment_status(session, OPERATOR, two.id, payment.id, "completed")


def test_list_newest_first_and_searchable(session: Session, make_customer: Any) -> None:
    customer = make_customer()
    first = payments.add_payment(session, OPERATOR, customer.id,
                                 {"amount": "5", "description": "wire March"})
    second = payments.add_payment(session, OPERATOR, customer.id,
                                  {"amount": "7", "description": "PayPal April"})
    page = payments.list_payments(session, VIEWER, customer.id, ListQuery(sort="-id"))
    assert [p.id for p in page.items] == [second.id, first.id]
    found = payments.list_payments(session, VIEWER, customer.id, ListQuery(q="paypal"))
    assert [p.id for p in found.items] == [second.id]
    assert payments.payment_to_dict(second)["amount"] == "7"


def test_balances_of_many_and_unknown(session: Session, make_customer: Any) -> None:
    one, two = make_customer("One"), make_customer("Two")
    payments.add_payment(session, OPERATOR, two.id, {"amount": "3", "status": "completed"})
    assert payments.balances(session, [one.id, two.id]) == {one.id: 0, two.id: Decimal(3)}
    with pytest.raises(NotFound):
        payments.balance(session, 999)


@pytest.mark.parametrize(("fields", "reason"), [
    ({"status": "inactive"}, "Account Inactive"),
    ({"status": "penalty"}, "Account Inactive"),
    ({"verification_required": True, "email_verified": True}, "Verification Required"),
    ({}, "Insufficient Balance"),  # prepaid with nothing paid
    ({"debit_limit": "-1"}, "Insufficient Balance"),
    ({"debit_limit": "10"}, None),  # postpaid credit
])
def test_call_refusal(session: Session, make_customer: Any, fields: dict[str, Any],
                      reason: str | None) -> None:
    customer = make_customer(**fields)
    assert payments.call_refusal(session, customer.id) == reason
