"""Issue 6, SIP interoperability: the customer cancels its call at any moment.

Before any 18x (the carrier sent only 100 Trying), after a 180 or a 183 (early media),
and during failover (carrier 1 failed with 503, carrier 2 rings).  Each time: the
customer gets 200 to its CANCEL and 487 to its INVITE; every carrier leg still pending
gets a CANCEL, answers 487 and gets its ACK (no carrier is left with an INVITE that
has no final response); a carrier that already failed gets no CANCEL; and rtpengine,
which anchored the call's media (route default: rtp_proxy auto), forgets the call.

The pending carriers run uas_pending.xml ("pending" behaviour), whose 487 repeats every
Via of the INVITE.  uas_call.xml, uas_reject.xml and uas_early.xml repeat only the
first one (the switch's): relayed upstream, such a 487 has no Via left, topoh cannot
restore its Call-ID, and the customer never matches it (nor ACKs it).

The switch masks the Call-ID toward carriers (topology hiding): a carrier's call is
found by the customer's From tag.  rtpengine knows the customer's Call-ID.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from orchestrator.rtpengine.ng import NgClient
from tests.integration.routing.conftest import open_route
from tests.support.carriers import CarrierCall, CarrierFarm, customer_tag
from tests.support.dataplane import Dataplane
from tests.support.ports import free_port
from tests.support.rtp import forgotten, knows
from tests.support.sipp import SipMessage, Sipp, SippResult, final_response

if TYPE_CHECKING:
    from orchestrator.ratecards.models import CustomerCard
    from tests.integration.routing.conftest import CallerFactory
    from tests.support.switch_world import World

pytestmark = pytest.mark.integration

CANCEL_AFTER_MS = 800  # between the awaited response and the CANCEL


def _lcr(dataplane: Dataplane, farm: CarrierFarm, names: list[str]) -> tuple[World, CustomerCard]:
    """One carrier per farm name (already added), in LCR order, all on prefix 44."""
    w = dataplane.world()
    cards = [w.provider_card(w.carrier([farm.port(name)]), {"44": f"0.0{n}"})
             for n, name in enumerate(names, 1)]
    return w, w.tariff(cards)


def _ng(dataplane: Dataplane) -> NgClient:
    return NgClient("127.0.0.1", dataplane.settings.rtpengine_ng_port, timeout=1.0)


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"no {what} after {timeout} s")


def _received(messages: list[SipMessage], first_line: str) -> bool:
    return any(m.direction == "received" and m.first_line.startswith(first_line)
               for m in messages)


def _cancel_call(dataplane: Dataplane, workdir: Path, src: str, number: str, *,
                 scenario: str, wait_for: str, ringing: bool = False
                 ) -> tuple[SippResult, str, bool]:
    """Place one call that the customer cancels CANCEL_AFTER_MS after the response
    whose status line starts with wait_for.  Returns the customer's result, its
    Call-ID, and whether rtpengine knew the call just before the CANCEL."""
    variables: dict[str, object] = {"ringing": 1} if ringing else {}
    sipp = Sipp(scenario, workdir, port=free_port(), target=dataplane.target,
                service=number, ip=src, media_port=free_port(),
                call_duration_ms=CANCEL_AFTER_MS, variables=variables).start()
    try:
        _wait_for(lambda: _received(sipp.messages(), wait_for), 10.0, f"'{wait_for}'")
        (invite,) = [m for m in sipp.messages() if m.direction == "sent"
                     and m.first_line.startswith("INVITE")][:1]
        known = knows(_ng(dataplane), invite.call_id)
        result = sipp.result(timeout=20)
    finally:
        sipp.stop()
    return result, invite.call_id, known


def _assert_customer_cancelled(result: SippResult) -> None:
    assert final_response(result) == "487 Request Terminated", result.output[-2000:]
    assert any(m.direction == "received" and m.status == 200 and m.method == "CANCEL"
               for m in result.messages), "no 200 to the customer's CANCEL"
    assert result.exit_code == 0, result.errors[-2000:]


def _carrier_call(farm: CarrierFarm, name: str, tag: str) -> CarrierCall:
    call = farm.report(name).call(tag)
    assert call is not None, f"carrier {name} did not get the call"
    return call


def _assert_closed(call: CarrierCall, final: str) -> None:
    """The carrier's INVITE got final as its last response, and the switch ACKed it."""
    responses = call.responses_sent
    assert responses and responses[-1] == final, responses
    assert any(m.direction == "received" and m.method == "ACK" for m in call.messages), \
        "the switch did not ACK the carrier's final response"


def _assert_cancelled(call: CarrierCall) -> None:
    assert call.cancel is not None, "the pending carrier leg got no CANCEL"
    assert any(m.direction == "sent" and m.status == 200 and m.method == "CANCEL"
               for m in call.messages)
    _assert_closed(call, "487 Request Terminated")


