"""PRODUCT.md §2 step 8: trying the carriers in order, failing over between their
gateways and to the next carrier, and which final response the customer gets.

Each test builds its own carriers (SIPp UAS on their own ports), provider cards,
customer (its own source address) and route, applies once, and calls.  The carriers'
costs put them in LCR order a, b, c...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.routing.conftest import open_route
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane
from tests.support.switch_world import World

if TYPE_CHECKING:
    from orchestrator.ratecards.models import CustomerCard
    from tests.integration.routing.conftest import CallerFactory

pytestmark = pytest.mark.integration

NUMBER = "441234567"


_open = open_route


def _lcr(dataplane: Dataplane, farm: CarrierFarm, names: list[str],
         **carrier_fields: dict[str, Any]) -> tuple[World, CustomerCard]:
    """One carrier per farm name (already added), costs rising in the order of names,
    one tariff over all of them.  carrier_fields: per name, extra carrier fields."""
    w = dataplane.world()
    cards = []
    for n, name in enumerate(names, 1):
        carrier = w.carrier([farm.port(name)], **carrier_fields.get(name, {}))
        cards.append(w.provider_card(carrier, {"44": f"0.0{n}"}))
    return w, w.tariff(cards)


def _invite_time(farm: CarrierFarm, name: str) -> float:
    calls = farm.report(name).calls
    assert len(calls) == 1, f"{name}: {len(calls)} calls"
    time = calls[0].invite_time
    assert time is not None
    return time


@pytest.mark.parametrize("code", [503, 408, 500])
def test_failover_on_408_and_5xx(dataplane: Dataplane, farm: CarrierFarm,
                                 caller_factory: CallerFactory, code: int) -> None:
    farm.add("a", "reject", code=code)
    farm.add("b", "answer")
    farm.add("c", "answer")
    w, tariff = _lcr(dataplane, farm, ["a", "b", "c"])
    caller = _open(dataplane, caller_factory, w, tariff)

    assert caller.call(NUMBER, hold_ms=50) == "200 OK"
    assert farm.invite_counts() == {"a": 1, "b": 1, "c": 0}
    assert farm.report("b").ruri_users == [NUMBER]
    # a rejection fails over at once, no timer involved
    assert 0 <= _invite_time(farm, "b") - _invite_time(farm, "a") < 0.5


def test_failover_on_pre_ring_timeout(dataplane: Dataplane, farm: CarrierFarm,
                                      caller_factory: CallerFactory) -> None:
    """A carrier that sends nothing at all (not even 100 Trying) is given up after
    its pre_ring_timeout (1 s here, not the 30 s default)."""
    farm.add("a", "silent")
    farm.add("b", "answer")
    w, tariff = _lcr(dataplane, farm, ["a", "b"], a={"pre_ring_timeout": 1})
    caller = _open(dataplane, caller_factory, w, tariff)

    assert caller.call(NUMBER, hold_ms=50) == "200 OK"
    assert farm.invite_counts() == {"a": 1, "b": 1}
    gap = _invite_time(farm, "b") - _invite_time(farm, "a")
    assert 0.9 <= gap <= 2.0, gap


def test_failover_on_post_ring_timeout(dataplane: Dataplane, farm: CarrierFarm,
                                       caller_factory: CallerFactory) -> None:
    """A carrier that rings (100, 180 at once) but never answers is cancelled after its
    post_ring_timeout (1 s) and the call goes on to the next carrier."""
    farm.add("a", "ring")
    farm.add("b", "answer")
    w, tariff = _lcr(dataplane, farm, ["a", "b"], a={"post_ring_timeout": 1})
    caller = _open(dataplane, caller_factory, w, tariff)

    assert caller.call(NUMBER, hold_ms=50) == "200 OK"
    assert farm.invite_counts() == {"a": 1, "b": 1}
    gap = _invite_time(farm, "b") - _invite_time(farm, "a")
    assert 0.9 <= gap <= 2.0, gap
    ringing = farm.report("a").calls[0]
    assert ringing.responses_sent[-1] == "487 Request Terminated"  # it was cancelled
    assert ringing.cancel is not None


@pytest.mark.parametrize("code,reason", [(486, "Busy Here"), (404, "Not Found"),
                                         (480, "Temporarily Unavailable"), (603, "Decline")])
def test_no_failover_on_final_answers(dataplane: Dataplane, farm: CarrierFarm,
                                      caller_factory: CallerFactory, code: int,
                                      reason: str) -> None:
    """486, 404, 480 and 603 are the callee's answer: passed on, nobody else tried."""
    farm.add("a", "reject", code=code)
    farm.add("b", "answer")
    w, tariff = _lcr(dataplane, farm, ["a", "b"])
    caller = _open(dataplane, caller_factory, w, tariff)

    assert caller.call(NUMBER) == f"{code} {reason}"
    assert farm.invite_counts() == {"a": 1, "b": 0}


