"""Payments to a carrier and the balance they make.

Sign convention (docs/carriers.md): a payment's amount is money the operator paid the
carrier (positive) or got back from it (negative: refund); the fee is what the transfer
cost the operator and does not count toward the balance. ``balance`` = sum of the
amounts of completed payments: positive = prepaid credit with the carrier.
Status: pending -> completed | cancelled, completed -> pending | cancelled; cancelled is
final.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.carriers.models import Carrier, CarrierPayment
from orchestrator.carriers.schemas import PaymentCreate, clean_payment
from orchestrator.carriers.service import get_carrier, payment_to_dict, valid_id
from orchestrator.db.types import PAYMENT_STATUSES
from orchestrator.errors import NotFound, ValidationFailed

MONEY_PLACES = Decimal("0.000001")


def list_payments(session: Session, actor: Actor, carrier_id: int) -> list[CarrierPayment]:
    """Newest first."""
    get_carrier(session, actor, carrier_id)
    return list(session.scalars(select(CarrierPayment)
                                .where(CarrierPayment.carrier_id == carrier_id)
                                .order_by(CarrierPayment.created_at.desc(),
                                          CarrierPayment.id.desc())))


def get_payment(session: Session, actor: Actor, carrier_id: int,
                payment_id: int) -> CarrierPayment:
    actor.require("read")
    payment = session.get(CarrierPayment, payment_id) if valid_id(payment_id) else None
    if payment is None or payment.carrier_id != carrier_id:
        get_carrier(session, actor, carrier_id)
        raise NotFound("payment", payment_id)
    return payment


def add_payment(session: Session, actor: Actor, carrier_id: int,
                data: PaymentCreate | Mapping[str, Any]) -> CarrierPayment:
    actor.require("write")
    carrier = get_carrier(session, actor, carrier_id)
    values = clean_payment(PaymentCreate.of(data).given())
    payment = CarrierPayment(carrier_id=carrier.id, amount=values["amount"],
                             fee=values.get("fee", Decimal(0)),
                             description=values.get("description", ""),
                             status=values.get("status", "pending"))
    session.add(payment)
    session.flush()
    session.refresh(carrier, ["payments"])
    audit.record(session, actor, "create", "carrier_payment", payment.id,
                 f"payment of {payment.amount} {carrier.currency} ({payment.status}) to "
                 f"carrier {carrier.name}", after=payment_to_dict(payment))
    return payment


def set_payment_status(session: Session, actor: Actor, carrier_id: int, payment_id: int,
                       status: str) -> CarrierPayment:
    actor.require("write")
    payment = get_payment(session, actor, carrier_id, payment_id)
    status = status.strip().lower() if isinstance(status, str) else ""
    if status not in PAYMENT_STATUSES:
        raise ValidationFailed.one("status", f"must be one of: {', '.join(PAYMENT_STATUSES)}")
    if payment.status == status:
        return payment
    if payment.status == "cancelled":
        raise ValidationFailed.one("status", "the payment is cancelled, which is final: "
                                   "record a new payment instead")
    before = payment_to_dict(payment)
    payment.status = status
    session.flush()
    audit.record(session, actor, "update", "carrier_payment", payment.id,
                 f"payment {payment.id} of carrier {payment.carrier.name} now {status}",
                 before=before, after=payment_to_dict(payment))
    return payment


def balances(session: Session, carrier_ids: Iterable[int]) -> dict[int, Decimal]:
    """The balance of several carriers in one query (list pages); see ``balance``."""
    ids = list(dict.fromkeys(carrier_ids))
    paid = dict.fromkeys(ids, Decimal(0))
    for carrier_id, amount in session.execute(
            select(CarrierPayment.carrier_id, CarrierPayment.amount).where(
                CarrierPayment.carrier_id.in_(ids), CarrierPayment.status == "completed")):
        paid[carrier_id] += Decimal(amount)
    return {cid: total.quantize(MONEY_PLACES) for cid, total in paid.items()}


def balance(session: Session, carrier_id: int) -> Decimal:
    """Sum of completed payment amounts (what we paid the carrier, net of refunds).

    Summed in Python from the decimal column values: exact on SQLite too. NotFound
    for an unknown carrier.
    """
    if session.get(Carrier, carrier_id) is None:
        raise NotFound("carrier", carrier_id)
    amounts = session.scalars(select(CarrierPayment.amount).where(
        CarrierPayment.carrier_id == carrier_id, CarrierPayment.status == "completed"))
    return sum((Decimal(a) for a in amounts), Decimal(0)).quantize(MONEY_PLACES)
