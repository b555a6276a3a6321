"""PRODUCT.md §1 route Media fields and §2 steps 7 and 9: media proxy or direct media,
strict vs relaxed, media zones, RTP timeout.

The session data plane has media zones "dead" (an ng port nobody answers on) and
"zone2" (a second rtpengine on 127.0.0.4), and an RTP timeout of
SESSION_RTP_TIMEOUT seconds.  Customers call from 127.0.x.y, carriers answer on
127.0.0.1, the local rtpengine relays on 127.0.0.3: an SDP address tells who wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from orchestrator.rtpengine.ng import NgClient, NgFailure
from orchestrator.settings import Settings
from tests.support.carriers import CarrierCall, CarrierFarm
from tests.support.dataplane import (
    SESSION_RTP_TIMEOUT,
    TEST_MEDIA_IP,
    ZONE2_MEDIA_IP,
    Dataplane,
)
from tests.support.ports import free_port
from tests.support.rtp import call_id_of, packets_both_ways
from tests.support.sipp import SipMessage, SippResult, final_response

if TYPE_CHECKING:
    from tests.integration.routing.conftest import CallerFactory

pytestmark = pytest.mark.integration

PCAP_SECONDS = 7.0  # uac(media=True) and the carriers' media=1 play this long


@dataclass
class Zone:
    settings: Settings

    @property
    def ng(self) -> NgClient:
        return NgClient("127.0.0.1", self.settings.rtpengine_ng_port, timeout=1.0)


@pytest.fixture
def zone2(dataplane: Dataplane) -> Zone:
    """The rtpengine of media zone "zone2" (the session data plane starts it before
    Kamailio: see tests.support.dataplane.start_zone_rtpengine)."""
    zone = Zone(dataplane.zones["zone2"])
    zone.ng.ping()
    return zone


def _sent(result: SippResult | list[SipMessage], first_line: str) -> SipMessage:
    """The first message sent whose first line starts with first_line."""
    messages = result.messages if isinstance(result, SippResult) else result
    return next(m for m in messages
                if m.direction == "sent" and m.first_line.startswith(first_line))


def _sdp(message: SipMessage) -> list[str]:
    return [line.strip() for line in message.body.splitlines() if line.strip()]


def _assert_untouched(customer: SippResult, carrier: CarrierCall) -> None:
    """Each side got the other side's own SDP, byte for byte (no media proxy)."""
    offer, answer = _sent(customer, "INVITE"), _sent(carrier.messages, "SIP/2.0 200")
    assert _sdp(carrier.invite) == _sdp(offer)
    (got_answer,) = customer.received("SIP/2.0 200")[:1]
    assert _sdp(got_answer) == _sdp(answer)
    assert offer.media()[0][0] != "127.0.0.1" and answer.media()[0][0] == "127.0.0.1"


def _assert_anchored(customer: SippResult, carrier: CarrierCall, ip: str,
                     settings: Settings) -> None:
    """Each side sees the rtpengine's address and a port of its range."""
    (answer,) = customer.received("SIP/2.0 200")[:1]
    for message in (answer, carrier.invite):
        media = message.media()
        assert media, message.text
        for address, port in media:
            assert address == ip, message.text
            assert settings.rtp_port_min <= port <= settings.rtp_port_max, message.text


def _world_route(plane: Dataplane, farm: CarrierFarm, routes: dict[str, dict[str, object]],
                 **carrier: object) -> str:
    """One carrier ("uk", numbers 44...) and one customer with a route per tech prefix
    (prefix -> route fields); returns the customer's source address."""
    port = farm.add("uk", "answer", **carrier)  # type: ignore[arg-type]
    w = plane.world()
    card = w.provider_card(w.carrier([port]), {"44": "0.01"})
    tariff = w.tariff([card])
    src = plane.source_ip()
    customer = w.customer(ips_=[src])
    for prefix, fields in routes.items():
        w.route(customer, tariff, tech_prefix=prefix, **fields)
    w.commit()
    plane.apply()
    return src


def test_strict_and_relaxed_without_media_proxy(dataplane: Dataplane, farm: CarrierFarm,
                                                caller_factory: CallerFactory) -> None:
    src = _world_route(dataplane, farm, {
        "11": {"rtp_proxy": "dead", "rtp_proxy_mode": "strict"},
        "22": {"rtp_proxy": "dead", "rtp_proxy_mode": "relaxed"}})
    caller = caller_factory(src)
    assert caller.call("1144100", media_port=free_port()) == "503 Media Proxy Unavailable"
    relaxed = caller.run("2244200", hold_ms=300, media_port=free_port())
    assert final_response(relaxed) == "200 OK"
    report = farm.report("uk")
    assert report.ruri_users == ["44200"]  # the strict call never reached the carrier
    _assert_untouched(relaxed, report.calls[0])


def test_direct_media_leaves_the_sdp_alone(dataplane: Dataplane, farm: CarrierFarm,
                                           caller_factory: CallerFactory) -> None:
    src = _world_route(dataplane, farm, {"33": {"rtp_proxy": "direct"}})
    result = caller_factory(src).run("3344300", hold_ms=300, media_port=free_port())
    assert final_response(result) == "200 OK"
    _assert_untouched(result, farm.report("uk").calls[0])


