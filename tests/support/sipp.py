"""Run SIPp scenarios and read back what happened: exit code, counts, messages."""

from __future__ import annotations

import contextlib
import itertools
import re
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[2] / "sipp_scenarios"
_run_ids = itertools.count(1)

_MSG_SPLIT = re.compile(r"^-{20,} [^\n]*\n", re.M)


@dataclass
class SipMessage:
    direction: str  # "sent" or "received"
    text: str
    time: float | None = None  # epoch seconds, from the -trace_msg separator line

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    @property
    def body(self) -> str:
        parts = re.split(r"\r?\n\r?\n", self.text, maxsplit=1)
        return parts[1] if len(parts) == 2 else ""

    def media(self) -> list[tuple[str, int]]:
        """(connection address, audio port) of every m= line in the SDP body."""
        conn = re.search(r"^c=IN IP4 (\S+)", self.body, re.M)
        ports = re.findall(r"^m=audio (\d+)", self.body, re.M)
        return [(conn.group(1) if conn else "", int(p)) for p in ports]

    @property
    def is_response(self) -> bool:
        return self.first_line.startswith("SIP/2.0 ")

    @property
    def status(self) -> int | None:
        """The status code of a response, None for a request."""
        if not self.is_response:
            return None
        return int(self.first_line.split()[1])

    @property
    def status_line(self) -> str:
        """A response's code and reason phrase, e.g. "403 Blocked by Dial String"."""
        return self.first_line.split(" ", 1)[1] if self.is_response else ""

    @property
    def method(self) -> str:
        """A request's method, or for a response the method of its CSeq."""
        if self.is_response:
            return self.cseq.split()[-1] if self.cseq else ""
        return self.first_line.split(" ", 1)[0]

    def header(self, name: str) -> str | None:
        """The value of the first header called name (case-insensitive), or None."""
        head = re.split(r"\r?\n\r?\n", self.text, maxsplit=1)[0]
        for line in head.splitlines()[1:]:
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == name.lower():
                return value.strip()
        return None

    @property
    def call_id(self) -> str:
        return self.header("Call-ID") or self.header("i") or ""

    @property
    def cseq(self) -> str:
        return self.header("CSeq") or ""

    @property
    def request_uri(self) -> str:
        return "" if self.is_response else self.first_line.split()[1]

    @property
    def request_user(self) -> str:
        """The user part of a request's Request-URI ("" if none)."""
        match = re.match(r"sips?:([^@;>]+)@", self.request_uri)
        return match.group(1) if match else ""


@dataclass
class SippResult:
    exit_code: int
    counts: dict[str, int]
    messages: list[SipMessage]
    errors: str
    output: str = field(repr=False)

    def count(self, suffix: str) -> int:
        """Sum of the counters whose name ends with suffix, e.g. "_200_Recv"."""
        return sum(v for k, v in self.counts.items() if k.endswith(suffix))

    def received(self, start: str) -> list[SipMessage]:
        """Received messages whose first line starts with start ("INVITE", "SIP/2.0 200")."""
        return [m for m in self.messages
                if m.direction == "received" and m.first_line.startswith(start)]


def _parse_counts(path: Path | None) -> dict[str, int]:
    if path is None:
        return {}
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    if len(lines) < 2:
        return {}
    header = lines[0].rstrip(";").split(";")
    row = lines[-1].rstrip(";").split(";")
    counts = {}
    for name, value in zip(header[2:], row[2:], strict=False):
        with contextlib.suppress(ValueError):
            counts[name] = int(value)
    return counts


_TRACE_SEPARATOR = re.compile(r"^-{20,}(?P<rest>[^\n]*)\n", re.M)


def _trace_time(rest: str) -> float | None:
    """Epoch seconds of a separator line's "2026-11-26 04:23:53.461096" (local time)."""
    stamp = " ".join(rest.split())
    try:
        return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
    except ValueError:
        return None


def parse_trace(text: str) -> list[SipMessage]:
    """Messages of a SIPp -trace_msg log, in order, with their timestamps.

    SIPp also writes an "Unexpected UDP message received" copy of a message it did not
    expect, and "Dead call" notes; both are left out (the message itself is kept).
    """
    messages = []
    parts = _TRACE_SEPARATOR.split(text)
    # parts: [before, rest1, chunk1, rest2, chunk2, ...]
    for rest, chunk in zip(parts[1::2], parts[2::2], strict=True):
        head, _, body = chunk.partition("\n\n")
        if " message received " in head:
            direction = "received"
        elif " message sent " in head:
            direction = "sent"
        else:
            continue
        messages.append(SipMessage(direction, body.strip("\n"), _trace_time(rest)))
    return messages


def _parse_messages(path: Path) -> list[SipMessage]:
    if not path.exists():
        return []
    return parse_trace(path.read_text(errors="replace"))


