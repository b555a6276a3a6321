"""Health of the data plane daemons, read over their control protocols.

Contract used by the web dashboard, the CLI (`orchestrator stack status`) and the API.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from orchestrator.kamailio import KamailioConnectionError, KamailioError, KamailioRPC, core, dlg
from orchestrator.rtpengine.ng import NgClient, NgError, NgFailure, NgUnanswered
from orchestrator.settings import Settings


@dataclass(frozen=True)
class DaemonHealth:
    name: str                  # "kamailio" or "rtpengine"
    up: bool
    version: str | None = None
    uptime_seconds: int | None = None
    active_calls: int | None = None
    error: str | None = None   # why it is down / what could not be read


@dataclass(frozen=True)
class StackHealth:
    kamailio: DaemonHealth
    rtpengine: DaemonHealth

    @property
    def all_up(self) -> bool:
        return self.kamailio.up and self.rtpengine.up


def collect(settings: Settings, timeout: float = 2.0) -> StackHealth:
    """Ask Kamailio (JSON-RPC) and rtpengine (ng) how they are. Never raises.

    Both are asked at once, so the whole check takes about ``timeout`` at most.
    """
    try:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="health") as pool:
            kamailio = pool.submit(_never_raises, "kamailio", kamailio_health, settings,
                                   timeout)
            rtpengine = pool.submit(_never_raises, "rtpengine", rtpengine_health, settings,
                                    timeout)
            return StackHealth(kamailio.result(), rtpengine.result())
    except RuntimeError:  # no thread to be had (interpreter shutting down): one by one
        return StackHealth(_never_raises("kamailio", kamailio_health, settings, timeout),
                           _never_raises("rtpengine", rtpengine_health, settings, timeout))


def _never_raises(name: str, check: Callable[[Settings, float], DaemonHealth],
                  settings: Settings, timeout: float) -> DaemonHealth:
    try:
        return check(settings, timeout)
    except Exception as exc:  # health reports problems, it never crashes its caller
        return DaemonHealth(name, False, error=f"health check failed: {exc}")


def kamailio_health(settings: Settings, timeout: float = 2.0) -> DaemonHealth:
    """Version and uptime (core.*), active calls = active dialogs (dlg.stats_active)."""
    rpc = KamailioRPC(settings.rpc_url, timeout=timeout, reload_retries=0)
    try:
        version = core.version(rpc)
    except KamailioConnectionError as exc:
        return DaemonHealth("kamailio", False, error=exc.reason)
    except KamailioError as exc:
        return DaemonHealth("kamailio", False, error=f"core.version failed: {exc}")
    problems = []
    uptime = calls = None
    try:
        uptime = core.uptime(rpc).seconds
    except KamailioError as exc:
        problems.append(f"uptime unknown: {exc}")
    try:
        calls = dlg.active_count(rpc)
    except KamailioError as exc:
        problems.append(f"active calls unknown: {exc}")
    return DaemonHealth("kamailio", True, version, uptime, calls,
                        "; ".join(problems) or None)


def rtpengine_health(settings: Settings, timeout: float = 2.0) -> DaemonHealth:
    """ng ping; uptime and current sessions from ng statistics; version from the binary."""
    ng = NgClient("127.0.0.1", settings.rtpengine_ng_port, timeout=timeout / 2, retries=1)
    try:
        ng.ping()
    except NgUnanswered as exc:
        return DaemonHealth("rtpengine", False, error=exc.reason)
    except NgFailure as exc:
        return DaemonHealth("rtpengine", False, error=f"ping refused: {exc.reason}")
    except NgError as exc:
        return DaemonHealth("rtpengine", False, error=str(exc))
    problems = []
    uptime = calls = None
    try:
        stats = ng.statistics()
        uptime = _int_at(stats, "totalstatistics", "uptime")
        calls = _int_at(stats, "currentstatistics", "sessionsown")
    except NgError as exc:
        problems.append(f"statistics unavailable: {exc}")
    if calls is None:
        try:
            calls = len(ng.list_calls(limit=100_000))
        except NgError as exc:
            problems.append(f"active calls unknown: {exc}")
    version = rtpengine_version(settings.rtpengine_binary)
    if version is None:
        problems.append(f"version unknown: `{settings.rtpengine_binary} --version` failed")
    return DaemonHealth("rtpengine", True, version, uptime, calls,
                        "; ".join(problems) or None)


def _int_at(stats: dict[str, object], group: str, key: str) -> int | None:
    """stats[group][key] as int; rtpengine sends some numbers as strings ("637")."""
    section = stats.get(group)
    value = section.get(key) if isinstance(section, dict) else None
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(str(value)))
    except ValueError:
        return None


_VERSION = re.compile(r"Version:\s*(\S+)")


_versions: dict[str, str] = {}
_versions_lock = threading.Lock()


def rtpengine_version(binary: str) -> str | None:
    """``rtpengine --version`` ("Version: 10.5.3.5-1+deb12u1"), run once per binary.

    The ng protocol of rtpengine 10.5 has no version command. Only an answer is
    cached, so a binary installed later is still found.
    """
    with _versions_lock:
        if binary in _versions:
            return _versions[binary]
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out.stdout + out.stderr)
    if match is None:
        return None
    with _versions_lock:
        _versions[binary] = f"rtpengine {match.group(1)}"
        return _versions[binary]
