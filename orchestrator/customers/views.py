"""Read views that combine a customer with its balance and sub-objects.

The REST API, web admin and CLI show the same thing; build it here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.customers import ips, payments, service, sip_users
from orchestrator.customers.models import Customer
from orchestrator.listing import ListQuery


def customer_rows(session: Session, customers: Sequence[Customer]) -> list[dict[str, Any]]:
    """customer_to_dict of each, plus "balance" (decimal string), in one balance query."""
    owed = payments.balances(session, [c.id for c in customers])
    return [service.customer_to_dict(c) | {"balance": service.decimal_str(owed[c.id])}
            for c in customers]


def customer_detail(session: Session, actor: Actor, customer_id: int,
                    *, payment_limit: int = 100) -> dict[str, Any]:
    """The customer with balance, credit_available, ips, sip_users and latest payments."""
    customer = service.get_customer(session, actor, customer_id)
    balance = payments.balance(session, customer.id)
    recent = payments.list_payments(session, actor, customer.id,
                                    ListQuery(per_page=payment_limit))
    return service.customer_to_dict(customer) | {
        "balance": service.decimal_str(balance),
        "credit_available": service.decimal_str(balance + customer.debit_limit),
        "ips": [ips.ip_to_dict(e) for e in ips.list_ips(session, actor, customer.id)],
        "sip_users": [sip_users.sip_user_to_dict(u)
                      for u in sip_users.list_sip_users(session, actor, customer.id)],
        "payments": [payments.payment_to_dict(p) for p in recent.items],
        "payments_total": recent.total,
    }
