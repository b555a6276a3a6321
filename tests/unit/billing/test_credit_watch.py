"""The control plane's check of running calls against credit (credit_watch): costs of
answered calls billed by the rules, cut only when the next check would be too late."""

from __future__ import annotations

from decimal import Decimal

from orchestrator.billing.credit_watch import over_credit, running_cost
from orchestrator.calls.dialogs import ANSWERED, Dialog

UNIT = 10**8


def call(customer: int | None, answered_at: float | None, rate: tuple[int, int, int, int]
         | None, state: str = ANSWERED) -> Dialog:
    return Dialog(h_entry=1, h_id=1, call_id="c", from_tag="f", to_tag="t", cseq="1",
                  state=state, started_at=0.0, answered_at=answered_at,
                  customer_id=customer, route_id=1, sip_user=None, source_ip=None,
                  caller="1", dialled="2", number="2", carrier_id=None,
                  provider_card_id=None, routed_number=None, media="proxy", media_set=0,
                  rate=rate)


def test_running_cost_follows_mcd_pulse_and_fee() -> None:
    # 0.60/min, mcd 30, pulse 6, connect fee 0.05: at 31 s -> 36 s billed
    c = call(1, 1000.0, (60_000_000, 30, 6, 5_000_000))
    assert running_cost(c, 1031.0) == 36 * UNIT // 100 + 5_000_000     # 0.36 + 0.05
    assert running_cost(c, 1010.0) == 30 * UNIT // 100 + 5_000_000     # the mcd
    assert running_cost(call(1, None, (60_000_000, 1, 1, 0)), 2000.0) == 0
    assert running_cost(call(1, 1000.0, None), 2000.0) == 0


def test_over_credit_sums_a_customers_calls() -> None:
    rate = (60_000_000, 1, 1, 0)            # 0.01 per second
    calls = [call(1, 100.0, rate), call(1, 100.0, rate), call(2, 100.0, rate),
             call(1, None, rate, state="ringing")]
    available = {1: Decimal("0.20"), 2: Decimal("0.20")}
    # at 110 s: customer 1's two calls cost exactly 0.20: not more, no cut yet
    assert over_credit(calls, available, 110.0) == {}
    # at 110.5 s: 2 x 11 s billed = 0.22 > 0.20; customer 2 (0.11) is fine
    assert over_credit(calls, available, 110.5) == {1: 22 * UNIT // 100}
    # a customer the database does not know is left alone
    assert over_credit(calls, {2: Decimal("0.01")}, 110.5) == {2: 11 * UNIT // 100}
