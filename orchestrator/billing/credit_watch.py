"""The control plane's check of running calls against the customers' credit.

Kamailio's cnxcc (templates/kamailio/credit.cfg.j2) cuts a customer's calls when their
cost reaches the credit, checking every second in the switch itself. In Kamailio 5.6
it sometimes misses a call when several run at once (seen in tests: one call of two
cut, the customer's pool freed while the other still ran, or a call's cost left out of
the pool's sum). This check is the second line, run by the CDR collector at every
pass (``cdr_collect_seconds``):

  for each customer with answered calls under credit control, what those calls will
  have cost at the next check (``margin`` seconds from now), each billed as PRODUCT.md
  §3 says (mcd, pulse, connect fee) at its sell rate, against balance + debit_limit
  (the balance already holds the calls that ended and were rated). When waiting for
  the next check would cost more than that, every answered call of the customer ends
  now (BYE both ways; CDRs say ``hangup = credit``): the customer never goes below
  the limit by more than the pulse each call has started.

One ``dlg.list`` per pass, and only customers with calls are looked up.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from decimal import Decimal

from sqlalchemy.orm import Session

from orchestrator.billing.arithmetic import call_charge
from orchestrator.billing.credit import credit_available
from orchestrator.calls.dialogs import ANSWERED, Dialog
from orchestrator.calls.service import dialogs, end_answered
from orchestrator.ratecards.money import SCALE
from orchestrator.settings import Settings

log = logging.getLogger(__name__)


def running_cost(call: Dialog, at: float) -> int:
    """What an answered call under credit control costs if it ends at ``at`` (units)."""
    if call.rate is None or call.answered_at is None:
        return 0
    sell, mcd, pulse, fee = call.rate
    seconds = Decimal(str(max(0.0, at - call.answered_at)))
    return call_charge(sell, seconds, mcd, pulse, fee, precision=8)[1]


def over_credit(calls: list[Dialog], available: dict[int, Decimal],
                at: float) -> dict[int, int]:
    """customer id -> cost of its running calls at ``at``, for the customers whose
    running calls would cost more than their available credit by then."""
    cost: dict[int, int] = defaultdict(int)
    for call in calls:
        if call.customer_id is not None and call.state == ANSWERED and call.rate:
            cost[call.customer_id] += running_cost(call, at)
    return {cid: units for cid, units in cost.items()
            if cid in available and units > available[cid] * SCALE}


def check(session: Session, settings: Settings, margin: float) -> dict[int, list[str]]:
    """End the calls of customers out of credit; customer id -> Call-IDs ended."""
    calls = [d for d in dialogs(settings)
             if d.state == ANSWERED and d.rate is not None and d.customer_id is not None]
    if not calls:
        return {}
    available = credit_available(session, {d.customer_id for d in calls
                                            if d.customer_id is not None})
    ended: dict[int, list[str]] = {}
    for customer_id, units in over_credit(calls, available, time.time() + margin).items():
        ended[customer_id] = end_answered(settings, customer_id, "credit")
        log.warning("credit control: customer %s: running calls cost %s of %s available: "
                    "ended %s", customer_id, Decimal(units) / SCALE,
                    available[customer_id], ", ".join(ended[customer_id]) or "nothing")
    return ended
