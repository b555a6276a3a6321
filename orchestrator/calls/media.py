"""The media of live calls as rtpengine sees it (ng ``query`` by Call-ID).

Kamailio offers a proxied call to the rtpengine set of its route's media zone
($dlg_var(mset): 0 = the local rtpengine, N = the zone Settings.media_zone_sets()
numbers N), under the customer's own Call-ID. rtpengine answers, per leg (its "tags":
the caller's From tag, the callee's To tag), its streams with packet/byte counters and
the unix time of the last packet received.

A call's media state:
- ``flowing``  rtpengine received RTP of the call within the last FLOWING_SECONDS
- ``silent``   rtpengine relays the call but nothing arrived lately (or ever), or
  no longer relays it (it drops a call after ``rtp_timeout`` seconds without media;
  the call stays up when its route has rtp_timeout off)
- ``n/a``      direct media (rtpengine never sees it), or rtpengine could not tell
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from orchestrator.rtpengine.ng import NgClient, NgError, NgFailure, NgUnanswered
from orchestrator.settings import Settings

FLOWING = "flowing"
SILENT = "silent"
NOT_AVAILABLE = "n/a"
FLOWING_SECONDS = 5.0   # RTP packets come every 20 ms: 5 s without one is silence
NG_TIMEOUT = 0.5        # per query; a zone that does not answer is asked once per listing


@dataclass(frozen=True)
class Leg:
    """One side of the call in rtpengine: what it received from that side."""

    side: str                   # "caller" | "callee"
    tag: str
    packets: int
    bytes: int
    last_packet_age: float | None   # seconds since the last packet; None: none yet

    def to_dict(self) -> dict[str, Any]:
        age = None if self.last_packet_age is None else round(self.last_packet_age, 1)
        return {"side": self.side, "tag": self.tag, "packets": self.packets,
                "bytes": self.bytes, "last_packet_age": age}


@dataclass(frozen=True)
class Media:
    mode: str                   # proxy | direct | late | "" (unknown)
    state: str                  # FLOWING | SILENT | NOT_AVAILABLE
    legs: list[Leg] = field(default_factory=list)
    note: str = ""              # why the state is n/a, when it is not plain direct media

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode or None, "state": self.state,
                "legs": [leg.to_dict() for leg in self.legs], "note": self.note or None}


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def legs_of(answer: dict[str, Any], from_tag: str, to_tag: str, now: float) -> list[Leg]:
    """The legs of an ng ``query`` answer: RTP streams only (RTCP left out), the
    caller's leg first. With a callee known (``to_tag``), the legs of carriers that
    were tried before and failed are left out."""
    tags = answer.get("tags")
    legs: list[Leg] = []
    for tag, info in (tags.items() if isinstance(tags, dict) else ()):
        tag = str(tag)
        if to_tag and tag not in (from_tag, to_tag):
            continue
        packets = octets = 0
        last: float | None = None
        medias = info.get("medias", []) if isinstance(info, dict) else []
        for media in medias if isinstance(medias, list) else []:
            for stream in media.get("streams", []) if isinstance(media, dict) else []:
                if not isinstance(stream, dict) or "RTCP" in stream.get("flags", []):
                    continue
                stats = stream.get("stats", {}) if isinstance(stream.get("stats"), dict) \
                    else {}
                got = _as_int(stats.get("packets"))
                packets += got
                octets += _as_int(stats.get("bytes"))
                # before the first packet "last packet" is the stream's creation time
                if got and _as_int(stream.get("last packet")):
                    last = max(last or 0.0, float(_as_int(stream.get("last packet"))))
        side = "caller" if tag == from_tag else "callee"
        age = None if last is None else max(0.0, now - last)
        legs.append(Leg(side, tag, packets, octets, age))
    legs.sort(key=lambda leg: (leg.side != "caller", leg.tag))
    return legs


def state_of(legs: list[Leg]) -> str:
    """FLOWING when any leg had a packet within FLOWING_SECONDS, else SILENT."""
    recent = [leg for leg in legs if leg.last_packet_age is not None
              and leg.last_packet_age <= FLOWING_SECONDS]
    return FLOWING if recent else SILENT


def zone_clients(settings: Settings) -> dict[int, list[NgClient]]:
    """The ng clients of each rtpengine set Kamailio uses: 0 = the local rtpengine,
    then each media zone's sockets ("udp:host:port", several = one set)."""
    clients = {0: [NgClient("127.0.0.1", settings.rtpengine_ng_port, timeout=NG_TIMEOUT,
                            retries=0)]}
    for name, set_id in settings.media_zone_sets().items():
        if name == "auto":
            continue
        found = []
        for socket in settings.media_zones.get(name, "").split():
            host, _, port = socket.split(":", 1)[1].rpartition(":")
            found.append(NgClient(host.strip("[]"), int(port), timeout=NG_TIMEOUT, retries=0))
        clients[set_id] = found
    return clients


class MediaReader:
    """Asks the right rtpengine about each call of one listing; a set that does not
    answer is not asked again during that listing."""

    def __init__(self, settings: Settings, now: float | None = None) -> None:
        self.clients = zone_clients(settings)
        self.forgotten = ("rtpengine no longer relays this call: it drops a call that had "
                          f"no media for {settings.rtp_timeout} s")
        self.now = time.time() if now is None else now
        self._down: dict[str, str] = {}   # ng address -> why

    def media(self, mode: str, media_set: int | None, call_id: str, from_tag: str,
              to_tag: str) -> Media:
        if mode != "proxy":
            note = "" if mode == "direct" else (
                "late offer: not anchored yet" if mode == "late" else "media unknown")
            return Media(mode, NOT_AVAILABLE, note=note)
        clients = self.clients.get(media_set if media_set is not None else 0)
        if not clients:
            return Media(mode, NOT_AVAILABLE,
                         note=f"rtpengine set {media_set} is not configured here")
        problems = []
        for client in clients:
            if client.address in self._down:
                problems.append(self._down[client.address])
                continue
            try:
                answer = client.query(call_id)
            except NgFailure as exc:
                if "unknown call" in exc.reason.casefold():
                    # proxied, yet rtpengine has no relay for it: no audio can flow
                    return Media(mode, SILENT, note=self.forgotten)
                problems.append(f"rtpengine refused the query ({exc.reason})")
                continue
            except NgUnanswered as exc:
                self._down[client.address] = str(exc)
                problems.append(str(exc))
                continue
            except NgError as exc:
                problems.append(str(exc))
                continue
            legs = legs_of(answer, from_tag, to_tag, self.now)
            return Media(mode, state_of(legs), legs)
        return Media(mode, NOT_AVAILABLE, note="; ".join(problems))