def _assert_forgotten(ng: NgClient, call_id: str, timeout: float = 3.0) -> None:
    assert forgotten(ng, call_id, timeout), \
        f"rtpengine still knows call {call_id} {timeout} s after the CANCEL"


def test_cancel_before_any_18x(dataplane: Dataplane, farm: CarrierFarm,
                               caller_factory: CallerFactory, tmp_path: Path) -> None:
    """The carrier sent only 100 Trying when the customer cancels."""
    farm.add("k", "pending")  # 100 Trying, then nothing
    w, tariff = _lcr(dataplane, farm, ["k"])
    src = open_route(dataplane, caller_factory, w, tariff).ip

    result, call_id, known = _cancel_call(dataplane, tmp_path, src, "4473000001",
                                          scenario="uac_cancel_early.xml",
                                          wait_for="SIP/2.0 100")
    _assert_customer_cancelled(result)
    assert not _received(result.messages, "SIP/2.0 18"), "a 18x came before the CANCEL"
    call = _carrier_call(farm, "k", customer_tag(result.messages))
    assert call.responses_sent == ["100 Trying", "487 Request Terminated"]
    _assert_cancelled(call)
    assert known, "rtpengine did not anchor the call (the test would prove nothing)"
    _assert_forgotten(_ng(dataplane), call_id)


def test_cancel_after_180(dataplane: Dataplane, farm: CarrierFarm,
                          caller_factory: CallerFactory, tmp_path: Path) -> None:
    farm.add("k", "pending", provisional="180")
    w, tariff = _lcr(dataplane, farm, ["k"])
    src = open_route(dataplane, caller_factory, w, tariff).ip

    result, call_id, known = _cancel_call(dataplane, tmp_path, src, "4473000002",
                                          scenario="uac_cancel.xml", wait_for="SIP/2.0 180")
    _assert_customer_cancelled(result)
    call = _carrier_call(farm, "k", customer_tag(result.messages))
    assert call.responses_sent == ["100 Trying", "180 Ringing", "487 Request Terminated"]
    _assert_cancelled(call)
    assert known, "rtpengine did not anchor the call (the test would prove nothing)"
    _assert_forgotten(_ng(dataplane), call_id)


def test_cancel_after_183_early_media(dataplane: Dataplane, farm: CarrierFarm,
                                      caller_factory: CallerFactory, tmp_path: Path) -> None:
    """The carrier sent 183 with SDP (rtpengine answered it) when the customer cancels."""
    farm.add("k", "pending", provisional="183")  # 100, 183 (SDP), then nothing
    w, tariff = _lcr(dataplane, farm, ["k"])
    src = open_route(dataplane, caller_factory, w, tariff).ip

    result, call_id, known = _cancel_call(dataplane, tmp_path, src, "4473000003",
                                          scenario="uac_cancel_early.xml",
                                          wait_for="SIP/2.0 183", ringing=True)
    _assert_customer_cancelled(result)
    call = _carrier_call(farm, "k", customer_tag(result.messages))
    assert call.responses_sent == ["100 Trying", "183 Session Progress",
                                   "487 Request Terminated"]
    _assert_cancelled(call)
    assert known, "rtpengine did not anchor the call (the test would prove nothing)"
    _assert_forgotten(_ng(dataplane), call_id)


def test_cancel_during_failover(dataplane: Dataplane, farm: CarrierFarm,
                                caller_factory: CallerFactory, tmp_path: Path) -> None:
    """Carrier 1 failed (503), carrier 2 is ringing when the customer cancels: only
    carrier 2 gets the CANCEL; carrier 3 is never tried."""
    farm.add("k1", "reject", code=503)
    farm.add("k2", "pending", provisional="180")
    farm.add("k3", "answer")
    w, tariff = _lcr(dataplane, farm, ["k1", "k2", "k3"])
    src = open_route(dataplane, caller_factory, w, tariff).ip

    result, call_id, known = _cancel_call(dataplane, tmp_path, src, "4473000004",
                                          scenario="uac_cancel.xml", wait_for="SIP/2.0 180")
    _assert_customer_cancelled(result)
    tag = customer_tag(result.messages)
    assert farm.who_got(tag) == ["k1", "k2"]
    failed = _carrier_call(farm, "k1", tag)
    assert failed.cancel is None, "the carrier that had failed got a CANCEL"
    assert failed.responses_sent == ["100 Trying", "503 Service Unavailable"]
    _assert_closed(failed, "503 Service Unavailable")
    ringing = _carrier_call(farm, "k2", tag)
    assert ringing.responses_sent == ["100 Trying", "180 Ringing", "487 Request Terminated"]
    _assert_cancelled(ringing)
    # the customer heard only carrier 2's ringing, never carrier 1's 503
    assert not _received(result.messages, "SIP/2.0 503")
    assert known, "rtpengine did not anchor the call (the test would prove nothing)"
    _assert_forgotten(_ng(dataplane), call_id)
    time.sleep(0.5)  # nothing more may happen after the CANCEL
    assert farm.who_got(tag) == ["k1", "k2"]
