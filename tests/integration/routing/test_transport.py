"""Issue 6, SIP interoperability: UDP and TCP on both sides of the switch.

The customer places its call over UDP or TCP (SIPp -t u1 / t1); the carrier's gateway
says transport udp or tcp and its SIPp listens on that transport only.  Every mix must
give an answered call whose in-dialog BYE, from either side, reaches the other, and
each side must have received its messages over its own transport (the top Via of a
request names the transport of the hop it arrived on: RFC 3261 18.1.1).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.carriers import TRANSPORTS, CarrierCall, CarrierFarm, customer_tag
from tests.support.dataplane import Dataplane
from tests.support.ports import free_port
from tests.support.sipp import SipMessage, Sipp, SippResult, final_response, requests_received

pytestmark = pytest.mark.integration

MIXES = [("tcp", "udp"), ("udp", "tcp"), ("tcp", "tcp")]


def _route(dataplane: Dataplane, farm: CarrierFarm, carrier_transport: str,
           **carrier: object) -> str:
    """One carrier (numbers 44...) listening on carrier_transport, its gateway saying
    so, and one customer; returns the customer's source address."""
    port = farm.add("far", "answer", transport=carrier_transport, **carrier)  # type: ignore[arg-type]
    w = dataplane.world()
    card = w.provider_card(w.carrier([port], transport=carrier_transport), {"44": "0.01"})
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src]), w.tariff([card]))
    w.commit()
    dataplane.apply()
    return src


def _call(dataplane: Dataplane, workdir: Path, src: str, number: str, transport: str,
          hold_ms: int) -> SippResult:
    """One call of uac_call.xml from src over transport; its result (bounded: 20 s)."""
    sipp = Sipp("uac_call.xml", workdir, port=free_port(), target=dataplane.target,
                service=number, transport=TRANSPORTS[transport], ip=src,
                media_port=free_port(), variables={"hold_ms": hold_ms}).start()
    try:
        return sipp.result(timeout=20)
    finally:
        sipp.stop()


def _via_transport(message: SipMessage) -> str:
    """The transport of a message's top Via ("UDP", "TCP"...)."""
    via = message.header("Via") or message.header("v") or ""
    assert via.upper().startswith("SIP/2.0/"), message.text
    return via.split("/")[2].split()[0].upper()


def _only_call(farm: CarrierFarm, tag: str) -> CarrierCall:
    report = farm.report("far")
    assert report.invites == 1, f"the carrier got {report.invites} calls"
    call = report.call(tag)
    assert call is not None, "the carrier's call is not the customer's (From tag)"
    return call


def _got_200_to(messages: list[SipMessage], method: str) -> bool:
    return any(m.direction == "received" and m.status == 200 and m.method == method
               for m in messages)


@pytest.mark.parametrize("customer_transport,carrier_transport", MIXES,
                         ids=[f"{a}-to-{b}" for a, b in MIXES])
def test_customer_hangs_up(dataplane: Dataplane, farm: CarrierFarm, tmp_path: Path,
                           customer_transport: str, carrier_transport: str) -> None:
    src = _route(dataplane, farm, carrier_transport)
    result = _call(dataplane, tmp_path, src, "4472000001", customer_transport, hold_ms=300)

    assert final_response(result) == "200 OK", result.output[-2000:]
    call = _only_call(farm, customer_tag(result.messages))
    assert _via_transport(call.invite) == carrier_transport.upper(), call.invite.text
    assert call.answered
    bye = call.bye
    assert bye is not None, "the customer's BYE did not reach the carrier"
    assert _via_transport(bye) == carrier_transport.upper(), bye.text
    assert _got_200_to(result.messages, "BYE"), "the carrier's 200 to the BYE got lost"
    assert not call.sent_bye
    # the customer's messages came back over its own transport
    ok = [m for m in result.messages if m.direction == "received" and m.status == 200]
    assert ok and all(_via_transport(m) == customer_transport.upper() for m in ok)
    assert result.exit_code == 0, result.errors[-2000:]


@pytest.mark.parametrize("customer_transport,carrier_transport", MIXES,
                         ids=[f"{a}-to-{b}" for a, b in MIXES])
def test_carrier_hangs_up(dataplane: Dataplane, farm: CarrierFarm, tmp_path: Path,
                          customer_transport: str, carrier_transport: str) -> None:
    src = _route(dataplane, farm, carrier_transport, hangup_ms=500)
    result = _call(dataplane, tmp_path, src, "4472000002", customer_transport,
                   hold_ms=15_000)

    assert final_response(result) == "200 OK", result.output[-2000:]
    call = _only_call(farm, customer_tag(result.messages))
    assert _via_transport(call.invite) == carrier_transport.upper(), call.invite.text
    assert call.sent_bye
    byes = requests_received(result, "BYE")
    assert len(byes) == 1, "the carrier's BYE did not reach the customer"
    assert _via_transport(byes[0]) == customer_transport.upper(), byes[0].text
    # the customer's SIPp ends once it has sent its 200: the carrier gets it a moment later
    deadline = time.monotonic() + 3.0
    while not _got_200_to(call.messages, "BYE") and time.monotonic() < deadline:
        time.sleep(0.05)
        call = _only_call(farm, customer_tag(result.messages))
    assert _got_200_to(call.messages, "BYE"), "the customer's 200 to the BYE got lost"
    assert call.bye is None  # nobody else hung up
    assert result.exit_code == 0, result.errors[-2000:]
