"""SIPp's -trace_stat file: calls placed, successful, failed, and why."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path


# --------------------------------------------------------------------------- SIPp stats
@dataclass
class SippStats:
    created: int = 0
    successful: int = 0
    failed: int = 0
    retransmissions: int = 0
    creation_s: float | None = None  # time until the last call was created
    response_ms: float | None = None  # mean INVITE -> 200 time
    failure_kinds: dict[str, int] = field(default_factory=dict)


def _duration_ms(text: str) -> float | None:
    parts = text.split(":")  # HH:MM:SS:uuuuuu
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes, seconds, micros = (int(p) for p in parts)
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + micros / 1000


def _epoch(text: str) -> float:
    return float(text.split("\t")[-1])


def parse_stats(path: Path, calls: int) -> SippStats:
    """Read SIPp's -trace_stat file (one row per second, the last one at exit)."""
    stats = SippStats()
    if not path.exists():
        return stats
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    if len(lines) < 2:
        return stats
    header = lines[0].rstrip(";").split(";")
    rows = [dict(zip(header, ln.rstrip(";").split(";"), strict=False)) for ln in lines[1:]]

    def number(row: dict[str, str], name: str) -> int:
        try:
            return int(float(row.get(name, "0") or 0))
        except ValueError:
            return 0

    last = rows[-1]
    stats.created = number(last, "OutgoingCall(C)")
    stats.successful = number(last, "SuccessfulCall(C)")
    stats.failed = number(last, "FailedCall(C)")
    stats.retransmissions = number(last, "Retransmissions(C)")
    # the row written at exit has the cumulative mean reset: take the one before
    stats.response_ms = _duration_ms(rows[-2 if len(rows) > 1 else -1]
                                     .get("ResponseTime1(C)", ""))
    stats.failure_kinds = {
        name[len("Failed"):-3]: number(last, name) for name in header
        if name.startswith("Failed") and name.endswith("(C)") and name != "FailedCall(C)"
        and number(last, name)
    }
    with contextlib.suppress(ValueError, KeyError):
        start = _epoch(last["StartTime"])
        for row in rows:
            if number(row, "OutgoingCall(C)") >= calls:
                stats.creation_s = _epoch(row["CurrentTime"]) - start
                break
    return stats
