"""Issue 6, SIP interoperability: session timers (RFC 4028) pass through the switch.

The switch runs no session_timer module: it passes Supported/Require: timer,
Session-Expires and Min-SE on untouched both ways, relays the customer's session
refreshes (re-INVITE with SDP through rtpengine, or UPDATE) to the carrier and their
answers back, and a route's max duration still ends a call on time however often
its session is refreshed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.carriers import CarrierCall, CarrierFarm, customer_tag
from tests.support.dataplane import TEST_MEDIA_IP, Dataplane
from tests.support.ports import free_port
from tests.support.sipp import (
    SipMessage,
    Sipp,
    SippResult,
    final_response,
    requests_received,
)

pytestmark = pytest.mark.integration

SESSION_EXPIRES = "120;refresher=uac"


def _setup(dataplane: Dataplane, farm: CarrierFarm, **route: object) -> str:
    """One session-timer carrier ("k", numbers 44...) and one customer with one route
    (route fields); applies; returns the customer's source address."""
    port = farm.add("k", "timer")
    w = dataplane.world()
    tariff = w.tariff([w.provider_card(w.carrier([port]), {"44": "0.01"})])
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src]), tariff, **route)
    w.commit()
    dataplane.apply()
    return src


def _call(dataplane: Dataplane, workdir: Path, src: str, number: str,
          **variables: object) -> SippResult:
    sipp = Sipp("uac_timer.xml", workdir, port=free_port(), target=dataplane.target,
                service=number, ip=src, media_port=free_port(), variables=variables).start()
    try:
        return sipp.result(timeout=25)
    finally:
        sipp.stop()


def _answers(messages: list[SipMessage], direction: str, method: str) -> list[SipMessage]:
    """200 OKs to requests of method, received or sent, retransmissions left out."""
    seen: set[str] = set()
    found = []
    for m in messages:
        if m.direction == direction and m.status == 200 and m.method == method \
                and m.cseq not in seen:
            seen.add(m.cseq)
            found.append(m)
    return found


def _carrier_call(farm: CarrierFarm, result: SippResult) -> CarrierCall:
    call = farm.report("k").call(customer_tag(result.messages))
    assert call is not None, "the call did not reach the carrier"
    return call


def _assert_timer_headers(message: SipMessage, *, require: bool) -> None:
    assert message.header("Session-Expires") == SESSION_EXPIRES, message.text
    if require:
        assert "timer" in (message.header("Require") or ""), message.text


@pytest.mark.parametrize("method", ["INVITE", "UPDATE"])
def test_session_timer_passes_through(dataplane: Dataplane, farm: CarrierFarm,
                                      tmp_path: Path, method: str) -> None:
    src = _setup(dataplane, farm)
    result = _call(dataplane, tmp_path, src, f"447500{len(method)}", refresh_with=method,
                   refreshes=2, refresh_ms=300, hold_ms=200)

    assert final_response(result) == "200 OK", result.output[-2000:]
    assert result.exit_code == 0, result.errors[-2000:]
    call = _carrier_call(farm, result)
    # the customer's INVITE reaches the carrier with its timer headers
    invite = call.invite
    assert "timer" in (invite.header("Supported") or ""), invite.text
    assert invite.header("Session-Expires") == SESSION_EXPIRES, invite.text
    assert invite.header("Min-SE") == "90", invite.text
    # the carrier's 200 reaches the customer with its timer headers
    answered = _answers(result.messages, "received", "INVITE")
    assert answered, "no 200 to the INVITE"
    _assert_timer_headers(answered[0], require=True)

    # the refreshes: the customer's two re-INVITEs/UPDATEs reach the carrier with
    # their Session-Expires and the carrier's answers come back
    refreshes = [m for m in requests_received(call.messages, method)
                 if m.cseq != invite.cseq]
    assert len(refreshes) == 2, [m.first_line for m in refreshes]
    for refresh in refreshes:
        assert refresh.header("Session-Expires") == SESSION_EXPIRES, refresh.text
        assert "timer" in (refresh.header("Supported") or ""), refresh.text
    refreshed = [m for m in _answers(result.messages, "received", method)
                 if m.cseq != invite.cseq]
    assert len(refreshed) == 2, "the customer did not get both refreshes answered"
    for answer in refreshed:
        _assert_timer_headers(answer, require=True)
    if method == "INVITE":
        # the re-INVITE's SDP went through rtpengine as the first offer did
        for message in [invite, *refreshes, *refreshed]:
            assert message.media() and message.media()[0][0] == TEST_MEDIA_IP, message.text
        assert len([m for m in requests_received(call.messages, "ACK")]) == 3
    assert call.bye is not None, "the customer's BYE did not reach the carrier"


def test_max_duration_ends_a_refreshed_call(dataplane: Dataplane, farm: CarrierFarm,
                                            tmp_path: Path) -> None:
    """max_duration 3 s and a re-INVITE every 0.8 s: the switch still sends BYE to both
    sides 2-4 s after the answer (whole seconds: see test_limits.test_max_duration).
    Were each refresh to restart the dialog's timer, the BYE would come 3 s after the
    last refresh (~7.8 s)."""
    src = _setup(dataplane, farm, max_duration=3)
    result = _call(dataplane, tmp_path, src, "4475000009", refresh_with="INVITE",
                   refreshes=6, refresh_ms=800, wait_bye=1)

    assert final_response(result) == "200 OK", result.output[-2000:]
    answered = [m.time for m in result.messages if m.direction == "received"
                and m.status == 200 and m.method == "INVITE" and m.time is not None]
    byes = requests_received(result, "BYE")
    assert answered and len(byes) == 1 and byes[0].time is not None, \
        "the switch sent the customer no BYE"
    to_customer = byes[0].time - answered[0]
    call = _carrier_call(farm, result)
    refreshes = [m for m in requests_received(call.messages, "INVITE")
                 if m.cseq != call.invite.cseq]
    assert refreshes, "no refresh reached the carrier before the BYE"
    assert 2.0 <= to_customer <= 4.1, \
        f"BYE {to_customer:.2f} s after the answer, after {len(refreshes)} refreshes"
    assert call.bye_time is not None, "the switch sent the carrier no BYE"
    carrier_answer = [m.time for m in call.messages if m.direction == "sent"
                      and m.status == 200 and m.method == "INVITE" and m.time is not None]
    to_carrier = call.bye_time - carrier_answer[0]
    assert 2.0 <= to_carrier <= 4.1, f"carrier's BYE {to_carrier:.2f} s after the answer"
