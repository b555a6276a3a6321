"""The DTMF collector: rtpengine's DTMF events (UDP, JSON) counted per call.

rtpengine (``dtmf-log-dest = 127.0.0.1:<dtmf_port>``) sends one JSON object per RFC
2833/4733 telephone event of a call whose media it relays, when the event ends. Seen
from rtpengine 10.5 (one datagram per digit, end packet retransmissions folded)::

    {"callid":"...","source_tag":"...","tags":["...","..."],"type":"DTMF",
     "timestamp":1795669378,"source_ip":"127.0.0.1","event":1,"duration":100,
     "volume":10}

``event`` is the RFC 4733 event code (0-9, 10 ``*``, 11 ``#``, 12-15 ``A``-``D``),
``duration`` milliseconds, ``timestamp`` epoch seconds. Calls whose media flows
directly never reach rtpengine, so they have no events.

The collector never sits on the call path: it only reads what rtpengine sends.
Datagrams that are not such an object are counted as bad and dropped; fields it does
not know are ignored. Counts are written in batches (``flush_seconds`` or
``max_pending`` events, whichever comes first), one transaction per batch; when the
write fails the batch is kept and retried with the next one. A datagram ``ping`` is
answered ``pong`` (the stack's readiness probe).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

log = logging.getLogger(__name__)

EVENT_DIGITS = "0123456789*#ABCD"
UNKNOWN_DIGIT = "?"  # events 16-255 (flash, tones): counted, shown as "?"
PING, PONG = b"ping", b"pong"
MAX_DATAGRAM = 65535
MAX_CALL_ID = 255
BAD_LOGGED = 20  # bad datagrams logged one by one; after that only counted


class BadDatagram(ValueError):
    """A datagram that is not one of rtpengine's DTMF event objects."""


