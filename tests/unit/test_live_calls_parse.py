"""Reading Kamailio's dlg.list entries and rtpengine's query answers into live calls
(orchestrator/calls/dialogs.py, media.py). The entries are shaped as Kamailio 5.6 and
rtpengine 10.5 print them (captured on the test data plane, values shortened)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.calls.dialogs import parse
from orchestrator.calls.media import (
    FLOWING,
    NOT_AVAILABLE,
    SILENT,
    MediaReader,
    legs_of,
    state_of,
)
from orchestrator.rtpengine.ng import NgFailure, NgTimeout
from tests.support import dataplane as planes


def _answered() -> dict[str, Any]:
    return {
        "h_entry": 1404, "h_id": 5330, "call-id": "2-25845@127.0.1.1",
        "from_uri": "sip:+15551234@127.0.1.1:20717", "to_uri": "sip:4420123456@127.0.0.1",
        "state": 4, "start_ts": 1795690366, "init_ts": 1795690365,
        "caller": {"tag": "25845SIPpTag002", "cseq": "1"},
        "callee": {"tag": "25832SIPpTag012", "cseq": "0"},
        "variables": [
            {"ans": "7|12|0034420123456"}, {"ta": "1795690365.557842"},
            {"kc": "k7"}, {"rc": "r3"}, {"cc": "c5"},
            {"cdr": "1795690365.541934|2-25845@127.0.1.1|25845SIPpTag002|1|127.0.1.1|5|3|"
                    "<null>|%2B15551234|9%2A4420123456|4420123456|t3|proxy|0"},
            {"mset": "0"}, {"media": "proxy"}],
    }


def test_an_answered_call_is_read_from_its_dialog_variables() -> None:
    d = parse(_answered())
    assert d is not None
    assert (d.id, d.call_id, d.state) == ("1404.5330", "2-25845@127.0.1.1", "answered")
    assert (d.from_tag, d.to_tag, d.cseq) == ("25845SIPpTag002", "25832SIPpTag012", "1")
    assert d.started_at == 1795690365.541934 and d.answered_at == 1795690365.557842
    assert (d.customer_id, d.route_id, d.sip_user, d.source_ip) == (5, 3, None, "127.0.1.1")
    # caller and dialled are URI-escaped in the dialog variable
    assert (d.caller, d.dialled, d.number) == ("+15551234", "9*4420123456", "4420123456")
    assert (d.carrier_id, d.provider_card_id, d.routed_number) == (7, 12, "0034420123456")
    assert (d.media, d.media_set) == ("proxy", 0)


def test_a_ringing_call_names_the_carrier_being_tried() -> None:
    entry = _answered() | {"state": 2, "start_ts": 0,
                           "callee": {"tag": None, "cseq": None}}
    entry["variables"] = [v for v in entry["variables"] if not {"ans", "ta"} & set(v)]
    entry["variables"].append({"kc": "k9"})   # failed over from carrier 7 to 9
    entry["variables"] = [v for v in entry["variables"] if v != {"kc": "k7"}]
    d = parse(entry)
    assert d is not None
    assert (d.state, d.answered_at, d.to_tag) == ("ringing", None, "")
    assert (d.carrier_id, d.provider_card_id, d.routed_number) == (9, None, None)


def test_without_cdrs_the_counters_and_uris_still_name_the_call() -> None:
    """With the cdrs setting off there is no cdr/ans/ta variable."""
    entry = _answered()
    entry["variables"] = [{"kc": "k7"}, {"rc": "r3"}, {"cc": "c5"}, {"media": "direct"}]
    d = parse(entry)
    assert d is not None
    assert (d.customer_id, d.route_id, d.carrier_id) == (5, 3, 7)
    assert (d.caller, d.dialled) == ("+15551234", "4420123456")
    assert d.started_at == 1795690365.0 and d.answered_at == 1795690366.0
    assert (d.media, d.media_set) == ("direct", None)


def test_deleted_and_malformed_dialogs_are_not_calls() -> None:
    assert parse(_answered() | {"state": 5}) is None
    assert parse(_answered() | {"h_id": "x"}) is None
    assert parse(_answered() | {"call-id": ""}) is None
    assert parse({"variables": {}}) is None


def _stream(packets: int, last: int, rtcp: bool = False) -> dict[str, Any]:
    return {"flags": ["RTCP" if rtcp else "RTP", "filled"], "last packet": last,
            "stats": {"packets": packets, "bytes": packets * 172, "errors": 0}}


def _query(**tags: list[dict[str, Any]]) -> dict[str, Any]:
    return {"result": "ok", "tags": {tag: {"medias": [{"streams": streams}]}
                                     for tag, streams in tags.items()}}


def test_legs_count_rtp_only_and_age_from_the_last_packet() -> None:
    answer = _query(callee=[_stream(96, 1000), _stream(3, 1003, rtcp=True)],
                    caller=[_stream(10, 998), _stream(0, 1003, rtcp=True)],
                    tried=[_stream(0, 900)])
    legs = legs_of(answer, "caller", "callee", now=1004.0)
    assert [(x.side, x.tag, x.packets, x.bytes) for x in legs] == [
        ("caller", "caller", 10, 1720), ("callee", "callee", 96, 16512)]
    assert [x.last_packet_age for x in legs] == [6.0, 4.0]
    assert state_of(legs) == FLOWING            # the callee's packet 4 s ago
    assert state_of(legs_of(answer, "caller", "callee", now=1010.0)) == SILENT


def test_a_leg_without_packets_has_no_age_and_is_silent() -> None:
    """Before the first packet rtpengine's "last packet" is the stream's creation."""
    legs = legs_of(_query(caller=[_stream(0, 1000)]), "caller", "", now=1001.0)
    assert [(x.side, x.packets, x.last_packet_age) for x in legs] == [("caller", 0, None)]
    assert state_of(legs) == SILENT


class _Ng:
    """A stand-in ng client: answers query with ``answer`` or raises ``error``."""

    def __init__(self, answer: dict[str, Any] | None = None,
                 error: Exception | None = None) -> None:
        self.answer, self.error, self.asked = answer, error, 0
        self.address = "udp://127.0.0.1:1"

    def query(self, call_id: str) -> dict[str, Any]:
        self.asked += 1
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


def _reader(*clients: _Ng) -> MediaReader:
    reader = MediaReader(planes.test_settings(Path("/nonexistent")), now=1004.0)
    reader.clients = {0: list(clients)}  # type: ignore[arg-type]
    return reader


def test_a_call_rtpengine_dropped_is_silent_and_says_why() -> None:
    reader = _reader(_Ng(error=NgFailure("Unknown call-id", "query")))
    media = reader.media("proxy", 0, "c1", "caller", "callee")
    assert (media.state, media.legs) == (SILENT, [])
    assert "no longer relays this call" in media.note and "60 s" in media.note


def test_direct_media_and_a_dead_rtpengine_are_not_available() -> None:
    assert _reader().media("direct", None, "c1", "a", "b").state == NOT_AVAILABLE
    dead = _Ng(error=NgTimeout("udp://127.0.0.1:1", "no answer"))
    reader = _reader(dead)
    first = reader.media("proxy", 0, "c1", "a", "b")
    second = reader.media("proxy", 0, "c2", "a", "b")
    assert first.state == second.state == NOT_AVAILABLE
    assert "no answer" in second.note
    assert dead.asked == 1          # not asked again during the same listing
    assert _reader().media("proxy", 7, "c1", "a", "b").note == (
        "rtpengine set 7 is not configured here")


def test_a_proxied_call_reads_its_legs() -> None:
    answer = _query(caller=[_stream(50, 1003)], callee=[_stream(40, 1003)])
    media = _reader(_Ng(answer)).media("proxy", 0, "c1", "caller", "callee")
    assert media.state == FLOWING and [leg.packets for leg in media.legs] == [50, 40]
