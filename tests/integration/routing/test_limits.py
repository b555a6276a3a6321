"""PRODUCT.md §2 step 6 and 9: channel and cps limits of the customer, the SIP user,
the route and the carrier; missing-BYE protection (max duration, SIP ping).

Channel tests hold N calls (a background SIPp, hold_ms long enough for the checks),
wait until the carrier answered all N, then place call N+1, then let the held calls
end and call again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from orchestrator.kamailio import KamailioRPC, htable
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane
from tests.support.sipp import SipMessage, Sipp, final_responses, requests_received

if TYPE_CHECKING:
    from orchestrator.ratecards.models import CustomerCard
    from tests.integration.routing.conftest import CallerFactory
    from tests.support.switch_world import World

pytestmark = pytest.mark.integration

HOLD_MS = 4000  # long enough to place and check call N+1 while N calls are up
FULL = "503 Channel Limit Reached"


@contextmanager
def _holding(farm: CarrierFarm, carrier: str, sipp: Sipp, count: int) -> Iterator[Sipp]:
    """count calls of sipp (started) held: waits until carrier answered them all;
    the SIPp is killed on the way out if a failed check left it running."""
    try:
        deadline = time.monotonic() + 10
        while sum(call.answered for call in farm.report(carrier).calls) < count:
            assert time.monotonic() < deadline, f"{carrier} did not answer {count} calls"
            time.sleep(0.05)
        yield sipp
    finally:
        sipp.stop()


def _hung_up(sipp: Sipp, count: int) -> None:
    """Wait for the held calls to end by themselves: all count were answered."""
    result = sipp.result(timeout=HOLD_MS / 1000 + 20)
    assert final_responses(result) == ["200 OK"] * count


def _world(dataplane: Dataplane, farm: CarrierFarm, name: str = "uk",
           **carrier: Any) -> tuple[World, CustomerCard]:
    """A world with carrier name (answering) and a tariff for 44 through it."""
    w = dataplane.world()
    k = w.carrier([farm.add(name, "answer")], **carrier)
    return w, w.tariff([w.provider_card(k, {"44": "0.01"})])


def test_customer_channels_count_across_routes(dataplane: Dataplane, farm: CarrierFarm,
                                               caller_factory: CallerFactory) -> None:
    """Customer channels=2 counts the calls of all its routes."""
    w, tariff = _world(dataplane, farm)
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src], channels=2)
    w.route(customer, tariff, tech_prefix="1")
    w.route(customer, tariff, tech_prefix="2")
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    held = caller.start("1441234", calls=2, hold_ms=HOLD_MS)
    with _holding(farm, "uk", held, 2):
        assert caller.call("2441234") == FULL  # the other route: the customer is full
        _hung_up(held, 2)
    assert caller.call("2441234", hold_ms=100) == "200 OK"
    assert farm.report("uk").invites == 3


def test_route_channels_apply_per_route(dataplane: Dataplane, farm: CarrierFarm,
                                        caller_factory: CallerFactory) -> None:
    """Route channels=2 counts that route's calls only."""
    w, tariff = _world(dataplane, farm)
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariff, tech_prefix="1", channels=2)
    w.route(customer, tariff, tech_prefix="2")
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    held = caller.start("1441234", calls=2, hold_ms=HOLD_MS)
    with _holding(farm, "uk", held, 2):
        assert caller.call("1441234") == FULL
        assert caller.call("2441234", hold_ms=100) == "200 OK"  # another route is not full
        _hung_up(held, 2)
    assert caller.call("1441234", hold_ms=100) == "200 OK"


def test_sip_user_channels(dataplane: Dataplane, farm: CarrierFarm,
                           caller_factory: CallerFactory) -> None:
    """SIP user channels=2 counts that user's calls only."""
    w, tariff = _world(dataplane, farm)
    tag = uuid.uuid4().hex[:8]
    limited, free = (f"limited-{tag}", "secret-lim-1"), (f"free-{tag}", "secret-free-1")
    customer = w.customer(users=[
        {"username": limited[0], "password": limited[1], "channels": 2},
        {"username": free[0], "password": free[1]}])
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    caller = caller_factory(dataplane.source_ip())

    held = caller.start("441234", calls=2, hold_ms=HOLD_MS, scenario="uac_auth.xml", auth=limited)
    with _holding(farm, "uk", held, 2):
        assert caller.call("441234", scenario="uac_auth.xml", auth=limited) == FULL
        assert caller.call("441234", scenario="uac_auth.xml", auth=free,
                           hold_ms=100) == "200 OK"  # the same customer's other user
        _hung_up(held, 2)
    assert caller.call("441234", scenario="uac_auth.xml", auth=limited,
                       hold_ms=100) == "200 OK"


