"""What the web admin, the REST API and the CLI call to see and change what the switch
serves: pending changes, apply, rollback, status and history.

``pending`` compiles the model (cheap: no tariff rows) and compares its version with
the one the local node serves. The answer is cached in this process, keyed by the
newest audit log entry (every change of the model writes one) and the serving
version, so the banner check of every admin page costs one small query and two stat
calls. Changes that leave no audit entry (balances moved by rated calls) are seen
after at most ``PENDING_TTL`` seconds.

Apply and rollback run as background jobs (``orchestrator.switch.tasks``); the model
is compiled before the job is queued, so a model the switch cannot run is refused
here with every problem named and never reaches a job.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit.models import AuditEntry
from orchestrator.compile.compiler import compile_snapshot
from orchestrator.compile.snapshot import Snapshot
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.jobs.models import Job
from orchestrator.ratecards.imports import actor_params
from orchestrator.routing import explain_index
from orchestrator.settings import Settings
from orchestrator.switch import apply, inventory, store
from orchestrator.switch.nodes import SwitchNode

APPLY_KIND = "switch.apply"
ROLLBACK_KIND = "switch.rollback"
HISTORY_SHOWN = 20
PENDING_TTL = 60.0          # seconds a cached answer is trusted without a new audit entry
CACHE_SIZE = 8              # answers kept (one per database and switch in practice)
VERSION = re.compile(r"^[0-9a-f]{6,64}$")
NOTHING_TO_ROLL_BACK = "there is no earlier snapshot to roll back to"

_cache: OrderedDict[Hashable, tuple[float, dict[str, Any]]] = OrderedDict()
_cache_lock = threading.Lock()


def nodes(session: Session, settings: Settings) -> list[SwitchNode]:
    """The switch nodes an apply goes to: the local node, then the inventory's enabled
    nodes (orchestrator/switch/inventory.py)."""
    return inventory.nodes(session, settings)


def serving_version(settings: Settings) -> str | None:
    """Version of the snapshot the local node serves (None before the first apply)."""
    return explain_index.serving_version(settings)


def _audit_mark(session: Session) -> int:
    return int(session.scalar(select(func.max(AuditEntry.id))) or 0)


def _settings_mark(settings: Settings) -> Hashable:
    """What the compiler reads from the settings besides the model."""
    return (settings.db_url, str(settings.switch_db), settings.sip_realm,
            settings.base_currency, tuple(sorted(settings.media_zone_sets().items())))


def _compare(session: Session, settings: Settings, serving: str | None) -> dict[str, Any]:
    try:
        snap = compile_snapshot(session, settings)
    except ValidationFailed as exc:
        return {"compiled_version": None, "serving_version": serving, "pending": True,
                "warnings": [], "error": {k: list(v) for k, v in exc.errors.items()}}
    return {"compiled_version": snap.version, "serving_version": serving,
            "pending": snap.version != serving, "warnings": list(snap.warnings),
            "error": None}


def pending(session: Session, settings: Settings) -> dict[str, Any]:
    """``{compiled_version, serving_version, pending, warnings, error}``.

    ``error`` is the compile's problems (``{field: [messages]}``) when the model cannot
    be run by the switch (then ``compiled_version`` is None and ``pending`` is True:
    what the switch serves is not the model).
    """
    serving = serving_version(settings)
    key = (_settings_mark(settings), _audit_mark(session), serving)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < PENDING_TTL:
        answer = hit[1]
    else:
        answer = _compare(session, settings, serving)
        with _cache_lock:
            _cache[key] = (now, answer)
            _cache.move_to_end(key)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return {**answer, "warnings": list(answer["warnings"]),
            "error": dict(answer["error"]) if answer["error"] else None}


def clear_cache() -> None:
    """Forget every cached ``pending`` answer (tests; settings changed)."""
    with _cache_lock:
        _cache.clear()


def start_apply(session: Session, actor: Actor, settings: Settings) -> Job:
    """Queue an apply of the current model to every node.

    The model is compiled first: ValidationFailed names each problem and nothing is
    queued. The job compiles again (the model may change meanwhile) and applies that.
    """
    actor.require("write")
    snap = compile_snapshot(session, settings)
    from orchestrator.switch import tasks
    return tasks.apply_job.enqueue(actor, {"version": snap.version,
                                           "actor": actor_params(actor)}, session=session)


def rollback_target(settings: Settings, version: str | None = None) -> Snapshot:
    """The kept snapshot a rollback serves: ``version`` (a prefix of at least 6 hex
    digits will do), or the newest one other than the serving snapshot."""
    serving = serving_version(settings)
    if version is None:
        target = store.previous(settings)
        if target is None:
            raise Conflict("version", NOTHING_TO_ROLL_BACK)
        return target
    version = version.strip().lower()
    if not VERSION.match(version):
        raise ValidationFailed.one("version", "a snapshot version: 6 to 64 hexadecimal "
                                   "digits (a prefix of the version)")
    matches = sorted({e.version for e in store.history(settings)
                      if e.version.startswith(version)})
    if len(matches) > 1:
        raise ValidationFailed.one("version", f"{version} is the start of {len(matches)} "
                                   "versions: give more digits")
    target = store.load(settings, matches[0]) if matches else None
    if target is None:
        raise NotFound("kept snapshot", version)
    if target.version == serving:
        raise Conflict("version", f"snapshot {target.version[:12]} is already serving")
    return target


def start_rollback(session: Session, actor: Actor, settings: Settings,
                   version: str | None = None) -> Job:
    """Queue a rollback to a kept snapshot (default: the previous one).

    Conflict when there is nothing to roll back to, NotFound when ``version`` is not
    kept (the last ``snapshots_kept`` applied versions are).
    """
    actor.require("write")
    target = rollback_target(settings, version)
    from orchestrator.switch import tasks
    return tasks.rollback_job.enqueue(actor, {"version": target.version,
                                              "actor": actor_params(actor)},
                                      session=session)


def history(settings: Settings, limit: int = HISTORY_SHOWN) -> list[dict[str, Any]]:
    """Newest first: version, at, who, action; ``kept`` when it can be rolled back to,
    ``serving`` for the snapshot the local node serves."""
    serving = serving_version(settings)
    kept = {p.stem for p in store.snapshots_dir(settings).glob("*.json")}
    return [asdict(e) | {"kept": e.version in kept and e.version != serving,
                         "serving": e.version == serving}
            for e in store.history(settings)[:limit]]


def status(session: Session, settings: Settings) -> dict[str, Any]:
    """Per node: reachable, serving generation and version, the other generation's
    version, loaded tariff trees; the apply history; the pending changes."""
    return {"nodes": [apply.status(node) for node in nodes(session, settings)],
            "history": history(settings), "pending": pending(session, settings)}
