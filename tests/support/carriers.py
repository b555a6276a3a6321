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
    early    uas_early.xml: 100, 183 with SDP, then after delay_ms a failure, code
             (default 503); options: reason, delay_ms, media (RTP after the 183).
    early_answer  uas_early_answer.xml: 100, 183 with SDP, 200 after delay_ms; options:
             delay_ms, media.
    redirect   uas_redirect.xml: 100, then a 3xx (code, default 302) whose Contact is
             contact (required, a SIP URI); options: reason.
    timer    uas_timer.xml: session timers (RFC 4028): 100, 180, 200 with Require: timer
             and Session-Expires; answers re-INVITE/UPDATE refreshes and OPTIONS with 200
             until a BYE. Options: session_expires (default 120), refresher (default uac).
    pending  uas_pending.xml: 100, then (option provisional: "none", "180" or "183" with
             SDP) nothing until a CANCEL (200 + 487 with every Via of the INVITE).
add(..., transport="tcp") makes a carrier listen on TCP instead of UDP (SIPp -t t1).
The uas_call.xml behaviours also answer out-of-dialog OPTIONS (dispatcher probing) with
their `options` setting (200 by default, 481, or no answer at all).
"""

from __future__ import annotations

import re
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

BEHAVIOURS = ("answer", "ring", "silent", "reject", "challenge", "early", "early_answer",
              "redirect", "timer", "pending")
TRANSPORTS = {"udp": "u1", "tcp": "t1"}  # CarrierFarm.add(transport=) -> SIPp -t

_UAS_CALL_OPTIONS = ("trying", "ring_ms", "answer_ms", "options", "hangup_ms", "ping_ms",
                     "media")
_UAS_REJECT_OPTIONS = ("reason", "trying", "ring", "delay_ms")
_UAS_REDIRECT_OPTIONS = ("contact", "reason")
_UAS_TIMER_OPTIONS = ("session_expires", "refresher")

# Reason phrases used when reject is given only a code.
REASONS = {
    403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
    480: "Temporarily Unavailable", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 500: "Server Internal Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Server Time-out", 603: "Decline",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
    305: "Use Proxy", 380: "Alternative Service",
}


def from_tag(message: SipMessage) -> str:
    """The tag parameter of a message's From header ("" without one)."""
    found = re.search(r";\s*tag=([^;>\s]+)", message.header("From") or message.header("f") or "")
    return found.group(1) if found else ""


def customer_tag(messages: list[SipMessage]) -> str:
    """The From tag of the first INVITE a customer sent: the key that finds its call at a
    carrier (CarrierFarm.who_got, answered_by, CarrierReport.call)."""
    for m in messages:
        if m.direction == "sent" and not m.is_response and m.method == "INVITE":
            return from_tag(m)
    raise AssertionError("the customer sent no INVITE")


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
    def from_tag(self) -> str:
        """The caller's From tag: the switch passes it on unchanged, while the Call-ID
        is masked (topology hiding), so it ties this call to the customer's."""
        return from_tag(self.invite)

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

    def call(self, key: str) -> CarrierCall | None:
        """The call whose carrier-side Call-ID or caller's From tag is key."""
        for c in self.calls:
            if key in (c.call_id, c.from_tag):
                return c
        return None


@dataclass
class _Carrier:
    name: str
    behaviour: str
    port: int
    sipp: Sipp
    ip: str = "127.0.0.1"
    transport: str = "udp"


