"""The three processes of the local switch and how to tell that each is ready."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from orchestrator.kamailio.rpc import KamailioRPC
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


def web_process(settings: Settings) -> ManagedProcess:
    env = dict(os.environ)
    env.update({
        "ORCHESTRATOR_VAR_DIR": str(settings.var_dir),
        "ORCHESTRATOR_WEB_HOST": settings.web_host,
        "ORCHESTRATOR_WEB_PORT": str(settings.web_port),
        "ORCHESTRATOR_RPC_PORT": str(settings.rpc_port),
        "ORCHESTRATOR_RTPENGINE_NG_PORT": str(settings.rtpengine_ng_port),
        "ORCHESTRATOR_DATABASE_URL": settings.db_url,
    })
    argv = [sys.executable, "-m", "orchestrator", "web", "serve"]
    return ManagedProcess("web", argv, settings.run_dir / "web.pid",
                          settings.log_dir / "web.log", env=env)


def kamailio_ready(settings: Settings) -> bool:
    version = KamailioRPC(settings.rpc_url, timeout=1.0).call("core.version")
    return isinstance(version, str) and version.startswith("kamailio")


def rtpengine_ready(settings: Settings) -> bool:
    NgClient("127.0.0.1", settings.rtpengine_ng_port, timeout=0.5, retries=0).ping()
    return True


def web_ready(settings: Settings) -> bool:
    url = f"http://{settings.web_host}:{settings.web_port}/login"
    return requests.get(url, timeout=1.0).status_code == 200


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


def _await(proc: ManagedProcess, check: Callable[[], object], what: str) -> None:
    try:
        wait_until(check, READY_TIMEOUT, what, proc)
    except Exception:
        proc.stop()
        raise
