"""Carrier gateways for call tests: one SIPp UAS per carrier on its own loopback port.

    with CarrierFarm(tmp_path) as farm:
        farm.add("busy", "reject", code=486, reason="Busy Here")
        port = farm.add("good", "answer")
        ...  # point the switch's carriers at 127.0.0.1:<port>, place calls with uac()
        report = farm.report("good")
        assert report.invites == 1 and report.ruri_users == ["0049301234"]
        assert report.calls[0].bye_time is not None

Behaviours (scenario, -set parameters):
    answer   uas_call.xml: 100, 180, 200 (SDP); stays up until a BYE arrives, answering
             in-dialog OPTIONS. Options: ring_ms, answer_ms, options ("200", "481" or
             "none"), hangup_ms (carrier sends BYE), ping_ms (carrier sends OPTIONS),
             media (play 7 s of G.711 after the ACK).
    ring     answer with answer_ms=-1: 100, 180, then nothing until CANCEL (200 + 487).
    silent   answer with trying=0, ring_ms=-1, answer_ms=-1: never sends anything; a
             CANCEL is still answered 200 + 487.
    reject   uas_reject.xml: one final response, code (required) and reason; options:
             delay_ms, ring (send 180 first), trying.
    challenge  uas_challenge.xml: 407 to the first INVITE, 200 to the second.
The uas_call.xml behaviours also answer out-of-dialog OPTIONS (dispatcher probing) with
their `options` setting (200 by default, 481, or no answer at all).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from tests.support.ports import free_port
from tests.support.sipp import (
    SipMessage,
    Sipp,
    by_call,
    scenario_with_code,
    wait_udp_bound,
)

BEHAVIOURS = ("answer", "ring", "silent", "reject", "challenge")

_UAS_CALL_OPTIONS = ("trying", "ring_ms", "answer_ms", "options", "hangup_ms", "ping_ms",
                     "media")
_UAS_REJECT_OPTIONS = ("reason", "trying", "ring", "delay_ms")

# Reason phrases used when reject is given only a code.
REASONS = {
    403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
    480: "Temporarily Unavailable", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 500: "Server Internal Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Server Time-out", 603: "Decline",
}


@dataclass
class CarrierCall:
    """What one carrier saw of one call (one Call-ID)."""

    call_id: str
    invite: SipMessage  # the first INVITE (retransmissions left out)
    messages: list[SipMessage]

    @property
    def ruri_user(self) -> str:
        return self.invite.request_user

    @property
    def invite_time(self) -> float | None:
        return self.invite.time

    def _first_request(self, method: str) -> SipMessage | None:
        for m in self.messages:
            if m.direction == "received" and not m.is_response and m.method == method:
                return m
        return None

    @property
    def bye(self) -> SipMessage | None:
        """The BYE this carrier received (from the switch), if any."""
        return self._first_request("BYE")

    @property
    def bye_time(self) -> float | None:
        bye = self.bye
        return bye.time if bye else None

    @property
    def cancel(self) -> SipMessage | None:
        return self._first_request("CANCEL")

    @property
    def cancel_time(self) -> float | None:
        cancel = self.cancel
        return cancel.time if cancel else None

    @property
    def options_received(self) -> list[SipMessage]:
        """In-dialog OPTIONS received (retransmissions included, as they arrived)."""
        return [m for m in self.messages
                if m.direction == "received" and not m.is_response and m.method == "OPTIONS"]

    @property
    def responses_sent(self) -> list[str]:
        """Status lines sent to the INVITE, in order: ["100 Trying", "180 Ringing", ...]."""
        lines: list[str] = []
        for m in self.messages:
            if (m.direction == "sent" and m.is_response and m.method == "INVITE"
                    and (not lines or lines[-1] != m.status_line)):
                lines.append(m.status_line)
        return lines

    @property
    def answered(self) -> bool:
        return any(line.startswith("200") for line in self.responses_sent)

    @property
    def sent_bye(self) -> bool:
        return any(m.direction == "sent" and not m.is_response and m.method == "BYE"
                   for m in self.messages)


@dataclass
class CarrierReport:
    """Everything one carrier received, read from its SIPp message trace."""

    name: str
    port: int
    behaviour: str
    calls: list[CarrierCall] = field(default_factory=list)

    @property
    def invites(self) -> int:
        """Number of calls (distinct Call-IDs) that reached this carrier with an INVITE."""
        return len(self.calls)

    @property
    def ruri_users(self) -> list[str]:
        """Request-URI user of each call's INVITE, in arrival order."""
        return [c.ruri_user for c in self.calls]

    def call(self, call_id: str) -> CarrierCall | None:
        for c in self.calls:
            if c.call_id == call_id:
                return c
        return None


@dataclass
class _Carrier:
    name: str
    behaviour: str
    port: int
    sipp: Sipp


