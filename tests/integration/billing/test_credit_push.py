"""Credit reaches the switch within seconds, without an apply: a payment (through the
payments service, the job queue and a real job consumer) lets a customer without money
call; rated charges (CDRs + running total + push_credit) stop the next call with 402."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from orchestrator.actor import SYSTEM
from orchestrator.billing.balances import apply_charge_deltas
from orchestrator.billing.credit import push_credit
from orchestrator.customers import payments
from orchestrator.jobs import queue as jobqueue
from orchestrator.kamailio import KamailioRPC, htable
from orchestrator.switch.tablefile import connect
from tests.integration.billing.conftest import caller_factory, farm  # noqa: F401
from tests.support.carriers import CarrierFarm
from tests.support.cdrs import add_cdrs
from tests.support.dataplane import Dataplane
from tests.support.jobs import running_consumer

if TYPE_CHECKING:
    from tests.integration.routing.conftest import CallerFactory, Customer

pytestmark = pytest.mark.integration

NUMBER = "441234567"
U = 10**8


@pytest.fixture
def consumer(dataplane: Dataplane) -> Iterator[jobqueue.JobQueue]:
    """The data plane's job queue with a running consumer (what `stack up` runs)."""
    previous = jobqueue.configured()
    queue = jobqueue.configure(dataplane.settings)
    try:
        with running_consumer(queue):
            yield queue
    finally:
        if previous is not None:
            jobqueue.configure(previous.settings)


def serving(dataplane: Dataplane) -> int:
    gen = htable.get(KamailioRPC(dataplane.settings.rpc_url), "cfg", "gen")
    assert isinstance(gen, int)
    return gen


def key(dataplane: Dataplane, name: str) -> object:
    return htable.get(KamailioRPC(dataplane.settings.rpc_url), "sw",
                      f"{serving(dataplane)}:{name}")


def file_value(dataplane: Dataplane, name: str) -> str | None:
    with closing(connect(dataplane.settings.switch_db)) as conn:
        row = conn.execute("SELECT key_value FROM ht_sw WHERE key_name = ?",
                           (f"{serving(dataplane)}:{name}",)).fetchone()
    return None if row is None else str(row[0])


def customer_with_route(dataplane: Dataplane, farm: CarrierFarm,  # noqa: F811
                        caller_factory: CallerFactory,  # noqa: F811
                        **fields: Any) -> tuple[int, Customer]:
    farm.add("a", "answer")
    w = dataplane.world()
    tariff = w.tariff([w.provider_card(w.carrier([farm.port("a")]), {"44": "0.6"})],
                      markup="0")
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src], **fields)
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    return customer.id, caller_factory(src)


def wait_for(predicate: object, timeout: float) -> float:
    """Seconds until ``predicate()`` is true (fails after ``timeout``)."""
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() - started < timeout, "not within the time allowed"
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_completed_payment_lets_the_next_call_through(
        dataplane: Dataplane, farm: CarrierFarm,  # noqa: F811
        caller_factory: CallerFactory, consumer: jobqueue.JobQueue) -> None:  # noqa: F811
    cid, caller = customer_with_route(dataplane, farm, caller_factory, debit_limit="0")
    assert caller.call(NUMBER) == "402 Insufficient Balance"
    assert key(dataplane, f"c:{cid}:credit") == 0 and key(dataplane, f"c:{cid}:money") is None
    with dataplane.sessions.begin() as session:
        payment = payments.add_payment(session, SYSTEM, cid, {"amount": "5"})   # pending
    time.sleep(1.5)                                   # pending: no credit yet
    assert key(dataplane, f"c:{cid}:credit") == 0
    with dataplane.sessions.begin() as session:
        payments.set_payment_status(session, SYSTEM, cid, payment.id, "completed")
    took = wait_for(lambda: key(dataplane, f"c:{cid}:credit") == 1, timeout=5.0)
    print(f"credit on the switch {took:.2f} s after the payment committed")
    # the money of credit control too: 5 x 10^8 x 60; and the table file has both
    assert key(dataplane, f"c:{cid}:money") == str(5 * U * 60)
    assert file_value(dataplane, f"c:{cid}:credit") == "1"
    assert file_value(dataplane, f"c:{cid}:money") == str(5 * U * 60)
    assert caller.call(NUMBER, hold_ms=200) == "200 OK"


def test_rated_charges_stop_the_next_call(dataplane: Dataplane, farm: CarrierFarm,  # noqa: F811
                                          caller_factory: CallerFactory  # noqa: F811
                                          ) -> None:
    cid, caller = customer_with_route(dataplane, farm, caller_factory, debit_limit="0.5")
    with dataplane.sessions.begin() as session:
        payments.add_payment(session, SYSTEM, cid, {"amount": "1", "status": "completed"})
    with dataplane.sessions() as session:
        pushed = push_credit(session, dataplane.settings, [cid])
    assert pushed.error == "" and pushed.credit == {cid: True}
    assert caller.call(NUMBER, hold_ms=200) == "200 OK"
    # 1.60 of calls rated: balance 1 - 1.6 = -0.6, credit -0.6 + 0.5 = -0.1
    with dataplane.sessions.begin() as session:
        add_cdrs(session, {"customer_id": cid, "customer_charge": U + 60 * U // 100,
                           "duration_ms": 160_000, "rated_at": datetime.now(UTC)})
        apply_charge_deltas(session, {cid: U + 60 * U // 100})
    with dataplane.sessions() as session:
        assert payments.credit_available(session, cid) == Decimal("-0.1")
        started = time.monotonic()
        pushed = push_credit(session, dataplane.settings, [cid])
    assert time.monotonic() - started < 1.0
    assert pushed.error == "" and pushed.credit == {cid: False}
    assert f"{serving(dataplane)}:c:{cid}:credit" in pushed.sent
    assert key(dataplane, f"c:{cid}:credit") == 0 and key(dataplane, f"c:{cid}:money") is None
    assert file_value(dataplane, f"c:{cid}:credit") == "0"
    assert file_value(dataplane, f"c:{cid}:money") is None
    assert caller.call(NUMBER) == "402 Insufficient Balance"
    # the next apply compiles the same value
    dataplane.apply()
    assert key(dataplane, f"c:{cid}:credit") == 0
    assert caller.call(NUMBER) == "402 Insufficient Balance"


def test_a_customer_the_switch_does_not_know_is_left_alone(dataplane: Dataplane) -> None:
    w = dataplane.world()
    customer = w.customer(debit_limit="10")   # created after the last apply
    w.commit()
    with dataplane.sessions() as session:
        pushed = push_credit(session, dataplane.settings, [customer.id])
    assert pushed.unknown == [customer.id] and pushed.sent == [] and pushed.error == ""
    assert key(dataplane, f"c:{customer.id}:credit") is None
