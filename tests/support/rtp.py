"""rtpengine's view of a call in tests: packets per leg, and the Call-ID a SIPp
customer used (the one rtpengine knows: Kamailio passes the customer's own Call-ID)."""

from __future__ import annotations

import time
from collections.abc import Callable

from orchestrator.rtpengine.ng import NgClient, NgFailure
from tests.support.sipp import Sipp


def stream_packets(query: dict[str, object]) -> dict[str, int]:
    """Packets rtpengine received per call leg (tag), summed over its streams."""
    per_tag: dict[str, int] = {}
    tags = query.get("tags", {})
    assert isinstance(tags, dict)
    for tag, info in tags.items():
        per_tag[tag] = sum(int(stream.get("stats", {}).get("packets", 0))
                           for media in info.get("medias", [])
                           for stream in media.get("streams", []))
    return per_tag


def wait_packets(ng: NgClient, call_id: str, done: Callable[[dict[str, int]], bool],
                 timeout: float) -> dict[str, int]:
    """rtpengine's packet counts per leg (tag) once done(counts) holds, or at timeout."""
    per_tag: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            per_tag = stream_packets(ng.query(call_id))
        except NgFailure:
            per_tag = {}
        if done(per_tag):
            break
        time.sleep(0.2)
    return per_tag


def packets_both_ways(ng: NgClient, call_id: str, timeout: float = 6.0) -> dict[str, int]:
    """rtpengine's packet counts per leg once both legs got >= 20 (or at timeout)."""
    return wait_packets(ng, call_id,
                        lambda per_tag: len(per_tag) == 2 and min(per_tag.values()) >= 20,
                        timeout)


def knows(ng: NgClient, call_id: str) -> bool:
    """Whether rtpengine has the call (the customer's Call-ID)."""
    try:
        ng.query(call_id)
    except NgFailure:
        return False
    return True


def forgotten(ng: NgClient, call_id: str, timeout: float) -> bool:
    """Whether rtpengine drops the call within timeout seconds."""
    deadline = time.monotonic() + timeout
    while knows(ng, call_id):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def call_id_of(sipp: Sipp, timeout: float = 5.0) -> str:
    """The Call-ID of the first INVITE a running customer SIPp sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        invites = [m for m in sipp.messages() if m.direction == "sent"
                   and m.first_line.startswith("INVITE")]
        if invites:
            return invites[0].call_id
        time.sleep(0.05)
    raise AssertionError("the customer sent no INVITE")