def _wait_ready(path: Path, timeout: float = 15.0) -> None:
    """Wait for the "ready" line the scenario's init stanza logs once its -set
    parameters are in place."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and "ready" in path.read_text(errors="replace"):
            return
        time.sleep(0.01)
    raise TimeoutError(f"no 'ready' in {path} after {timeout} s")


class CarrierFarm:
    """SIPp UAS processes, one per carrier, started by add() and stopped (by pid) on exit."""

    def __init__(self, workdir: Path, *, max_calls: int = 1_000_000) -> None:
        self.workdir = workdir
        self.max_calls = max_calls
        self._carriers: dict[str, _Carrier] = {}

    def __enter__(self) -> CarrierFarm:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __iter__(self) -> Iterator[str]:
        return iter(self._carriers)

    def add(self, name: str, behaviour: str = "answer", *, port: int | None = None,
            code: int | None = None, media_port: int | None = None,
            extra: list[str] | None = None, **opts: object) -> int:
        """Start carrier name with a behaviour (see the module doc); returns its port.

        opts are the behaviour's -set parameters, e.g. ring_ms=500, options="481",
        reason="No Circuit"; reject needs code=NNN."""
        if name in self._carriers:
            raise ValueError(f"carrier {name!r} exists already")
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}, not one of {BEHAVIOURS}")
        variables: dict[str, object] = {}
        if behaviour in ("answer", "ring", "silent"):
            scenario = "uas_call.xml"
            allowed: tuple[str, ...] = _UAS_CALL_OPTIONS
            if behaviour == "ring":
                variables.update(answer_ms=-1)
            elif behaviour == "silent":
                variables.update(trying=0, ring_ms=-1, answer_ms=-1)
        elif behaviour == "reject":
            if code is None:
                raise ValueError("reject needs code=")
            carrier_dir = self.workdir / f"carrier-{name}"
            scenario = scenario_with_code(carrier_dir, code)
            allowed = _UAS_REJECT_OPTIONS
            variables["reason"] = REASONS.get(code, "Rejected")
        else:
            scenario = "uas_challenge.xml"
            allowed = ()
        unknown = set(opts) - set(allowed)
        if unknown:
            raise ValueError(f"{behaviour} does not take {sorted(unknown)}; it takes {allowed}")
        variables.update(opts)
        if port is None:
            port = free_port()
        has_init = behaviour != "challenge"  # uas_call.xml and uas_reject.xml log "ready"
        argv = (["-trace_logs", "-log_file", "ready.log"] if has_init else []) + (extra or [])
        sipp = Sipp(scenario, self.workdir, port=port, calls=self.max_calls,
                    media_port=media_port if media_port is not None else free_port(),
                    variables=variables, extra=argv)
        sipp.start(output=sipp.workdir / "output.log")  # a long run must not fill a pipe
        try:
            wait_udp_bound(port, timeout=15.0)
            if has_init:
                _wait_ready(sipp.workdir / "ready.log")
        except TimeoutError as exc:
            sipp.stop()
            output = sipp.output()
            raise RuntimeError(f"carrier {name} did not start: {output[-2000:]}") from exc
        self._carriers[name] = _Carrier(name, behaviour, port, sipp)
        return port

    def port(self, name: str) -> int:
        return self._carriers[name].port

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self._carriers[name].port}"

    def report(self, name: str) -> CarrierReport:
        """What carrier name received so far (works while it runs and after stop())."""
        carrier = self._carriers[name]
        report = CarrierReport(name, carrier.port, carrier.behaviour)
        for call_id, messages in by_call(carrier.sipp.messages()).items():
            invites = [m for m in messages if m.direction == "received"
                       and not m.is_response and m.method == "INVITE"]
            if invites:
                report.calls.append(CarrierCall(call_id, invites[0], messages))
        return report

    def reports(self) -> dict[str, CarrierReport]:
        return {name: self.report(name) for name in self._carriers}

    def invite_counts(self) -> dict[str, int]:
        """Calls that reached each carrier: {"a": 3, "b": 0}."""
        return {name: self.report(name).invites for name in self._carriers}

    def who_got(self, call_id: str) -> list[str]:
        """Names of the carriers that received an INVITE for call_id, in arrival order."""
        hits = []
        for name in self._carriers:
            call = self.report(name).call(call_id)
            if call is not None:
                hits.append((call.invite_time or 0.0, name))
        return [name for _, name in sorted(hits)]

    def answered_by(self, call_id: str) -> str | None:
        """The carrier that sent 200 OK to the INVITE of call_id, if one did."""
        for name in self._carriers:
            call = self.report(name).call(call_id)
            if call is not None and call.answered:
                return name
        return None

    def stop(self) -> None:
        """Stop every carrier SIPp: SIGUSR1, SIGTERM, then SIGKILL, each by its pid."""
        for carrier in self._carriers.values():
            carrier.sipp.terminate()
