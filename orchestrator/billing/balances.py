"""Running totals of rated charges per customer (stub: filled in by the balances work).

``apply_charge_deltas`` is called by rating (orchestrator/billing/rating.py) in the
same transaction as the rated CDRs, so the totals always match the CDRs.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session


def apply_charge_deltas(session: Session, deltas: Mapping[int, int]) -> None:
    """Add customer_id -> change of the sum of its ``Cdr.customer_charge`` (units)."""
    del session, deltas