def test_carrier_channels(dataplane: Dataplane, farm: CarrierFarm,
                          caller_factory: CallerFactory) -> None:
    """Carrier channels=2. Route 1 has only that carrier: call 3 is refused. Route 2
    has it (cheapest) and a spare: call 3 skips the full carrier for the spare."""
    w = dataplane.world()
    limited = w.carrier([farm.add("limited", "answer")], channels=2)
    spare = w.carrier([farm.add("spare", "answer")])
    cheap = w.provider_card(limited, {"44": "0.01"})
    alone = w.tariff([cheap])
    both = w.tariff([cheap, w.provider_card(spare, {"44": "0.02"})])
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, alone, tech_prefix="1")
    w.route(customer, both, tech_prefix="2")
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    held = caller.start("1441234", calls=2, hold_ms=HOLD_MS)
    with _holding(farm, "limited", held, 2):
        assert caller.call("1441234") == FULL                    # no other carrier
        assert caller.call("2441235", hold_ms=100) == "200 OK"   # the spare takes it
        assert farm.report("spare").ruri_users == ["441235"]
        _hung_up(held, 2)
    assert caller.call("2441236", hold_ms=100) == "200 OK"   # the cheap one again
    assert farm.report("limited").ruri_users == ["441234", "441234", "441236"]


def test_customer_cps(dataplane: Dataplane, farm: CarrierFarm,
                      caller_factory: CallerFactory) -> None:
    """cps=2, pipelimit TAILDROP with 1 s windows (timer_interval 1): at most 2 calls
    per window pass. A burst of 10 calls in ~0.5 s touches at most 2 windows, so 2 to
    4 pass and the rest get `503 CPS Limit Reached`; calls at 1/s all pass."""
    w, tariff = _world(dataplane, farm)
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src], cps=2)
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    burst = caller.calls("441234", 10, rate=20, hold_ms=100)
    passed = burst.count("200 OK")
    assert 2 <= passed <= 4, burst
    assert burst.count("503 CPS Limit Reached") == 10 - passed, burst
    time.sleep(1.1)  # a fresh window
    assert caller.calls("441235", 3, rate=1, hold_ms=100) == ["200 OK"] * 3
    assert farm.report("uk").invites == passed + 3


@pytest.mark.parametrize("where", ["route", "carrier"])
def test_route_and_carrier_cps(dataplane: Dataplane, farm: CarrierFarm,
                               caller_factory: CallerFactory, where: str) -> None:
    """The same burst against a route's cps=2, or the only carrier's cps=2 (a carrier
    over its cps is skipped; with no other carrier the caller gets the reason)."""
    w, tariff = _world(dataplane, farm, **({"cps": 2} if where == "carrier" else {}))
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src]), tariff, **({"cps": 2} if where == "route" else {}))
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    burst = caller.calls("441234", 10, rate=20, hold_ms=100)
    passed = burst.count("200 OK")
    assert 2 <= passed <= 4, burst
    assert burst.count("503 CPS Limit Reached") == 10 - passed, burst
    time.sleep(1.1)
    assert caller.calls("441235", 3, rate=1, hold_ms=100) == ["200 OK"] * 3
    assert farm.report("uk").invites == passed + 3


def _answer_time(messages: list[SipMessage], sent: bool) -> float:
    """When the 200 OK to the INVITE was sent (carrier) or received (customer)."""
    direction = "sent" if sent else "received"
    times = [m.time for m in messages if m.direction == direction and m.status == 200
             and m.method == "INVITE" and m.time is not None]
    assert times, "no 200 OK to the INVITE in the trace"
    return min(times)


def test_max_duration(dataplane: Dataplane, farm: CarrierFarm,
                      caller_factory: CallerFactory) -> None:
    """max_duration 2: the switch sends BYE to both sides 2 s after the answer, within
    1 s: the dialog module counts whole seconds (expiry = the answer's second + 2,
    checked by a 1 s timer), so the BYE leaves between 1 and 3 s after the answer."""
    w, tariff = _world(dataplane, farm)
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariff, max_duration=2)
    w.commit()
    dataplane.apply()

    result = caller_factory(src).run("441234", hold_ms=10_000, timeout=20)
    byes = requests_received(result, "BYE")
    assert len(byes) == 1 and byes[0].time is not None
    to_customer = byes[0].time - _answer_time(result.messages, sent=False)
    assert to_customer >= 1.0 and to_customer <= 3.1, f"BYE {to_customer:.2f} s after answer"
    call = farm.report("uk").calls[0]
    assert call.bye_time is not None
    to_carrier = call.bye_time - _answer_time(call.messages, sent=True)
    assert to_carrier >= 1.0 and to_carrier <= 3.1, f"BYE {to_carrier:.2f} s after answer"
    assert not call.sent_bye  # nobody but the switch hung up


