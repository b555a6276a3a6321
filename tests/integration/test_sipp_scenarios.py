"""The SIPp scenarios and tests.support.carriers against each other, without a proxy:
a customer UAC (uac_*.xml) calls carrier UAS processes (uas_*.xml) on loopback."""

from __future__ import annotations

import socket
import time
from hashlib import md5
from pathlib import Path

import pytest

from tests.support.carriers import CarrierFarm
from tests.support.ports import free_port
from tests.support.procs import sip_options
from tests.support.sipp import (
    SippResult,
    final_response,
    final_responses,
    requests_received,
    responses_sent,
    scenario_with_code,
    significant_errors,
    uac,
)

pytestmark = pytest.mark.integration

NUMBER = "0049301234567"


def _call(tmp_path: Path, target: str, timeout: float = 20, **kwargs: object) -> SippResult:
    sipp = uac(tmp_path, target, str(kwargs.pop("number", NUMBER)), port=free_port(),
               media_port=free_port(), **kwargs)  # type: ignore[arg-type]
    sipp.start()
    try:
        return sipp.result(timeout=timeout)
    finally:
        sipp.terminate()


def _digest(username: str, realm: str, password: str, method: str, uri: str,
            nonce: str) -> str:
    def h(text: str) -> str:
        return md5(text.encode()).hexdigest()

    return h(f"{h(f'{username}:{realm}:{password}')}:{nonce}:{h(f'{method}:{uri}')}")


def _params(header: str) -> dict[str, str]:
    fields = header.split(" ", 1)[1]
    return {k.strip(): v.strip().strip('"')
            for k, _, v in (part.partition("=") for part in fields.split(","))}


def test_answered_call_then_uac_hangs_up(tmp_path: Path) -> None:
    with CarrierFarm(tmp_path) as farm:
        farm.add("gw", "answer", ring_ms=100, answer_ms=200)
        started = time.time()
        result = _call(tmp_path, farm.address("gw"), hold_ms=400)
        report = farm.report("gw")

    assert result.exit_code == 0, significant_errors(result)
    assert final_response(result) == "200 OK"
    assert report.invites == 1
    assert report.ruri_users == [NUMBER]
    (call,) = report.calls
    assert call.responses_sent == ["100 Trying", "180 Ringing", "200 OK"]
    assert call.invite_time is not None and call.bye_time is not None
    assert started - 1 < call.invite_time < call.bye_time
    # 200 after ~200 ms, then held ~400 ms (50 ms steps) before the BYE
    assert 0.55 <= call.bye_time - call.invite_time <= 1.2
    assert call.cancel is None and not call.sent_bye


@pytest.mark.parametrize(("code", "reason"), [
    (503, "Service Unavailable"),
    (486, "Busy Here"),
    (404, "Not Found"),
    (403, "Blocked by Dial String"),
    (408, "Request Timeout"),
])
def test_rejected_call_reports_code_and_reason(tmp_path: Path, code: int, reason: str) -> None:
    with CarrierFarm(tmp_path) as farm:
        farm.add("gw", "reject", code=code, reason=reason)
        result = _call(tmp_path, farm.address("gw"))
        report = farm.report("gw")

    assert final_response(result) == f"{code} {reason}"
    assert result.exit_code != 0  # SIPp counts a refused call as failed
    assert "Aborting call on unexpected message" in result.errors
    # SIPp ACKed the final response itself, in the INVITE's transaction
    invite = next(m for m in result.messages if m.direction == "sent" and m.method == "INVITE")
    ack = next(m for m in result.messages if m.direction == "sent" and m.method == "ACK")
    assert ack.header("Via") == invite.header("Via")
    (call,) = report.calls
    assert call.responses_sent == ["100 Trying", f"{code} {reason}"]
    assert requests_received(call.messages, "ACK")


