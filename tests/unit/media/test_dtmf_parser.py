"""rtpengine's DTMF datagrams: parsed robustly, counted per call, bad ones dropped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from orchestrator.media.dtmf import BadDatagram, DtmfTally, parse_event

NOW = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
# as rtpengine 10.5 sent it (tests/integration/routing/test_dtmf.py)
SEEN = (b'{"callid":"cid-1","source_tag":"ft1","tags":["tt1","ft1"],"type":"DTMF",'
        b'"timestamp":1795669378,"source_ip":"127.0.0.1","event":1,"duration":100,'
        b'"volume":10}')


def datagram(**fields: object) -> bytes:
    base: dict[str, object] = {"callid": "cid-1", "source_tag": "ft1", "type": "DTMF",
                               "timestamp": 1795669378, "event": 5, "duration": 100}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


def test_rtpengine_event() -> None:
    event = parse_event(SEEN, NOW)
    assert event is not None
    assert (event.call_id, event.event, event.digit, event.source_tag) == ("cid-1", 1, "1",
                                                                          "ft1")
    assert event.duration_ms == 100
    assert event.at == datetime.fromtimestamp(1795669378, UTC)


@pytest.mark.parametrize(("code", "digit"), [(0, "0"), (9, "9"), (10, "*"), (11, "#"),
                                             (12, "A"), (15, "D"), (16, "?"), (255, "?")])
def test_event_codes(code: int, digit: str) -> None:
    event = parse_event(datagram(event=code), NOW)
    assert event is not None and event.digit == digit


def test_unknown_fields_and_missing_optional_ones() -> None:
    event = parse_event(datagram(extra={"x": [1]}, future="yes", type=None, timestamp=None,
                                 source_tag=None, duration=None), NOW)
    assert event is not None
    assert (event.call_id, event.digit, event.source_tag, event.duration_ms) == (
        "cid-1", "5", "", None)
    assert event.at == NOW  # no timestamp: the time it was received


def test_implausible_timestamp_uses_receive_time() -> None:
    for stamp in (0, -5, 99999999999, "1795669378", 1.5):
        event = parse_event(datagram(timestamp=stamp), NOW)
        assert event is not None and event.at == NOW


def test_other_types_are_not_dtmf() -> None:
    assert parse_event(datagram(type="tone"), NOW) is None


@pytest.mark.parametrize("data", [
    b"", b"not json", b"\xff\xfe", b"[1, 2]", b'"DTMF"', b"null", b"{",
    datagram(callid=None), datagram(callid=""), datagram(callid=42),
    datagram(callid="x" * 256), datagram(event=None), datagram(event="1"),
    datagram(event=True), datagram(event=-1), datagram(event=256), datagram(event=1.0),
    datagram(type=7),
])
def test_malformed(data: bytes) -> None:
    with pytest.raises(BadDatagram):
        parse_event(data, NOW)


def test_tally_counts_per_call_and_drops_bad_datagrams() -> None:
    tally = DtmfTally()
    for data in (datagram(event=1), datagram(event=2), b"garbage", datagram(type="x"),
                 datagram(callid="cid-2", event=11), datagram(event=3, timestamp=1795669390)):
        tally.feed(data, NOW)
    assert (tally.stats.datagrams, tally.stats.events, tally.stats.bad,
            tally.stats.ignored) == (6, 4, 1, 1)
    assert tally.pending == 4
    batch = tally.drain()
    assert {k: (v.events, v.digits) for k, v in batch.items()} == {
        "cid-1": (3, "123"), "cid-2": (1, "#")}
    assert batch["cid-1"].first_at < batch["cid-1"].last_at
    assert tally.pending == 0 and tally.drain() == {}


def test_restore_puts_a_failed_batch_before_later_events() -> None:
    tally = DtmfTally()
    tally.feed(datagram(event=1), NOW)
    failed = tally.drain()
    tally.feed(datagram(event=2), NOW)
    tally.feed(datagram(callid="cid-2", event=0), NOW)
    tally.restore(failed)
    batch = tally.drain()
    assert {k: (v.events, v.digits) for k, v in batch.items()} == {
        "cid-1": (2, "12"), "cid-2": (1, "0")}
