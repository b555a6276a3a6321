#!/usr/bin/env python3
"""Call-rate benchmark: the highest calls/s each Kamailio configuration relays cleanly.

For each configuration (a minimal stateful relay and the project's own config, each
with and without rtpengine media anchoring) it searches the highest call rate at which
at most 0.1 % of SIPp calls fail, then prints the four figures, the two ratios
project/minimal, and the machine.  Everything runs on loopback, on free ports, in a
temporary directory; every process it starts is stopped by pid, also on Ctrl-C.

Run:  .venv/bin/python bench/cps.py [--quick] [--json] [--configs ...]
See bench/README.md for the method and how to read the output.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import jinja2

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
if str(PROJECT_ROOT) not in sys.path:  # running from a checkout without `pip install -e`
    sys.path.insert(0, str(PROJECT_ROOT))

from orchestrator.compile.configs import (  # noqa: E402
    check_kamailio,
    kamailio_modules_dir,
    write_configs,
)
from orchestrator.settings import Settings  # noqa: E402
from orchestrator.stack.processes import ManagedProcess, ProcessError, wait_until  # noqa: E402

UAC_SCENARIO = BENCH_DIR / "uac.xml"
UAS_SCENARIO = BENCH_DIR / "uas.xml"
LOOPBACK = "127.0.0.1"
MAX_FAIL_RATIO = 0.001  # 0.1 % of the calls of a trial may fail
RECV_TIMEOUT_MS = 5000  # a call that waits longer than this for an answer has failed
SIPP_BUFFER = 1 << 20  # socket buffers of both SIPp instances (bytes)


# --------------------------------------------------------------------------- options
@dataclass(frozen=True)
class Variant:
    key: str
    config: str  # "minimal" or "project"
    media: bool

    @property
    def label(self) -> str:
        return f"{self.config}, {'with media' if self.media else 'no media'}"


# Measured in this order: each project figure right after its minimal reference, so
# that the two numbers of a ratio are taken close together in time.
VARIANTS = (
    Variant("minimal-nomedia", "minimal", False),
    Variant("project-nomedia", "project", False),
    Variant("minimal-media", "minimal", True),
    Variant("project-media", "project", True),
)
# Settings the bench chooses itself (free ports, temporary paths, the media switch).
BENCH_OWNED = frozenset({
    "var_dir", "sip_ip", "sip_port", "rpc_port", "rtpengine_ng_port", "web_port", "media_ip",
    "rtp_port_min", "rtp_port_max", "test_destination", "anchor_media", "allowed_sources",
    "database_url", "templates_dir",
})
GROUPS = {
    "all": [v.key for v in VARIANTS],
    "minimal": ["minimal-nomedia", "minimal-media"],
    "project": ["project-nomedia", "project-media"],
    "media": ["minimal-media", "project-media"],
    "nomedia": ["minimal-nomedia", "project-nomedia"],
}


@dataclass(frozen=True)
class Plan:
    """How hard each trial pushes and how long the search may take."""

    duration_s: float  # calls are offered for this long: calls = rate * duration
    hold_ms: int  # time between ACK and BYE
    max_trials: int  # trials per configuration, retries included
    precision: float  # stop when lowest failing / highest passing rate <= this
    min_rate: int
    max_rate: int
    start_rate: int
    # A failing rate is tried once more (if trials are left) and passes if either try
    # passes: other jobs on a shared machine cause false failures, never false passes.
    retry_failures: bool = True
    budget_s: float = 540.0  # the whole run; each config gets a share of what is left

    @property
    def trial_timeout_s(self) -> float:
        """SIPp's own -timeout: offering + holding + the answer timeout + margin."""
        return self.duration_s + self.hold_ms / 1000 + RECV_TIMEOUT_MS / 1000 + 4


FULL = Plan(duration_s=8, hold_ms=1000, max_trials=9, precision=1.1,
            min_rate=25, max_rate=4000, start_rate=400)
QUICK = Plan(duration_s=3, hold_ms=500, max_trials=5, precision=1.3,
             min_rate=25, max_rate=4000, start_rate=400, retry_failures=False,
             budget_s=240.0)


# --------------------------------------------------------------------------- processes
class Stoppable(Protocol):
    def stop(self) -> None: ...