def test_sip_ping_upstream_and_downstream(dataplane: Dataplane, farm: CarrierFarm,
                                          caller_factory: CallerFactory) -> None:
    """Two calls at once, both carriers answering in-dialog OPTIONS with 481.

    upstream pings the carrier (dialog ka-dst): its 481 tears the call down, BYE to
    both sides. downstream pings the customer (ka-src), who answers 200: that call
    stays up until the customer hangs up, and its carrier is never pinged.

    Slow by the dialog module's design: the first OPTIONS goes out sip_ping_interval
    (30 s at least, the session data plane's setting) to 40 s after the answer (10 s
    ka_timer), and a 481 does not end the call at once but sets the dialog's lifetime
    to 10 s, whose expiry sends the BYEs: about 50 s in all.
    """
    w = dataplane.world()
    tariffs = []
    for name in ("up", "down"):
        k = w.carrier([farm.add(name, "answer", options="481")])
        tariffs.append(w.tariff([w.provider_card(k, {"44": "0.01"})]))
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariffs[0], tech_prefix="1", sip_ping="upstream")
    w.route(customer, tariffs[1], tech_prefix="2", sip_ping="downstream")
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    interval = dataplane.settings.sip_ping_interval
    up = caller.start("1441234", hold_ms=(interval + 40) * 1000)
    down = caller.start("2441234", hold_ms=(interval + 14) * 1000)
    try:
        down_result = down.result(timeout=interval + 30)
        up_result = up.result(timeout=interval + 45)
    finally:
        up.stop()
        down.stop()

    # upstream: the carrier got the OPTIONS, answered 481; 10 s later, BYE to both
    up_call = farm.report("up").calls[0]
    assert up_call.options_received, "the carrier was never pinged"
    pinged = up_call.options_received[0].time
    byes = requests_received(up_result, "BYE")
    assert len(byes) == 1
    assert pinged is not None and byes[0].time is not None and up_call.bye_time is not None
    assert interval - 1 <= pinged - _answer_time(up_call.messages, sent=True) <= interval + 12
    assert 9 <= byes[0].time - pinged <= 12
    assert 9 <= up_call.bye_time - pinged <= 12
    assert not up_call.sent_bye
    assert not requests_received(up_result, "OPTIONS")  # the customer is not pinged

    # downstream: the customer was pinged and answered; the call lasted its full hold
    assert requests_received(down_result, "OPTIONS"), "the customer was never pinged"
    assert not requests_received(down_result, "BYE")  # the customer hung up itself
    down_call = farm.report("down").calls[0]
    assert not down_call.options_received
    assert down_call.bye_time is not None
    assert final_responses(down_result) == ["200 OK"]


def test_channel_counters_return_to_zero_after_every_kind_of_call_end(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory) -> None:
    """Calls in progress are counted per customer, route and carrier: answered calls,
    failed attempts, failovers and refusals must all leave the counters where they
    started, or limits would drift shut."""
    w = dataplane.world()
    busy = w.carrier([farm.add("busy", "reject", code=503)], channels=5)
    good = w.carrier([farm.add("good", "answer")], channels=5)
    cheap = w.provider_card(busy, {"44": "0.01", "33": "0.01"})
    dear = w.provider_card(good, {"44": "0.02"})
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src], channels=5)
    route = w.route(customer, w.tariff([cheap, dear]), channels=5)
    w.commit()
    keys = [f"c{customer.id}", f"r{route.id}", f"k{busy.id}", f"k{good.id}"]
    w.close()
    dataplane.apply()
    caller = caller_factory(src)

    assert caller.calls("441234", 4, rate=10, hold_ms=200) == ["200 OK"] * 4  # failover
    assert caller.call("331234") == "503 Service Unavailable"                 # all failed
    assert caller.call("991234") == "404 No Rate"                             # refused

    rpc = KamailioRPC(dataplane.settings.rpc_url)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        counts = {key: htable.get(rpc, "chan", key) for key in keys}
        if all(value == 0 for value in counts.values()):
            break
        time.sleep(0.2)
    assert counts == dict.fromkeys(keys, 0)
    assert farm.report("busy").invites == 5 and farm.report("good").invites == 4
