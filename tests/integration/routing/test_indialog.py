"""Issue 6, in-dialog media flows through the switch with media anchored: a reliable
183 (100rel) and its PRACK, UPDATE in the early dialog, the carrier's re-INVITE (hold),
the customer's re-INVITE (resume) and UPDATE after the answer (codec changes).  Every
request reaches the far side, and every SDP either side receives carries the media
proxy's address (rtpengine rewrote it in both directions).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.carriers import CarrierFarm
from tests.support.dataplane import TEST_MEDIA_IP, Dataplane
from tests.support.leaks import leaks, side_secrets
from tests.support.ports import free_port
from tests.support.sipp import SipMessage, Sipp, wait_udp_bound

pytestmark = pytest.mark.integration


def _sdp_addresses(messages: list[SipMessage]) -> list[tuple[str, list[str]]]:
    """(first line, media addresses) of every received message with SDP."""
    return [(m.first_line, [ip for ip, _ in m.media()]) for m in messages
            if m.direction == "received" and m.media()]


def _received(messages: list[SipMessage]) -> list[str]:
    """Requests received ("INVITE", "PRACK", ...) and responses ("200 UPDATE")."""
    out = []
    for m in messages:
        if m.direction != "received":
            continue
        out.append(f"{m.status} {m.method}" if m.is_response else m.method)
    return out


def test_prack_update_reinvite_through_the_media_proxy(dataplane: Dataplane,
                                                       tmp_path: Path) -> None:
    carrier_ip, carrier_port = dataplane.source_ip(), free_port()
    carrier = Sipp("uas_prack.xml", tmp_path, port=carrier_port, calls=1,
                   media_port=free_port(), ip=carrier_ip)
    carrier.start()
    try:
        wait_udp_bound(carrier_port, timeout=10, ip=carrier_ip)
        w = dataplane.world()
        card = w.provider_card(w.carrier([carrier_port], host=carrier_ip), {"44": "0.01"})
        src, src_port = dataplane.source_ip(), free_port()
        w.route(w.customer(ips_=[src]), w.tariff([card]))
        w.commit()
        dataplane.apply()
        customer = Sipp("uac_prack.xml", tmp_path, port=src_port, target=dataplane.target,
                        service="4473000001", media_port=free_port(), ip=src).start()
        try:
            got = customer.result(timeout=30)
        finally:
            customer.stop()
        far = carrier.result(timeout=10)
    finally:
        carrier.stop()

    assert got.exit_code == 0, got.errors
    assert far.exit_code == 0, far.errors
    # every request crossed the switch, in order
    assert [r for r in _received(far.messages) if not r[0].isdigit()] == [
        "INVITE", "PRACK", "UPDATE", "ACK", "INVITE", "ACK", "UPDATE", "BYE"]
    assert [r for r in _received(got.messages) if not r[0].isdigit()] == ["INVITE", "ACK"]
    # every SDP each side received was rewritten by rtpengine
    for side in (got.messages, far.messages):
        sdps = _sdp_addresses(side)
        assert sdps, "no SDP received"
        for first_line, addresses in sdps:
            assert addresses == [TEST_MEDIA_IP], (first_line, addresses)
    # every SDP arrived: at the customer the 183, 200 (UPDATE), 200 (INVITE), the hold
    # re-INVITE, 200 (resume), 200 (UPDATE); at the carrier the INVITE, UPDATE, 200
    # (hold), the resume re-INVITE, UPDATE
    assert len(_sdp_addresses(got.messages)) == 6
    assert len(_sdp_addresses(far.messages)) == 5
    # codec changes went through: the carrier saw PCMU (0) in the UPDATEs
    updates = [m for m in far.messages if m.direction == "received" and m.method == "UPDATE"
               and not m.is_response]
    assert all("m=audio" in m.body and " RTP/AVP 0" in m.body for m in updates)
    # and neither side learnt anything of the other in all these messages
    assert leaks(far.messages, side_secrets(got.messages, ip=src, port=src_port)) == []
    assert leaks(got.messages, side_secrets(far.messages, ip=carrier_ip,
                                            port=carrier_port)) == []


def test_late_offer_is_anchored(dataplane: Dataplane, farm: CarrierFarm,
                                tmp_path: Path) -> None:
    """INVITE without SDP: the carrier's offer in the 200 and the customer's answer in
    the ACK both go through rtpengine, and rtpengine drops the call after the BYE."""
    port = farm.add("late", "answer")
    w = dataplane.world()
    card = w.provider_card(w.carrier([port]), {"44": "0.01"})
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src]), w.tariff([card]))
    w.commit()
    dataplane.apply()
    customer = Sipp("uac_late.xml", tmp_path, port=free_port(), target=dataplane.target,
                    service="4473000002", media_port=free_port(), ip=src).start()
    try:
        got = customer.result(timeout=30)
    finally:
        customer.stop()
    assert got.exit_code == 0, got.errors
    (answer,) = got.received("SIP/2.0 200")[:1]
    assert [ip for ip, _ in answer.media()] == [TEST_MEDIA_IP], answer.text
    (call,) = farm.report("late").calls
    assert call.invite.body.strip() == ""                 # no SDP in the INVITE
    acks = [m for m in call.messages if m.direction == "received" and m.method == "ACK"
            and not m.is_response]
    assert acks and [ip for ip, _ in acks[0].media()] == [TEST_MEDIA_IP], acks[0].text
    assert call.bye is not None