def test_auto_anchors_media_on_the_local_rtpengine(dataplane: Dataplane, farm: CarrierFarm,
                                                   caller_factory: CallerFactory) -> None:
    s = dataplane.settings
    src = _world_route(dataplane, farm, {"44": {}}, media=1)
    ng = NgClient("127.0.0.1", s.rtpengine_ng_port, timeout=1.0)
    sipp = caller_factory(src).start("4444400", hold_ms=3000, media=True,
                                     media_port=free_port())
    try:
        call_id = call_id_of(sipp)
        per_tag = packets_both_ways(ng, call_id)
        result = sipp.result(timeout=30)
    finally:
        sipp.stop()
    assert final_response(result) == "200 OK"
    assert len(per_tag) == 2, f"rtpengine should know both legs, saw {per_tag}"
    assert min(per_tag.values()) >= 20, f"media must flow both ways, saw {per_tag}"
    _assert_anchored(result, farm.report("uk").calls[0], TEST_MEDIA_IP, s)
    with pytest.raises(NgFailure):  # after the BYE, rtpengine forgets the call
        ng.query(call_id)


def test_media_zone_selects_its_rtpengine(dataplane: Dataplane, farm: CarrierFarm,
                                          caller_factory: CallerFactory, zone2: Zone) -> None:
    src = _world_route(dataplane, farm, {"55": {"rtp_proxy": "zone2",
                                                "rtp_proxy_mode": "strict"}}, media=1)
    sipp = caller_factory(src).start("5544500", hold_ms=3000, media=True,
                                     media_port=free_port())
    try:
        call_id = call_id_of(sipp)
        per_tag = packets_both_ways(zone2.ng, call_id)
        result = sipp.result(timeout=30)
    finally:
        sipp.stop()
    assert final_response(result) == "200 OK"
    assert len(per_tag) == 2 and min(per_tag.values()) >= 20, per_tag
    _assert_anchored(result, farm.report("uk").calls[0], ZONE2_MEDIA_IP, zone2.settings)
    with pytest.raises(NgFailure):  # the local rtpengine never saw the call
        NgClient("127.0.0.1", dataplane.settings.rtpengine_ng_port, timeout=1.0).query(call_id)
    with pytest.raises(NgFailure):
        zone2.ng.query(call_id)


def _ack_time(result: SippResult) -> float:
    ack = _sent(result, "ACK")
    assert ack.time is not None
    return ack.time


def _far_bye_time(result: SippResult) -> float | None:
    byes = result.received("BYE")
    return byes[0].time if byes else None


def test_rtp_timeout_tears_down_only_routes_that_ask_for_it(
        dataplane: Dataplane, tmp_path: Path, caller_factory: CallerFactory) -> None:
    timeout = SESSION_RTP_TIMEOUT
    hold_ms = int((PCAP_SECONDS + timeout + 6) * 1000)
    with CarrierFarm(tmp_path / "carriers") as farm:
        talk = farm.add("talk", "answer", media=1)     # numbers 44...: media both ways
        mute = farm.add("mute", "answer")              # numbers 33...: no media at all
        w = dataplane.world()
        tariff = w.tariff([w.provider_card(w.carrier([talk]), {"44": "0.01"}),
                           w.provider_card(w.carrier([mute]), {"33": "0.01"})])
        src = dataplane.source_ip()
        customer = w.customer(ips_=[src])
        w.route(customer, tariff, tech_prefix="61", rtp_timeout=True)
        w.route(customer, tariff, tech_prefix="62", rtp_timeout=False)
        w.commit()
        dataplane.apply()
        caller = caller_factory(src)
        calls = {  # all three at once: the test lasts one hold
            "on, media stops": caller.start("6144601", hold_ms=hold_ms, media=True,
                                            media_port=free_port()),
            "off, media stops": caller.start("6244602", hold_ms=hold_ms, media=True,
                                             media_port=free_port()),
            "on, no media": caller.start("6133603", hold_ms=hold_ms, media_port=free_port()),
        }
        try:
            results = {name: sipp.result(timeout=hold_ms / 1000 + 20)
                       for name, sipp in calls.items()}
        finally:
            for sipp in calls.values():
                sipp.stop()
        carrier_calls = {c.ruri_user: c for name in ("talk", "mute")
                         for c in farm.report(name).calls}

    for name, result in results.items():
        assert final_response(result) == "200 OK", name
    # rtp_timeout on: BYE to both sides about `timeout` s after the last packet (the
    # media ends PCAP_SECONDS after the ACK; rtpengine checks once a second)
    for name, number, silent_from in (("on, media stops", "44601", PCAP_SECONDS),
                                      ("on, no media", "33603", 0.0)):
        result = results[name]
        bye = _far_bye_time(result)
        assert bye is not None, f"{name}: the customer got no BYE from the switch"
        after_ack = bye - _ack_time(result)
        assert silent_from + timeout - 1 <= after_ack <= silent_from + timeout + 3, (
            name, after_ack)
        carrier = carrier_calls[number]
        assert carrier.bye_time is not None and abs(carrier.bye_time - bye) < 1.0, name
        assert not any(m.direction == "sent" and m.first_line.startswith("BYE")
                       for m in result.messages), f"{name}: the switch hung up, not us"
    # rtp_timeout off: still up well after the timeout, ended by the customer's BYE
    result = results["off, media stops"]
    assert _far_bye_time(result) is None, "rtp_timeout off: the switch must not hang up"
    own_bye = _sent(result, "BYE")
    assert own_bye.time is not None
    assert own_bye.time - _ack_time(result) >= hold_ms / 1000 - 0.5
    assert carrier_calls["44602"].bye_time is not None
    assert carrier_calls["44602"].bye_time >= own_bye.time - 0.5
