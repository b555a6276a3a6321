"""Kamailio and rtpengine health as the dashboard shows it (HTML cards and JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.settings import Settings
from orchestrator.stack.health import DaemonHealth, StackHealth

HINT_COMMAND = "orchestrator stack status"
LABELS = {"kamailio": "Kamailio", "rtpengine": "rtpengine"}


@dataclass(frozen=True)
class Card:
    name: str                    # "kamailio" | "rtpengine"
    label: str                   # "Kamailio"
    up: bool
    version: str | None
    uptime_seconds: int | None
    uptime_human: str
    active_calls: int | None
    error: str | None
    control: str                 # how we ask it: "JSON-RPC at http://..."
    problem: str | None          # one sentence when down, else None


def human_duration(seconds: int | None) -> str:
    """``3 h 12 min``, ``2 d 4 h``, ``45 s``; an em dash when unknown."""
    if seconds is None or seconds < 0:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _control(name: str, settings: Settings) -> str:
    if name == "kamailio":
        return f"JSON-RPC at {settings.rpc_url}"
    return f"ng at udp://127.0.0.1:{settings.rtpengine_ng_port}"


def card(daemon: DaemonHealth, settings: Settings) -> Card:
    label = LABELS.get(daemon.name, daemon.name)
    control = _control(daemon.name, settings)
    problem = None
    if not daemon.up:
        problem = f"{label} is not answering on {control}: {daemon.error or 'no answer'}"
    return Card(
        name=daemon.name, label=label, up=daemon.up, version=daemon.version,
        uptime_seconds=daemon.uptime_seconds,
        uptime_human=human_duration(daemon.uptime_seconds),
        active_calls=daemon.active_calls, error=daemon.error, control=control,
        problem=problem,
    )


def cards(report: StackHealth, settings: Settings) -> list[Card]:
    return [card(report.kamailio, settings), card(report.rtpengine, settings)]


def checked_at() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S UTC")


def payload(report: StackHealth, settings: Settings, when: str) -> dict[str, Any]:
    """What GET /health.json answers: one object per daemon, as on the cards."""
    data: dict[str, Any] = {c.name: asdict(c) for c in cards(report, settings)}
    data.update(all_up=report.all_up, checked_at=when, hint=HINT_COMMAND)
    return data
