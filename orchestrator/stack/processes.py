"""Child processes started in their own session, tracked by pid file, stopped by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


class ProcessError(RuntimeError):
    """A managed process failed to start or to become ready."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); treat it as gone
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def pid_cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


@dataclass
class ManagedProcess:
    """One daemon: its command line, pid file and log file."""

    name: str
    argv: list[str]
    pidfile: Path
    logfile: Path
    env: dict[str, str] | None = None
    _popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        if self._popen is not None:
            return self._popen.pid
        try:
            return int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.pid
        if pid is None:
            return False
        if self._popen is not None:
            return self._popen.poll() is None
        # a pid file from an earlier run: only trust it if the pid is still ours
        return pid_alive(pid) and self.argv[0].rsplit("/", 1)[-1] in pid_cmdline(pid)

    def start(self) -> None:
        if self.running():
            raise ProcessError(f"{self.name} already runs with pid {self.pid}")
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        with open(self.logfile, "ab") as log:
            self._popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env=self.env,
            )
        self.pidfile.write_text(f"{self._popen.pid}\n")

    def exit_code(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL what is left after timeout, reap."""
        pid = self.pid
        if pid is not None and self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self._group_alive(pid):
                if self._popen is not None:
                    self._popen.poll()
                time.sleep(0.05)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=5)
        self.pidfile.unlink(missing_ok=True)

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return pid_alive(pgid) or _any_in_group(pgid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def _any_in_group(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().split(") ", 1)[1].split()
        except (OSError, IndexError):  # gone meanwhile: ENOENT, or ESRCH while reading
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def wait_until(check: Callable[[], object], timeout: float, what: str,
               process: ManagedProcess) -> None:
    """Poll ``check()`` until true; fail early if the process died, with its log."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if not process.running():
            raise ProcessError(
                f"{process.name} exited (code {process.exit_code()}) before {what}; "
                f"log {process.logfile}:\n{process.log_tail()}"
            )
        try:
            if check():
                return
        except Exception as exc:  # any failure means "not ready yet"
            last_error = str(exc)
        time.sleep(0.1)
    raise ProcessError(
        f"{process.name} did not become ready ({what}) within {timeout:.0f} s: {last_error}; "
        f"log {process.logfile}:\n{process.log_tail()}"
    )
