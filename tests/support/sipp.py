"""Run SIPp scenarios and read back what happened: exit code, counts, messages."""

from __future__ import annotations

import contextlib
import itertools
import re
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[2] / "sipp_scenarios"
_run_ids = itertools.count(1)

_MSG_SPLIT = re.compile(r"^-{20,} [^\n]*\n", re.M)


@dataclass
class SipMessage:
    direction: str  # "sent" or "received"
    text: str

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


def _parse_messages(path: Path) -> list[SipMessage]:
    if not path.exists():
        return []
    messages = []
    for chunk in _MSG_SPLIT.split(path.read_text(errors="replace")):
        head, _, text = chunk.partition("\n\n")
        if " message received " in head:
            messages.append(SipMessage("received", text.strip("\n")))
        elif " message sent " in head:
            messages.append(SipMessage("sent", text.strip("\n")))
    return messages


class Sipp:
    """One SIPp process; start() returns at once, result() waits for it."""

    def __init__(self, scenario: str, workdir: Path, *, port: int, target: str | None = None,
                 media_port: int | None = None, calls: int = 1, rate: float | None = None,
                 call_duration_ms: int | None = None, call_id: str | None = None,
                 transport: str = "u1", extra: list[str] | None = None) -> None:
        self.workdir = workdir / f"sipp-{next(_run_ids)}-{Path(scenario).stem}"
        self.workdir.mkdir(parents=True)
        path = scenario if scenario.startswith("/") else str(SCENARIOS / scenario)
        self.argv = ["sipp", "-sf", path, "-i", "127.0.0.1", "-p", str(port), "-m", str(calls),
                     "-t", transport, "-nostdin", "-trace_msg", "-message_file", "messages.log",
                     "-trace_err", "-error_file", "errors.log", "-trace_counts"]
        if target:
            self.argv.insert(3, target)
        if media_port is not None:
            self.argv += ["-mi", "127.0.0.1", "-mp", str(media_port)]
        if rate is not None:
            self.argv += ["-r", str(rate)]
        if call_duration_ms is not None:
            self.argv += ["-d", str(call_duration_ms)]
        if call_id is not None:
            self.argv += ["-cid_str", call_id]
        self.argv += extra or []
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> Sipp:
        self.proc = subprocess.Popen(self.argv, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return self

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


def run_sipp(scenario: str, workdir: Path, timeout: float = 60.0, **kwargs: object) -> SippResult:
    """Run a scenario to its end and return its result."""
    sipp = Sipp(scenario, workdir, **kwargs)  # type: ignore[arg-type]
    sipp.start()
    try:
        return sipp.result(timeout)
    finally:
        sipp.stop()
