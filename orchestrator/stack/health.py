"""Health of the data plane daemons, read over their control protocols.

Contract used by the web dashboard, the CLI (`orchestrator stack status`) and the API.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """Ask Kamailio (JSON-RPC) and rtpengine (ng) how they are. Never raises."""
    raise NotImplementedError  # written by the clients work (issue 2)