class Registry:
    """Every process this run started, stopped by pid in reverse order on the way out."""

    def __init__(self) -> None:
        self._live: list[Stoppable] = []

    def add(self, proc: Stoppable) -> None:
        self._live.append(proc)

    def stop(self, proc: Stoppable) -> None:
        try:
            proc.stop()
        finally:
            with contextlib.suppress(ValueError):
                self._live.remove(proc)

    def stop_all(self) -> None:
        while self._live:
            proc = self._live.pop()
            with contextlib.suppress(Exception):
                proc.stop()


class SippProcess:
    """One SIPp instance in its own session; stop() kills it by pid."""

    def __init__(self, name: str, argv: list[str], cwd: Path) -> None:
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.log = cwd / f"{name}.out"
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.cwd.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self._popen = subprocess.Popen(
                self.argv, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    @property
    def popen(self) -> subprocess.Popen[bytes]:
        if self._popen is None:
            raise RuntimeError(f"SIPp {self.name} was not started")
        return self._popen

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def wait(self, timeout: float) -> int:
        """Wait for the exit code; past timeout ask SIPp to stop (SIGUSR1), then kill."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGUSR1)  # SIPp: stop now, write the final statistics
        try:
            return self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.stop()
            return self.popen.returncode if self.popen.returncode is not None else -9

    def stop(self) -> None:
        if self._popen is not None and self._popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=3)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)

    def output_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Interrupted(BaseException):
    """SIGTERM/SIGHUP: unwind like Ctrl-C so that every process gets stopped."""


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


# --------------------------------------------------------------------------- ports
_handed_out: set[int] = set()


def _port_free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                return False
    return True


def free_port(block: int = 1) -> int:
    """First of `block` consecutive ports free for TCP and UDP on loopback.

    Drawn from 12000-19999: apart from the tests' 20000-29999, below the kernel's
    ephemeral range and away from the project's default ports.
    """
    for _ in range(500):
        port = random.randrange(12000, 20000 - block, 2)
        wanted = range(port, port + block)
        if _handed_out.isdisjoint(wanted) and all(_port_free(p) for p in wanted):
            _handed_out.update(wanted)
            return port
    raise RuntimeError("no free port found in 12000-19999")


def rtp_range(size: int = 8000) -> tuple[int, int]:
    """rtpengine's port range (it skips ports that are busy)."""
    base = random.randrange(50000, 60000 - size, 2)
    return base, base + size


def udp_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


# Kamailio log lines that explain failed calls: (label, substring)
KAMAILIO_DIAGNOSTICS = (
    ("kamailio out of shm", "could not allocate shared memory"),
    ("rtpengine out of ports", "Ran out of ports"),
    ("rtpengine timeouts", "timeout waiting reply"),
    ("rtpengine disabled", "no available proxies"),
)


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def diagnose_log(path: Path, offset: int) -> list[str]:
    """Counts of the known causes of failure logged by Kamailio since offset."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return []
    found = []
    for label, needle in KAMAILIO_DIAGNOSTICS:
        count = text.count(needle)
        if count:
            found.append(f"{label} {count}")
    return found


def group_cpu_seconds(pgid: int | None) -> float:
    """CPU time (user + system) used so far by the live processes of a process group."""
    if pgid is None:
        return 0.0
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- SIPp stats
@dataclass
class SippStats:
    created: int = 0
    successful: int = 0
    failed: int = 0
    retransmissions: int = 0
    creation_s: float | None = None  # time until the last call was created
    response_ms: float | None = None  # mean INVITE -> 200 time
    failure_kinds: dict[str, int] = field(default_factory=dict)


def _duration_ms(text: str) -> float | None:
    parts = text.split(":")  # HH:MM:SS:uuuuuu
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes, seconds, micros = (int(p) for p in parts)
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + micros / 1000


def _epoch(text: str) -> float:
    return float(text.split("\t")[-1])


def parse_stats(path: Path, calls: int) -> SippStats:
    """Read SIPp's -trace_stat file (one row per second, the last one at exit)."""
    stats = SippStats()
    if not path.exists():
        return stats
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    if len(lines) < 2:
        return stats
    header = lines[0].rstrip(";").split(";")
    rows = [dict(zip(header, ln.rstrip(";").split(";"), strict=False)) for ln in lines[1:]]

    def number(row: dict[str, str], name: str) -> int:
        try:
            return int(float(row.get(name, "0") or 0))
        except ValueError:
            return 0

    last = rows[-1]
    stats.created = number(last, "OutgoingCall(C)")
    stats.successful = number(last, "SuccessfulCall(C)")
    stats.failed = number(last, "FailedCall(C)")
    stats.retransmissions = number(last, "Retransmissions(C)")
    # the row written at exit has the cumulative mean reset: take the one before
    stats.response_ms = _duration_ms(rows[-2 if len(rows) > 1 else -1]
                                     .get("ResponseTime1(C)", ""))
    stats.failure_kinds = {
        name[len("Failed"):-3]: number(last, name) for name in header
        if name.startswith("Failed") and name.endswith("(C)") and name != "FailedCall(C)"
        and number(last, name)
    }
    with contextlib.suppress(ValueError, KeyError):
        start = _epoch(last["StartTime"])
        for row in rows:
            if number(row, "OutgoingCall(C)") >= calls:
                stats.creation_s = _epoch(row["CurrentTime"]) - start
                break
    return stats


# --------------------------------------------------------------------------- machine
def _first_line(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return lines[0].strip() if lines else "?"


def machine_info() -> dict[str, str]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    kam = _first_line(["kamailio", "-v"])
    kam_match = re.search(r"kamailio (\S+)", kam)
    rtp = _first_line(["rtpengine", "--version"])
    sipp = ""
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        out = subprocess.run(["sipp", "-v"], capture_output=True, text=True, timeout=10,
                             check=False)
        sipp_match = re.search(r"SIPp (v[\w.]+)", out.stdout + out.stderr)
        sipp = sipp_match.group(1) if sipp_match else "?"
    info = {
        "cpu": cpu,
        "cores": str(os.cpu_count() or "?"),
        "memory": mem_gib,
        "kernel": f"{platform.system()} {platform.release()}",
        "kamailio": kam_match.group(1) if kam_match else kam,
        "rtpengine": rtp.removeprefix("Version:").strip(),
        "sipp": sipp or "?",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    info["line"] = (
        f"{info['cpu']}, {info['cores']} cores, {info['memory']} RAM, {info['kernel']}, "
        f"Kamailio {info['kamailio']}, rtpengine {info['rtpengine']}, "
        f"SIPp {info['sipp']}, {info['date']}"
    )
    return info


# --------------------------------------------------------------------------- one trial
@dataclass
class Trial:
    rate: int
    calls: int
    allowed_failures: int
    successful: int
    failed: int
    retransmissions: int
    creation_s: float | None
    response_ms: float | None
    sustained: bool
    ok: bool
    note: str
    seconds: float
    kamailio_cpu_us_per_call: float | None = None
    rtpengine_cpu_us_per_call: float | None = None

    def describe(self) -> str:
        verdict = "pass" if self.ok else "FAIL"
        creation = "?" if self.creation_s is None else f"{self.creation_s:.1f}s"
        resp = ("?" if self.response_ms is None
                else "<1ms" if self.response_ms < 1 else f"{self.response_ms:.0f}ms")
        cpu = "" if self.kamailio_cpu_us_per_call is None else (
            f"  CPU/call kamailio {self.kamailio_cpu_us_per_call:.0f}us"
            + ("" if self.rtpengine_cpu_us_per_call is None
               else f" rtpengine {self.rtpengine_cpu_us_per_call:.0f}us"))
        text = (f"{self.rate:>5} cps  {verdict}  failed {self.failed}/{self.calls} "
                f"(max {self.allowed_failures})  offered in {creation}  "
                f"INVITE->200 {resp}  retrans {self.retransmissions}{cpu}")
        return text + (f"  [{self.note}]" if self.note else "")


@dataclass
class Result:
    variant: Variant
    best: int | None = None  # highest passing rate
    lowest_fail: int | None = None
    trials: list[Trial] = field(default_factory=list)
    seconds: float = 0.0
    truncated: bool = False  # stopped by the time budget

    @property
    def figure(self) -> str:
        if self.best is None:
            return f"<{min((t.rate for t in self.trials), default=0)}"
        return str(self.best)


Log = Callable[[str], None]


class Bench:
    def __init__(self, workdir: Path, plan: Plan, registry: Registry, log: Log,
                 trace_errors: bool = False, overrides: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.trace_errors = trace_errors
        self.overrides = overrides or {}
        self.plan = plan
        self.registry = registry
        self.log = log
        self._checked: set[str] = set()
        self._jinja = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(BENCH_DIR)),
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
        )
        self.settings_used: Settings | None = None

    # configs ---------------------------------------------------------------------
    def settings_for(self, variant: Variant, dest_port: int) -> Settings:
        rtp_min, rtp_max = rtp_range()
        return Settings(
            **self.overrides,  # type: ignore[arg-type]  # validated (and coerced) by pydantic
            var_dir=self.workdir / variant.key,
            sip_ip=LOOPBACK,
            sip_port=free_port(),
            rpc_port=free_port(),
            rtpengine_ng_port=free_port(),
            web_port=free_port(),
            media_ip=LOOPBACK,
            rtp_port_min=rtp_min,
            rtp_port_max=rtp_max,
            test_destination=f"{LOOPBACK}:{dest_port}",
            anchor_media=variant.media,
            allowed_sources=["127.0.0.0/8"],
        )

    def render(self, variant: Variant, settings: Settings) -> tuple[Path, Path | None]:
        """Kamailio config and rtpengine config (None: no rtpengine for this variant)."""
        check = variant.key not in self._checked
        self._checked.add(variant.key)
        if variant.config == "project":
            configs = write_configs(settings, check=check)
            # the project's config always loads the rtpengine module: start rtpengine
            # like `orchestrator stack up` does, idle when anchor_media is off
            return configs.kamailio_cfg, configs.rtpengine_conf
        settings.ensure_dirs()
        cfg = settings.config_dir / "minimal_relay.cfg"
        cfg.write_text(self._jinja.get_template("minimal_relay.cfg.j2").render(
            s=settings, modules_dir=kamailio_modules_dir(), media=variant.media))
        if check:
            check_kamailio(settings, cfg)
        if not variant.media:
            return cfg, None
        conf = settings.config_dir / "minimal_rtpengine.conf"
        conf.write_text(self._jinja.get_template("minimal_rtpengine.conf.j2").render(s=settings))
        return cfg, conf

    # one trial -------------------------------------------------------------------
    def trial(self, variant: Variant, rate: int, number: int) -> Trial:
        from orchestrator.stack import daemons  # needs orchestrator.kamailio / .rtpengine

        began = time.monotonic()
        plan = self.plan
        calls = max(1, round(rate * plan.duration_s))
        allowed = math.floor(calls * MAX_FAIL_RATIO)
        dest_port = free_port()
        settings = self.settings_for(variant, dest_port)
        self.settings_used = settings
        cfg, conf = self.render(variant, settings)
        trial_dir = settings.var_dir / f"trial-{number}-{rate}cps"
        started: list[Stoppable] = []

        def launch(proc: Stoppable, start: Callable[[], None]) -> None:
            # registered before it starts: an interrupt at any moment still stops it
            started.append(proc)
            self.registry.add(proc)
            start()

        note: list[str] = []
        rtpengine: ManagedProcess | None = None
        cpu: dict[str, float] = {}
        try:
            if conf is not None:
                rtpengine = daemons.rtpengine_process(settings, conf)
                launch(rtpengine, rtpengine.start)
                wait_until(lambda: daemons.rtpengine_ready(settings), daemons.READY_TIMEOUT,
                           "ng ping answers", rtpengine)
            kamailio = daemons.kamailio_process(settings, cfg)
            log_offset = log_size(kamailio.logfile)
            launch(kamailio, kamailio.start)
            wait_until(lambda: daemons.kamailio_ready(settings), daemons.READY_TIMEOUT,
                       "JSON-RPC answers", kamailio)
            common = ["-i", LOOPBACK, "-mi", LOOPBACK, "-t", "u1", "-nostdin",
                      "-buff_size", str(SIPP_BUFFER)]
            if self.trace_errors:
                common += ["-trace_err", "-error_file", "errors.log"]
            uas = SippProcess("uas", ["sipp", "-sf", str(UAS_SCENARIO), "-p", str(dest_port),
                                      "-mp", str(free_port(4)), *common], trial_dir)
            launch(uas, uas.start)
            self._await_udp(uas, dest_port)
            uac_argv = [
                "sipp", f"{LOOPBACK}:{settings.sip_port}", "-sf", str(UAC_SCENARIO),
                "-s", "bench", "-p", str(free_port()), "-mp", str(free_port(4)), *common,
                "-m", str(calls), "-r", str(rate), "-l", str(calls),
                "-d", str(plan.hold_ms), "-recv_timeout", str(RECV_TIMEOUT_MS),
                "-timeout", f"{math.ceil(plan.trial_timeout_s)}s",
                "-trace_stat", "-stf", "stats.csv", "-fd", "1",
            ]
            uac = SippProcess("uac", uac_argv, trial_dir)
            cpu["kamailio"] = -group_cpu_seconds(kamailio.pid)
            if rtpengine is not None:
                cpu["rtpengine"] = -group_cpu_seconds(rtpengine.pid)
            launch(uac, uac.start)
            code = uac.wait(timeout=plan.trial_timeout_s + 10)
            cpu["kamailio"] += group_cpu_seconds(kamailio.pid)
            if rtpengine is not None:
                cpu["rtpengine"] += group_cpu_seconds(rtpengine.pid)
            if code not in (0, 1, 97, 99):
                note.append(f"sipp exit {code}")
                if code in (254, 255, -1, -2):
                    raise RuntimeError(f"SIPp failed (exit {code}):\n{uac.output_tail()}")
            if not kamailio.running():
                note.append("kamailio died")
            if not uas.running():
                note.append("uas died")
            note += diagnose_log(kamailio.logfile, log_offset)
        finally:
            for proc in reversed(started):
                self.registry.stop(proc)
        stats = parse_stats(trial_dir / "stats.csv", calls)
        failed = calls - stats.successful
        sustained = (stats.creation_s is not None
                     and stats.creation_s <= plan.duration_s * 1.1 + 1.0)
        if not sustained:
            note.append("rate not sustained")
        if stats.failure_kinds:
            note.append(", ".join(f"{k} {v}" for k, v in stats.failure_kinds.items()))
        ok = sustained and failed <= allowed and "kamailio died" not in note

        def per_call(name: str) -> float | None:
            # CPU used while the calls ran, over the calls placed (all daemons' processes)
            return round(cpu[name] * 1e6 / calls, 1) if name in cpu else None

        return Trial(rate, calls, allowed, stats.successful, failed, stats.retransmissions,
                     stats.creation_s, stats.response_ms, sustained, ok, "; ".join(note),
                     round(time.monotonic() - began, 1), per_call("kamailio"),
                     per_call("rtpengine"))

    @staticmethod
    def _await_udp(proc: SippProcess, port: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.running():
                raise RuntimeError(f"SIPp {proc.name} exited:\n{proc.output_tail()}")
            if udp_bound(port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"SIPp {proc.name} did not bind UDP port {port}")

    # the search ------------------------------------------------------------------
    def search(self, variant: Variant, start: int | None = None, step: float = 2.0,
               deadline: float = math.inf) -> Result:
        """Multiply (or divide) the rate by step until the verdict flips, then bisect.

        The bisection is geometric and stops when lowest failing / highest passing rate
        is within the plan's precision, the trials are used up, or the next trial could
        end after deadline (time.monotonic()).
        """
        plan = self.plan
        result = Result(variant)
        began = time.monotonic()
        rate = max(plan.min_rate, min(plan.max_rate, start or plan.start_rate))
        tried: set[int] = set()
        number = 0

        def time_left() -> bool:  # a failing trial lasts up to its timeout + start/stop
            return time.monotonic() + plan.trial_timeout_s + 5 <= deadline

        while number < plan.max_trials:
            if number and not time_left():
                self.log(f"  {variant.key:<16} time budget used up: search stopped")
                result.truncated = True
                break
            tried.add(rate)
            number += 1
            trial = self.trial(variant, rate, number)
            result.trials.append(trial)
            self.log(f"  {variant.key:<16} trial {number}: {trial.describe()}")
            if (not trial.ok and plan.retry_failures and number < plan.max_trials
                    and time_left()):
                number += 1
                trial = self.trial(variant, rate, number)
                result.trials.append(trial)
                self.log(f"  {variant.key:<16} trial {number}: {trial.describe()}  (retry)")
            if trial.ok:
                result.best = max(result.best or 0, rate)
                if result.lowest_fail is not None and result.lowest_fail <= rate:
                    result.lowest_fail = None  # noise: a lower rate failed; look above again
            else:
                below = result.best is None or rate > result.best
                if below and (result.lowest_fail is None or rate < result.lowest_fail):
                    result.lowest_fail = rate
            nxt = self._next_rate(result, rate, step)
            if nxt is None or nxt in tried:
                break
            rate = nxt
        result.seconds = round(time.monotonic() - began, 1)
        return result

    def _next_rate(self, result: Result, rate: int, step: float) -> int | None:
        plan = self.plan
        best, fail = result.best, result.lowest_fail
        if fail is None:  # nothing failed above the best pass: go up
            return None if rate >= plan.max_rate else min(plan.max_rate, round(rate * step))
        if best is None:  # nothing passed yet: go down
            return None if rate <= plan.min_rate else max(plan.min_rate, round(rate / step))
        if fail / best <= plan.precision:
            return None
        return round(math.sqrt(best * fail))


# --------------------------------------------------------------------------- report
def ratios(results: dict[str, Result]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for media in ("nomedia", "media"):
        mini, proj = results.get(f"minimal-{media}"), results.get(f"project-{media}")
        if mini is None or proj is None:
            continue
        if mini.best and proj.best is not None:
            out[media] = round(proj.best / mini.best, 2)
        else:
            out[media] = None
    return out


def cpu_comparison(results: dict[str, Result]) -> dict[str, dict[str, Any]]:
    """Kamailio (and rtpengine) CPU per call of both configs at one rate both ran.

    CPU per call at equal load is much less sensitive to the noise of a shared machine
    than the highest clean rate, so it backs up (or questions) the ratio of rates.
    """
    out: dict[str, dict[str, Any]] = {}
    for media in ("nomedia", "media"):
        mini, proj = results.get(f"minimal-{media}"), results.get(f"project-{media}")
        if mini is None or proj is None:
            continue
        # per rate, the passing try if there is one (the last try otherwise)
        by_rate = [{t.rate: t for t in sorted(res.trials, key=lambda t: t.ok)}
                   for res in (mini, proj)]
        common = set(by_rate[0]) & set(by_rate[1])
        passed = {r for r in common if by_rate[0][r].ok and by_rate[1][r].ok}
        if not common:
            continue
        rate = max(passed or common)
        m, p = by_rate[0][rate], by_rate[1][rate]
        entry: dict[str, Any] = {
            "rate": rate, "both_passed": rate in passed,
            "kamailio_us": {"minimal": m.kamailio_cpu_us_per_call,
                            "project": p.kamailio_cpu_us_per_call},
            "rtpengine_us": {"minimal": m.rtpengine_cpu_us_per_call,
                             "project": p.rtpengine_cpu_us_per_call},
        }
        if m.kamailio_cpu_us_per_call and p.kamailio_cpu_us_per_call:
            entry["kamailio_project_over_minimal"] = round(
                p.kamailio_cpu_us_per_call / m.kamailio_cpu_us_per_call, 2)
        out[media] = entry
    return out


def _us(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f} us"


def text_report(machine: dict[str, str], plan: Plan, results: dict[str, Result],
                settings: Settings | None, seconds: float, argv: list[str]) -> str:
    lines = [
        "Call rate (bench/cps.py): highest rate with <= 0.1 % failed calls",
        f"machine: {machine['line']}",
        f"method:  calls = rate x {plan.duration_s:g} s, hold {plan.hold_ms} ms, "
        f"answer timeout {RECV_TIMEOUT_MS} ms; SIPp UAC/UAS on UDP loopback, no RTP",
        f"search:  rates {plan.min_rate}-{plan.max_rate} cps, <= {plan.max_trials} trials "
        f"per config{', a failing rate is retried once' if plan.retry_failures else ''}",
    ]
    if settings is not None:
        lines.append(f"kamailio: children {settings.kamailio_children}, "
                     f"-m {settings.kamailio_shm_mb} MB, -M {settings.kamailio_pkg_mb} MB, "
                     f"-x tlsf, debug {settings.kamailio_debug}")
    lines.append("")
    lines.append(f"{'config':<16}{'no media':>12}{'with media':>12}   (calls/s)")
    for config in ("minimal", "project"):
        cells = []
        for media in ("nomedia", "media"):
            res = results.get(f"{config}-{media}")
            cells.append("-" if res is None else res.figure)
        lines.append(f"{config:<16}{cells[0]:>12}{cells[1]:>12}")
    rat = ratios(results)
    if rat:
        def cell(key: str) -> str:
            if key not in rat:
                return "-"
            value = rat[key]
            return "n/a" if value is None else f"{value:.2f}"
        lines.append(f"{'project/minimal':<16}{cell('nomedia'):>12}{cell('media'):>12}")
    cpu = cpu_comparison(results)
    if cpu:
        lines.append("")
        lines.append("Kamailio CPU per call at one rate both configs ran (less noisy than rates):")
        for media, entry in cpu.items():
            kam, rtp = entry["kamailio_us"], entry["rtpengine_us"]
            ratio = entry.get("kamailio_project_over_minimal")
            text = (f"  {'no media' if media == 'nomedia' else 'with media':<10} at "
                    f"{entry['rate']:>4} cps: minimal {_us(kam['minimal'])}, "
                    f"project {_us(kam['project'])}"
                    + ("" if ratio is None else f" (project x{ratio:.2f})"))
            if rtp["minimal"] is not None and rtp["project"] is not None:
                text += f"; rtpengine {_us(rtp['minimal'])} / {_us(rtp['project'])}"
            if not entry["both_passed"]:
                text += "  [not a clean rate for both]"
            lines.append(text)
    lines.append("")
    lines.append("bracket (highest pass .. lowest fail), trials, time:")
    for key, res in results.items():
        fail = "-" if res.lowest_fail is None else str(res.lowest_fail)
        lines.append(f"  {key:<16} {res.figure:>5} .. {fail:<5} {len(res.trials)} trials  "
                     f"{res.seconds:.0f} s" + ("  (time budget reached)" if res.truncated
                                              else ""))
    lines.append("")
    lines.append(f"total {seconds:.0f} s; command: {' '.join(argv)}")
    return "\n".join(lines)


def json_report(machine: dict[str, str], plan: Plan, results: dict[str, Result],
                settings: Settings | None, seconds: float, argv: list[str]) -> str:
    data: dict[str, Any] = {
        "machine": machine,
        "plan": asdict(plan) | {"recv_timeout_ms": RECV_TIMEOUT_MS,
                                "max_fail_ratio": MAX_FAIL_RATIO},
        "kamailio": None if settings is None else {
            "children": settings.kamailio_children, "shm_mb": settings.kamailio_shm_mb,
            "pkg_mb": settings.kamailio_pkg_mb},
        "results": {
            key: {"config": res.variant.config, "media": res.variant.media,
                  "cps": res.best, "lowest_failing_cps": res.lowest_fail,
                  "seconds": res.seconds, "truncated": res.truncated,
                  "trials": [asdict(t) for t in res.trials]}
            for key, res in results.items()
        },
        "ratios_project_over_minimal": ratios(results),
        "cpu_per_call_at_common_rate": cpu_comparison(results),
        "seconds": round(seconds, 1),
        "command": " ".join(argv),
    }
    return json.dumps(data, indent=2)


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/cps.py",
        description=(
            "Find the highest call rate (calls/s) that Kamailio relays with at most "
            "0.1 % failed SIPp calls, for a minimal stateful relay config (the physical "
            "limit of this machine) and for the project's config, each with rtpengine "
            "media anchoring and without; print the four figures, the ratios "
            "project/minimal and the machine. Loopback only; every process started is "
            "stopped, also on Ctrl-C."
        ),
        epilog=(
            "configs: " + ", ".join(v.key for v in VARIANTS) + "; groups: "
            + ", ".join(GROUPS) + ". Example: bench/cps.py --quick --configs media. "
            "Method and reading the output: bench/README.md."
        ),
    )
    parser.add_argument("--quick", action="store_true",
                        help="smoke check: 3 s trials, at most 5 trials per config "
                             "(coarse figures, about 2 minutes in all)")
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON on stdout (progress stays on stderr)")
    parser.add_argument("--configs", default="all", metavar="LIST",
                        help="comma-separated configs or groups to measure (default: all)")
    parser.add_argument("--max-trials", type=int, metavar="N",
                        help="override the number of trials per config (retries included)")
    parser.add_argument("--start-rate", type=int, metavar="CPS",
                        help="first rate tried for the minimal configs (default 400); the "
                             "project configs start at their minimal reference's figure")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (configs, logs, SIPp statistics)")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="override a project setting for every config, e.g. "
                             "kamailio_shm_mb=1024 or kamailio_children=8 (repeatable; "
                             "the minimal config follows children and memory too)")
    parser.add_argument("--trace-errors", action="store_true",
                        help="SIPp writes the messages of failed calls to errors.log in "
                             "each trial's directory (use with --keep)")
    args = parser.parse_args(argv)
    wanted: list[str] = []
    for item in (x.strip() for x in args.configs.split(",") if x.strip()):
        if item in GROUPS:
            wanted += GROUPS[item]
        elif item in {v.key for v in VARIANTS}:
            wanted.append(item)
        else:
            parser.error(f"unknown config {item!r}; choose from "
                         + ", ".join([v.key for v in VARIANTS] + list(GROUPS)))
    if not wanted:
        parser.error("--configs selects nothing")
    args.variants = [v for v in VARIANTS if v.key in wanted]
    args.overrides = {}
    for item in args.setting:
        name, sep, value = item.partition("=")
        if not sep or name not in Settings.model_fields or name in BENCH_OWNED:
            parser.error(f"--setting {item!r}: expected NAME=VALUE with a settings field "
                         "other than " + ", ".join(sorted(BENCH_OWNED)))
        args.overrides[name] = value
    if args.overrides:
        try:
            Settings(**args.overrides)
        except ValueError as exc:
            parser.error(f"--setting: {exc}")
    return args


def check_tools() -> None:
    missing = [tool for tool in ("kamailio", "rtpengine", "sipp") if shutil.which(tool) is None]
    if missing:
        raise SystemExit("missing: " + ", ".join(missing)
                         + " (install the Debian packages: `make bench` does it as root)")


def check_imports() -> None:
    """orchestrator.stack.daemons needs the RPC and ng clients of the project."""
    try:
        from orchestrator.stack import daemons  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"cannot import orchestrator.stack.daemons ({exc}); "
                         "the project is incomplete or not installed (make install)") from exc


def run(args: argparse.Namespace, registry: Registry) -> int:
    check_tools()
    check_imports()
    plan = QUICK if args.quick else FULL
    if args.max_trials:
        plan = Plan(**(asdict(plan) | {"max_trials": args.max_trials}))
    if args.start_rate:
        plan = Plan(**(asdict(plan) | {"start_rate": args.start_rate}))

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    machine = machine_info()
    log(f"machine: {machine['line']}")
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="cps-bench-"))
    results: dict[str, Result] = {}
    deadline = began + plan.budget_s
    bench = Bench(workdir, plan, registry, log, args.trace_errors, args.overrides)
    try:
        for index, variant in enumerate(args.variants):
            # a project config starts at its minimal reference's figure, with finer steps
            start, step = None, 2.0
            if variant.config == "project":
                ref = results.get(f"minimal-{'media' if variant.media else 'nomedia'}")
                if ref is not None and ref.best:
                    start, step = ref.best, math.sqrt(2)
            log(f"{variant.label} ...")
            share = (deadline - time.monotonic()) / (len(args.variants) - index)
            results[variant.key] = bench.search(variant, start, step,
                                                deadline=time.monotonic() + share)
    finally:
        registry.stop_all()
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.monotonic() - began
    command = ["bench/cps.py", *sys.argv[1:]]
    report = json_report if args.json else text_report
    print(report(machine, plan, results, bench.settings_used, seconds, command))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    registry = Registry()
    # Ctrl-C also when started in the background (where SIGINT would be ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    try:
        return run(args, registry)
    except (KeyboardInterrupt, Interrupted):
        print("\ninterrupted: every process started was stopped", file=sys.stderr)
        return 130
    except (ProcessError, RuntimeError) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        registry.stop_all()


if __name__ == "__main__":
    sys.exit(main())
