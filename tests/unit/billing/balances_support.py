"""Helpers of the balances, statement, credit and alert tests: customers made through
the service, rated CDRs with their running totals (fixtures: balances_fixtures.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.billing.balances import apply_charge_deltas
from orchestrator.billing.models import Cdr
from orchestrator.customers import service
from orchestrator.customers.models import Customer
from tests.support.cdrs import T0, add_cdrs

OPERATOR = Actor(7, "olivia", "operator")
VIEWER = Actor(8, "victor", "viewer")
U = 10**8   # units per 1 of a currency


def make_customer(session: Session, name: str = "Acme", **fields: Any) -> Customer:
    return service.create_customer(session, OPERATOR, {"name": name, "currency": "USD",
                                                        **fields})


def rate(session: Session, customer_id: int, *charges: int,
         start_at: datetime | None = None, rated: bool = True) -> list[Cdr]:
    """One answered, rated CDR per charge (units), and the running total moved with them
    as rating does it (unrated CDRs: ``rated=False``, no total)."""
    rows: list[dict[str, Any]] = []
    for charge in charges:
        row: dict[str, Any] = {"customer_id": customer_id, "customer_charge": charge,
                               "duration_ms": 30_000,
                               "rated_at": T0 if rated else None}
        if start_at is not None:
            row["start_at"] = start_at
        rows.append(row)
    made = add_cdrs(session, *rows)
    if rated:
        apply_charge_deltas(session, {customer_id: sum(charges)})
    return made
