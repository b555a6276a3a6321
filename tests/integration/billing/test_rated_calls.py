"""End to end: answered and refused calls of known durations through the switch,
collected, rated on both sides; charges, profit and the balance computed by hand."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING

import polars as pl
import pytest
from sqlalchemy import select

from orchestrator.billing import balances as running
from orchestrator.billing.collector_setup import build_collector
from orchestrator.customers.payments import balance
from orchestrator.ratecards import revisions
from orchestrator.ratecards.deck.store import CANONICAL_SCHEMA, write_rates
from orchestrator.ratecards.models import Rate, RateRevision
from tests.integration.billing.test_cdrs import NUMBER, _by_source
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane
from tests.support.switch_world import ADMIN, World

if TYPE_CHECKING:
    from orchestrator.ratecards.models import ProviderCard
    from tests.integration.routing.conftest import CallerFactory

pytestmark = pytest.mark.integration

UNITS = Decimal(10**8)


def _load(w: World, card: ProviderCard, rate: str, mcd: int, pulse: int, fee: str) -> None:
    """A new active revision of ``card``: prefix 44 at ``rate`` per minute."""
    revision = revisions.new_revision(w.session, card, "test")
    frame = pl.DataFrame([{"prefix": "44", "name": "UK", "rate": int(Decimal(rate) * UNITS),
                           "inter": None, "intra": None, "mcd": mcd, "pulse": pulse,
                           "connect_fee": int(Decimal(fee) * UNITS), "status": "active"}],
                         schema=CANONICAL_SCHEMA)
    write_rates(w.session.connection(), revision.id, frame)
    revision.row_count = 1
    w.session.flush()
    revisions.activate(w.session, ADMIN, card, revision.id)
    w.session.flush()


def _billed(duration_ms: int, mcd: int, pulse: int) -> int:
    seconds = Decimal(duration_ms) / 1000
    if seconds <= mcd:
        return mcd
    return mcd + math.ceil((seconds - mcd) / pulse) * pulse


def _charge(rate: Decimal, billed: int, fee: Decimal, places: int | None) -> Decimal:
    exact = rate / 60 * billed + fee
    if places is None:
        return exact
    return exact.quantize(Decimal(1).scaleb(-places), ROUND_CEILING)


def test_calls_rated_on_both_sides(dataplane: Dataplane, farm: CarrierFarm,
                                   caller_factory: CallerFactory) -> None:
    farm.add("a", "answer")
    w = dataplane.world()
    carrier = w.carrier([farm.port("a")])
    provider = w.provider_card(carrier, {"44": "0.01"})
    _load(w, provider, "0.3", 2, 3, "0.002")            # buy: 0.30/min, 2/3, fee
    tariff = w.tariff([provider], markup="50")          # sell: built from it (+50 %)
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src], tax_percent="10", debit_limit="5")
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    sell_revision = w.session.scalars(select(RateRevision.id).where(
        RateRevision.customer_card_id == tariff.id, RateRevision.state == "active")).one()
    sell_row = w.session.scalars(select(Rate).where(Rate.revision_id == sell_revision,
                                                    Rate.prefix == "44")).one()
    sell_rate = Decimal(sell_row.rate) / UNITS
    sell_fee = Decimal(sell_row.connect_fee) / UNITS
    caller = caller_factory(src)

    assert caller.call(NUMBER, hold_ms=1200) == "200 OK"
    assert caller.call(NUMBER, hold_ms=3500) == "200 OK"
    assert caller.call("33123") == "404 No Rate"
    # the collector as the stack runs it: rated as they are inserted
    full = build_collector(dataplane.settings, dataplane.sessions)
    cdrs = _by_source(dataplane, full, src, 3)
    answered = [c for c in cdrs if c.code == 200]
    [refused] = [c for c in cdrs if c.code == 404]
    assert len(answered) == 2

    total = Decimal(0)
    for cdr in answered:
        assert cdr.rated_at is not None
        # sell: the customer card's row (precision 4, rounded up)
        billed = _billed(cdr.duration_ms, sell_row.mcd, sell_row.pulse)
        sell = _charge(sell_rate, billed, sell_fee, 4)
        assert (cdr.sell_prefix, cdr.sell_billed) == ("44", billed)
        assert Decimal(cdr.sell_charge) / UNITS == sell, cdr.duration_ms
        assert Decimal(cdr.customer_charge) / UNITS == sell   # same currency (USD)
        # buy: the provider card's revision in force, 0.30/min, mcd 2, pulse 3, fee
        buy_billed = _billed(cdr.duration_ms, 2, 3)
        buy = Decimal(cdr.buy_charge) / UNITS
        expected_buy = _charge(Decimal("0.3"), buy_billed, Decimal("0.002"), None)
        assert (cdr.buy_prefix, cdr.buy_billed) == ("44", buy_billed)
        assert abs(buy - expected_buy) < Decimal("0.00000001") * 2
        assert Decimal(cdr.profit) / UNITS == sell - buy
        total += sell
    assert refused.rated_at is not None
    assert (refused.sell_billed, refused.sell_charge, refused.buy_charge) == (0, 0, 0)

    with dataplane.sessions() as session:
        # no payments: balance = - charges x 1.10 (tax), and the running total agrees
        assert balance(session, customer.id) == (-(total * Decimal("1.1"))).quantize(
            Decimal("0.000001"))
        assert running.check(session, [customer.id]) == []


def test_collector_rates_and_the_switch_refuses_the_next_call(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory) -> None:
    """The collector as it runs in the stack (rating and credit push after each batch):
    a call that spends more than the customer's credit makes the next call 402, with no
    apply in between."""
    farm.add("a", "answer")
    w = dataplane.world()
    tariff = w.tariff([w.provider_card(w.carrier([farm.port("a")]), {"44": "0.6"})],
                      markup="0")
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src], debit_limit="0.01")   # 1 s at 0.60/min
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    # the credit lasts 1 s: credit control cuts the call (it would have held 2.5 s)
    assert caller.call(NUMBER, hold_ms=2500) == "200 OK"
    full = build_collector(dataplane.settings, dataplane.sessions)
    [cdr] = _by_source(dataplane, full, src, 1)
    assert cdr.hangup == "credit" and cdr.duration_ms < 2400
    assert cdr.rated_at is not None and cdr.customer_charge >= UNITS * Decimal("0.01")
    with dataplane.sessions() as session:
        assert balance(session, customer.id) <= Decimal("-0.01")   # credit 0 or less
    assert caller.call(NUMBER) == "402 Insufficient Balance"