class Sipp:
    """One SIPp process; start() returns at once, result() waits for it."""

    def __init__(self, scenario: str, workdir: Path, *, port: int, target: str | None = None,
                 media_port: int | None = None, calls: int = 1, rate: float | None = None,
                 call_duration_ms: int | None = None, call_id: str | None = None,
                 transport: str = "u1", extra: list[str] | None = None,
                 service: str | None = None,
                 variables: dict[str, object] | None = None, ip: str = "127.0.0.1") -> None:
        self.workdir = workdir / f"sipp-{next(_run_ids)}-{Path(scenario).stem}"
        self.workdir.mkdir(parents=True)
        path = scenario if scenario.startswith("/") else str(SCENARIOS / scenario)
        self.argv = ["sipp", "-sf", path, "-i", ip, "-p", str(port), "-m", str(calls),
                     "-t", transport, "-nostdin", "-trace_msg", "-message_file", "messages.log",
                     "-trace_err", "-error_file", "errors.log", "-trace_counts"]
        if target:
            self.argv.insert(3, target)
        if media_port is not None:
            self.argv += ["-mi", ip, "-mp", str(media_port)]
        if rate is not None:
            self.argv += ["-r", str(rate)]
        if call_duration_ms is not None:
            self.argv += ["-d", str(call_duration_ms)]
        if call_id is not None:
            self.argv += ["-cid_str", call_id]
        if service is not None:
            self.argv += ["-s", service]
        self.argv += set_args(variables or {})
        self.argv += extra or []
        self.proc: subprocess.Popen[str] | None = None
        self._output_path: Path | None = None

    def start(self, output: Path | None = None) -> Sipp:
        """Start SIPp; its screen output goes to a pipe read by result(), or to the file
        output (for long runs that nobody reads until the end)."""
        if output is None:
            self.proc = subprocess.Popen(self.argv, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         text=True)
        else:
            self._output_path = output
            with open(output, "w") as sink:
                self.proc = subprocess.Popen(self.argv, cwd=self.workdir,
                                             stdin=subprocess.DEVNULL, stdout=sink,
                                             stderr=subprocess.STDOUT, text=True)
        return self

    def output(self) -> str:
        """The screen output of a SIPp started with start(output=...), so far."""
        path = self._output_path
        return path.read_text(errors="replace") if path and path.exists() else ""

    def result(self, timeout: float = 60.0) -> SippResult:
        assert self.proc is not None, "start() first"
        try:
            output, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGUSR1)  # SIPp: stop gracefully, dump stats
            try:
                output, _ = self.proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                output, _ = self.proc.communicate()
        if output is None:  # started with output=<file>
            output = self.output()
        counts_files = sorted(self.workdir.glob("*_counts.csv"))
        errors = self.workdir / "errors.log"
        return SippResult(
            exit_code=self.proc.returncode,
            counts=_parse_counts(counts_files[-1] if counts_files else None),
            messages=_parse_messages(self.workdir / "messages.log"),
            errors=errors.read_text(errors="replace") if errors.exists() else "",
            output=output,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def terminate(self, grace: float = 2.0) -> None:
        """Stop a SIPp that may still have calls: SIGUSR1 (no new calls, dump stats),
        then SIGTERM (SIPp aborts its calls and exits cleanly), then SIGKILL.

        The message trace is written message by message, so it is complete either way.
        """
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGUSR1, 0.5), (signal.SIGTERM, grace)):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
        proc.kill()
        proc.wait()

    @property
    def messages_path(self) -> Path:
        return self.workdir / "messages.log"

    def messages(self) -> list[SipMessage]:
        """The message trace so far (SIPp writes it as it goes), also while running."""
        return _parse_messages(self.messages_path)


def run_sipp(scenario: str, workdir: Path, timeout: float = 60.0, **kwargs: object) -> SippResult:
    """Run a scenario to its end and return its result."""
    sipp = Sipp(scenario, workdir, **kwargs)  # type: ignore[arg-type]
    sipp.start()
    try:
        return sipp.result(timeout)
    finally:
        sipp.stop()


# ---------------------------------------------------------------------------------------
# Scenario parameters and reading a run's outcome per call


def set_args(variables: dict[str, object]) -> list[str]:
    """-set name value for each item (SIPp 3.6 global variables, [$name] in scenarios)."""
    argv: list[str] = []
    for name, value in variables.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        argv += ["-set", name, str(value)]
    return argv


_STATUS_LINE = re.compile(r"^(\s*)SIP/2\.0 \d{3} \[\$reason\]", re.M)


