"""Processes of a trial (SIPp, and the registry that stops everything by pid), free
loopback ports, CPU time of a process group and Kamailio log diagnostics."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
from pathlib import Path
from types import FrameType
from typing import Protocol

LOOPBACK = "127.0.0.1"


class Stoppable(Protocol):
    def stop(self) -> None: ...


class Registry:
    """Every process this run started, stopped by pid in reverse order on the way out."""

    def __init__(self) -> None:
        self._live: list[Stoppable] = []

    def add(self, proc: Stoppable) -> None:
        self._live.append(proc)

    def stop(self, proc: Stoppable) -> None:
        """Stop ``proc``; if that fails it stays registered and stop_all tries again."""
        proc.stop()
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


def on_signal(signum: int, _frame: FrameType | None) -> None:
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