def test_far_end_bye_during_hold_is_accepted(tmp_path: Path) -> None:
    with CarrierFarm(tmp_path) as farm:
        farm.add("gw", "answer", hangup_ms=300)
        t0 = time.monotonic()
        result = _call(tmp_path, farm.address("gw"), hold_ms=10_000)
        elapsed = time.monotonic() - t0
        report = farm.report("gw")

    assert result.exit_code == 0, significant_errors(result)
    assert elapsed < 3, "the UAC must end the call on the far end's BYE, not hold 10 s"
    (bye,) = requests_received(result, "BYE")
    answer = result.received("SIP/2.0 200")[0]
    assert bye.time is not None and answer.time is not None
    assert 0.25 <= bye.time - answer.time <= 0.8
    assert responses_sent(result, "BYE") == ["200 OK"]
    assert not any(m.direction == "sent" and m.method == "BYE" and not m.is_response
                   for m in result.messages)
    (call,) = report.calls
    assert call.sent_bye and call.bye is None


@pytest.mark.parametrize(("mode", "expected"), [
    ("200", "200 OK"),
    ("481", "481 Call/Transaction Does Not Exist"),
    ("none", None),
])
def test_in_dialog_options_answers(tmp_path: Path, mode: str, expected: str | None) -> None:
    with CarrierFarm(tmp_path) as farm:
        # carrier pings the customer after 100 ms, the customer pings the carrier at 200 ms
        farm.add("gw", "answer", options=mode, ping_ms=100)
        result = _call(tmp_path, farm.address("gw"), hold_ms=900 if mode == "none" else 500,
                       ping_ms=200)
        report = farm.report("gw")

    assert result.exit_code == 0, significant_errors(result)
    answers = [m.status_line for m in result.messages
               if m.direction == "received" and m.is_response and m.method == "OPTIONS"]
    if expected is None:
        assert answers == []
    else:
        assert set(answers) == {expected}
    # the customer answers the carrier's in-dialog OPTIONS with 200
    assert responses_sent(result, "OPTIONS") == ["200 OK"]
    (call,) = report.calls
    assert call.options_received
    assert [m.status_line for m in call.messages if m.direction == "received"
            and m.is_response and m.method == "OPTIONS"] == ["200 OK"]
    assert call.bye is not None


def test_ring_no_answer_takes_cancel(tmp_path: Path) -> None:
    with CarrierFarm(tmp_path) as farm:
        farm.add("gw", "ring")
        result = _call(tmp_path, farm.address("gw"), scenario="uac_cancel.xml",
                       call_duration_ms=400)
        report = farm.report("gw")

    assert result.exit_code == 0, significant_errors(result)
    assert final_response(result) == "487 Request Terminated"
    (call,) = report.calls
    assert call.responses_sent == ["100 Trying", "180 Ringing", "487 Request Terminated"]
    assert call.cancel_time is not None and call.invite_time is not None
    assert 0.35 <= call.cancel_time - call.invite_time <= 1.0
    assert responses_sent(call.messages, "CANCEL") == ["200 OK"]
    assert requests_received(call.messages, "ACK")


def test_silent_carrier_sends_nothing(tmp_path: Path) -> None:
    with CarrierFarm(tmp_path) as farm:
        farm.add("gw", "silent")
        sipp = uac(tmp_path, farm.address("gw"), NUMBER, port=free_port())
        sipp.start()
        time.sleep(1.2)
        sipp.terminate()
        result = sipp.result(timeout=5)
        report = farm.report("gw")

    assert final_responses(result) == [None]
    assert [m for m in result.messages if m.direction == "received"] == []
    (call,) = report.calls
    assert call.responses_sent == []
    assert len(requests_received(call.messages, "INVITE")) == 1  # retransmissions merged
    assert len([m for m in call.messages if m.method == "INVITE"]) >= 2  # but they came


def test_reject_after_ringing_and_delay(tmp_path: Path) -> None:
    with CarrierFarm(tmp_path) as farm:
        farm.add("gw", "reject", code=480, ring=1, delay_ms=300)
        result = _call(tmp_path, farm.address("gw"))
        report = farm.report("gw")

    assert final_response(result) == "480 Temporarily Unavailable"
    (call,) = report.calls
    assert call.responses_sent == ["100 Trying", "180 Ringing", "480 Temporarily Unavailable"]
    final = result.received("SIP/2.0 480")[0]
    assert final.time is not None and call.invite_time is not None
    assert final.time - call.invite_time >= 0.28


