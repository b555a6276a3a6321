"""The ng client against a scripted rtpengine stand-in on a local UDP socket.

Protocol-level checks of our client: cookies, stray answers, retries with the same
cookie, timeouts and error answers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from orchestrator.rtpengine.bencode import decode, encode
from orchestrator.rtpengine.ng import (
    NgClient,
    NgFailure,
    NgProtocolError,
    NgTimeout,
    NgUnreachable,
)

# What the stand-in answers: (cookie, request, n-th datagram received) -> datagrams.
Script = Callable[[bytes, dict[str, Any], int], list[bytes]]


def answer(cookie: bytes, reply: dict[str, Any]) -> bytes:
    return cookie + b" " + encode(reply)


@dataclass
class FakeRtpengine:
    script: Script
    sock: socket.socket = field(init=False)
    received: list[tuple[bytes, bytes]] = field(default_factory=list)  # (cookie, raw)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def requests(self) -> list[dict[str, Any]]:
        return [decode(raw) for _, raw in self.received]

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            cookie, _, raw = data.partition(b" ")
            self.received.append((cookie, raw))
            for datagram in self.script(cookie, decode(raw), len(self.received)):
                self.sock.sendto(datagram, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Script], FakeRtpengine]]:
    started: list[FakeRtpengine] = []

    def start(script: Script) -> FakeRtpengine:
        fake = FakeRtpengine(script)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.close()


def pong(cookie: bytes, request: dict[str, Any], n: int) -> list[bytes]:
    return [answer(cookie, {"result": "pong"})]


def test_ping_sends_the_ng_format(serve: Callable[[Script], FakeRtpengine]) -> None:
    fake = serve(pong)
    NgClient("127.0.0.1", fake.port).ping()
    assert fake.requests() == [{"command": "ping"}]
    cookie, raw = fake.received[0]
    assert raw == b"d7:command4:pinge"
    assert len(cookie) >= 8 and cookie.isalnum()


def test_every_request_gets_a_fresh_cookie(serve: Callable[[Script], FakeRtpengine]) -> None:
    fake = serve(pong)
    client = NgClient("127.0.0.1", fake.port)
    for _ in range(5):
        client.ping()
    cookies = [cookie for cookie, _ in fake.received]
    assert len(set(cookies)) == 5


def test_stray_and_late_answers_are_ignored(serve: Callable[[Script], FakeRtpengine]) -> None:
    def script(cookie: bytes, request: dict[str, Any], n: int) -> list[bytes]:
        return [
            answer(b"0123456789abcdef", {"result": "error", "error-reason": "not yours"}),
            b"garbage-without-a-space",
            cookie + b"X " + encode({"result": "error", "error-reason": "prefix only"}),
            answer(cookie, {"result": "ok", "calls": ["c1", "c2"]}),
        ]

    fake = serve(script)
    assert NgClient("127.0.0.1", fake.port).list_calls(limit=5) == ["c1", "c2"]
    assert fake.requests() == [{"command": "list", "limit": 5}]


def test_a_lost_answer_is_retried_with_the_same_cookie(
        serve: Callable[[Script], FakeRtpengine]) -> None:
    def script(cookie: bytes, request: dict[str, Any], n: int) -> list[bytes]:
        return [] if n < 3 else [answer(cookie, {"result": "pong"})]  # answers the 3rd

    fake = serve(script)
    NgClient("127.0.0.1", fake.port, timeout=0.2, retries=2).ping()
    assert len(fake.received) == 3
    assert len({cookie for cookie, _ in fake.received}) == 1
    assert len({raw for _, raw in fake.received}) == 1


def test_a_late_answer_to_the_first_try_is_taken(
        serve: Callable[[Script], FakeRtpengine]) -> None:
    def script(cookie: bytes, request: dict[str, Any], n: int) -> list[bytes]:
        if n == 1:
            time.sleep(0.25)  # answers the first try after the client's timeout
            return [answer(cookie, {"result": "pong"})]
        return []

    fake = serve(script)
    NgClient("127.0.0.1", fake.port, timeout=0.15, retries=5).ping()
    assert len({cookie for cookie, _ in fake.received}) == 1
    assert len(fake.received) < 6     # taken before the client used up its tries


def test_no_answer_raises_ng_timeout_after_every_try(
        serve: Callable[[Script], FakeRtpengine]) -> None:
    fake = serve(lambda cookie, request, n: [])
    client = NgClient("127.0.0.1", fake.port, timeout=0.2, retries=2)
    start = time.monotonic()
    with pytest.raises(NgTimeout) as caught:
        client.ping()
    elapsed = time.monotonic() - start
    assert 0.55 <= elapsed < 1.5
    time.sleep(0.05)
    assert len(fake.received) == 3
    assert len({cookie for cookie, _ in fake.received}) == 1
    assert f"udp://127.0.0.1:{fake.port}" in str(caught.value)
    assert caught.value.reason == "no answer to ping within 0.2 s (3 tries)"


def test_stray_answers_do_not_extend_the_timeout(
        serve: Callable[[Script], FakeRtpengine]) -> None:
    def script(cookie: bytes, request: dict[str, Any], n: int) -> list[bytes]:
        stray = answer(b"feedfeedfeedfeed", {"result": "pong"})
        return [stray] * 3

    fake = serve(script)
    start = time.monotonic()
    with pytest.raises(NgTimeout):
        NgClient("127.0.0.1", fake.port, timeout=0.2, retries=0).ping()
    assert time.monotonic() - start < 0.6


def test_error_result_raises_ng_failure_with_the_reason(
        serve: Callable[[Script], FakeRtpengine]) -> None:
    def script(cookie: bytes, request: dict[str, Any], n: int) -> list[bytes]:
        return [answer(cookie, {"result": "error", "error-reason": "Unknown call-id"})]

    fake = serve(script)
    with pytest.raises(NgFailure) as caught:
        NgClient("127.0.0.1", fake.port).query("abc", from_tag="t1")
    assert caught.value.reason == "Unknown call-id"
    assert caught.value.command == "query"
    assert fake.requests() == [{"command": "query", "call-id": "abc", "from-tag": "t1"}]
    assert len(fake.received) == 1  # an error answer is final: no retry


@pytest.mark.parametrize(
    "body",
    [b"not bencode", b"le", b"d6:result5:maybee", b"d4:calls0:e"],
    ids=["undecodable", "not-a-dict", "unknown-result", "no-result"],
)
def test_bad_answers_with_our_cookie_raise_protocol_error(
        serve: Callable[[Script], FakeRtpengine], body: bytes) -> None:
    fake = serve(lambda cookie, request, n: [cookie + b" " + body])
    with pytest.raises(NgProtocolError):
        NgClient("127.0.0.1", fake.port, retries=0).list_calls()


def test_ping_answered_ok_instead_of_pong_is_a_protocol_error(
        serve: Callable[[Script], FakeRtpengine]) -> None:
    fake = serve(lambda cookie, request, n: [answer(cookie, {"result": "ok"})])
    with pytest.raises(NgProtocolError, match="ping"):
        NgClient("127.0.0.1", fake.port).ping()


def test_statistics_and_delete(serve: Callable[[Script], FakeRtpengine]) -> None:
    def script(cookie: bytes, request: dict[str, Any], n: int) -> list[bytes]:
        if request["command"] == "statistics":
            stats = {"currentstatistics": {"sessionsown": 3}, "totalstatistics": {"uptime": "9"}}
            return [answer(cookie, {"result": "ok", "statistics": stats})]
        return [answer(cookie, {"result": "ok", "warning": "Call-ID not found"})]

    fake = serve(script)
    client = NgClient("127.0.0.1", fake.port)
    stats = client.statistics()
    assert stats["currentstatistics"]["sessionsown"] == 3
    assert stats["totalstatistics"]["uptime"] == "9"
    reply = client.delete("c1", from_tag="f", to_tag="t")
    assert reply["warning"] == "Call-ID not found"
    assert fake.requests()[1] == {"command": "delete", "call-id": "c1", "from-tag": "f",
                                  "to-tag": "t"}


def test_closed_port_raises_unreachable_at_once() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(NgUnreachable) as caught:
        NgClient("127.0.0.1", port, timeout=1.0, retries=2).ping()
    assert time.monotonic() - start < 0.5
    assert caught.value.address == f"udp://127.0.0.1:{port}"


def test_invalid_timeout_is_refused() -> None:
    with pytest.raises(ValueError):
        NgClient("127.0.0.1", 2223, timeout=0)