@pytest.mark.parametrize("codes,expected", [
    ((503, 502), "502 Bad Gateway"),
    # tm alone would pick the "best" of all branches (the 408); the switch passes on
    # the last carrier's answer
    ((408, 503), "503 Service Unavailable"),
    ((502, 500, 504), "504 Server Time-out"),
])
def test_all_carriers_fail_last_response_passed_on(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory,
        codes: tuple[int, ...], expected: str) -> None:
    names = [f"k{n}" for n in range(len(codes))]
    for name, code in zip(names, codes, strict=True):
        farm.add(name, "reject", code=code)
    w, tariff = _lcr(dataplane, farm, names)
    caller = _open(dataplane, caller_factory, w, tariff)

    assert caller.call(NUMBER) == expected
    assert farm.invite_counts() == dict.fromkeys(names, 1)
    times = [_invite_time(farm, name) for name in names]
    assert times == sorted(times)  # tried in LCR order


def test_last_carrier_times_out(dataplane: Dataplane, farm: CarrierFarm,
                                caller_factory: CallerFactory) -> None:
    """The last carrier's 'answer' is the switch's own 408 when its timer expires."""
    farm.add("a", "reject", code=503)
    farm.add("b", "silent")
    w, tariff = _lcr(dataplane, farm, ["a", "b"], b={"pre_ring_timeout": 1})
    caller = _open(dataplane, caller_factory, w, tariff)

    assert caller.call(NUMBER) == "408 Request Timeout"
    assert farm.invite_counts() == {"a": 1, "b": 1}


def test_gateways_of_a_carrier_before_the_next_carrier(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory) -> None:
    """Prefix 44: carrier 1 has gateways g1 (503) and g2 (answers): every call is
    answered by g2 (after g1 or not, as the weighted pick goes), carrier 2 gets nothing.
    Prefix 33: carrier 3's both gateways fail (503, 502): each is tried once, then
    carrier 4 answers."""
    farm.add("g1", "reject", code=503)
    farm.add("g2", "answer")
    farm.add("k2", "answer")
    farm.add("g3", "reject", code=503)
    farm.add("g4", "reject", code=502)
    farm.add("k4", "answer")
    w = dataplane.world()
    k1 = w.carrier([farm.port("g1"), farm.port("g2")])
    k2 = w.carrier([farm.port("k2")])
    k3 = w.carrier([farm.port("g3"), farm.port("g4")])
    k4 = w.carrier([farm.port("k4")])
    tariff = w.tariff([w.provider_card(k1, {"44": "0.01"}),
                       w.provider_card(k2, {"44": "0.02"}),
                       w.provider_card(k3, {"33": "0.01"}),
                       w.provider_card(k4, {"33": "0.02"})])
    caller = _open(dataplane, caller_factory, w, tariff)

    assert caller.calls("441234", 4, rate=20, hold_ms=20) == ["200 OK"] * 4
    counts = farm.invite_counts()
    assert (counts["g2"], counts["k2"]) == (4, 0)
    assert counts["g1"] <= 4
    # every call g1 saw reached g2 afterwards
    g2_calls = {c.call_id: c.invite_time or 0.0 for c in farm.report("g2").calls}
    for call in farm.report("g1").calls:
        assert (call.invite_time or 0.0) <= g2_calls[call.call_id]

    assert caller.call("331234", hold_ms=50) == "200 OK"
    counts = farm.invite_counts()
    assert (counts["g3"], counts["g4"], counts["k4"]) == (1, 1, 1)
    assert max(_invite_time(farm, "g3"), _invite_time(farm, "g4")) <= _invite_time(farm, "k4")
