"""Low-balance email alerts: one email when a balance crosses below the threshold.

A customer with ``low_balance_threshold`` set gets ONE email when its balance is found
below it (after rating or a payment: ``orchestrator.billing.changes.balance_changed``);
a ``low_balance_alerts`` row remembers it, and no other email goes out until the
balance has been seen at or above the threshold again (the row is then deleted).
The email is a message of the outbox (orchestrator.notify.outbox) that joins the
caller's transaction: rating and payments never wait on SMTP, and nothing is sent if
the transaction rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from orchestrator.actor import SYSTEM
from orchestrator.billing.models import LowBalanceAlert
from orchestrator.customers.models import Customer
from orchestrator.customers.payments import balances
from orchestrator.customers.service import decimal_str
from orchestrator.db.types import utcnow

log = logging.getLogger(__name__)


def alert_text(customer: Customer, balance: Decimal) -> tuple[str, str]:
    """Subject and body of the email."""
    threshold = customer.low_balance_threshold or Decimal(0)
    money = f"{decimal_str(balance)} {customer.currency}"
    subject = f"Low balance: {money}"
    body = (f"Hello {customer.name},\n\n"
            f"the balance of your account is {money}, below the alert threshold of "
            f"{decimal_str(threshold)} {customer.currency}.\n"
            f"Credit available (balance + debit limit): "
            f"{decimal_str(balance + customer.debit_limit)} {customer.currency}. "
            "New calls are refused when it reaches zero.\n\n"
            "Please top up your account.\n")
    return subject, body


def check_low_balance(session: Session, customer_ids: Iterable[int]) -> list[int]:
    """Update the alert state of these customers; the ids an email was queued for."""
    from orchestrator.notify.outbox import queue_email

    ids = sorted(set(customer_ids))
    if not ids:
        return []
    alerted = set(session.scalars(select(LowBalanceAlert.customer_id)
                                  .where(LowBalanceAlert.customer_id.in_(ids))))
    watched = list(session.scalars(select(Customer).where(
        Customer.id.in_(ids), Customer.low_balance_threshold.is_not(None))))
    owed = balances(session, [c.id for c in watched])
    cleared = alerted - {c.id for c in watched}   # threshold removed: forget the alert
    queued: list[int] = []
    for customer in watched:
        threshold = customer.low_balance_threshold
        assert threshold is not None
        below = owed[customer.id] < threshold
        if not below:
            if customer.id in alerted:
                cleared.add(customer.id)
            continue
        if customer.id in alerted:
            continue
        session.add(LowBalanceAlert(customer_id=customer.id, sent_at=utcnow(),
                                    balance=decimal_str(owed[customer.id])))
        if not customer.email:
            log.warning("customer %s is below its low-balance threshold and has no email",
                        customer.id)
            continue
        subject, body = alert_text(customer, owed[customer.id])
        queue_email(session, SYSTEM, customer.email, subject, body, purpose="low_balance",
                    customer_id=customer.id)
        queued.append(customer.id)
    if cleared:
        session.execute(delete(LowBalanceAlert)
                        .where(LowBalanceAlert.customer_id.in_(sorted(cleared))))
    session.flush()
    return queued
