"""Customer payments, balance and credit (PRODUCT.md §1 Payments, §3 Billing).

Balance = sum of the amounts of completed payments
          - rated charges x (1 + tax_percent / 100).
The payment fee (what the payment provider kept) is recorded for information and
does not reduce the balance: the operator credits the amount agreed with the
customer. Credit available = balance + debit_limit; a call may start when it is > 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.billing.balances import UNIT, charge_units
from orchestrator.billing.changes import balance_changed
from orchestrator.customers.models import Customer, CustomerPayment
from orchestrator.customers.service import decimal_str, iso, load_customer
from orchestrator.customers.validation import Errors, Parser, choice, clean, decimal, text
from orchestrator.db.types import PAYMENT_STATUSES
from orchestrator.errors import NotFound, ValidationFailed
from orchestrator.listing import ListQuery, Page, paginate

OBJECT_TYPE = "customer_payment"
MONEY_QUANTUM = Decimal("0.000001")  # the scale of Money columns

PAYMENT_SPEC: dict[str, Parser] = {
    "amount": decimal(6),
    "fee": decimal(6, low=Decimal(0)),
    "description": text(255),
    "status": choice(PAYMENT_STATUSES),
}


def payment_to_dict(payment: CustomerPayment) -> dict[str, Any]:
    return {"id": payment.id, "customer_id": payment.customer_id,
            "amount": decimal_str(payment.amount), "fee": decimal_str(payment.fee),
            "description": payment.description, "status": payment.status,
            "created_at": iso(payment.created_at)}


def _audit_view(payment: CustomerPayment) -> dict[str, Any]:
    view = payment_to_dict(payment)
    del view["created_at"]
    return view


def add_payment(session: Session, actor: Actor, customer_id: int,
                data: Mapping[str, Any]) -> CustomerPayment:
    """Record a payment: amount (non-zero; negative for a refund or correction), fee >= 0,
    description, status (default pending). The amount is in the customer's currency."""
    actor.require("write")
    customer = load_customer(session, customer_id)
    errors = Errors()
    values = clean(data, PAYMENT_SPEC, errors, required=("amount",))
    if values.get("amount") == 0:
        errors.add("amount", "must not be zero")
    errors.check()
    values.setdefault("fee", Decimal(0))
    values.setdefault("status", "pending")
    payment = CustomerPayment(**values)
    customer.payments.append(payment)
    session.flush()
    audit.record(session, actor, "create", OBJECT_TYPE, payment.id,
                 f"customer {customer.name}: payment {decimal_str(payment.amount)} "
                 f"{customer.currency} ({payment.status})", after=_audit_view(payment))
    if payment.status == "completed":
        balance_changed(session, [customer.id])  # alert now, credit push after commit
    return payment


def get_payment(session: Session, customer_id: int, payment_id: int) -> CustomerPayment:
    payment = session.get(CustomerPayment, payment_id)
    if payment is None or payment.customer_id != customer_id:
        raise NotFound("payment", payment_id)
    return payment


def set_payment_status(session: Session, actor: Actor, customer_id: int, payment_id: int,
                       status: str) -> CustomerPayment:
    """Move a payment to pending, completed or cancelled; cancelled is final."""
    actor.require("write")
    customer = load_customer(session, customer_id)
    payment = get_payment(session, customer_id, payment_id)
    errors = Errors()
    new_status = clean({"status": status}, PAYMENT_SPEC, errors).get("status")
    errors.check()
    if payment.status == "cancelled" and new_status != "cancelled":
        raise ValidationFailed.one("status", "a cancelled payment cannot change status: "
                                   "record a new payment instead")
    if new_status == payment.status:
        return payment
    before = _audit_view(payment)
    payment.status = str(new_status)
    session.flush()
    audit.record(session, actor, "update", OBJECT_TYPE, payment.id,
                 f"customer {customer.name}: payment {payment.id} {before['status']} -> "
                 f"{payment.status}", before=before, after=_audit_view(payment))
    if "completed" in (before["status"], payment.status):
        balance_changed(session, [customer.id])  # alert now, credit push after commit
    return payment


def list_payments(session: Session, actor: Actor, customer_id: int,
                  query: ListQuery | None = None, *,
                  status: str | None = None) -> Page[CustomerPayment]:
    """Newest first by default; q searches the description; ``status`` filters."""
    actor.require("read")
    load_customer(session, customer_id)
    stmt = select(CustomerPayment).where(CustomerPayment.customer_id == customer_id)
    if status is not None:
        if status not in PAYMENT_STATUSES:
            raise ValidationFailed.one("status",
                                       f"must be one of: {', '.join(PAYMENT_STATUSES)}")
        stmt = stmt.where(CustomerPayment.status == status)
    return paginate(session, stmt, query or ListQuery(),
                    search=[CustomerPayment.description],
                    sortable={"id": CustomerPayment.id, "created_at": CustomerPayment.created_at,
                              "amount": CustomerPayment.amount, "fee": CustomerPayment.fee,
                              "status": CustomerPayment.status},
                    default_sort="-created_at")


def rated_charges(session: Session, customer_ids: Iterable[int]) -> dict[int, Decimal]:
    """Sum of the rated (sell-side) charges of each customer, before tax, in its currency.

    Read from the running totals (orchestrator/billing/balances.py: one indexed row per
    customer, kept in the rating transaction), not summed over the CDRs."""
    units = charge_units(session, customer_ids)
    return {cid: Decimal(total) / UNIT for cid, total in units.items()}


def balances(session: Session, customer_ids: Iterable[int]) -> dict[int, Decimal]:
    """The balance of several customers at once (for list pages); see module doc.

    Sums are computed in Decimal in Python, not by SQL SUM (SQLite sums in float).
    """
    ids = list(dict.fromkeys(customer_ids))
    paid = dict.fromkeys(ids, Decimal(0))
    rows = session.execute(select(CustomerPayment.customer_id, CustomerPayment.amount).where(
        CustomerPayment.customer_id.in_(ids), CustomerPayment.status == "completed")).all()
    for cid, amount in rows:
        paid[cid] += amount
    taxes = {cid: tax for cid, tax in session.execute(
        select(Customer.id, Customer.tax_percent).where(Customer.id.in_(ids)))}
    charges = rated_charges(session, ids)
    result: dict[int, Decimal] = {}
    for cid in ids:
        if cid not in taxes:
            raise NotFound("customer", cid)
        taxed = charges[cid] * (1 + taxes[cid] / 100)
        result[cid] = (paid[cid] - taxed).quantize(MONEY_QUANTUM, ROUND_HALF_UP)
    return result


def balance(session: Session, customer_id: int) -> Decimal:
    """Completed payments - charges x (1 + tax_percent/100), in the customer's currency."""
    return balances(session, [customer_id])[customer_id]


def credit_available(session: Session, customer_id: int) -> Decimal:
    """balance + debit_limit: a call may start while this is above zero."""
    customer = load_customer(session, customer_id)
    return balance(session, customer_id) + customer.debit_limit


def call_refusal(session: Session, customer_id: int) -> str | None:
    """Why this customer may not start a call now (PRODUCT.md §2 reason), or None."""
    customer = load_customer(session, customer_id)
    if customer.status != "active":
        return "Account Inactive"
    if customer.verification_required and not (customer.email_verified
                                               and customer.mobile_verified):
        return "Verification Required"
    if credit_available(session, customer_id) <= 0:
        return "Insufficient Balance"
    return None
