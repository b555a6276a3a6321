"""Issue 6, early media: a carrier's 183 with SDP reaches the customer with the media
anchored and its ringback flows; when that carrier then fails, the next carrier's
early media and answer work in the same call (rtpengine keeps the call, one answer
per carrier leg).

Customers call from 127.0.x.y, carriers answer on 127.0.0.1, the local rtpengine
relays on TEST_MEDIA_IP: an SDP address tells who wrote it.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest

from orchestrator.rtpengine.ng import NgClient
from tests.support.carriers import CarrierFarm, customer_tag, from_tag
from tests.support.dataplane import TEST_MEDIA_IP, Dataplane
from tests.support.rtp import call_id_of, forgotten, wait_packets
from tests.support.sipp import SipMessage, Sipp

if TYPE_CHECKING:
    from tests.integration.routing.conftest import CallerFactory

pytestmark = pytest.mark.integration


def _to_tag(message: SipMessage) -> str:
    found = re.search(r";\s*tag=([^;>\s]+)", message.header("To") or message.header("t") or "")
    return found.group(1) if found else ""


def _wait_packets(ng: NgClient, call_id: str, tags: list[str], timeout: float) -> dict[str, int]:
    """rtpengine's packets per leg once each of tags got >= 20 (or at timeout)."""
    return wait_packets(ng, call_id, lambda per_tag: all(per_tag.get(t, 0) >= 20 for t in tags),
                        timeout)


def _received(sipp: Sipp, first_line: str) -> list[SipMessage]:
    return [m for m in sipp.messages()
            if m.direction == "received" and m.first_line.startswith(first_line)]


def _wait_received(sipp: Sipp, first_line: str, count: int, timeout: float) -> list[SipMessage]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = _received(sipp, first_line)
        if len(got) >= count:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{first_line!r} x{count} not received in {timeout} s")


def test_failover_after_early_media(dataplane: Dataplane, farm: CarrierFarm,
                                    caller_factory: CallerFactory) -> None:
    """Carrier 1 sends 183 + ringback, then 503; carrier 2 sends 183 + ringback, then
    answers: the customer gets both 183s and the 200 with the media proxy's address,
    hears each carrier's early media, and talks to carrier 2."""
    farm.add("first", "early", code=503, delay_ms=2500, media=1)
    farm.add("second", "early_answer", delay_ms=2500, media=1)
    w = dataplane.world()
    cards = [w.provider_card(w.carrier([farm.port(name)]), {"44": cost})
             for name, cost in (("first", "0.01"), ("second", "0.02"))]
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src]), w.tariff(cards))
    w.commit()
    dataplane.apply()
    ng = NgClient("127.0.0.1", dataplane.settings.rtpengine_ng_port, timeout=1.0)

    sipp = caller_factory(src).start("4472000001", hold_ms=4000, media=True)
    try:
        call_id = call_id_of(sipp)
        (early1,) = _wait_received(sipp, "SIP/2.0 183", 1, timeout=5)
        ringback1 = _wait_packets(ng, call_id, [_to_tag(early1)], timeout=2)
        early2 = _wait_received(sipp, "SIP/2.0 183", 2, timeout=5)[1]
        ringback2 = _wait_packets(ng, call_id, [_to_tag(early2)], timeout=2)
        (answer,) = _wait_received(sipp, "SIP/2.0 200", 1, timeout=5)
        talk = _wait_packets(ng, call_id, [from_tag(answer), _to_tag(answer)], timeout=4)
        result = sipp.result(timeout=30)
    finally:
        sipp.stop()

    assert result.exit_code == 0, result.errors
    assert _to_tag(early1) != _to_tag(early2) == _to_tag(answer)
    for message in (early1, early2, answer):                  # media anchored throughout
        assert [ip for ip, _ in message.media()] == [TEST_MEDIA_IP], message.text
    assert ringback1.get(_to_tag(early1), 0) >= 20, ringback1  # carrier 1's ringback
    assert ringback2.get(_to_tag(early2), 0) >= 20, ringback2  # carrier 2's ringback
    assert talk.get(from_tag(answer), 0) >= 20 and talk.get(_to_tag(answer), 0) >= 20, talk

    tag = customer_tag(result.messages)
    assert farm.who_got(tag) == ["first", "second"]
    second = farm.report("second").call(tag)
    assert second is not None and second.answered and second.bye is not None
    assert [ip for ip, _ in second.invite.media()] == [TEST_MEDIA_IP]
    first = farm.report("first").call(tag)
    assert first is not None and first.responses_sent[-1].startswith("503")
    assert first.cancel is None
    # the BYE freed every leg of the call, the failed carrier's included
    assert forgotten(ng, call_id, timeout=3.0), "rtpengine still has the call"

