"""`stack up` names a busy port instead of failing inside a daemon's log."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from orchestrator.jobs.worker import heartbeat_path
from orchestrator.settings import Settings
from orchestrator.stack.daemons import dtmf_collector_ready, worker_ready
from orchestrator.stack.stack import StackError, check_ports, processes, status
from tests.support.ports import free_port


def _settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, sip_port=free_port(), rpc_port=free_port(),
                    rtpengine_ng_port=free_port(), web_port=free_port(),
                    dtmf_port=free_port())


def test_free_ports_pass(tmp_path: Path) -> None:
    check_ports(_settings(tmp_path))


def test_busy_sip_port_is_named(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", settings.sip_port))
        with pytest.raises(StackError) as info:
            check_ports(settings)
    message = str(info.value)
    assert f"SIP (sip_port) UDP 127.0.0.1:{settings.sip_port}" in message
    assert "web admin" not in message


def test_busy_web_port_is_named(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", settings.web_port))
        holder.listen()
        with pytest.raises(StackError, match=rf"web admin \(web_port\) 127\.0\.0\.1:"
                                              rf"{settings.web_port}"):
            check_ports(settings)


def test_the_job_worker_is_the_fourth_process(tmp_path: Path) -> None:
    settings = _settings(tmp_path).with_overrides(job_workers=3)
    procs = processes(settings)
    assert [p.name for p in procs] == ["rtpengine", "kamailio", "web", "worker", "dtmf",
                                           "cdrs"]
    worker = procs[3]
    assert worker.argv[-2:] == ["jobs", "worker"]
    assert worker.env is not None and worker.env["ORCHESTRATOR_JOB_WORKERS"] == "3"
    assert worker.env["ORCHESTRATOR_VAR_DIR"] == str(tmp_path)
    assert status(settings)["worker"] is None  # not running


def test_worker_is_ready_when_its_heartbeat_is_fresh(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.ensure_dirs()
    assert not worker_ready(settings, time.time() - 5)
    heartbeat_path(settings).write_text("1\n")
    assert worker_ready(settings, time.time() - 5)
    assert not worker_ready(settings, time.time() + 5)  # a heartbeat from before the start


def test_the_dtmf_collector_is_the_fifth_process(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    collector = processes(settings)[4]
    assert collector.argv[-2:] == ["media", "dtmf-collector"]
    assert collector.env is not None
    assert collector.env["ORCHESTRATOR_DTMF_PORT"] == str(settings.dtmf_port)
    assert collector.pidfile == settings.run_dir / "dtmf.pid"
    assert not dtmf_collector_ready(settings)  # nothing answers ping


def test_busy_dtmf_port_is_named(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", settings.dtmf_port))
        with pytest.raises(StackError, match=r"DTMF collector \(dtmf_port\)"):
            check_ports(settings)
