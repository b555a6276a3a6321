"""`stack up|down|status`: the whole local switch (rtpengine, Kamailio, web admin, job
worker, DTMF collector)."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from orchestrator.compile.configs import RenderedConfigs, write_configs
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.settings import Settings
from orchestrator.stack import daemons
from orchestrator.stack.processes import ManagedProcess, ProcessError
from orchestrator.users.service import ensure_initial_admin

Echo = Callable[[str], None]


class StackError(RuntimeError):
    """The stack cannot start; the message says what to do."""


@dataclass(frozen=True)
class Prepared:
    configs: RenderedConfigs
    admin_password: str | None  # set only on the first run


def prepare(settings: Settings) -> Prepared:
    """Directories, database migrations, first admin user, rendered and checked configs."""
    settings.ensure_dirs()
    upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    try:
        with session_factory(engine)() as session, session.begin():
            password = ensure_initial_admin(session)
    finally:
        engine.dispose()
    return Prepared(write_configs(settings), password)


def _port_free(host: str, port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def check_ports(settings: Settings) -> None:
    wanted = [
        (settings.sip_ip, settings.sip_port, socket.SOCK_DGRAM, "SIP (sip_port) UDP"),
        (settings.sip_ip, settings.sip_port, socket.SOCK_STREAM, "SIP (sip_port) TCP"),
        ("127.0.0.1", settings.rpc_port, socket.SOCK_STREAM, "Kamailio JSON-RPC (rpc_port)"),
        ("127.0.0.1", settings.rtpengine_ng_port, socket.SOCK_DGRAM,
         "rtpengine ng (rtpengine_ng_port)"),
        ("127.0.0.1", settings.dtmf_port, socket.SOCK_DGRAM, "DTMF collector (dtmf_port)"),
        (settings.web_host, settings.web_port, socket.SOCK_STREAM, "web admin (web_port)"),
    ]
    busy = [f"{label} {host}:{port}" for host, port, kind, label in wanted
            if not _port_free(host, port, kind)]
    if busy:
        raise StackError(
            "port(s) already in use: " + "; ".join(busy)
            + ". Is the switch already running (`orchestrator stack status`)? "
            "Otherwise choose other ports (docs/configuration.md)."
        )


def processes(settings: Settings) -> list[ManagedProcess]:
    """The stack's processes in start order (configs must already be rendered)."""
    cfg = settings.config_dir
    return [
        daemons.rtpengine_process(settings, cfg / "rtpengine.conf"),
        daemons.kamailio_process(settings, cfg / "kamailio.cfg"),
        daemons.web_process(settings),
        daemons.worker_process(settings),
        daemons.dtmf_collector_process(settings),
        daemons.cdr_collector_process(settings),
    ]


def start(settings: Settings, echo: Echo) -> list[ManagedProcess]:
    """Start rtpengine, Kamailio, the web admin, the job worker, the DTMF collector and
    the CDR collector; on any failure stop what started."""
    if any(p.running() for p in processes(settings)):
        raise StackError("the stack is already running: `orchestrator stack status`, "
                         "or `orchestrator stack down` to stop it")
    check_ports(settings)
    cfg = settings.config_dir
    started: list[ManagedProcess] = []
    steps: list[Callable[[], ManagedProcess]] = [
        lambda: daemons.start_rtpengine(settings, cfg / "rtpengine.conf"),
        lambda: daemons.start_kamailio(settings, cfg / "kamailio.cfg"),
        lambda: daemons.start_web(settings),
        lambda: daemons.start_worker(settings),
        lambda: daemons.start_dtmf_collector(settings),
        lambda: daemons.start_cdr_collector(settings),
    ]
    try:
        for step in steps:
            proc = step()
            started.append(proc)
            echo(f"  {proc.name:<9} pid {proc.pid:<7} log {proc.logfile}")
    except ProcessError as exc:
        stop(started)
        raise StackError(str(exc)) from exc
    return started


def stop(procs: list[ManagedProcess]) -> list[str]:
    """Stop in reverse start order; return the names of those that were running."""
    stopped = []
    for proc in reversed(procs):
        if proc.running():
            proc.stop()
            stopped.append(proc.name)
        else:
            proc.pidfile.unlink(missing_ok=True)
    return stopped


def down(settings: Settings) -> list[str]:
    return stop(processes(settings))


def status(settings: Settings) -> dict[str, int | None]:
    """pid of each process of the stack, None when it does not run."""
    return {p.name: (p.pid if p.running() else None) for p in processes(settings)}


def supervise(procs: list[ManagedProcess], echo: Echo) -> int:
    """Wait in the foreground until Ctrl-C/SIGTERM or until a process dies; stop all."""
    stopping: list[int] = []

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        while not stopping:
            dead = [p for p in procs if not p.running()]
            if dead:
                for proc in dead:
                    echo(f"{proc.name} exited unexpectedly (code {proc.exit_code()}); "
                         f"last lines of {proc.logfile}:\n{proc.log_tail()}")
                code = 1
                break
            time.sleep(0.2)
        echo("stopping the switch ...")
    finally:
        stop(procs)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    echo("stopped: nothing left running")
    return code
