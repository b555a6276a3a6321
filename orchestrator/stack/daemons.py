"""The five processes of the local switch and how to tell that each is ready."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from orchestrator.jobs.worker import heartbeat_path
from orchestrator.kamailio.rpc import KamailioRPC
from orchestrator.media.dtmf import ping as dtmf_ping
from orchestrator.rtpengine.ng import NgClient
from orchestrator.settings import Settings
from orchestrator.stack.processes import ManagedProcess, wait_until

READY_TIMEOUT = 30.0


def kamailio_process(settings: Settings, cfg: Path) -> ManagedProcess:
    run = settings.run_dir / "kamailio"
    argv = [
        settings.kamailio_binary, "-f", str(cfg),
        "-DD", "-E",                         # foreground, log to stderr (our log file)
        "-m", str(settings.kamailio_shm_mb),  # explicit shared memory (MB)
        "-M", str(settings.kamailio_pkg_mb),  # private memory per process (MB)
        "-x", "tlsf",                        # TLSF allocator: big mtree reloads in seconds
        "-Y", str(run),                      # runtime dir inside var/
        "-w", str(run),
    ]
    run.mkdir(parents=True, exist_ok=True)
    return ManagedProcess("kamailio", argv, settings.run_dir / "kamailio.pid",
                          settings.log_dir / "kamailio.log")


def rtpengine_process(settings: Settings, conf: Path) -> ManagedProcess:
    argv = [settings.rtpengine_binary, f"--config-file={conf}", "--config-section=rtpengine",
            "--foreground", "--log-stderr"]
    return ManagedProcess("rtpengine", argv, settings.run_dir / "rtpengine.pid",
                          settings.log_dir / "rtpengine.log")


def _python_env(settings: Settings) -> dict[str, str]:
    """The environment of our own Python children: the supervisor's effective settings."""
    env = dict(os.environ)
    env.update({
        "ORCHESTRATOR_VAR_DIR": str(settings.var_dir),
        "ORCHESTRATOR_WEB_HOST": settings.web_host,
        "ORCHESTRATOR_WEB_PORT": str(settings.web_port),
        "ORCHESTRATOR_RPC_PORT": str(settings.rpc_port),
        "ORCHESTRATOR_RTPENGINE_NG_PORT": str(settings.rtpengine_ng_port),
        "ORCHESTRATOR_DTMF_PORT": str(settings.dtmf_port),
        "ORCHESTRATOR_DATABASE_URL": settings.db_url,
        "ORCHESTRATOR_JOB_WORKERS": str(settings.job_workers),
    })
    return env


def web_process(settings: Settings) -> ManagedProcess:
    argv = [sys.executable, "-m", "orchestrator", "web", "serve"]
    return ManagedProcess("web", argv, settings.run_dir / "web.pid",
                          settings.log_dir / "web.log", env=_python_env(settings))


def worker_process(settings: Settings) -> ManagedProcess:
    argv = [sys.executable, "-m", "orchestrator", "jobs", "worker"]
    return ManagedProcess("worker", argv, settings.run_dir / "worker.pid",
                          settings.log_dir / "worker.log", env=_python_env(settings))


def dtmf_collector_process(settings: Settings) -> ManagedProcess:
    argv = [sys.executable, "-m", "orchestrator", "media", "dtmf-collector"]
    return ManagedProcess("dtmf", argv, settings.run_dir / "dtmf.pid",
                          settings.log_dir / "dtmf.log", env=_python_env(settings))


def cdr_collector_process(settings: Settings) -> ManagedProcess:
    argv = [sys.executable, "-m", "orchestrator", "billing", "collector"]
    return ManagedProcess("cdrs", argv, settings.run_dir / "cdrs.pid",
                          settings.log_dir / "cdrs.log", env=_python_env(settings))


def kamailio_ready(settings: Settings) -> bool:
    version = KamailioRPC(settings.rpc_url, timeout=1.0).call("core.version")
    return isinstance(version, str) and version.startswith("kamailio")


def rtpengine_ready(settings: Settings) -> bool:
    NgClient("127.0.0.1", settings.rtpengine_ng_port, timeout=0.5, retries=0).ping()
    return True


def web_ready(settings: Settings) -> bool:
    url = f"http://{settings.web_host}:{settings.web_port}/login"
    return requests.get(url, timeout=1.0).status_code == 200


def worker_ready(settings: Settings, since: float) -> bool:
    """The worker's threads have started: it wrote its heartbeat after ``since``.

    The worker writes it only once it holds the worker lock, has loaded the task
    modules, checked the jobs table and started huey's consumer threads.
    """
    beat = heartbeat_path(settings)
    return beat.is_file() and beat.stat().st_mtime >= since


def dtmf_collector_ready(settings: Settings) -> bool:
    """The collector answers ``ping`` on its UDP port."""
    return dtmf_ping("127.0.0.1", settings.dtmf_port)


def start_kamailio(settings: Settings, cfg: Path) -> ManagedProcess:
    proc = kamailio_process(settings, cfg)
    proc.start()
    _await(proc, lambda: kamailio_ready(settings), "JSON-RPC answers")
    return proc


def start_rtpengine(settings: Settings, conf: Path) -> ManagedProcess:
    proc = rtpengine_process(settings, conf)
    proc.start()
    _await(proc, lambda: rtpengine_ready(settings), "ng ping answers")
    return proc


def start_web(settings: Settings) -> ManagedProcess:
    proc = web_process(settings)
    proc.start()
    _await(proc, lambda: web_ready(settings), "login page loads")
    return proc


def start_worker(settings: Settings) -> ManagedProcess:
    proc = worker_process(settings)
    since = time.time() - 1.0  # file mtimes may be coarser than the clock
    heartbeat_path(settings).unlink(missing_ok=True)
    proc.start()
    _await(proc, lambda: worker_ready(settings, since), "worker threads run (heartbeat)")
    return proc


def start_dtmf_collector(settings: Settings) -> ManagedProcess:
    proc = dtmf_collector_process(settings)
    proc.start()
    _await(proc, lambda: dtmf_collector_ready(settings), "DTMF collector answers ping")
    return proc


def start_cdr_collector(settings: Settings) -> ManagedProcess:
    """The CDR collector is ready once it has made its first pass (heartbeat file)."""
    from orchestrator.billing.collector_setup import heartbeat_path as cdr_heartbeat

    proc = cdr_collector_process(settings)
    since = time.time() - 1.0
    beat = cdr_heartbeat(settings)
    beat.unlink(missing_ok=True)
    proc.start()
    _await(proc, lambda: beat.is_file() and beat.stat().st_mtime >= since,
           "CDR collector made its first pass (heartbeat)")
    return proc


def _await(proc: ManagedProcess, check: Callable[[], object], what: str) -> None:
    try:
        wait_until(check, READY_TIMEOUT, what, proc)
    except Exception:
        proc.stop()
        raise
