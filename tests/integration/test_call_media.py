"""A call from a SIPp customer through Kamailio to a SIPp carrier, media via rtpengine."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from orchestrator.rtpengine.ng import NgClient, NgFailure
from tests.support.dataplane import TEST_MEDIA_IP, Dataplane
from tests.support.ports import free_port
from tests.support.sipp import Sipp

pytestmark = pytest.mark.integration


def _stream_packets(query: dict[str, object]) -> dict[str, int]:
    """Packets rtpengine received per call leg (tag), summed over its streams."""
    per_tag: dict[str, int] = {}
    tags = query.get("tags", {})
    assert isinstance(tags, dict)
    for tag, info in tags.items():
        total = 0
        for media in info.get("medias", []):
            for stream in media.get("streams", []):
                total += int(stream.get("stats", {}).get("packets", 0))
        per_tag[tag] = total
    return per_tag


def test_call_with_media_anchored_by_rtpengine(dataplane: Dataplane, tmp_path: Path) -> None:
    s = dataplane.settings
    ng = NgClient("127.0.0.1", s.rtpengine_ng_port, timeout=1.0)
    call_id = f"media-{uuid.uuid4().hex[:8]}"
    uas = Sipp("uas_rtp.xml", tmp_path, port=dataplane.destination_port,
               media_port=free_port()).start()
    time.sleep(0.3)
    uac = Sipp("uac_rtp.xml", tmp_path, port=free_port(), media_port=free_port(),
               target=f"{s.sip_ip}:{s.sip_port}", call_duration_ms=3000,
               call_id=call_id).start()
    try:
        # while the call is up, rtpengine relays media in both directions
        per_tag: dict[str, int] = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                per_tag = _stream_packets(ng.query(call_id))
            except NgFailure:
                per_tag = {}
            if len(per_tag) == 2 and min(per_tag.values()) >= 20:
                break
            time.sleep(0.2)
        caller = uac.result(timeout=30)
        callee = uas.result(timeout=10)
    finally:
        uac.stop()
        uas.stop()

    assert caller.exit_code == 0, caller.errors
    assert callee.exit_code == 0, callee.errors
    assert len(per_tag) == 2, f"rtpengine should know both legs, saw {per_tag}"
    assert min(per_tag.values()) >= 20, f"media must flow both ways, saw {per_tag}"

    # Each side sees rtpengine's address and a port of its range in the other's SDP.
    (answer,) = caller.received("SIP/2.0 200")[:1]
    (offer,) = callee.received("INVITE")
    for message in (answer, offer):
        media = message.media()
        assert media, message.text
        for address, port in media:
            assert address == TEST_MEDIA_IP
            assert s.rtp_port_min <= port <= s.rtp_port_max
    assert "127.0.0.1" not in offer.body.split("m=audio")[0].split("c=IN")[1]

    # After BYE, rtpengine forgets the call.
    with pytest.raises(NgFailure):
        ng.query(call_id)