def wait_tcp_listening(port: int, timeout: float = 5.0, ip: str = "127.0.0.1") -> None:
    """Wait until something listens on TCP ip:port (a LISTEN row of /proc/net/tcp): the
    TCP counterpart of tests.support.sipp.wait_udp_bound."""
    want = "".join(f"{int(part):02X}" for part in reversed(ip.split("."))) + f":{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as table:
            for line in table.readlines()[1:]:
                fields = line.split()
                if len(fields) > 3 and fields[1] == want and fields[3] == "0A":  # LISTEN
                    return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on tcp {ip}:{port} after {timeout} s")


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
            extra: list[str] | None = None, ip: str = "127.0.0.1", transport: str = "udp",
            **opts: object) -> int:
        """Start carrier name with a behaviour (see the module doc); returns its port.

        opts are the behaviour's -set parameters, e.g. ring_ms=500, options="481",
        reason="No Circuit"; reject needs code=NNN.  ip: the loopback address the
        carrier listens (and sends its RTP) on.  transport: "udp" (default) or "tcp"
        (the carrier listens on TCP only; its gateway must say transport tcp)."""
        if name in self._carriers:
            raise ValueError(f"carrier {name!r} exists already")
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}, not one of {BEHAVIOURS}")
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}, not one of {sorted(TRANSPORTS)}")
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
        elif behaviour == "early":
            carrier_dir = self.workdir / f"carrier-{name}"
            scenario = scenario_with_code(carrier_dir, code or 503, "uas_early.xml")
            allowed = ("reason", "delay_ms", "media")
            variables["reason"] = REASONS.get(code or 503, "Rejected")
        elif behaviour == "early_answer":
            scenario = "uas_early_answer.xml"
            allowed = ("delay_ms", "media")
        elif behaviour == "redirect":
            if "contact" not in opts:
                raise ValueError("redirect needs contact= (the 3xx's Contact URI)")
            code = 302 if code is None else code
            if not 300 <= code <= 399:
                raise ValueError(f"redirect needs a 3xx code, not {code}")
            scenario = ("uas_redirect.xml" if code == 302 else scenario_with_code(
                self.workdir / f"carrier-{name}", code, "uas_redirect.xml"))
            allowed = _UAS_REDIRECT_OPTIONS
            variables["reason"] = REASONS.get(code, "Redirected")
        elif behaviour == "timer":
            scenario = "uas_timer.xml"
            allowed = _UAS_TIMER_OPTIONS
        elif behaviour == "pending":
            scenario = "uas_pending.xml"
            allowed = ("provisional",)
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
                    variables=variables, extra=argv, ip=ip, transport=TRANSPORTS[transport])
        sipp.start(output=sipp.workdir / "output.log")  # a long run must not fill a pipe
        try:
            if transport == "tcp":
                wait_tcp_listening(port, timeout=15.0, ip=ip)
            else:
                wait_udp_bound(port, timeout=15.0, ip=ip)
            if has_init:
                _wait_ready(sipp.workdir / "ready.log")
        except TimeoutError as exc:
            sipp.stop()
            output = sipp.output()
            raise RuntimeError(f"carrier {name} did not start: {output[-2000:]}") from exc
        self._carriers[name] = _Carrier(name, behaviour, port, sipp, ip, transport)
        return port

    def port(self, name: str) -> int:
        return self._carriers[name].port

    def address(self, name: str) -> str:
        carrier = self._carriers[name]
        return f"{carrier.ip}:{carrier.port}"

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

    def messages(self, name: str) -> list[SipMessage]:
        """Every message carrier name sent or received so far, calls or not (e.g. to
        check that a carrier received nothing at all)."""
        return self._carriers[name].sipp.messages()

    def reports(self) -> dict[str, CarrierReport]:
        return {name: self.report(name) for name in self._carriers}

    def invite_counts(self) -> dict[str, int]:
        """Calls that reached each carrier: {"a": 3, "b": 0}."""
        return {name: self.report(name).invites for name in self._carriers}

    def who_got(self, key: str) -> list[str]:
        """Names of the carriers that received an INVITE for the call of key (its From
        tag: see customer_tag), in arrival order."""
        hits = []
        for name in self._carriers:
            call = self.report(name).call(key)
            if call is not None:
                hits.append((call.invite_time or 0.0, name))
        return [name for _, name in sorted(hits)]

    def answered_by(self, key: str) -> str | None:
        """The carrier that sent 200 OK to the INVITE of the call of key (its From tag),
        if one did."""
        for name in self._carriers:
            call = self.report(name).call(key)
            if call is not None and call.answered:
                return name
        return None

    def stop(self) -> None:
        """Stop every carrier SIPp: SIGUSR1, SIGTERM, then SIGKILL, each by its pid."""
        for carrier in self._carriers.values():
            carrier.sipp.terminate()
