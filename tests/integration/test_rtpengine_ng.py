"""The ng client against the real rtpengine of ``dataplane``."""

from __future__ import annotations

import socket
import uuid

import pytest

from orchestrator.rtpengine.bencode import decode, encode
from orchestrator.rtpengine.ng import NgClient, NgFailure
from tests.support.dataplane import Dataplane

pytestmark = pytest.mark.integration

SDP = (
    "v=0\r\n"
    "o=- 1545997027 1 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 30000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
)


@pytest.fixture
def ng(dataplane: Dataplane) -> NgClient:
    return NgClient("127.0.0.1", dataplane.settings.rtpengine_ng_port, timeout=1.0)


def test_ping(ng: NgClient) -> None:
    ng.ping()


def test_query_of_an_unknown_call_raises_failure(ng: NgClient) -> None:
    with pytest.raises(NgFailure) as caught:
        ng.query(f"no-such-call-{uuid.uuid4().hex}")
    assert "unknown call" in caught.value.reason.lower()
    assert caught.value.command == "query"


def test_statistics(ng: NgClient) -> None:
    stats = ng.statistics()
    current = stats["currentstatistics"]
    assert isinstance(current["sessionsown"], int) and current["sessionsown"] >= 0
    assert int(stats["totalstatistics"]["uptime"]) >= 0


def test_unknown_command_raises_failure(ng: NgClient) -> None:
    with pytest.raises(NgFailure, match="Unrecognized command"):
        ng.request("no such command")


def test_call_lifecycle_offer_list_query_delete(ng: NgClient,
                                                dataplane: Dataplane) -> None:
    call_id, from_tag = f"ng-{uuid.uuid4().hex[:12]}", "caller-tag"
    offer = ng.request("offer", {"call-id": call_id, "from-tag": from_tag, "sdp": SDP,
                                 "replace": ["origin", "session-connection"]})
    assert offer["result"] == "ok"
    assert f"c=IN IP4 {dataplane.settings.media_ip}" in offer["sdp"]
    try:
        assert call_id in ng.list_calls(limit=1000)
        query = ng.query(call_id)
        assert from_tag in query["tags"]
        assert ng.statistics()["currentstatistics"]["sessionsown"] >= 1
    finally:
        deleted = ng.delete(call_id, from_tag=from_tag)
    assert deleted["result"] == "ok"
    assert call_id not in ng.list_calls(limit=1000)
    with pytest.raises(NgFailure, match="Unknown call-id"):
        ng.query(call_id)


def test_delete_of_an_unknown_call_is_ok_with_a_warning(ng: NgClient) -> None:
    reply = ng.delete(f"no-such-call-{uuid.uuid4().hex}")
    assert reply["result"] == "ok"
    assert "not found" in reply["warning"]


def test_rtpengine_answers_a_repeated_cookie_from_its_cache(dataplane: Dataplane) -> None:
    """Why the client retries with the same cookie: a resent request is not re-run."""
    cookie = uuid.uuid4().hex[:16].encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.connect(("127.0.0.1", dataplane.settings.rtpengine_ng_port))
        sock.send(cookie + b" " + encode({"command": "ping"}))
        first = sock.recv(65535)
        # same cookie, different command: the cached "pong" comes back
        sock.send(cookie + b" " + encode({"command": "query", "call-id": "x"}))
        second = sock.recv(65535)
    assert first == second
    assert decode(first.partition(b" ")[2]) == {"result": "pong"}
