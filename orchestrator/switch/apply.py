"""Apply a snapshot to switch nodes without a window of mixed data, roll back, status.

Per node: the serving generation ``s`` stays untouched; the snapshot is written as the
other generation ``g``, every module reloads, the loaded counts are checked, and only
then ``cfg=>gen`` flips to ``g`` (Kamailio memory and ``ht_cfg``). A failure before
the flip leaves ``s`` serving and is reported for that node; other nodes go on.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from orchestrator.compile.snapshot import Snapshot
from orchestrator.compile.validate import validate_snapshot
from orchestrator.kamailio import KamailioError, mtree
from orchestrator.settings import Settings
from orchestrator.switch import store, tablefile
from orchestrator.switch.nodes import (
    SwitchNode,
    flip,
    kamailio_generation,
    local_node,
    preflight,
    reload_all,
    verify,
)
from orchestrator.switch.tablefile import TariffSource

log = logging.getLogger(__name__)

Progress = Callable[[int, str], None]   # (percent 0-100, message), like a job's report


@dataclass
class NodeResult:
    node: str
    ok: bool = False
    generation: int | None = None      # serving after this run
    previous: int | None = None        # serving before
    flip_only: bool = False            # rollback to the other generation, no write
    error: str = ""
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class ApplyReport:
    version: str
    nodes: list[NodeResult]

    @property
    def ok(self) -> bool:
        return bool(self.nodes) and all(n.ok for n in self.nodes)

    def raise_for_errors(self) -> None:
        if not self.ok:
            raise ApplyError(self)


class ApplyError(RuntimeError):
    def __init__(self, report: ApplyReport) -> None:
        failed = "; ".join(f"{n.node}: {n.error}" for n in report.nodes if not n.ok)
        super().__init__(f"snapshot {report.version[:12]} not applied on {failed}")
        self.report = report


def apply_snapshot(nodes: Sequence[SwitchNode], snapshot: Snapshot,
                   tariff_source: TariffSource, *,
                   progress: Progress | None = None) -> ApplyReport:
    """Write, reload, verify and flip ``snapshot`` on each node.

    The snapshot is validated first (ValidationFailed, nothing touched): a snapshot
    that did not come from ``compile_snapshot`` gets the same checks."""
    validate_snapshot(snapshot)
    report = ApplyReport(snapshot.version, [])
    for index, node in enumerate(nodes):
        def say(step: int, message: str, index: int = index, name: str = node.name) -> None:
            if progress is not None:
                progress((100 * index + 25 * step) // len(nodes), f"{name}: {message}")
        report.nodes.append(_apply_node(node, snapshot, tariff_source, say))
    if progress is not None:
        progress(100, "applied" if report.ok else "failed on some nodes")
    return report


def rollback(nodes: Sequence[SwitchNode], target: Snapshot, tariff_source: TariffSource, *,
             progress: Progress | None = None) -> ApplyReport:
    """Serve ``target`` again: a flip where the other generation holds it and is still
    loaded as written, else a full apply."""
    report = ApplyReport(target.version, [])
    for node in nodes:
        flipped = _flip_to(node, target)
        report.nodes.append(flipped or _apply_node(node, target, tariff_source,
                                                   lambda s, m: None))
    if progress is not None:
        progress(100, "rolled back" if report.ok else "rollback failed on some nodes")
    return report


def status(node: SwitchNode) -> dict[str, Any]:
    """Serving generation (Kamailio and file), snapshot versions, loaded trees."""
    path = node.table_file
    serving_file = tablefile.serving_generation(path) if path.is_file() else None
    result: dict[str, Any] = {"node": node.name, "reachable": False,
                              "serving": None, "serving_file": serving_file,
                              "version": None, "other_version": None, "trees": [],
                              "error": ""}
    try:
        result["serving"] = kamailio_generation(node)
        result["trees"] = [{"name": t.name, "items": t.nritems, "memsize": t.memsize,
                            "reload_time": t.reload_time} for t in mtree.summary(node.rpc())]
        result["reachable"] = True
    except KamailioError as exc:
        result["error"] = str(exc)
    serving = result["serving"] or serving_file
    if serving and path.is_file():
        info, other = (tablefile.read_generation(path, g) for g in (serving, 3 - serving))
        result["version"] = info.version if info else None
        result["other_version"] = other.version if other else None
    return result


def apply_local(settings: Settings, snapshot: Snapshot, tariff_source: TariffSource, *,
                who: str, nodes: Sequence[SwitchNode] | None = None,
                progress: Progress | None = None) -> ApplyReport:
    """Apply to the nodes (default: the local node) and record it in the store."""
    report = apply_snapshot(nodes or [local_node(settings)], snapshot, tariff_source,
                            progress=progress)
    if report.ok:
        store.record(settings, snapshot, who=who, action="apply")
    return report


def rollback_local(settings: Settings, tariff_source: TariffSource, *, who: str,
                   nodes: Sequence[SwitchNode] | None = None) -> ApplyReport:
    """Roll back to ``store.previous`` and record it."""
    target = store.previous(settings)
    if target is None:
        raise LookupError("no previous snapshot to roll back to")
    report = rollback(nodes or [local_node(settings)], target, tariff_source)
    if report.ok:
        store.record(settings, target, who=who, action="rollback")
    return report


def _serving(node: SwitchNode) -> int | None:
    """Kamailio's generation; the file's when Kamailio has none (nothing flipped yet)."""
    in_memory = kamailio_generation(node)
    in_file = tablefile.serving_generation(node.table_file)
    if in_memory is not None and in_file not in (None, in_memory):
        log.warning("%s: Kamailio serves generation %s, the table file says %s",
                    node.name, in_memory, in_file)
    return in_memory if in_memory is not None else in_file


@contextmanager
def node_lock(node: SwitchNode) -> Iterator[None]:
    """One apply or rollback at a time per table file (``<file>.lock``, flock)."""
    path = node.table_file.with_name(node.table_file.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another apply to {node.name} is running") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _flip_to(node: SwitchNode, target: Snapshot) -> NodeResult | None:
    """Flip to the other generation if it holds ``target`` loaded as written; else None."""
    try:
        with node_lock(node):
            serving = _serving(node)
            other = 3 - serving if serving else None
            info = tablefile.read_generation(node.table_file, other) if other else None
            if other is None or info is None or info.version != target.version:
                return None
            verify(node, other)
            flip(node, other)
            return NodeResult(node.name, ok=True, generation=other, previous=serving,
                              flip_only=True)
    except Exception as exc:
        log.warning("%s: rollback by flip impossible (%s); applying again", node.name, exc)
        return None


def _apply_node(node: SwitchNode, snapshot: Snapshot, tariff_source: TariffSource,
                say: Callable[[int, str], None]) -> NodeResult:
    result = NodeResult(node.name)
    started = time.monotonic()
    try:
        with node_lock(node):
            _write_reload_flip(node, snapshot, tariff_source, say, result)
    except Exception as exc:
        log.exception("%s: apply of %s failed", node.name, snapshot.version[:12])
        result.error = f"{type(exc).__name__}: {exc}"
    result.timings["total"] = time.monotonic() - started
    return result


def _write_reload_flip(node: SwitchNode, snapshot: Snapshot, tariff_source: TariffSource,
                       say: Callable[[int, str], None], result: NodeResult) -> None:
    tablefile.ensure_table_file(node.table_file)
    serving = _serving(node)
    result.previous = result.generation = serving
    gen = 3 - serving if serving else 1
    say(0, f"writing generation {gen}")
    stats = tablefile.write_generation(node.table_file, snapshot, gen, tariff_source)
    result.timings["write"] = stats.seconds
    say(1, "reloading")
    preflight(node)
    result.timings |= {f"reload:{k}": v for k, v in reload_all(node).items()}
    say(2, "verifying")
    verify(node, gen)
    say(3, f"flipping to generation {gen}")
    flip(node, gen)
    result.ok, result.generation = True, gen