def scenario_with_code(workdir: Path, code: int, scenario: str = "uas_reject.xml") -> str:
    """A copy of scenario whose "SIP/2.0 NNN [$reason]" line has status code code.

    SIPp checks a response's code when it loads the scenario, before any substitution,
    so the code can not be a -set/-key parameter (the reason phrase can).
    """
    if not 100 <= code <= 699:
        raise ValueError(f"not a SIP status code: {code}")
    source = (SCENARIOS / scenario).read_text()
    text, count = _STATUS_LINE.subn(lambda m: f"{m.group(1)}SIP/2.0 {code} [$reason]", source)
    if count != 1:
        raise ValueError(f"{scenario} has {count} 'SIP/2.0 NNN [$reason]' lines, not one")
    path = workdir / f"{Path(scenario).stem}_{code}.xml"
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def by_call(messages: Iterable[SipMessage]) -> dict[str, list[SipMessage]]:
    """Messages grouped by Call-ID, calls in order of their first message."""
    calls: dict[str, list[SipMessage]] = {}
    for message in messages:
        calls.setdefault(message.call_id, []).append(message)
    return calls


def _final_of(messages: list[SipMessage]) -> str | None:
    finals = [m for m in messages if m.direction == "received" and m.method == "INVITE"
              and (m.status or 0) >= 200]
    return finals[-1].status_line if finals else None


def final_responses(result: SippResult | list[SipMessage]) -> list[str | None]:
    """Per call (in order), the last final response to an INVITE the UAC received, as
    "486 Busy Here" (None if it got none). With digest auth the 407 is followed by the
    answer to the re-INVITE, so this is the answer to the authenticated INVITE."""
    messages = result.messages if isinstance(result, SippResult) else result
    calls = by_call(m for m in messages if m.call_id)
    return [_final_of(ms) for ms in calls.values()
            if any(m.direction == "sent" and m.method == "INVITE" and not m.is_response
                   for m in ms)]


def final_response(result: SippResult | list[SipMessage]) -> str | None:
    """final_responses() of a one-call run: "200 OK", "403 Blocked by Dial String"..."""
    finals = final_responses(result)
    if len(finals) != 1:
        raise AssertionError(f"expected one call, the trace has {len(finals)}: {finals}")
    return finals[0]


def requests_received(result: SippResult | list[SipMessage], method: str) -> list[SipMessage]:
    """Requests of method received (retransmissions left out), each with its .time."""
    messages = result.messages if isinstance(result, SippResult) else result
    seen: set[tuple[str, str, str]] = set()
    found = []
    for m in messages:
        if m.direction != "received" or m.is_response or m.method != method:
            continue
        key = (m.call_id, m.cseq, m.header("Via") or "")
        if key not in seen:
            seen.add(key)
            found.append(m)
    return found


def responses_sent(result: SippResult | list[SipMessage], method: str) -> list[str]:
    """Status lines this side sent to requests of method, e.g. ["481 Call/Transaction..."]."""
    messages = result.messages if isinstance(result, SippResult) else result
    return [m.status_line for m in messages
            if m.direction == "sent" and m.is_response and m.method == method]


def significant_errors(result: SippResult) -> str:
    """The error trace without the "receive timeout ... jumping to label" lines that the
    timed waits of uac_call.xml / uas_call.xml write every 50 ms."""
    entries = re.split(r"(?=\d{4}-\d\d-\d\d\t)", result.errors)
    return "".join(e for e in entries
                   if "jumping to label" not in e and "The following events occurred" not in e)


def uac(workdir: Path, target: str, number: str, *, port: int, scenario: str = "uac_call.xml",
        calls: int = 1, rate: float | None = None, hold_ms: int | None = None,
        caller: str | None = None, ping_ms: int | None = None, media: bool = False,
        auth: tuple[str, str] | None = None, media_port: int | None = None,
        call_duration_ms: int | None = None, extra: list[str] | None = None,
        ip: str = "127.0.0.1") -> Sipp:
    """A customer SIPp (not started) placing calls to number at target ("ip:port"),
    from source address ip.

    scenario: uac_call.xml (default), uac_auth.xml (give auth=(user, password)) or
    uac_cancel.xml (call_duration_ms = ringing time before the CANCEL)."""
    argv = list(extra or [])
    if auth is not None:
        argv += ["-au", auth[0], "-ap", auth[1]]
    variables: dict[str, object] = {"hold_ms": hold_ms, "caller": caller, "ping_ms": ping_ms}
    if media:
        variables["media"] = 1
    if scenario == "uac_cancel.xml":
        variables = {"caller": caller}
    return Sipp(scenario, workdir, port=port, target=target, calls=calls, rate=rate,
                service=number, variables=variables, media_port=media_port,
                call_duration_ms=call_duration_ms, extra=argv, ip=ip)


def wait_udp_bound(port: int, timeout: float = 5.0, ip: str = "127.0.0.1") -> None:
    """Wait until something listens on UDP ip:port (reads /proc/net/udp)."""
    want = f"{_hex_ip(ip)}:{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/udp") as table:
            if any(line.split()[1] == want for line in table.readlines()[1:]):
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on udp {ip}:{port} after {timeout} s")


def _hex_ip(ip: str) -> str:
    return "".join(f"{int(part):02X}" for part in reversed(ip.split(".")))