@dataclass(frozen=True)
class DtmfEvent:
    call_id: str
    event: int
    at: datetime
    source_tag: str = ""
    duration_ms: int | None = None

    @property
    def digit(self) -> str:
        return EVENT_DIGITS[self.event] if self.event < len(EVENT_DIGITS) else UNKNOWN_DIGIT


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_event(data: bytes, received: datetime | None = None) -> DtmfEvent | None:
    """The event of one datagram; None for a well-formed object of another ``type``.

    Raises BadDatagram when the datagram is not a JSON object with a non-empty string
    ``callid`` and an integer ``event`` 0-255. ``at`` is rtpengine's ``timestamp`` when
    it is a plausible epoch second, else ``received`` (default: now).
    """
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadDatagram(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise BadDatagram(f"not a JSON object but {type(obj).__name__}")
    kind = obj.get("type", "DTMF")
    if kind != "DTMF":
        if isinstance(kind, str):
            return None
        raise BadDatagram(f"type is {kind!r}")
    call_id = obj.get("callid")
    if not isinstance(call_id, str) or not call_id or len(call_id) > MAX_CALL_ID:
        raise BadDatagram(f"callid is {call_id!r:.80}")
    event = _int(obj.get("event"))
    if event is None or not 0 <= event <= 255:
        raise BadDatagram(f"event is {obj.get('event')!r:.40}")
    stamp = _int(obj.get("timestamp"))
    if stamp is not None and 946684800 <= stamp <= 4102444800:  # 2000..2100
        at = datetime.fromtimestamp(stamp, UTC)
    else:
        at = received or datetime.now(UTC)
    tag = obj.get("source_tag")
    return DtmfEvent(call_id, event, at, tag if isinstance(tag, str) else "",
                     _int(obj.get("duration")))


@dataclass
class CallTally:
    """DTMF of one call since the last flush."""

    events: int
    digits: str
    first_at: datetime
    last_at: datetime


@dataclass
class Stats:
    datagrams: int = 0
    events: int = 0
    bad: int = 0
    ignored: int = 0  # well-formed, not DTMF
    flushes: int = 0
    flush_errors: int = 0


@dataclass
class DtmfTally:
    """Events per call, waiting to be written."""

    calls: dict[str, CallTally] = field(default_factory=dict)
    pending: int = 0
    stats: Stats = field(default_factory=Stats)

    def feed(self, data: bytes, received: datetime | None = None) -> DtmfEvent | None:
        """Count one datagram: an event, ignored, or bad (never raises)."""
        self.stats.datagrams += 1
        try:
            event = parse_event(data, received)
        except BadDatagram as exc:
            self.stats.bad += 1
            if self.stats.bad <= BAD_LOGGED:
                log.warning("bad DTMF datagram (%s): %r", exc, data[:120])
            return None
        if event is None:
            self.stats.ignored += 1
        else:
            self.add(event)
        return event

    def add(self, event: DtmfEvent) -> None:
        self.stats.events += 1
        self.pending += 1
        tally = self.calls.get(event.call_id)
        if tally is None:
            self.calls[event.call_id] = CallTally(1, event.digit, event.at, event.at)
        else:
            tally.events += 1
            tally.digits += event.digit
            tally.last_at = event.at

    def drain(self) -> dict[str, CallTally]:
        batch, self.calls, self.pending = self.calls, {}, 0
        return batch

    def restore(self, batch: Mapping[str, CallTally]) -> None:
        """Put back a batch that could not be written, before what came since."""
        merged = dict(batch)
        for call_id, later in self.calls.items():
            earlier = merged.get(call_id)
            merged[call_id] = later if earlier is None else CallTally(
                earlier.events + later.events, earlier.digits + later.digits,
                earlier.first_at, later.last_at)
        self.calls = merged
        self.pending = sum(t.events for t in merged.values())


Sink = Callable[[Mapping[str, CallTally]], None]


class DtmfCollector:
    """Receives rtpengine's DTMF datagrams on ``host:port`` and hands the counts per
    call to ``sink`` in batches. ``bind()``, then ``run(stop)`` (or ``start()``/
    ``close()`` for a thread)."""

    def __init__(self, host: str, port: int, sink: Sink, flush_seconds: float = 1.0,
                 max_pending: int = 1000) -> None:
        self.host, self.port, self.sink = host, port, sink
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.tally = DtmfTally()
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stats(self) -> Stats:
        return self.tally.stats

    def bind(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self._sock = sock

    def flush(self) -> None:
        batch = self.tally.drain()
        if not batch:
            return
        try:
            self.sink(batch)
        except Exception:  # the database may be down: keep the counts, retry later
            self.stats.flush_errors += 1
            log.exception("writing DTMF counts of %d call(s) failed; kept for retry",
                          len(batch))
            self.tally.restore(batch)
        else:
            self.stats.flushes += 1

    def run(self, stop: threading.Event | None = None) -> None:
        """Receive until ``stop`` is set; flush what is left, then close the socket."""
        if self._sock is None:
            self.bind()
        sock = self._sock
        assert sock is not None
        stop = stop or self._stop
        next_flush = time.monotonic() + self.flush_seconds
        try:
            while not stop.is_set():
                sock.settimeout(max(0.01, min(0.2, next_flush - time.monotonic())))
                try:
                    data, peer = sock.recvfrom(MAX_DATAGRAM)
                except (TimeoutError, ConnectionError):
                    data, peer = b"", None
                if data.strip() == PING and peer is not None:
                    sock.sendto(PONG, peer)
                elif data:
                    self.tally.feed(data)
                if (time.monotonic() >= next_flush
                        or self.tally.pending >= self.max_pending):
                    self.flush()
                    next_flush = time.monotonic() + self.flush_seconds
        finally:
            self.flush()
            sock.close()
            self._sock = None

    def start(self) -> DtmfCollector:
        """Bind now and run in a daemon thread (tests, embedding)."""
        self.bind()
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="dtmf-collector", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread started by start(); its last batch is flushed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a collector answers on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(PING, (host, port))
            return sock.recv(16) == PONG
        except OSError:
            return False