def test_digest_auth(tmp_path: Path) -> None:
    with CarrierFarm(tmp_path) as farm:
        farm.add("gw", "challenge")
        result = _call(tmp_path, farm.address("gw"), scenario="uac_auth.xml",
                       auth=("alice", "s3cret"), hold_ms=200)
        report = farm.report("gw")

    assert result.exit_code == 0, significant_errors(result)
    assert final_response(result) == "200 OK"
    (call,) = report.calls
    first, second = requests_received(call.messages, "INVITE")
    assert first.header("Proxy-Authorization") is None
    credentials = second.header("Proxy-Authorization")
    assert credentials is not None and credentials.startswith("Digest ")
    fields = _params(credentials)
    assert fields["username"] == "alice" and fields["realm"] == "test"
    assert fields["response"] == _digest("alice", "test", "s3cret", "INVITE", fields["uri"],
                                         fields["nonce"])
    assert fields["response"] != _digest("alice", "test", "wrong", "INVITE", fields["uri"],
                                         fields["nonce"])
    assert second.cseq == "2 INVITE"
    assert requests_received(call.messages, "ACK")  # for the 407 and for the 200


def test_many_calls_counted_per_carrier(tmp_path: Path) -> None:
    with CarrierFarm(tmp_path) as farm:
        farm.add("a", "answer")
        farm.add("b", "answer")
        farm.add("idle", "answer")
        first = uac(tmp_path, farm.address("a"), "111", port=free_port(), calls=6, rate=30,
                    hold_ms=100).start()
        second = uac(tmp_path, farm.address("b"), "222", port=free_port(), calls=3, rate=30,
                     hold_ms=100).start()
        results = [first.result(timeout=20), second.result(timeout=20)]
        counts = farm.invite_counts()
        report_a = farm.report("a")
        call_id = report_a.calls[0].call_id
        assert farm.who_got(call_id) == ["a"]
        assert farm.answered_by(call_id) == "a"

    for result in results:
        assert result.exit_code == 0, significant_errors(result)
    assert final_responses(results[0]) == ["200 OK"] * 6
    assert counts == {"a": 6, "b": 3, "idle": 0}
    assert report_a.ruri_users == ["111"] * 6
    assert all(c.bye is not None for c in report_a.calls)


def test_out_of_dialog_options_probe(tmp_path: Path) -> None:
    with CarrierFarm(tmp_path) as farm:
        up = farm.add("up", "answer")
        mute = farm.add("mute", "answer", options="none")
        assert sip_options("127.0.0.1", up) == "SIP/2.0 200 OK"
        with pytest.raises(socket.timeout):
            sip_options("127.0.0.1", mute, timeout=0.5)
        assert farm.invite_counts() == {"up": 0, "mute": 0}


def test_farm_stops_its_processes(tmp_path: Path) -> None:
    farm = CarrierFarm(tmp_path)
    with farm:
        farm.add("a", "ring")
        farm.add("b", "reject", code=503)
        procs = [farm._carriers[name].sipp.proc for name in farm]
    assert all(p is not None and p.poll() is not None for p in procs)
    with pytest.raises(ValueError, match="code"):
        CarrierFarm(tmp_path).add("x", "reject")
    with pytest.raises(ValueError, match="not a SIP status code"):
        scenario_with_code(tmp_path, 42)



def test_media_on_both_sides(tmp_path: Path) -> None:
    """media: each side plays the 7 s G.711 pcap after the ACK (pcap play raises no error
    and does not disturb the signalling; the call ends on time)."""
    with CarrierFarm(tmp_path) as farm:
        farm.add("gw", "answer", media=1)
        result = _call(tmp_path, farm.address("gw"), hold_ms=600, media=True)
    assert result.exit_code == 0, significant_errors(result)
    assert final_response(result) == "200 OK"
    assert "pcap" not in significant_errors(result).lower()
