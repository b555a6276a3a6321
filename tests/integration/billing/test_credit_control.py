"""Credit control of running calls (cnxcc): a customer's calls are cut when their cost,
all running calls together at their rates, reaches the customer's available credit."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from orchestrator.billing.collector import CdrCollector
from orchestrator.billing.collector_setup import build_collector
from orchestrator.kamailio import htable
from orchestrator.kamailio.rpc import KamailioRPC
from orchestrator.switch.tablefile import GENERATIONS
from tests.integration.billing.test_cdrs import NUMBER, _by_source
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane

if TYPE_CHECKING:
    from tests.integration.routing.conftest import CallerFactory

pytestmark = pytest.mark.integration

def test_two_calls_cut_when_credit_runs_out(dataplane: Dataplane, farm: CarrierFarm,
                                            collector: CdrCollector,
                                            caller_factory: CallerFactory) -> None:
    """Credit 0.20, two calls at 0.60/min (0.01/s each, mcd 1, pulse 1): together they
    cost 0.02/s, so the money is gone 10 s after they are answered. cnxcc charges each
    second when it starts and checks once a second: both calls end 8-12 s after the
    answer, and what they cost never exceeds the credit by more than a pulse each."""
    farm.add("a", "answer")
    w = dataplane.world()
    tariff = w.tariff([w.provider_card(w.carrier([farm.port("a")]), {"44": "0.6"})],
                      markup="0")
    src = dataplane.source_ip()
    credit = Decimal("0.20")
    # no payments: the available credit is the debit limit (compiled into the switch)
    customer = w.customer(ips_=[src], debit_limit=str(credit))
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    # the CDR collector runs as in the stack (it finishes cuts cnxcc leaves undone)
    running = build_collector(dataplane.settings, dataplane.sessions)
    stop = threading.Event()
    collecting = threading.Thread(target=running.run, daemon=True, args=(
        dataplane.settings.cdr_collect_seconds, stop.is_set))
    collecting.start()
    started = time.monotonic()
    calls = [caller.start(NUMBER, hold_ms=40_000), caller.start(NUMBER, hold_ms=40_000)]
    try:
        for sipp in calls:
            sipp.result(timeout=60)
    finally:
        for sipp in calls:
            sipp.stop()
        stop.set()
        collecting.join(timeout=10)
    assert time.monotonic() - started < 30, "the calls were not cut"

    cdrs = _by_source(dataplane, collector, src, 2)
    assert [(c.code, c.hangup) for c in cdrs] == [(200, "credit"), (200, "credit")]
    for cdr in cdrs:
        assert 8_000 <= cdr.duration_ms <= 12_500, cdr.duration_ms
    # what they cost (0.01 per started second each) stays within a pulse per call
    cost = sum(Decimal("0.01") * -(-c.duration_ms // 1000) for c in cdrs)
    assert cost <= credit + 2 * Decimal("0.01"), cost


def test_calls_without_money_key_are_not_limited(dataplane: Dataplane, farm: CarrierFarm,
                                                 collector: CdrCollector,
                                                 caller_factory: CallerFactory) -> None:
    """No money key (a switch that lost it, e.g. data from before credit control):
    the call is not limited and runs its course."""
    farm.add("a", "answer")
    w = dataplane.world()
    tariff = w.tariff([w.provider_card(w.carrier([farm.port("a")]), {"44": "0.6"})],
                      markup="0")
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    rpc = KamailioRPC(dataplane.settings.rpc_url)
    for gen in GENERATIONS:
        htable.delete(rpc, "sw", f"{gen}:c:{customer.id}:money")
    caller = caller_factory(src)

    assert caller.call(NUMBER, hold_ms=3000) == "200 OK"
    [cdr] = _by_source(dataplane, collector, src, 1)
    assert cdr.hangup == "caller" and cdr.duration_ms >= 2900
