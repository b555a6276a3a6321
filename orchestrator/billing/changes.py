"""What follows a change of customers' balances: low-balance alerts and credit push.

Call ``balance_changed(session, customer_ids)`` in the transaction that changed the
balances (a payment added or moved to another status, CDRs rated):

- the low-balance alerts are decided in that transaction (orchestrator/billing/
  alerts.py: an email job joins it, queued when it commits);
- once it commits, a ``billing.credit`` job pushes the customers' credit flags to the
  switch (orchestrator/billing/credit.py), so the web request or the rating never
  waits on Kamailio. Nothing is queued when it rolls back, nor in a process that has
  no configured job queue (unit tests, scripts): the next apply carries the flags.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session

from orchestrator.actor import SYSTEM

log = logging.getLogger(__name__)

_PENDING = "orchestrator.billing.credit_pending"


def balance_changed(session: Session, customer_ids: Iterable[int], *,
                    alerts: bool = True, push: bool = True) -> None:
    """Decide low-balance alerts now; push credit after the commit (see module doc).

    ``push=False``: the caller pushes itself after its commit (the CDR collector calls
    ``credit.push_credit`` right after rating)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    if alerts:
        from orchestrator.billing.alerts import check_low_balance

        check_low_balance(session, ids)
    if push:
        session.info.setdefault(_PENDING, set()).update(ids)


@event.listens_for(Session, "after_commit")
def _queue_credit_push(session: Session) -> None:
    ids = session.info.pop(_PENDING, None)
    if not ids:
        return
    from orchestrator.billing import credit  # registers the billing.credit job
    from orchestrator.jobs import queue

    current = queue.configured()
    if current is None:
        log.debug("no job queue configured: credit of %s not pushed", sorted(ids))
        return
    try:
        current.enqueue(credit.push_credit_job.kind, SYSTEM, {"customer_ids": sorted(ids)})
    except Exception:
        log.exception("credit push of customers %s could not be queued", sorted(ids))


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
