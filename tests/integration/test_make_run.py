"""`make run` and `orchestrator stack up|status|down` start and stop the whole switch."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.ports import free_port, rtp_range
from tests.support.procs import processes_mentioning, sip_options

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            seen.append(line)
            if marker in line:
                return "".join(seen)
        elif proc.poll() is not None:
            break
        else:
            time.sleep(0.1)
    raise AssertionError(f"{marker!r} not seen; output so far:\n{''.join(seen)}")


def test_make_run_serves_sip_and_web_and_stops_clean(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = dict(os.environ, ORCHESTRATOR_VAR_DIR=str(var))
    proc = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output = _read_until(proc, "switch ready", timeout=180)
        assert re.search(r"one-time password\s+\S{12,}", output), output
        assert sip_options("127.0.0.1", 5060).startswith("SIP/2.0 200")
        page = requests.get("http://127.0.0.1:8080/login", timeout=5)
        assert page.status_code == 200
        assert 'name="password"' in page.text
        started = processes_mentioning(str(var))
        assert len(started) >= 3, started  # kamailio (several), rtpengine, web admin
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 5
    while processes_mentioning(str(var)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_mentioning(str(var)) == []
    assert not list((var / "run").glob("*.pid"))


def test_stack_up_detached_status_down(tmp_path: Path) -> None:
    var = tmp_path / "var"
    rtp_min, rtp_max = rtp_range()
    env = dict(
        os.environ, ORCHESTRATOR_VAR_DIR=str(var),
        ORCHESTRATOR_SIP_PORT=str(free_port()), ORCHESTRATOR_RPC_PORT=str(free_port()),
        ORCHESTRATOR_RTPENGINE_NG_PORT=str(free_port()), ORCHESTRATOR_WEB_PORT=str(free_port()),
        ORCHESTRATOR_RTP_PORT_MIN=str(rtp_min), ORCHESTRATOR_RTP_PORT_MAX=str(rtp_max),
        ORCHESTRATOR_KAMAILIO_SHM_MB="64", ORCHESTRATOR_DTMF_PORT=str(free_port()),
    )
    cli = [sys.executable, "-m", "orchestrator", "stack"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)

    try:
        up = run("up", "--detach")
        assert up.returncode == 0, up.stdout + up.stderr
        status = run("status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert re.search(r"kamailio\s+up, kamailio 5\.6", status.stdout), status.stdout
        assert re.search(r"rtpengine\s+up", status.stdout), status.stdout
        assert re.search(r"worker\s+pid \d+", status.stdout), status.stdout
        assert (var / "run" / "worker.heartbeat").is_file()
        assert re.search(r"dtmf\s+pid \d+", status.stdout), status.stdout
        assert re.search(r"cdrs\s+pid \d+", status.stdout), status.stdout
        again = run("up", "--detach")
        assert again.returncode != 0 and "already running" in again.stderr
        down = run("down")
        assert down.returncode == 0 and "kamailio" in down.stdout, down.stdout
        assert "worker" in down.stdout, down.stdout
        after = run("status")
        assert after.returncode == 1
        assert "DOWN" in after.stdout
    finally:
        run("down")
    assert processes_mentioning(str(var)) == []
