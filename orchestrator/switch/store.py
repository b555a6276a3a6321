"""Applied snapshots on disk, for rollback: ``<switch_dir>/snapshots/<version>.json``.

The last ``settings.snapshots_kept`` distinct versions are kept; ``history.jsonl``
records each apply or rollback (version, UTC time, who, action), newest last.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.compile.snapshot import Snapshot
from orchestrator.settings import Settings
from orchestrator.switch import tablefile

HISTORY_KEPT = 1000


@dataclass(frozen=True)
class HistoryEntry:
    version: str
    at: str        # ISO 8601 UTC
    who: str
    action: str    # "apply" | "rollback"


def snapshots_dir(settings: Settings) -> Path:
    return settings.switch_dir / "snapshots"


def history_path(settings: Settings) -> Path:
    return settings.switch_dir / "history.jsonl"


def record(settings: Settings, snapshot: Snapshot, *, who: str,
           action: str = "apply") -> HistoryEntry:
    """Keep ``snapshot`` and append a history entry; prune old snapshots."""
    directory = snapshots_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    _write_atomic(directory / f"{snapshot.version}.json", snapshot.to_json())
    entry = HistoryEntry(snapshot.version, datetime.now(UTC).isoformat(timespec="seconds"),
                         who, action)
    lines = [json.dumps(asdict(e), sort_keys=True)
             for e in [*reversed(history(settings)), entry]][-HISTORY_KEPT:]
    _write_atomic(history_path(settings), "\n".join(lines) + "\n")
    _prune(settings)
    return entry


def history(settings: Settings) -> list[HistoryEntry]:
    """Applies and rollbacks, newest first."""
    try:
        text = history_path(settings).read_text()
    except FileNotFoundError:
        return []
    entries = [HistoryEntry(**json.loads(line)) for line in text.splitlines() if line.strip()]
    return entries[::-1]


def load(settings: Settings, version: str) -> Snapshot | None:
    if not version.isalnum():
        raise ValueError(f"not a snapshot version: {version!r}")
    try:
        return Snapshot.from_json((snapshots_dir(settings) / f"{version}.json").read_text())
    except FileNotFoundError:
        return None


def current_version(settings: Settings) -> str | None:
    """Version of the snapshot the local node's table file serves."""
    gen = tablefile.serving_generation(settings.switch_db)
    info = tablefile.read_generation(settings.switch_db, gen) if gen else None
    return info.version if info else None


def load_current(settings: Settings) -> Snapshot | None:
    """The snapshot serving on the local node (None before the first apply)."""
    version = current_version(settings)
    return load(settings, version) if version else None


def previous(settings: Settings) -> Snapshot | None:
    """The newest recorded snapshot other than the one serving (what rollback serves)."""
    current = current_version(settings)
    for entry in history(settings):
        if entry.version != current:
            snapshot = load(settings, entry.version)
            if snapshot is not None:
                return snapshot
    return None


def _prune(settings: Settings) -> None:
    keep: list[str] = []
    current = current_version(settings)
    for entry in history(settings):
        if entry.version not in keep:
            keep.append(entry.version)
    kept = set(keep[:settings.snapshots_kept]) | ({current} if current else set())
    for path in snapshots_dir(settings).glob("*.json"):
        if path.stem not in kept:
            path.unlink(missing_ok=True)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
